//! The direct stride-1 convolution ([`Direct`]) register-blocked: no column matrix, the
//! rows of the padded image are read where they lie.
//!
//! - **Sum** (the forward, and the input gradient as the sum over the padded output
//!   gradient with flipped weights): a tile is `R` output channels × `K` vectors of 8
//!   consecutive outputs of one output row. For each of the `ci·kh·kw` terms it loads `K`
//!   vectors of an image row and broadcasts `R` weights: `R·K` FMAs for `R + K` loads. Each
//!   output is its bias plus the terms in order, one rounding per FMA, so the result does
//!   not depend on the tile or the level.
//! - **Weight gradient**: a tile is `R` output channels × `Q` weight positions, `R·Q`
//!   vectors of 8 partial sums over one sample's output pixels (`R + Q` loads for `R·Q`
//!   FMAs), reduced 8 at a time by the transpose-and-add tree of the dot products and added
//!   to `dw`. Lane `l` sums the pixels `j ≡ l (mod 8)` of every row in order, whatever the
//!   tile, so every level gives the same bits.
//!
//! Vectors are 8 lanes on both levels (see `docs/kernels.md`: the FMA throughput of Zen 4
//! is the same at 8 and 16 lanes). A row's last partial vector is loaded and stored with
//! masks: AVX-512VL mask registers, or on AVX2 a masked load and stores of 4, 2 and 1 lanes
//! (AMD's cores microcode `VMASKMOVPS` stores).

use core::arch::x86_64::*;

use super::avx2::Avx2;
use super::vector::{store8, Dot};
use crate::kernels::conv::Direct;

/// Partial loads and stores of the first `n < 8` lanes (nothing else is touched).
///
/// # Safety
/// Each implementor's methods are compiled for its instruction set (below), which the CPU
/// must support.
trait Edge {
    /// The first `n` lanes from `p`, the others 0.
    ///
    /// # Safety
    /// The CPU supports the implementor's instruction set; `n ≤ 8`; `p` valid for `n` reads.
    unsafe fn load_n(p: *const f32, n: usize) -> __m256;
    /// Stores the first `n` lanes of `v` to `p`.
    ///
    /// # Safety
    /// The CPU supports the implementor's instruction set; `n ≤ 8`; `p` valid for `n` writes.
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize);
}

/// AVX2 and FMA.
struct ViaPieces;
/// AVX-512F and AVX-512VL.
struct ViaMask;

/// `MASKS[8 - n..16 - n]` enables the first `n ≤ 8` lanes.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

// The contracts are `Edge`'s: AVX2 and FMA, `n ≤ 8`, `p` valid for `n` elements.
impl Edge for ViaPieces {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        _mm256_maskload_ps(p, _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast()))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        store8(p, v, n)
    }
}

// The contracts are `Edge`'s: AVX-512F and AVX-512VL, `n ≤ 8`, `p` valid for `n` elements.
impl Edge for ViaMask {
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        _mm256_maskz_loadu_ps(((1u32 << n) - 1) as __mmask8, p)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512vl")]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        _mm256_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask8, v)
    }
}

/// Vector `t` of `K` at `p`: the last one `last` lanes when `PARTIAL`.
///
/// # Safety
/// The CPU supports `E`'s instruction set (the callers are compiled for it); `t < K`,
/// `last ≤ 8`; `p` valid for reads of `8·t + 8` elements, or `8·t + last` for the last
/// vector when `PARTIAL`.
#[inline(always)]
unsafe fn load<E: Edge, const K: usize, const PARTIAL: bool>(p: *const f32, t: usize, last: usize) -> __m256 {
    if PARTIAL && t + 1 == K {
        E::load_n(p.add(8 * t), last)
    } else {
        _mm256_loadu_ps(p.add(8 * t))
    }
}

