//! The fused convolution and 2×2 max pool with VNNI for a layer of one input channel with a
//! kernel at most 4 wide and stride 1 (LeNet's first convolution): lanes are 16 pooled
//! outputs of a pooled row. A kernel row is one dword (`KW` taps, the rest multiplied by
//! zero weights), so each window position and kernel row takes one `vpdpbusd` per channel;
//! the inputs of a lane at window position `(dy, dx)` and kernel row `u` are 4 bytes of
//! padded row `2i + dy + u` from column `2j + dx`, and one `vpermb` of a 64-byte load gathers
//! them for 16 lanes. Each gathered vector serves every output channel (8 at a time); the
//! channels' requantization constants are set up once per group of 8. Against the general
//! pixel-lane kernel ([`super::conv`]) it saves the gathered copy on the stack and the
//! per-block bookkeeping, which dominated a layer with this little arithmetic per output.

use super::conv::fill_band;
use super::*;

/// Output channels whose constants are set up together.
const GROUP: usize = 8;
/// The largest kernel height taken (`KH + 1` gathered rows per window column).
const MAX_KH: usize = 5;
/// The largest number of output channels taken (the dword weights on the stack).
const MAX_CO: usize = 64;

/// Whether [`conv_pool`] takes `g` with `co` output channels pooled 2×2 into `p`: the padded
/// image's row width, or `None`.
fn shape(g: &Window, p: &PoolWindow, co: usize) -> Option<usize> {
    let (kh, kw) = g.kernel;
    if g.c != 1 || g.stride != (1, 1) || kh == 0 || kh > MAX_KH || kw == 0 || kw > 4 || co == 0 || co > MAX_CO {
        return None;
    }
    // Padded rows `(OH − 1) + KH`, each `(OW − 1) + KW` wide, and a 64-byte load past any
    // row start within the band's slack.
    let wrow = g.ow.checked_sub(1)?.checked_add(kw)?;
    let rows = g.oh.checked_sub(1)?.checked_add(kh)?;
    // Pooled outputs within the conv's (the caller's check too: every bound below rests on it).
    let pooled = p.oh > 0 && p.ow > 0 && 2 * p.oh <= g.oh && 2 * p.ow <= g.ow;
    (rows.checked_mul(wrow)?.checked_add(SLACK)? <= BAND && pooled).then_some(wrow)
}

/// The fused convolution and 2×2 max pool of [`conv_pool_vnni`](super::conv_pool_vnni) for
/// one input channel (see the module); `false`, having done nothing, for a shape it does
/// not take. Out of line, so that its stack band is not in the caller's frame beside the
/// other kernels' buffers.
///
/// # Safety
/// As [`conv_pool_vnni`](super::conv_pool_vnni): the CPU supports AVX-512F, BW, VL and VNNI
/// (VBMI, for `vpermb`, is checked here), `p` is the 2×2 pool of stride 2 of `g`'s output,
/// the slices hold their shapes.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn conv_pool(
    g: &Window,
    p: &PoolWindow,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) -> bool {
    let co = rq.bias.len();
    let Some(wrow) = shape(g, p, co) else { return false };
    if !vbmi() {
        return false;
    }
    let (kh, kw) = g.kernel;
    let mut band = [MaybeUninit::<u8>::uninit(); BAND];
    // SAFETY: `shape` checked `rows·wrow + SLACK ≤ BAND` (one channel).
    unsafe { fill_band(g, x, pad, 0, (g.oh - 1) + kh, wrow, &mut band) };
    // Channel `o`'s kernel row `u` as a dword: its `KW` weights, then zeros.
    let mut rows = [0i32; MAX_CO * MAX_KH];
    for o in 0..co {
        for u in 0..kh {
            let taps = &w[o * kh * kw + u * kw..][..kw];
            rows[o * kh + u] = i32::from_le_bytes(from_fn(|b| taps.get(b).map_or(0, |&t| t as u8)));
        }
    }
    let d = band.as_ptr().cast::<u8>();
    // SAFETY: the CPU supports AVX-512 VBMI (checked above) besides the caller's features;
    // the band holds the padded image's `g.oh − 1 + KH ≥ 2·p.oh + KH − 1` rows of `wrow ≥
    // 2·p.ow + 1` bytes (`shape`), then `SLACK`; `rows` the weights; `y` `co·p.oh·p.ow`
    // bytes.
    unsafe {
        match kh {
            1 => tiles::<1>(p, wrow, d, &rows, rq, y),
            2 => tiles::<2>(p, wrow, d, &rows, rq, y),
            3 => tiles::<3>(p, wrow, d, &rows, rq, y),
            4 => tiles::<4>(p, wrow, d, &rows, rq, y),
            _ => tiles::<5>(p, wrow, d, &rows, rq, y),
        }
    }
    true
}

