//! The int8 convolution, alone and fused with its 2×2 max pool: the padded band, the
//! blocks of output pixels, and the kernel of each instruction set (`vnni.rs`, `avx2.rs`).

use super::*;

mod avx2;
mod vnni;

use avx2::Avx2;
use vnni::Vnni;

/// How a convolution is cut for a SIMD kernel: its padded band and weight groups.
pub(crate) struct Plan {
    /// Bytes per padded row: `(OW − 1)·SW + KW`, the columns the windows read.
    wrow: usize,
    /// Output rows per band.
    out_rows: usize,
    /// Weight groups per kernel row: `⌈KW / UNIT⌉`.
    groups: usize,
}

impl Plan {
    /// The plan of `g` for the VNNI kernel; `None` for a shape it does not take.
    pub(crate) fn vnni(g: &Window) -> Option<Plan> {
        Plan::new::<Vnni>(g)
    }

    /// The plan of `g` for the AVX2 kernel; `None` for a shape it does not take.
    pub(crate) fn avx2(g: &Window) -> Option<Plan> {
        Plan::new::<Avx2>(g)
    }

    /// `None` for a shape `K` does not take (an empty one, a column stride above
    /// `K::MAX_STRIDE`, a row of windows that does not fit [`BAND`], weights that do not fit
    /// [`WEIGHTS`]): the portable kernel runs.
    fn new<K: ConvKernel>(g: &Window) -> Option<Plan> {
        let ((kh, kw), (sh, sw)) = (g.kernel, g.stride);
        if g.c == 0 || kh == 0 || kw == 0 || sh == 0 || sw == 0 || sw > K::MAX_STRIDE || g.oh == 0 || g.ow == 0 {
            return None;
        }
        let wrow = (g.ow - 1).checked_mul(sw)?.checked_add(kw)?;
        let rows = (BAND - SLACK) / g.c.checked_mul(wrow)?;
        let groups = kw.div_ceil(K::UNIT);
        let weights = if K::PACKS { 4 * K::MAX_OC * g.c * kh * groups } else { g.patch() + 4 };
        // Unpacked, a group's 4-byte read runs up to 3 bytes past a channel's row, into the next
        // channels' rows (the last channel reads a padded copy): those must hold 3 bytes.
        if rows < kh || weights > WEIGHTS || (!K::PACKS && g.patch() < 3) {
            return None;
        }
        Some(Plan { wrow, out_rows: (1 + (rows - kh) / sh).min(g.oh), groups })
    }

    /// The plan of `g` then the 2×2 max pool `p` (stride 2) for the VNNI kernel; `None`
    /// for a shape it does not take.
    pub(crate) fn vnni_pool(g: &Window, p: &PoolWindow) -> Option<Plan> {
        Plan::pooled::<Vnni>(g, p)
    }

    /// [`vnni_pool`](Self::vnni_pool) for the AVX2 kernel.
    pub(crate) fn avx2_pool(g: &Window, p: &PoolWindow) -> Option<Plan> {
        Plan::pooled::<Avx2>(g, p)
    }

    /// [`new`](Self::new)'s plan with bands of an even number of output rows (whole pool
    /// windows); `None` also for a pool that is not 2×2 every 2 pixels or has no output,
    /// twice the column stride above `K::MAX_STRIDE`, gathered inputs over [`GATHERED`]
    /// bytes, or (AVX2) all channels' packed weights over [`WEIGHTS`].
    fn pooled<K: ConvKernel>(g: &Window, p: &PoolWindow) -> Option<Plan> {
        if p.size != 2 || p.stride != 2 || p.oh == 0 || p.ow == 0 || 2 * g.stride.1 > K::MAX_STRIDE {
            return None;
        }
        let plan = Plan::new::<K>(g)?;
        let groups = g.c * g.kernel.0 * plan.groups;
        let packed = 4 * p.c.checked_mul(groups)?;
        if 4 * groups * core::mem::size_of::<K::X>() > GATHERED || (K::PACKS && packed > WEIGHTS) {
            return None;
        }
        let out_rows = plan.out_rows.min(2 * p.oh) & !1;
        (out_rows >= 2).then_some(Plan { out_rows, ..plan })
    }
}