/// One tile of the sum: output channels `o0 .. o0 + R` (channels past `co` repeat the last
/// and are not stored), output rows `i0 .. i0 + M` (rows past `oh` likewise), columns
/// `j0 .. j0 + 8·K` (`last` lanes in the last vector when `PARTIAL`).
///
/// # Safety
/// The CPU supports `E`'s instruction set (and FMA); the pointers as for [`sum_avx512`];
/// `o0 < co`, `i0 < oh`, and the columns `j0 .. j0 + 8·(K − 1) + (last if PARTIAL else 8)`
/// within the output row (`≤ ow`), so every load stays in the padded image and every store
/// in `y`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn sum_tile<E: Edge, const R: usize, const M: usize, const K: usize, const PARTIAL: bool>(
    d: &Direct,
    w: *const f32,
    x: *const f32,
    bias: *const f32,
    y: *mut f32,
    (o0, i0, j0, last): (usize, usize, usize, usize),
) {
    let acc = accumulate::<E, R, M, K, PARTIAL>(d, w, x, bias, (o0, i0, j0, last));
    for (r, acc) in acc.iter().enumerate() {
        for (m, acc) in acc.iter().enumerate() {
            if o0 + r < d.co && i0 + m < d.oh {
                let out = y.add(((o0 + r) * d.oh + i0 + m) * d.ow + j0);
                for (t, &v) in acc.iter().enumerate() {
                    if PARTIAL && t + 1 == K {
                        E::store_n(out.add(8 * t), v, last);
                    } else {
                        _mm256_storeu_ps(out.add(8 * t), v);
                    }
                }
            }
        }
    }
}

/// The sums of one tile (see [`sum_tile`]), in registers: `acc[r][m][t]`.
///
/// # Safety
/// As [`sum_tile`] (it reads `w`, `x` and `bias` only).
#[inline(always)]
unsafe fn accumulate<E: Edge, const R: usize, const M: usize, const K: usize, const PARTIAL: bool>(
    d: &Direct,
    w: *const f32,
    x: *const f32,
    bias: *const f32,
    (o0, i0, j0, last): (usize, usize, usize, usize),
) -> [[[__m256; K]; M]; R] {
    let patch = d.patch();
    let mut wr = [w; R];
    let mut acc = [[[_mm256_setzero_ps(); K]; M]; R];
    for r in 0..R {
        let o = (o0 + r).min(d.co - 1);
        wr[r] = w.add(o * patch);
        if !bias.is_null() {
            acc[r] = [[_mm256_set1_ps(*bias.add(o)); K]; M];
        }
    }
    let mut rows = [0usize; M];
    for (m, v) in rows.iter_mut().enumerate() {
        *v = (i0 + m).min(d.oh - 1) * d.wp;
    }
    let mut p = 0;
    for c in 0..d.ci {
        for a in 0..d.kh {
            let row = x.add((c * d.hp + d.r0 + a) * d.wp + d.c0 + j0);
            for b in 0..d.kw {
                let mut q = [[_mm256_setzero_ps(); K]; M];
                for m in 0..M {
                    for t in 0..K {
                        q[m][t] = load::<E, K, PARTIAL>(row.add(rows[m] + b), t, last);
                    }
                }
                for r in 0..R {
                    let wv = _mm256_set1_ps(*wr[r].add(p));
                    for m in 0..M {
                        for t in 0..K {
                            acc[r][m][t] = _mm256_fmadd_ps(wv, q[m][t], acc[r][m][t]);
                        }
                    }
                }
                p += 1;
            }
        }
    }
    acc
}

/// Every tile of one column strip (`K` vectors from column `j0`), `R` channels × `M` rows
/// at a time.
///
/// # Safety
/// As [`sum_tile`], for the columns `j0 .. j0 + 8·K` of every output row.
#[inline(always)]
unsafe fn sum_strip<E: Edge, const R: usize, const M: usize, const K: usize, const PARTIAL: bool>(
    d: &Direct,
    w: *const f32,
    x: *const f32,
    bias: *const f32,
    y: *mut f32,
    (j0, last): (usize, usize),
) {
    let mut i0 = 0;
    while i0 < d.oh {
        let mut o0 = 0;
        while o0 < d.co {
            sum_tile::<E, R, M, K, PARTIAL>(d, w, x, bias, y, (o0, i0, j0, last));
            o0 += R;
        }
        i0 += M;
    }
}

