//! The fused convolution and pool with VNNI for layers of 16·n output channels, 4 or 8
//! input channels and 3×3 kernels (LeNet's second convolution): the lanes are 16 output
//! channels rather than 16 pixels. The whole padded image is copied once, channels
//! innermost (`[row][column][C]`, unsigned bytes), so that a pixel's 4 input channels at
//! a tap are one dword, broadcast straight from the image into `vpdpbusd`; each tap's (and
//! channel group's) weights of the 16 channels stay in a register. Every product is useful
//! (no window bytes past `KW`, no idle lanes), against `4/3` times as many `vpdpbusd` and
//! the gather's shuffles for pixel lanes. The four window positions' accumulators of a
//! pooled output are pooled and requantized as one vector (per-lane multipliers), and 16
//! pooled outputs' bytes transposed to the channel planes.

use super::*;

/// Bytes of the channels-innermost padded image on the stack (with [`SLACK`]).
const IMAGE: usize = 8 * 1024;
/// Bytes past the image a row's transposed stores may spill into (`16·C`).
const SLACK: usize = 128;
/// Pooled outputs computed together (`4·BATCH` accumulators).
const BATCH: usize = 2;

/// The per-lane requantization constants of 16 output channels (see [`requant16`]).
struct Lanes {
    bias: __m512i,
    mantissa: __m512i,
    /// The mantissas moved to the even lanes (the odd lanes' `vpmuldq` operand).
    mantissa_odd: __m512i,
    left: __m512i,
    right: __m512i,
    /// `2^right − 1` and half of it.
    mask: __m512i,
    half: __m512i,
    /// The lanes whose mantissa is `−2^31` (the only ones that can saturate).
    saturate: __mmask16,
    /// Whether every lane's channel is [`Requant::monotone`].
    monotone: bool,
    stage: Stage<__m512i>,
}

/// Channels `o0 .. o0 + 16`'s [`Lanes`].
///
/// # Safety
/// The CPU supports AVX-512F; `rq`'s slices hold `o0 + 16` elements.
#[inline(always)]
unsafe fn lanes(rq: &Requant<'_>, o0: usize) -> Lanes {
    let (mut bias, mut mantissa, mut left, mut right, mut mask) = ([0i32; 16], [0i32; 16], [0; 16], [0; 16], [0; 16]);
    let mut monotone = true;
    for o in 0..16 {
        let (l, r, m, _) = channel_shifts(rq, o0 + o);
        (bias[o], mantissa[o]) = (rq.bias[o0 + o].get(), rq.mantissa[o0 + o].get());
        (left[o], right[o], mask[o]) = (l, r, m);
        monotone &= rq.monotone(o0 + o);
    }
    let mantissa = _mm512_loadu_si512(mantissa.as_ptr().cast());
    let mask = _mm512_loadu_si512(mask.as_ptr().cast());
    Lanes {
        bias: _mm512_loadu_si512(bias.as_ptr().cast()),
        mantissa,
        mantissa_odd: _mm512_srli_epi64(mantissa, 32),
        left: _mm512_loadu_si512(left.as_ptr().cast()),
        right: _mm512_loadu_si512(right.as_ptr().cast()),
        mask,
        half: _mm512_srli_epi32(mask, 1),
        saturate: _mm512_cmpeq_epi32_mask(mantissa, _mm512_set1_epi32(i32::MIN)),
        monotone,
        stage: stage16(rq),
    }
}

/// [`requant16`] of an accumulator that holds the bias, with the constants of `l`.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn requant(acc: __m512i, l: &Lanes) -> __m512i {
    let a = _mm512_sllv_epi32(acc, l.left);
    let nudge = _mm512_set1_epi64(1 << 30);
    let even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, l.mantissa), nudge), 31);
    let odd = _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), l.mantissa_odd), nudge), 1);
    let mut high = _mm512_mask_blend_epi32(0xAAAA, even, odd);
    if l.saturate != 0 {
        let saturated = _mm512_mask_cmpeq_epi32_mask(l.saturate, a, _mm512_set1_epi32(i32::MIN));
        high = _mm512_mask_mov_epi32(high, saturated, _mm512_set1_epi32(i32::MAX));
    }
    let q = _mm512_srav_epi32(high, l.right);
    let threshold = _mm512_add_epi32(l.half, _mm512_srli_epi32(high, 31));
    let up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(high, l.mask), threshold);
    let q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
    let s = l.stage;
    _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, s.zero_point), s.min), s.max)
}