/// Padded rows `r0 .. r0 + rows` of every channel of `x` as unsigned bytes (`x + 128`, or
/// `pad` outside the image) into `buf`, `[C][rows][wrow]`, then [`SLACK`] zero bytes. Only
/// 16-byte stores: each may spill up to 15 bytes past its segment, into bytes that a later
/// store writes (the rest of the row, the next row, the slack), so every byte ends as said.
///
/// # Safety
/// `C·rows·wrow + SLACK ≤ BAND` (the plan's bound).
#[inline(always)]
pub(super) unsafe fn fill_band(
    g: &Window,
    x: &[i8],
    pad: u8,
    r0: usize,
    rows: usize,
    wrow: usize,
    buf: &mut [MaybeUninit<u8>; BAND],
) {
    let (ph, pw) = g.padding;
    let len = g.c * rows * wrow;
    debug_assert!(len + SLACK <= BAND);
    let d = buf.as_mut_ptr().cast::<u8>();
    let (pad, flip) = (_mm_set1_epi8(pad as i8), _mm_set1_epi8(-128));
    // Padded column `s` holds input column `s − pw`.
    let lo = pw.min(wrow);
    let hi = (pw + g.w).min(wrow);
    for c in 0..g.c {
        for rr in 0..rows {
            let row = (c * rows + rr) * wrow;
            let r = r0 + rr;
            if r < ph || r - ph >= g.h {
                fill16(d, row, row + wrow, pad);
                continue;
            }
            fill16(d, row, row + lo, pad);
            let src = (c * g.h + r - ph) * g.w;
            let mut k = 0;
            while k < hi - lo {
                let v = if src + k + 16 <= x.len() {
                    _mm_loadu_si128(x.as_ptr().add(src + k).cast())
                } else {
                    let mut t = [0i8; 16];
                    let m = x.len() - (src + k);
                    t[..m].copy_from_slice(&x[src + k..]);
                    _mm_loadu_si128(t.as_ptr().cast())
                };
                _mm_storeu_si128(d.add(row + lo + k).cast(), _mm_xor_si128(v, flip));
                k += 16;
            }
            fill16(d, row + hi, row + wrow, pad);
        }
    }
    fill16(d, len, len + SLACK, _mm_setzero_si128());
}

/// AVX2's weights of output channels `o0 .. o0 + oc`: per channel, per kernel row, its
/// `groups` pairs of bytes as two `i16` in an `i32` (the second 0 past `KW`).
#[inline(always)]
fn pack_pairs(g: &Window, w: &[i8], o0: usize, oc: usize, groups: usize, packed: &mut [MaybeUninit<u8>; WEIGHTS]) {
    let kw = g.kernel.1;
    let rows = &w[o0 * g.patch()..(o0 + oc) * g.patch()];
    let mut out = packed.chunks_exact_mut(4);
    for row in rows.chunks_exact(kw) {
        for (m, d) in (0..groups).zip(&mut out) {
            let b0 = i16::from(row[2 * m]) as u16;
            let b1 = row.get(2 * m + 1).map_or(0, |&b| i16::from(b) as u16);
            let word = (u32::from(b1) << 16 | u32::from(b0)).to_le_bytes();
            for (d, b) in d.iter_mut().zip(word) {
                *d = MaybeUninit::new(b);
            }
        }
    }
}

/// One vector of output pixels: consecutive pixels of one output row.
#[derive(Clone, Copy)]
struct Block {
    /// The band offset of its first window (row `(i − i0)·SH`, column `j0·SW`).
    src: usize,
    /// Its first output offset in a channel plane (`i·OW + j0`).
    out: usize,
    /// Its pixels (the lanes stored).
    lanes: usize,
}

/// The blocks of `lanes` output pixels of rows `i .. end`, row by row.
struct Blocks<'a> {
    g: &'a Window,
    lanes: usize,
    wrow: usize,
    /// The next block's output row, its first padded row in the band (`(i − i0)·SH`) and
    /// its first column.
    i: usize,
    end: usize,
    band_row: usize,
    j0: usize,
}

impl Blocks<'_> {
    #[inline(always)]
    fn next(&mut self) -> Option<Block> {
        if self.i >= self.end {
            return None;
        }
        let g = self.g;
        let b = Block {
            src: self.band_row * self.wrow + self.j0 * g.stride.1,
            out: self.i * g.ow + self.j0,
            lanes: self.lanes.min(g.ow - self.j0),
        };
        self.j0 += self.lanes;
        if self.j0 >= g.ow {
            (self.i, self.band_row, self.j0) = (self.i + 1, self.band_row + g.stride.0, 0);
        }
        Some(b)
    }
}