/// Of two tile heights, the one that pads `n` rows least (the first on a tie).
#[inline(always)]
fn pick(n: usize, first: usize, second: usize) -> usize {
    if n.div_ceil(second) * second < n.div_ceil(first) * first {
        second
    } else {
        first
    }
}

macro_rules! sum_dispatch {
    ($strip:ident, $e:ty, $d:expr, $w:expr, $x:expr, $bias:expr, $y:expr, [$(($k:literal, ($r1:literal, $m1:literal), ($r2:literal, $m2:literal))),*]) => {{
        let (d, w, x, bias, y) = ($d, $w, $x, $bias, $y);
        // Column strips of at most 4 vectors, of balanced widths (13 vectors: 4 + 3 + 3 +
        // 3); the last vector of the last strip is partial when 8 does not divide `ow`.
        // (A loop, not a closure: the tiles must inline into this function's features.)
        let last = match d.ow % 8 { 0 => 8, n => n };
        let nv = d.ow.div_ceil(8);
        let n = nv.div_ceil(4);
        let (base, wide) = (nv / n.max(1), nv % n.max(1));
        let mut v = 0;
        for s in 0..n {
            let width = base + usize::from(s < wide);
            let partial = v + width == nv && last != 8;
            let at = (8 * v, last);
            match width {
                $($k => match (pick(d.co, $r1, $r2) == $r1, partial) {
                    (true, false) => $strip::<$e, $r1, $m1, $k, false>(d, w, x, bias, y, at),
                    (true, true) => $strip::<$e, $r1, $m1, $k, true>(d, w, x, bias, y, at),
                    (false, false) => $strip::<$e, $r2, $m2, $k, false>(d, w, x, bias, y, at),
                    (false, true) => $strip::<$e, $r2, $m2, $k, true>(d, w, x, bias, y, at),
                },)*
                _ => unreachable!("strips are 1 to 4 vectors wide"),
            }
            v += width;
        }
    }};
}

/// The sum of `d` (overwrites `y`), AVX-512 level: tiles of 6 or 4 channels × 4 vectors,
/// 8 or 6 × 3, 4 channels × 3 rows × 2 vectors (rows of up to 16: fewer loads per FMA), 16
/// or 8 × 1 (at most 24 accumulators of 32 registers).
///
/// # Safety
/// AVX-512F and AVX-512VL; `d.fits()`, `d.co ≥ 1`; `w`: `co·patch` elements, `x`:
/// `d.image_len()`, `bias`: null or `co`, `y`: `d.out_len()` (exclusive).
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn sum_avx512(d: &Direct, w: *const f32, x: *const f32, bias: *const f32, y: *mut f32) {
    sum_dispatch!(
        sum_strip,
        ViaMask,
        d,
        w,
        x,
        bias,
        y,
        [(4, (6, 1), (4, 1)), (3, (8, 1), (6, 1)), (2, (4, 3), (4, 3)), (1, (16, 1), (8, 1))]
    )
}