/// The 16×16 byte matrix of rows `r` transposed: element `j` of the result is column
/// `j` of `r`.
///
/// # Safety
/// The CPU supports SSE2.
#[inline(always)]
unsafe fn transpose16(r: &[__m128i; 16]) -> [__m128i; 16] {
    let z = _mm_setzero_si128();
    // a[2p + h]: rows 2p, 2p + 1 as 16-bit pairs, columns 8h ..
    let mut a = [z; 16];
    for p in 0..8 {
        a[2 * p] = _mm_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
        a[2 * p + 1] = _mm_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
    }
    // b[4q + 2h + k]: rows 4q .. 4q + 4 as dwords, columns 8h + 4k ..
    let mut b = [z; 16];
    for q in 0..4 {
        for h in 0..2 {
            let (x, y) = (a[4 * q + h], a[4 * q + 2 + h]);
            b[4 * q + 2 * h] = _mm_unpacklo_epi16(x, y);
            b[4 * q + 2 * h + 1] = _mm_unpackhi_epi16(x, y);
        }
    }
    // c[8s + 2t + k]: rows 8s .. 8s + 8 as qwords, columns 4t + 2k ..
    let mut c = [z; 16];
    for s in 0..2 {
        for t in 0..4 {
            let (x, y) = (b[8 * s + t], b[8 * s + 4 + t]);
            c[8 * s + 2 * t] = _mm_unpacklo_epi32(x, y);
            c[8 * s + 2 * t + 1] = _mm_unpackhi_epi32(x, y);
        }
    }
    let mut out = [z; 16];
    for n in 0..8 {
        out[2 * n] = _mm_unpacklo_epi64(c[n], c[8 + n]);
        out[2 * n + 1] = _mm_unpackhi_epi64(c[n], c[8 + n]);
    }
    out
}

/// Whether [`conv_pool`] takes `g` with `co` output channels: its image's bytes.
fn image_bytes(g: &Window, co: usize) -> Option<(usize, usize)> {
    let ((sh, sw), c) = (g.stride, g.c);
    if !co.is_multiple_of(16)
        || !(c == 4 || c == 8)
        || g.kernel != (3, 3)
        || sh == 0
        || sw == 0
        || g.oh == 0
        || g.ow == 0
    {
        return None;
    }
    let wrow = (g.ow - 1).checked_mul(sw)?.checked_add(3)?;
    let rows = (g.oh - 1).checked_mul(sh)?.checked_add(3)?;
    let bytes = rows.checked_mul(wrow)?.checked_mul(c)?;
    (bytes + SLACK <= IMAGE).then_some((wrow, rows))
}