/// Every pooled output of every channel over the filled band `d`, for a kernel `KH` rows
/// high.
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL, VNNI and VBMI; `d` the padded image (rows of `wrow`
/// bytes, at least `2·p.oh + KH − 1` of them, then [`SLACK`] initialized bytes),
/// `2·p.ow ≤ wrow`; `rows[o·KH + u]` channel `o`'s kernel row `u`; `y` holds
/// `co·p.oh·p.ow` bytes, `co = rq.bias.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")]
unsafe fn tiles<const KH: usize>(
    p: &PoolWindow,
    wrow: usize,
    d: *const u8,
    rows: &[i32],
    rq: &Requant<'_>,
    y: &mut [i8],
) {
    let co = rq.bias.len();
    let plane = p.oh * p.ow;
    // Lane `l`, byte `b` of window column `dx`: padded column `2l + dx + b` of the load.
    let index: [__m512i; 2] = from_fn(|dx| {
        let bytes: [u8; 64] = from_fn(|t| (2 * (t / 4) + dx + t % 4) as u8);
        _mm512_loadu_si512(bytes.as_ptr().cast())
    });
    let stage = stage16(rq);
    let mut o0 = 0;
    while o0 < co {
        let n_ch = (co - o0).min(GROUP);
        let mut channels = [channel16(rq, o0); GROUP];
        for (t, c) in channels.iter_mut().enumerate().skip(1) {
            *c = channel16(rq, o0 + t.min(n_ch - 1));
        }
        for i in 0..p.oh {
            let mut j0 = 0;
            while j0 < p.ow {
                let lanes = (p.ow - j0).min(16);
                // Gathered rows `2i .. 2i + KH + 1`, both window columns.
                let mut x = [[_mm512_setzero_si512(); 2]; MAX_KH + 1];
                for (r, xr) in x.iter_mut().enumerate().take(KH + 1) {
                    let v = _mm512_loadu_si512(d.add((2 * i + r) * wrow + 2 * j0).cast());
                    *xr = [_mm512_permutexvar_epi8(index[0], v), _mm512_permutexvar_epi8(index[1], v)];
                }
                let mask = ((1u32 << lanes) - 1) as __mmask16;
                // Four channels' 16 outputs packed into one vector, then a 16-byte store each
                // (`vpmovdb` to memory is slow on Zen 4 and 5).
                for t0 in (0..n_ch).step_by(4) {
                    // (Loops, not closures: a closure would not inherit the target features.)
                    let mut v = [_mm512_setzero_si512(); 4];
                    for (k, v) in v.iter_mut().enumerate() {
                        let t = (t0 + k).min(n_ch - 1);
                        let o = o0 + t;
                        let mut acc = [_mm512_setzero_si512(); 4];
                        for u in 0..KH {
                            let wv = _mm512_set1_epi32(rows[o * KH + u]);
                            for (pos, a) in acc.iter_mut().enumerate() {
                                *a = _mm512_dpbusd_epi32(*a, x[pos / 2 + u][pos % 2], wv);
                            }
                        }
                        *v = pool_requant16(acc, &channels[t], stage);
                    }
                    let bytes = pack4(v);
                    for k in 0..(n_ch - t0).min(4) {
                        store_lane(y.as_mut_ptr().add((o0 + t0 + k) * plane + i * p.ow + j0), mask, bytes, k);
                    }
                }
                j0 += lanes;
            }
        }
        o0 += n_ch;
    }
}