/// One tile of the sum, then a ReLU and 2×2 max pooling of stride 2, in 16-lane vectors:
/// output channels `o0 .. o0 + R` (past `co`: repeated, not stored), sum rows `i0 .. i0 + M`
/// (`M` even, `i0` even), sum columns `j0 .. j0 + 16·K` (`j0` a multiple of 16; lanes past
/// `ow` masked). The sums are never stored: `y` is the pooled output, `co × ⌊oh/2⌋ ×
/// ⌊ow/2⌋`. Each sum is its bias plus the terms in order, as in [`sum_tile`]; after the
/// ReLU no value is NaN or `−0`, so `VMAXPS` in any order gives the pool of the ReLU's
/// output bit for bit. (16 lanes: twice the FMAs per load and broadcast of 8-lane tiles of
/// the same registers, which a tile of two rows needs.)
///
/// # Safety
/// AVX-512F and AVX-512VL (the callers are compiled for them); the pointers as for
/// [`sum_relu_pool_avx512`]; `o0 < co`, `i0 + M ≤ 2·⌊oh/2⌋`, `j0 < 2·⌊ow/2⌋`.
#[inline(always)]
unsafe fn pool_tile<const R: usize, const M: usize, const K: usize>(
    d: &Direct,
    w: *const f32,
    x: *const f32,
    bias: *const f32,
    y: *mut f32,
    (o0, i0, j0): (usize, usize, usize),
) {
    let patch = d.patch();
    let mut mask = [0 as __mmask16; K];
    for (t, m) in mask.iter_mut().enumerate() {
        let lanes = d.ow.saturating_sub(j0 + 16 * t).min(16);
        *m = ((1u32 << lanes) - 1) as __mmask16;
    }
    let mut wr = [w; R];
    let mut acc = [[[_mm512_setzero_ps(); K]; M]; R];
    for r in 0..R {
        let o = (o0 + r).min(d.co - 1);
        wr[r] = w.add(o * patch);
        if !bias.is_null() {
            acc[r] = [[_mm512_set1_ps(*bias.add(o)); K]; M];
        }
    }
    let mut rows = [0usize; M];
    for (m, v) in rows.iter_mut().enumerate() {
        *v = (i0 + m).min(d.oh - 1) * d.wp;
    }
    let mut p = 0;
    for c in 0..d.ci {
        for a in 0..d.kh {
            let row = x.add((c * d.hp + d.r0 + a) * d.wp + d.c0 + j0);
            for b in 0..d.kw {
                let mut q = [[_mm512_setzero_ps(); K]; M];
                for m in 0..M {
                    for t in 0..K {
                        q[m][t] = _mm512_maskz_loadu_ps(mask[t], row.add(rows[m] + b + 16 * t));
                    }
                }
                for r in 0..R {
                    let wv = _mm512_set1_ps(*wr[r].add(p));
                    for m in 0..M {
                        for t in 0..K {
                            acc[r][m][t] = _mm512_fmadd_ps(wv, q[m][t], acc[r][m][t]);
                        }
                    }
                }
                p += 1;
            }
        }
    }
    let (ph, pw, zero) = (d.oh / 2, d.ow / 2, _mm512_setzero_ps());
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    for (r, acc) in acc.iter().enumerate() {
        for m in 0..M / 2 {
            let pi = i0 / 2 + m;
            if o0 + r >= d.co || pi >= ph {
                continue;
            }
            let out = y.add(((o0 + r) * ph + pi) * pw + j0 / 2);
            for t in 0..K {
                // ReLU, the maximum of the two rows, then of the column pairs: 8 outputs.
                let top = _mm512_max_ps(acc[2 * m][t], zero);
                let v = _mm512_max_ps(top, _mm512_max_ps(acc[2 * m + 1][t], zero));
                let best = _mm512_max_ps(_mm512_permutexvar_ps(even, v), _mm512_permutexvar_ps(odd, v));
                let n = pw.saturating_sub(j0 / 2 + 8 * t).min(8);
                _mm512_mask_storeu_ps(out.add(8 * t), ((1u32 << n) - 1) as __mmask16, best);
            }
        }
    }
}

/// Every [`pool_tile`] of one column strip (`K` vectors of 16 from column `j0`).
///
/// # Safety
/// As [`pool_tile`], for every tile of the strip.
#[inline(always)]
unsafe fn pool_strip<const R: usize, const M: usize, const K: usize>(
    d: &Direct,
    w: *const f32,
    x: *const f32,
    bias: *const f32,
    y: *mut f32,
    j0: usize,
) {
    let mut i0 = 0;
    while i0 < d.oh / 2 * 2 {
        let mut o0 = 0;
        while o0 < d.co {
            pool_tile::<R, M, K>(d, w, x, bias, y, (o0, i0, j0));
            o0 += R;
        }
        i0 += M;
    }
}