/// What a convolution tile reads and writes.
struct Conv<'a> {
    c: usize,
    kh: usize,
    groups: usize,
    wrow: usize,
    /// Padded rows per channel in the band.
    rows: usize,
    /// The band (initialized, with its slack).
    band: *const u8,
    /// Bytes of a tile's weights per kernel row: `KW` (VNNI reads the weight rows) or
    /// `4·groups` (AVX2's packed pairs).
    weight_row: usize,
    rq: &'a Requant<'a>,
    pixels: usize,
    y: *mut i8,
}

/// A convolution kernel of one instruction set: how it groups a kernel row's bytes and
/// output pixels, its constants and its tile.
///
/// # Safety
/// The methods are compiled into the caller ([`conv_vnni`] or [`conv_avx2`]), whose
/// instruction set the CPU must support: AVX-512F, BW, VL and VNNI for [`Vnni`], AVX2 for
/// [`Avx2`].
trait ConvKernel {
    /// Bytes of a kernel row multiplied by one broadcast weight group (4, or 2 as `i16`).
    const UNIT: usize;
    /// Output pixels of a block (one vector).
    const LANES: usize;
    /// The largest column stride the gather shuffle takes.
    const MAX_STRIDE: usize;
    /// Output channels of a tile (two blocks each: `2·MAX_OC` accumulators).
    const MAX_OC: usize;
    /// Whether the tile reads packed weights ([`pack_pairs`]) or the weight rows.
    const PACKS: bool;
    /// The shuffle constants.
    type Consts: Copy;
    /// An output channel's requantization constants.
    type Channel: Copy;
    /// The constants of column stride `sw` and kernel width `kw`.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn consts(sw: usize, kw: usize) -> Self::Consts;
    /// Output channel `o`'s constants.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn channel(rq: &Requant<'_>, o: usize) -> Self::Channel;
    /// Output channels `o0 .. o0 + OC` of `PV` blocks, channel `o0 + o`'s weights at
    /// `weights[o]` (rows of [`Conv::weight_row`] bytes).
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait); `k` describes a filled band
    /// containing every window of the blocks (and the 64 bytes a load reads from a window's
    /// first byte, with the slack); each `weights[o]` is valid for reads of
    /// `C·KH·weight_row` bytes, plus 3 past the last group (VNNI reads 4 bytes a group);
    /// the output `y` holds `(o0 + OC)·pixels` elements and contains every block.
    unsafe fn tile<const OC: usize, const PV: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        blocks: [Block; PV],
        c: Self::Consts,
    );

    /// Output channels of a pooled tile (four accumulators each, one per window position).
    const POOL_OC: usize;
    /// A gathered input vector: one weight group's bytes for each pixel of a block.
    type X: Copy;
    /// The input vectors of pooled block `b`, into `xs`: for each `(c, u, group)` in order,
    /// the four window positions' (`c` made by [`consts`](Self::consts) with twice the
    /// column stride: the pixels of a position are every other column).
    ///
    /// # Safety
    /// The CPU supports the instruction set; `k` describes a filled band containing every
    /// window of the block (and the 64 bytes a load reads from a window's first byte, with
    /// the slack); `xs` is valid for `4·C·KH·groups` aligned writes.
    unsafe fn gather(k: &Conv<'_>, b: &PoolBlock, xs: *mut Self::X, c: Self::Consts);
    /// Output channels `o0 .. o0 + OC` of pooled block `b` from its gathered inputs `xs`:
    /// the four positions' accumulators, pooled and requantized ([`pool_requant16`]), stored
    /// at `b.out` of each channel's pooled plane.
    ///
    /// # Safety
    /// The CPU supports the instruction set; `xs` filled by [`gather`](Self::gather) for `k`
    /// and `b`; `weights` as for [`tile`](Self::tile); the output `y` holds
    /// `(o0 + OC)·pixels` elements (pooled pixels) and contains the block.
    unsafe fn pool_tile<const OC: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        b: &PoolBlock,
        xs: *const Self::X,
    );
}