/// The padded image of `x` (`rows × wrow`, channels innermost, `x + 128` or `pad`) into
/// `d`: per row, 16 columns of the `C` channel rows at a time, transposed by unpacks.
///
/// # Safety
/// The CPU supports AVX-512BW and VL; `C = 4·C4` is `g.c`; `d` valid for writes of
/// `rows·wrow·C + SLACK` bytes; `x` holds the image.
#[inline(always)]
unsafe fn fill<const C4: usize>(g: &Window, x: &[i8], pad: u8, (wrow, rows): (usize, usize), d: *mut u8) {
    let c = 4 * C4;
    let (ph, pw) = g.padding;
    let (pad, flip) = (_mm_set1_epi8(pad as i8), _mm_set1_epi8(-128));
    let lo = pw.min(wrow);
    let hi = (pw + g.w).min(wrow);
    let z = _mm_setzero_si128();
    for r in 0..rows {
        let row = r * wrow * c;
        if r < ph || r - ph >= g.h {
            fill16(d, row, row + wrow * c, pad);
            continue;
        }
        fill16(d, row, row + lo * c, pad);
        let src = x.as_ptr().add((r - ph) * g.w);
        let mut k = 0;
        while k < hi - lo {
            let n = (hi - lo - k).min(16);
            let m = ((1u32 << n) - 1) as __mmask16;
            let mut v = [z; 8];
            for (ch, v) in v.iter_mut().enumerate().take(c) {
                *v = _mm_xor_si128(_mm_maskz_loadu_epi8(m, src.add(ch * g.h * g.w + k)), flip);
            }
            // Columns 0..8 then 8..16 of channel pairs as 16-bit elements.
            let pairs: [[__m128i; 2]; 4] =
                from_fn(|p| [_mm_unpacklo_epi8(v[2 * p], v[2 * p + 1]), _mm_unpackhi_epi8(v[2 * p], v[2 * p + 1])]);
            let out = d.add(row + (lo + k) * c).cast::<__m128i>();
            if C4 == 1 {
                for h in 0..2 {
                    _mm_storeu_si128(out.add(2 * h), _mm_unpacklo_epi16(pairs[0][h], pairs[1][h]));
                    _mm_storeu_si128(out.add(2 * h + 1), _mm_unpackhi_epi16(pairs[0][h], pairs[1][h]));
                }
            } else {
                for h in 0..2 {
                    // Columns 8h + 4k' .. as dwords of channels 0..4 and 4..8.
                    let q0 =
                        [_mm_unpacklo_epi16(pairs[0][h], pairs[1][h]), _mm_unpackhi_epi16(pairs[0][h], pairs[1][h])];
                    let q1 =
                        [_mm_unpacklo_epi16(pairs[2][h], pairs[3][h]), _mm_unpackhi_epi16(pairs[2][h], pairs[3][h])];
                    for kk in 0..2 {
                        _mm_storeu_si128(out.add(4 * h + 2 * kk), _mm_unpacklo_epi32(q0[kk], q1[kk]));
                        _mm_storeu_si128(out.add(4 * h + 2 * kk + 1), _mm_unpackhi_epi32(q0[kk], q1[kk]));
                    }
                }
            }
            k += 16;
        }
        fill16(d, row + hi * c, row + wrow * c, pad);
    }
}

/// The fused convolution and 2×2 max pool of [`conv_pool_vnni`] with output channels as
/// lanes (see the module); `false`, having done nothing, for a shape it does not take.
///
/// # Safety
/// As [`conv_pool_vnni_shaped`] (compiled into it).
#[inline(always)]
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
    let Some(shape) = image_bytes(g, co) else { return false };
    let mut image = [MaybeUninit::<u8>::uninit(); IMAGE];
    let d = image.as_mut_ptr().cast::<u8>();
    // SAFETY: `image_bytes` checked `rows·wrow·C + SLACK ≤ IMAGE`; `g.c` is 4 or 8.
    unsafe {
        if g.c == 4 {
            fill::<1>(g, x, pad, shape, d);
            image_tiles::<1>(g, p, w, rq, shape.0, d, y);
        } else {
            fill::<2>(g, x, pad, shape, d);
            image_tiles::<2>(g, p, w, rq, shape.0, d, y);
        }
    }
    true
}