/// The sum of `d`, then a ReLU and 2×2 max pooling of stride 2, without storing the sum:
/// `y` (`co × ⌊oh/2⌋ × ⌊ow/2⌋`) is bit for bit the pool of the ReLU of [`sum_avx512`]'s
/// output. Column strips of one or two 16-lane vectors, tiles of 2 rows: 6 or 4 channels × 2
/// vectors, 12 or 8 × 1.
///
/// # Safety
/// As [`sum_avx512`], with `y`: `co·⌊oh/2⌋·⌊ow/2⌋` elements and `oh, ow ≥ 2`.
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn sum_relu_pool_avx512(d: &Direct, w: *const f32, x: *const f32, bias: *const f32, y: *mut f32) {
    // Only the columns that are pooled: 2·⌊ow/2⌋.
    let cols = d.ow / 2 * 2;
    let nv = cols.div_ceil(16);
    let mut v = 0;
    while v < nv {
        let j0 = 16 * v;
        if nv - v >= 2 {
            if pick(d.co, 6, 4) == 6 {
                pool_strip::<6, 2, 2>(d, w, x, bias, y, j0);
            } else {
                pool_strip::<4, 2, 2>(d, w, x, bias, y, j0);
            }
            v += 2;
        } else {
            if pick(d.co, 12, 8) == 12 {
                pool_strip::<12, 2, 1>(d, w, x, bias, y, j0);
            } else {
                pool_strip::<8, 2, 1>(d, w, x, bias, y, j0);
            }
            v += 1;
        }
    }
}

/// [`sum_avx512`] on the AVX2 level: 2 × 4, 4 or 3 × 3, 6 or 4 × 2, 12 or 8 × 1 (16
/// registers).
///
/// # Safety
/// AVX2 and FMA; pointers as for [`sum_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sum_avx2(d: &Direct, w: *const f32, x: *const f32, bias: *const f32, y: *mut f32) {
    sum_dispatch!(
        sum_strip,
        ViaPieces,
        d,
        w,
        x,
        bias,
        y,
        [(4, (2, 1), (2, 1)), (3, (4, 1), (3, 1)), (2, (6, 1), (4, 1)), (1, (12, 1), (8, 1))]
    )
}

/// One tile of the weight gradient for one sample: `dw[o0 + r][p0 + q] += Σ_{i,j}
/// dy[o0 + r][i][j]·x[row p0 + q at i, j]` (channels past `co` and positions past the patch
/// repeat the last and are not added).
///
/// # Safety
/// The CPU supports `E`'s instruction set (and FMA); `d.fits()`, `o0 < co`; `dy` valid for
/// `co·oh·ow` reads; each `xr[q]` points into the padded image so that its `oh` rows of `ow`
/// values (stride `wp`) are readable; `dw` valid for `co·patch` reads and writes
/// (exclusive), `p0 < patch`.
#[inline(always)]
unsafe fn gradient_tile<E: Edge, const R: usize, const Q: usize, const A: usize>(
    d: &Direct,
    dy: *const f32,
    xr: &[*const f32; Q],
    dw: *mut f32,
    (o0, p0): (usize, usize),
) {
    let (patch, plane) = (d.patch(), d.oh * d.ow);
    let mut dr = [dy; R];
    for (r, p) in dr.iter_mut().enumerate() {
        *p = dy.add((o0 + r).min(d.co - 1) * plane);
    }
    // acc[r·Q + q]
    let mut acc = [_mm256_setzero_ps(); A];
    let (full, last) = (d.ow / 8, d.ow % 8);
    for i in 0..d.oh {
        let (ro, rx) = (i * d.ow, i * d.wp);
        for v in 0..full {
            let mut g = [_mm256_setzero_ps(); R];
            for r in 0..R {
                g[r] = _mm256_loadu_ps(dr[r].add(ro + 8 * v));
            }
            for q in 0..Q {
                let xv = _mm256_loadu_ps(xr[q].add(rx + 8 * v));
                for r in 0..R {
                    acc[r * Q + q] = _mm256_fmadd_ps(g[r], xv, acc[r * Q + q]);
                }
            }
        }
        if last != 0 {
            let mut g = [_mm256_setzero_ps(); R];
            for r in 0..R {
                g[r] = E::load_n(dr[r].add(ro + 8 * full), last);
            }
            for q in 0..Q {
                let xv = E::load_n(xr[q].add(rx + 8 * full), last);
                for r in 0..R {
                    acc[r * Q + q] = _mm256_fmadd_ps(g[r], xv, acc[r * Q + q]);
                }
            }
        }
    }
    for (n, group) in acc.chunks_exact(8).enumerate() {
        let mut sums = [0f32; 8];
        _mm256_storeu_ps(sums.as_mut_ptr(), <Avx2 as Dot>::reduce(group));
        for (l, &s) in sums.iter().enumerate() {
            let (r, q) = ((n * 8 + l) / Q, (n * 8 + l) % Q);
            if o0 + r < d.co && p0 + q < patch {
                *dw.add((o0 + r) * patch + p0 + q) += s;
            }
        }
    }
}