/// Up to `LANES` consecutive pooled outputs of a channel (in the flattened pooled plane):
/// the first `split` from pooled row A, the rest from the start of the next row B (so
/// that narrow pooled rows still fill a vector).
struct PoolBlock {
    /// Per window position `(u, v)` (index `2u + v`), the band offset of row A's first
    /// window.
    a: [usize; 4],
    /// Per position, row B's first window's offset minus `split` windows: lane `l ≥ split`
    /// of a block gathered from there is row B's pixel `l − split`.
    b: [usize; 4],
    split: usize,
    /// The pooled outputs stored.
    lanes: usize,
    /// The first output's offset in a pooled channel plane.
    out: usize,
}
/// The blocks of output rows `i0 .. i0 + out_rows` through `K`'s tile of `OC` channels,
/// two blocks at a time.
///
/// # Safety
/// As [`ConvKernel::tile`] for every block, `weights` pointing to `OC` channels' weights.
#[inline(always)]
unsafe fn tiles<K: ConvKernel, const OC: usize>(
    g: &Window,
    k: &Conv<'_>,
    o0: usize,
    weights: impl Fn(usize) -> *const u8,
    (i0, out_rows): (usize, usize),
    consts: K::Consts,
) {
    let weights: [*const u8; OC] = from_fn(weights);
    let mut channels = [K::channel(k.rq, o0); OC];
    for (o, c) in channels.iter_mut().enumerate().skip(1) {
        *c = K::channel(k.rq, o0 + o);
    }
    let mut blocks = Blocks { g, lanes: K::LANES, wrow: k.wrow, i: i0, end: i0 + out_rows, band_row: 0, j0: 0 };
    while let Some(a) = blocks.next() {
        match blocks.next() {
            Some(b) => K::tile::<OC, 2>(k, o0, &weights, &channels, [a, b], consts),
            None => K::tile::<OC, 1>(k, o0, &weights, &channels, [a], consts),
        }
    }
}

/// Output channel `co − 1`'s `patch` weights and 4 zero bytes into `copy`: VNNI reads a
/// kernel row's last group as 4 bytes, up to 3 past the row, which for the last channel would
/// be past the weights (the plan checked `patch + 4` fits).
fn copy_last_channel(w: &[i8], co: usize, patch: usize, copy: &mut [MaybeUninit<u8>; WEIGHTS]) {
    for (d, &v) in copy.iter_mut().zip(&w[(co - 1) * patch..co * patch]) {
        *d = MaybeUninit::new(v as u8);
    }
    copy[patch..patch + 4].fill(MaybeUninit::new(0));
}

/// The int8 convolution of `g` with VNNI (see the module docs and [`Vnni`]), `plan` from
/// [`Plan::vnni`].
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI ([`vnni`]); `plan` is `g`'s; `w` holds
/// `co·patch` weights, `x` the image, `y` `co·pixels` outputs, `rq`'s slices `co` elements
/// (`co = rq.bias.len() ≥ 1`); `pad` is `z_x + 128`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn conv_vnni(g: &Window, plan: &Plan, w: &[i8], pad: u8, rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    conv_bands::<Vnni>(g, plan, w, pad, rq, x, y)
}

/// The int8 convolution of `g` with AVX2, `plan` from [`Plan::avx2`].
///
/// # Safety
/// As [`conv_vnni`], with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_avx2(g: &Window, plan: &Plan, w: &[i8], pad: u8, rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    conv_bands::<Avx2>(g, plan, w, pad, rq, x, y)
}