/// The tiles of 16 output channels over the filled image `d` (rows of `wrow` pixels).
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI; `d` filled by [`fill`] for `g`
/// (`g.c = 4·C4`, a 3×3 kernel, `co = rq.bias.len()` a multiple of 16); `w`, `rq`, `y`
/// as for [`conv_pool_vnni`].
#[inline(always)]
unsafe fn image_tiles<const C4: usize>(
    g: &Window,
    p: &PoolWindow,
    w: &[i8],
    rq: &Requant<'_>,
    wrow: usize,
    d: *const u8,
    y: &mut [i8],
) {
    let (c, patch, co) = (4 * C4, g.patch(), rq.bias.len());
    let (sh, sw) = g.stride;
    let (pow, pixels) = (p.ow, p.oh * p.ow);
    let pitch = wrow * c;
    let mut o0 = 0;
    while o0 < co {
        // Tap `(u, v)`, channel group `q`: lane `o` holds `w[o0 + o][4q .. 4q + 4][u][v]`.
        // (Built by byte reads without bounds checks: with them they took a fifth of LeNet's
        // second convolution.)
        let mut wv = [_mm512_setzero_si512(); 18];
        let wp = w.as_ptr().cast::<u8>();
        for (t, wv) in wv.iter_mut().enumerate().take(9 * C4) {
            let (tap, q) = (t / C4, t % C4);
            let mut lane = [0u32; 16];
            for (o, lane) in lane.iter_mut().enumerate() {
                // SAFETY: `o0 + o < co` and `4q + b < C`, `tap < 9`: within channel `o0 + o`'s
                // `patch = 9·C` weights, and `w` holds `co·patch` (the caller's shape).
                let at = wp.add((o0 + o) * patch + 4 * q * 9 + tap);
                *lane = u32::from(*at)
                    | u32::from(*at.add(9)) << 8
                    | u32::from(*at.add(18)) << 16
                    | u32::from(*at.add(27)) << 24;
            }
            *wv = _mm512_loadu_si512(lane.as_ptr().cast());
        }
        let l = lanes(rq, o0);
        // The image offset of pooled output `n`'s window position `(a, b)`.
        let at = |n: usize, pos: usize| {
            let (i, j) = (n / pow, n % pow);
            ((2 * i + pos / 2) * sh) * pitch + (2 * j + pos % 2) * sw * c
        };
        let mut n0 = 0;
        while n0 < pixels {
            let count = (pixels - n0).min(16);
            // Pooled output `n`'s 16 channels as `i32` lanes, then 4 outputs' bytes per
            // vector (`pack4`: `vpmovdb` to memory is slow on Zen 4 and 5).
            let mut ints = [_mm512_setzero_si512(); 16];
            let mut n = 0;
            while n < count {
                if n + BATCH <= count {
                    let v = pooled::<C4, BATCH>(d, pitch, from_fn(|t| at(n0 + n + t / 4, t % 4)), &wv, &l);
                    ints[n..n + BATCH].copy_from_slice(&v);
                    n += BATCH;
                } else {
                    ints[n] = pooled::<C4, 1>(d, pitch, from_fn(|t| at(n0 + n, t % 4)), &wv, &l)[0];
                    n += 1;
                }
            }
            let mut packed = [_mm512_setzero_si512(); 4];
            for (q, v) in packed.iter_mut().enumerate() {
                *v = pack4([ints[4 * q], ints[4 * q + 1], ints[4 * q + 2], ints[4 * q + 3]]);
            }
            // SAFETY: four 64-byte vectors are sixteen 16-byte rows, in order.
            let rows: [__m128i; 16] = unsafe { core::mem::transmute(packed) };
            let cols = transpose16(&rows);
            let mask = ((1u32 << count) - 1) as __mmask16;
            for (o, col) in cols.iter().enumerate() {
                _mm_mask_storeu_epi8(y.as_mut_ptr().add((o0 + o) * pixels + n0), mask, *col);
            }
            n0 += count;
        }
        o0 += 16;
    }
}

/// `N ≤ BATCH` pooled outputs of 16 channels, their window positions' pixels at image offsets
/// `at[4n + pos]`: each pooled and requantized, as 16 `i32` lanes (channel `o` in lane `o`).
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI; each offset plus `2·pitch + 2·C + C`
/// bytes within the filled image; `wv[..9·C4]` the tile's weights.
#[inline(always)]
unsafe fn pooled<const C4: usize, const N: usize>(
    d: *const u8,
    pitch: usize,
    at: [usize; 4 * BATCH],
    wv: &[__m512i; 18],
    l: &Lanes,
) -> [__m512i; N] {
    let c = 4 * C4;
    // The bias first, as `pool_requant16` (its addition wraps, the maximum must see it).
    let mut acc = [[l.bias; 4]; N];
    for u in 0..3 {
        for v in 0..3 {
            for q in 0..C4 {
                let wt = wv[(3 * u + v) * C4 + q];
                let off = u * pitch + v * c + 4 * q;
                for n in 0..N {
                    for pos in 0..4 {
                        let x = d.add(at[4 * n + pos] + off).cast::<i32>().read_unaligned();
                        acc[n][pos] = _mm512_dpbusd_epi32(acc[n][pos], _mm512_set1_epi32(x), wt);
                    }
                }
            }
        }
    }
    let mut out = [_mm512_setzero_si512(); N];
    for n in 0..N {
        let mut a = acc[n];
        let v = if l.monotone {
            requant(_mm512_max_epi32(_mm512_max_epi32(a[0], a[1]), _mm512_max_epi32(a[2], a[3])), l)
        } else {
            for v in &mut a {
                *v = requant(*v, l);
            }
            _mm512_max_epi32(_mm512_max_epi32(a[0], a[1]), _mm512_max_epi32(a[2], a[3]))
        };
        out[n] = v;
    }
    out
}