/// Every tile of the weight gradient, `R × Q` at a time (`A = R·Q`, a multiple of 8).
///
/// # Safety
/// As [`weight_gradient_avx512`], with the CPU supporting `E`'s instruction set and FMA.
#[inline(always)]
unsafe fn gradient_tiles<E: Edge, const R: usize, const Q: usize, const A: usize>(
    d: &Direct,
    dy: *const f32,
    x: *const f32,
    dw: *mut f32,
) {
    let patch = d.patch();
    // Positions in the outer loop: their image rows are found by counting (c, a, b), not
    // by divisions (which cost more than a tile's arithmetic on small images).
    let (mut c, mut a, mut b) = (0, 0, 0);
    let mut p0 = 0;
    while p0 < patch {
        let mut xr = [x; Q];
        for (q, row) in xr.iter_mut().enumerate() {
            *row = x.add((c * d.hp + d.r0 + a) * d.wp + d.c0 + b);
            // The next position, unless this is the last (past it, the last repeats).
            if p0 + q + 1 < patch {
                b += 1;
                if b == d.kw {
                    (a, b) = (a + 1, 0);
                    if a == d.kh {
                        (c, a) = (c + 1, 0);
                    }
                }
            }
        }
        let mut o0 = 0;
        while o0 < d.co {
            gradient_tile::<E, R, Q, A>(d, dy, &xr, dw, (o0, p0));
            o0 += R;
        }
        p0 += Q;
    }
}

/// The padded rows and columns of `R × Q` tiles over `co × patch`.
#[inline(always)]
fn padded_work(co: usize, patch: usize, (r, q): (usize, usize)) -> usize {
    co.div_ceil(r) * r * patch.div_ceil(q) * q
}

/// One sample's weight gradient added to `dw` (`co × patch`), AVX-512 level: tiles of 4 × 6,
/// 6 × 4 or 8 × 2, whichever pads least.
///
/// # Safety
/// AVX-512F and AVX-512VL; `d.fits()`, `d.co ≥ 1`, `d.patch() ≥ 1`; `dy`: `d.out_len()`
/// elements, `x`: `d.image_len()`, `dw`: `co·patch` (exclusive).
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn weight_gradient_avx512(d: &Direct, dy: *const f32, x: *const f32, dw: *mut f32) {
    let (co, patch) = (d.co, d.patch());
    let [a, b, c] = [(4, 6), (6, 4), (8, 2)].map(|t| padded_work(co, patch, t));
    if a <= b && a <= c {
        gradient_tiles::<ViaMask, 4, 6, 24>(d, dy, x, dw)
    } else if b <= c {
        gradient_tiles::<ViaMask, 6, 4, 24>(d, dy, x, dw)
    } else {
        gradient_tiles::<ViaMask, 8, 2, 16>(d, dy, x, dw)
    }
}

/// [`weight_gradient_avx512`] on the AVX2 level: tiles of 2 × 4 or 4 × 2.
///
/// # Safety
/// AVX2 and FMA; pointers as for [`weight_gradient_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn weight_gradient_avx2(d: &Direct, dy: *const f32, x: *const f32, dw: *mut f32) {
    let (co, patch) = (d.co, d.patch());
    if padded_work(co, patch, (2, 4)) <= padded_work(co, patch, (4, 2)) {
        gradient_tiles::<ViaPieces, 2, 4, 8>(d, dy, x, dw)
    } else {
        gradient_tiles::<ViaPieces, 4, 2, 8>(d, dy, x, dw)
    }
}