/// The bands of the image, and in each the tiles of output channels: fills the band (and,
/// for AVX2, packs the tile's weights), then runs `K`'s tiles over the band's blocks.
///
/// # Safety
/// As [`conv_vnni`], for `K`'s instruction set; `plan` made for `K`.
#[inline(always)]
unsafe fn conv_bands<K: ConvKernel>(
    g: &Window,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    let mut band = [MaybeUninit::<u8>::uninit(); BAND];
    let mut copy = [MaybeUninit::<u8>::uninit(); WEIGHTS];
    let consts = K::consts(g.stride.1, g.kernel.1);
    let (co, sh, patch) = (rq.bias.len(), g.stride.0, g.patch());
    if !K::PACKS {
        copy_last_channel(w, co, patch, &mut copy);
    }
    let copy = &mut copy;
    let mut i0 = 0;
    while i0 < g.oh {
        let out_rows = plan.out_rows.min(g.oh - i0);
        let rows = (out_rows - 1) * sh + g.kernel.0;
        // SAFETY: the plan keeps `C·rows·wrow + SLACK ≤ BAND` (`rows` at most its band).
        unsafe { fill_band(g, x, pad, i0 * sh, rows, plan.wrow, &mut band) };
        let mut o0 = 0;
        while o0 < co {
            let oc = (co - o0).min(K::MAX_OC);
            let oc = if oc >= 8 {
                8
            } else if oc >= 4 {
                4
            } else if oc >= 2 {
                2
            } else {
                1
            };
            let weight_row = if K::PACKS {
                pack_pairs(g, w, o0, oc, plan.groups, copy);
                4 * plan.groups
            } else {
                g.kernel.1
            };
            let k = Conv {
                c: g.c,
                kh: g.kernel.0,
                groups: plan.groups,
                wrow: plan.wrow,
                rows,
                band: band.as_ptr().cast(),
                weight_row,
                rq,
                pixels: g.pixels(),
                y: y.as_mut_ptr(),
            };
            let (w, copy) = (w.as_ptr().cast::<u8>(), copy.as_ptr().cast::<u8>());
            let weights = |o: usize| match (K::PACKS, o0 + o) {
                (true, _) => copy.add(o * g.c * g.kernel.0 * weight_row),
                (false, ch) if ch + 1 == co => copy,
                (false, ch) => w.add(ch * patch),
            };
            let band = (i0, out_rows);
            match oc {
                8 => tiles::<K, 8>(g, &k, o0, weights, band, consts),
                4 => tiles::<K, 4>(g, &k, o0, weights, band, consts),
                2 => tiles::<K, 2>(g, &k, o0, weights, band, consts),
                _ => tiles::<K, 1>(g, &k, o0, weights, band, consts),
            }
            o0 += oc;
        }
        i0 += out_rows;
    }
}

/// The fused convolution and 2×2 max pool of [`conv_pool_vnni`] by a kernel for the shape
/// of `g`, when one takes it: one input channel ([`single`]), or 16·n output channels from
/// 4 or 8 input channels with a 3×3 kernel ([`lanes`]). `false`, having done nothing,
/// otherwise. These need no [`Plan`]: they are tried before the general kernel's.
///
/// # Safety
/// As [`conv_pool_vnni`], without a plan.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn conv_pool_vnni_shaped(
    g: &Window,
    p: &PoolWindow,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) -> bool {
    single::conv_pool(g, p, w, pad, rq, x, y) || lanes::conv_pool(g, p, w, pad, rq, x, y)
}

/// The int8 convolution of `g`, requantized, then the 2×2 max pool (stride 2) `p` of its
/// output, with VNNI, fused: per block of pooled outputs, the accumulators of the four
/// window positions, their maximum, one requantization (see [`pool_requant16`]). `plan`
/// from [`Plan::vnni_pool`]. (The shapes of [`conv_pool_vnni_shaped`] have faster kernels.)
///
/// # Safety
/// As [`conv_vnni`], `y` holding `co·p.oh·p.ow` outputs and `p` the pool of `g`'s output
/// (`p.c = co`, `p.h × p.w = g.oh × g.ow`).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_pool_vnni(
    g: &Window,
    p: &PoolWindow,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    conv_pool_bands::<Vnni>(g, p, plan, w, pad, rq, x, y)
}

/// [`conv_pool_vnni`] with AVX2, `plan` from [`Plan::avx2_pool`].
///
/// # Safety
/// As [`conv_pool_vnni`], with AVX2.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_pool_avx2(
    g: &Window,
    p: &PoolWindow,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    conv_pool_bands::<Avx2>(g, p, plan, w, pad, rq, x, y)
}

/// The bands of the image (an even number of output rows each), in each the pooled blocks
/// (up to `K::LANES` consecutive pooled outputs, over at most two pooled rows): gathers a
/// block's inputs once, then runs `K`'s pooled tiles over the output channels.
///
/// # Safety
/// As [`conv_pool_vnni`], for `K`'s instruction set; `plan` made by [`Plan::pooled`] for `K`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_pool_bands<K: ConvKernel>(
    g: &Window,
    p: &PoolWindow,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    let mut band = [MaybeUninit::<u8>::uninit(); BAND];
    let mut copy = [MaybeUninit::<u8>::uninit(); WEIGHTS];
    // 64-byte vectors: aligned for either kernel's `X`.
    let mut gathered = [MaybeUninit::<__m512i>::uninit(); GATHERED / 64];
    let xs = gathered.as_mut_ptr().cast::<K::X>();
    let consts = K::consts(2 * g.stride.1, g.kernel.1);
    let (co, (sh, sw), patch, lanes) = (rq.bias.len(), g.stride, g.patch(), K::LANES);
    let weight_row = if K::PACKS {
        // Every channel's packed weights (the plan checked they fit).
        pack_pairs(g, w, 0, co, plan.groups, &mut copy);
        4 * plan.groups
    } else {
        copy_last_channel(w, co, patch, &mut copy);
        g.kernel.1
    };
    let (wp, cp) = (w.as_ptr().cast::<u8>(), copy.as_ptr().cast::<u8>());
    let weights = |ch: usize| match K::PACKS {
        true => cp.add(ch * g.c * g.kernel.0 * weight_row),
        false if ch + 1 == co => cp,
        false => wp.add(ch * patch),
    };
    let pow = p.ow;
    let mut pi0 = 0;
    while pi0 < p.oh {
        let np = (plan.out_rows / 2).min(p.oh - pi0);
        let rows = (2 * np - 1) * sh + g.kernel.0;
        // SAFETY: the plan keeps `C·rows·wrow + SLACK ≤ BAND` (`rows` at most its band).
        unsafe { fill_band(g, x, pad, 2 * pi0 * sh, rows, plan.wrow, &mut band) };
        let k = Conv {
            c: g.c,
            kh: g.kernel.0,
            groups: plan.groups,
            wrow: plan.wrow,
            rows,
            band: band.as_ptr().cast(),
            weight_row,
            rq,
            pixels: p.oh * pow,
            y: y.as_mut_ptr(),
        };
        // The band offset of pooled output (i, j)'s window position (u, v).
        let src = |i: usize, j: usize, q: usize| ((2 * (i - pi0) + q / 2) * sh) * plan.wrow + (2 * j + q % 2) * sw;
        let (mut q, end) = (pi0 * pow, (pi0 + np) * pow);
        while q < end {
            let (i, j) = (q / pow, q % pow);
            let split = (pow - j).min(lanes);
            let more = if split < lanes && i + 1 < pi0 + np { (lanes - split).min(pow) } else { 0 };
            let b = PoolBlock {
                a: from_fn(|t| src(i, j, t)),
                b: from_fn(|t| if more > 0 { src(i + 1, 0, t) - split * 2 * sw } else { src(i, j, t) }),
                split: if more > 0 { split } else { lanes },
                lanes: split + more,
                out: q,
            };
            K::gather(&k, &b, xs, consts);
            let mut o0 = 0;
            while o0 < co {
                let oc = (co - o0).min(K::POOL_OC);
                let oc = if oc >= 4 {
                    4
                } else if oc >= 2 {
                    2
                } else {
                    1
                };
                match oc {
                    4 => pool_tiles::<K, 4>(&k, o0, &weights, &b, xs),
                    2 => pool_tiles::<K, 2>(&k, o0, &weights, &b, xs),
                    _ => pool_tiles::<K, 1>(&k, o0, &weights, &b, xs),
                }
                o0 += oc;
            }
            q += b.lanes;
        }
        pi0 += np;
    }
}

/// Output channels `o0 .. o0 + OC` of pooled block `b` through `K`'s pooled tile.
///
/// # Safety
/// As [`ConvKernel::pool_tile`], `weights(ch)` pointing to channel `ch`'s weights.
#[inline(always)]
unsafe fn pool_tiles<K: ConvKernel, const OC: usize>(
    k: &Conv<'_>,
    o0: usize,
    weights: &impl Fn(usize) -> *const u8,
    b: &PoolBlock,
    xs: *const K::X,
) {
    let ws: [*const u8; OC] = from_fn(|o| weights(o0 + o));
    let mut channels = [K::channel(k.rq, o0); OC];
    for (o, c) in channels.iter_mut().enumerate().skip(1) {
        *c = K::channel(k.rq, o0 + o);
    }
    K::pool_tile::<OC>(k, o0, &ws, &channels, b, xs)
}
