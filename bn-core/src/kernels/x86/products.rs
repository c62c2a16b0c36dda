//! The matrix products of a dense layer: forward, weight and input gradients.

use core::arch::x86_64::*;
use core::array::from_fn;

use generic_array::ArrayLength;

use super::avx2::Avx2;
use super::vector::{Dot, Simd};

/// The lanes of the vectors every matrix product uses, on both levels (see `docs/kernels.md`:
/// 8-lane FMAs have the full throughput where 512-bit operations run as two halves, and the
/// forward's horizontal reductions cost half as much).
const LANES: usize = 8;

/// The forward of a batch, `C = A·Bᵀ`: a tile is `ROWS × QUAD` outputs, one 8-lane
/// accumulator each, reduced 8 at a time into two quads of outputs.
const QUAD: usize = 4;
/// AVX-512's forward tile: 6 rows (24 accumulators of AVX-512VL's 32 registers)...
const NT_ROWS_AVX512: usize = 6;
/// ... or 4 rows when 6 does not divide the batch and 4 does.
const NT_ROWS_AVX512_ALT: usize = 4;
/// AVX2's forward tile: 2 rows (8 accumulators of 16 registers).
const NT_ROWS_AVX2: usize = 2;
/// The forward of one sample: tiles of 1 × 8 outputs.
const NT_ONE_COLS: usize = 8;

/// The broadcast products (`dW`, `dX`, and the transposed training forward): tiles of
/// `ROWS` rows × `VECS` vectors of 8 outputs. AVX-512: 6 × 4 (24 accumulators).
const BC_ROWS_AVX512: usize = 6;
/// See [`BC_ROWS_AVX512`].
const BC_VECS_AVX512: usize = 4;
/// AVX2: 4 × 3 (12 accumulators of 16 registers).
const BC_ROWS_AVX2: usize = 4;
/// See [`BC_ROWS_AVX2`].
const BC_VECS_AVX2: usize = 3;

// ---- forward: C = A·Bᵀ (+ bias) ----

/// One `MR × NR` tile of outputs `C[m0 + i][n0 + j]` (`A = MR·NR` accumulators, a
/// multiple of `L`; `NR` is 4 or `A`), `A` `m × k`, `B` `n × k`, `C` `m × n`. Only the
/// first `NA` columns are accumulated (the others stay zero) and only the first
/// `nv ≤ NA` are stored; rows past `m` repeat row `m − 1` and are not stored. `bias` is
/// null or has `n` elements. Each group of `L` accumulators is reduced by one
/// transpose-and-add tree, so every output is summed in the same order whatever the
/// tile shape.
///
/// # Safety
/// The CPU supports `S`'s instruction set (the callers are compiled for it); `m, n ≥ 1`,
/// `nv ≤ NA`, `n0 + nv ≤ n` (rows past `m` and columns past `n` are clamped to the last
/// when loading and never stored); `a` valid for `m·k` reads, `b` for `n·k`, `c` for `m·n`
/// writes (exclusive), `bias` null or valid for `n` reads.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn nt_tile<S: Dot, const L: usize, const MR: usize, const NR: usize, const NA: usize, const A: usize>(
    (m, n, k): (usize, usize, usize),
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
    m0: usize,
    n0: usize,
    nv: usize,
) {
    let na = NA.min(NR);
    let ar: [*const f32; MR] = from_fn(|i| a.add((m0 + i).min(m - 1) * k));
    let br: [*const f32; NR] = from_fn(|j| b.add((n0 + j).min(n - 1) * k));
    let mut acc = [S::zero(); A];
    for kv in 0..k / L {
        let o = kv * L;
        let av: [S::V; MR] = from_fn(|i| S::load(ar[i].add(o)));
        for j in 0..na {
            let bv = S::load(br[j].add(o));
            for i in 0..MR {
                acc[i * NR + j] = S::fma(av[i], bv, acc[i * NR + j]);
            }
        }
    }
    let rem = k % L;
    if rem != 0 {
        let o = k - rem;
        let av: [S::V; MR] = from_fn(|i| S::load_n(ar[i].add(o), rem));
        for j in 0..na {
            let bv = S::load_n(br[j].add(o), rem);
            for i in 0..MR {
                acc[i * NR + j] = S::fma(av[i], bv, acc[i * NR + j]);
            }
        }
    }
    for g in 0..A / L {
        if NR == QUAD {
            // Rows g·L/4 .. (g+1)·L/4, four columns each (lanes 4q .. 4q + 4).
            let mut r = S::reduce(&acc[g * L..g * L + L]);
            if !bias.is_null() {
                r = S::add(r, S::repeat(S::load_n(bias.add(n0), nv), 4));
            }
            for q in 0..L / 4 {
                let i = g * (L / 4) + q;
                if m0 + i < m {
                    S::store_quad(c.add((m0 + i) * n + n0), r, q, nv);
                }
            }
        } else {
            // One row, columns g·L .. g·L + L (skipped when none was accumulated).
            let j0 = g * L;
            if j0 >= na || j0 >= nv {
                continue;
            }
            let w = (nv - j0).min(L);
            let mut r = S::reduce(&acc[j0..j0 + L]);
            if !bias.is_null() {
                let bp = bias.add(n0 + j0);
                r = S::add(r, if w == L { S::load(bp) } else { S::load_n(bp, w) });
            }
            let cr = c.add(m0 * n + n0 + j0);
            if w == L {
                S::store(cr, r);
            } else {
                S::store_n(cr, r, w);
            }
        }
    }
}

/// `C = A·Bᵀ (+ bias)`: `MR × 4` (or `MR2 × 4`) tiles for a batch, `1 × ONE` for one
/// sample (`A = 4·MR`, `A2 = 4·MR2` and `ONE` multiples of `L`). `a`: `m·k` elements,
/// `b`: `n·k`, `c`: `m·n` (exclusive), `bias`: null or `n`.
///
/// # Safety
/// The CPU supports `S`'s instruction set (the callers are compiled for it); `m, n ≥ 1`;
/// the pointers valid for the extents above.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn nt<
    S: Dot,
    const L: usize,
    const MR: usize,
    const A: usize,
    const MR2: usize,
    const A2: usize,
    const ONE: usize,
>(
    (m, n, k): (usize, usize, usize),
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    let dims = (m, n, k);
    if m == 1 {
        // One sample: 1 × ONE tiles; the last one accumulates only the columns it needs
        // (rounded up to 4).
        let full = n / ONE * ONE;
        let mut n0 = 0;
        while n0 < full {
            nt_tile::<S, L, 1, ONE, ONE, ONE>(dims, a, b, bias, c, 0, n0, ONE);
            n0 += ONE;
        }
        let tail = n - full;
        match tail.div_ceil(QUAD) {
            0 => {}
            1 => nt_tile::<S, L, 1, ONE, QUAD, ONE>(dims, a, b, bias, c, 0, full, tail),
            2 => nt_tile::<S, L, 1, ONE, { 2 * QUAD }, ONE>(dims, a, b, bias, c, 0, full, tail),
            3 => nt_tile::<S, L, 1, ONE, { 3 * QUAD }, ONE>(dims, a, b, bias, c, 0, full, tail),
            _ => nt_tile::<S, L, 1, ONE, ONE, ONE>(dims, a, b, bias, c, 0, full, tail),
        }
        return;
    }
    // Tiles of `MR` rows, or of `MR2` when that divides the batch and `MR` does not.
    if m % MR != 0 && m % MR2 == 0 {
        nt_rows::<S, L, MR2, A2>(dims, a, b, bias, c)
    } else {
        nt_rows::<S, L, MR, A>(dims, a, b, bias, c)
    }
}

/// [`nt`] for a batch, in `MR × 4` tiles (`A = 4·MR`).
///
/// # Safety
/// As [`nt`].
#[inline(always)]
unsafe fn nt_rows<S: Dot, const L: usize, const MR: usize, const A: usize>(
    dims: (usize, usize, usize),
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    let (m, n, _) = dims;
    let mut m0 = 0;
    while m0 < m {
        let mut n0 = 0;
        while n0 < n {
            nt_tile::<S, L, MR, QUAD, QUAD, A>(dims, a, b, bias, c, m0, n0, QUAD.min(n - n0));
            n0 += QUAD;
        }
        m0 += MR;
    }
}

/// With AVX-512 the dot products still use 8-lane vectors, in a 6 × 4 (or 4 × 4) tile
/// (the 32 vector registers of AVX-512VL hold it): on CPUs that execute 512-bit operations as two
/// 256-bit halves (AMD Zen 4), the horizontal reductions, which dominate for short rows,
/// cost half as much, and the FMA throughput is the same.
///
/// # Safety
/// AVX-512F and AVX-512VL; `a`: `M·K` elements, `b`: `N·K`, `c`: `M·N` (exclusive),
/// `bias`: null or `N`.
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn nt_avx512<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    nt::<
        Avx2,
        LANES,
        NT_ROWS_AVX512,
        { NT_ROWS_AVX512 * QUAD },
        NT_ROWS_AVX512_ALT,
        { NT_ROWS_AVX512_ALT * QUAD },
        NT_ONE_COLS,
    >((M::USIZE, N::USIZE, K::USIZE), a, b, bias, c)
}

/// # Safety
/// AVX2 and FMA; pointers as for [`nt_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn nt_avx2<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    nt::<Avx2, LANES, NT_ROWS_AVX2, { NT_ROWS_AVX2 * QUAD }, NT_ROWS_AVX2, { NT_ROWS_AVX2 * QUAD }, NT_ONE_COLS>(
        (M::USIZE, N::USIZE, K::USIZE),
        a,
        b,
        bias,
        c,
    )
}

// ---- forward of a small layer for training: C = A·Bᵀ (+ bias), B transposed first ----

/// The largest `N·K` (floats) for which [`ntt_avx512`] transposes `B` (on the stack).
pub const TRANSPOSE_MAX: usize = 4096;

/// `bt` (`k × n`) `= bᵀ` (`b`: `n × k`), in 8 × 8 blocks of AVX shuffles, the edges
/// element by element.
///
/// # Safety
/// AVX2; `b`: `n·k` elements, `bt`: `n·k` writable (exclusive).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose(b: *const f32, n: usize, k: usize, bt: *mut f32) {
    let (n8, k8) = (n / 8 * 8, k / 8 * 8);
    for r in (0..n8).step_by(8) {
        for c in (0..k8).step_by(8) {
            let x: [__m256; 8] = from_fn(|i| _mm256_loadu_ps(b.add((r + i) * k + c)));
            let t: [__m256; 8] = from_fn(|i| {
                let (p, q) = (x[i / 2 * 2], x[i / 2 * 2 + 1]);
                if i % 2 == 0 {
                    _mm256_unpacklo_ps(p, q)
                } else {
                    _mm256_unpackhi_ps(p, q)
                }
            });
            // u[h·4 + j]: rows 4h..4h+4, columns j and j + 4 (one per 128-bit half).
            let u: [__m256; 8] = from_fn(|i| {
                let (h, j) = (i / 4, i % 4);
                let (p, q) = (t[h * 4 + j / 2], t[h * 4 + 2 + j / 2]);
                if j % 2 == 0 {
                    _mm256_shuffle_ps::<0x44>(p, q)
                } else {
                    _mm256_shuffle_ps::<0xEE>(p, q)
                }
            });
            for j in 0..4 {
                _mm256_storeu_ps(bt.add((c + j) * n + r), _mm256_permute2f128_ps::<0x20>(u[j], u[4 + j]));
                _mm256_storeu_ps(bt.add((c + j + 4) * n + r), _mm256_permute2f128_ps::<0x31>(u[j], u[4 + j]));
            }
        }
        for c in k8..k {
            for i in r..r + 8 {
                *bt.add(c * n + i) = *b.add(i * k + c);
            }
        }
    }
    for i in n8..n {
        for c in 0..k {
            *bt.add(c * n + i) = *b.add(i * k + c);
        }
    }
}

/// Whether [`ntt_avx512`] and [`ntt_avx2`] transpose `B` (`n × k`): for a batch, when `B`
/// fits the stack buffer and is at least 8 wide.
fn transposes(m: usize, n: usize, k: usize) -> bool {
    m > 1 && n >= 8 && n * k <= TRANSPOSE_MAX
}

/// `C = A·Bᵀ (+ bias)` as a broadcast product against `Bᵀ` on the stack, in `RT × KT` tiles.
///
/// # Safety
/// As [`nt_avx512`], with [`transposes`]`(m, n, k)`.
#[inline(always)]
unsafe fn ntt<const RT: usize, const KT: usize>(
    (m, n, k): (usize, usize, usize),
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    let mut bt = core::mem::MaybeUninit::<[f32; TRANSPOSE_MAX]>::uninit();
    let bt = bt.as_mut_ptr().cast::<f32>();
    transpose(b, n, k, bt);
    // C[r][j] = bias[j] + Σ_s A[r][s]·Bᵀ[s][j]: every element of Bᵀ read was written.
    let s = Bcast { rows: m, steps: k, k: n, rs: k, ss: 1, bias };
    bcast::<Avx2, LANES, RT, KT>(s, a, bt, c)
}

/// [`nt_avx512`] for a training batch: a small `B` (see [`transposes`]) is transposed onto
/// the stack and `C` computed as a broadcast product (no horizontal reductions; faster for
/// short rows), summing in a different order than the one-sample kernel; otherwise exactly
/// [`nt_avx512`].
///
/// # Safety
/// As [`nt_avx512`].
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn ntt_avx512<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    let dims = (M::USIZE, N::USIZE, K::USIZE);
    if transposes(dims.0, dims.1, dims.2) {
        ntt::<BC_ROWS_AVX512, BC_VECS_AVX512>(dims, a, b, bias, c)
    } else {
        nt_avx512::<M, N, K>(a, b, bias, c)
    }
}

/// [`ntt_avx512`] with AVX2 and FMA (otherwise [`nt_avx2`]).
///
/// # Safety
/// As [`nt_avx2`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn ntt_avx2<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: *const f32,
    b: *const f32,
    bias: *const f32,
    c: *mut f32,
) {
    let dims = (M::USIZE, N::USIZE, K::USIZE);
    if transposes(dims.0, dims.1, dims.2) {
        ntt::<BC_ROWS_AVX2, BC_VECS_AVX2>(dims, a, b, bias, c)
    } else {
        nt_avx2::<M, N, K>(a, b, bias, c)
    }
}

// ---- broadcast products: C[r][k] = bias[k] + Σ_s P[r·rs + s·ss]·Q[s][k] ----

/// The shape of a broadcast product: `C` (`rows × k`, row-major) `= Σ_s` (column `s` of
/// `P`, read with strides `rs` per row and `ss` per `s`) ⊗ (row `s` of `Q`, `steps × k`).
#[derive(Clone, Copy)]
struct Bcast {
    rows: usize,
    steps: usize,
    k: usize,
    rs: usize,
    ss: usize,
    /// Null, or `k` elements added to every row of `C` (its first term).
    bias: *const f32,
}

/// Rows `r0..r0 + RT` (rows past `rows` repeat the last one and are not stored) and
/// columns `k0..k0 + KT·L` of `C`; with `PARTIAL`, the last vector has `last` lanes.
///
/// # Safety
/// The CPU supports `S`'s instruction set; `rows ≥ 1`, `r0 < rows`; the columns
/// `k0 .. k0 + (KT − 1)·L + (last if PARTIAL else L)` within `k`; the pointers as for
/// [`bcast`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn bc_tile<S: Simd, const L: usize, const RT: usize, const KT: usize, const PARTIAL: bool>(
    s: Bcast,
    p: *const f32,
    q: *const f32,
    c: *mut f32,
    r0: usize,
    k0: usize,
    last: usize,
) {
    let pr: [*const f32; RT] = from_fn(|i| p.add((r0 + i).min(s.rows - 1) * s.rs));
    // Every row starts from the bias (or zero).
    let start: [S::V; KT] = from_fn(|j| {
        let bp = s.bias.wrapping_add(k0 + j * L);
        match (s.bias.is_null(), PARTIAL && j + 1 == KT) {
            (true, _) => S::zero(),
            (false, true) => S::load_n(bp, last),
            (false, false) => S::load(bp),
        }
    });
    let mut acc = [start; RT];
    for st in 0..s.steps {
        let qr = q.add(st * s.k + k0);
        let qv: [S::V; KT] =
            from_fn(|j| if PARTIAL && j + 1 == KT { S::load_n(qr.add(j * L), last) } else { S::load(qr.add(j * L)) });
        for i in 0..RT {
            let d = S::splat(*pr[i].add(st * s.ss));
            for j in 0..KT {
                acc[i][j] = S::fma(d, qv[j], acc[i][j]);
            }
        }
    }
    for i in 0..RT {
        if r0 + i < s.rows {
            let cr = c.add((r0 + i) * s.k + k0);
            for j in 0..KT {
                if PARTIAL && j + 1 == KT {
                    S::store_n(cr.add(j * L), acc[i][j], last);
                } else {
                    S::store(cr.add(j * L), acc[i][j]);
                }
            }
        }
    }
}

/// All of `C`, in column strips of up to `KT ≤ 4` vectors (each strip of `Q` stays in L1
/// while every row tile uses it). `p`: the `D` matrix (all indices `r·rs + s·ss` valid),
/// `q`: `steps·k` elements, `c`: `rows·k` (exclusive).
///
/// # Safety
/// The CPU supports `S`'s instruction set (the callers are compiled for it); `rows ≥ 1`;
/// the pointers valid for the extents above, and `bias` null or valid for `k` reads.
#[inline(always)]
unsafe fn bcast<S: Simd, const L: usize, const RT: usize, const KT: usize>(
    s: Bcast,
    p: *const f32,
    q: *const f32,
    c: *mut f32,
) {
    macro_rules! strip {
        ($kt:literal, $partial:literal, $k0:expr, $last:expr) => {{
            let mut r0 = 0;
            while r0 < s.rows {
                bc_tile::<S, L, RT, $kt, $partial>(s, p, q, c, r0, $k0, $last);
                r0 += RT;
            }
        }};
    }
    // The vectors of a row (the last one partial when `L` does not divide `k`), split
    // into as few strips of at most `KT ≤ 4` vectors as possible, of balanced widths
    // (13 vectors: 4 + 3 + 3 + 3, not 4 + 4 + 4 + 1: a narrow strip is load-bound).
    let full = s.k / L;
    let rem = s.k % L;
    let nv = full + usize::from(rem != 0);
    let strips = nv.div_ceil(KT);
    let (base, wide) = (nv / strips, nv % strips);
    let mut v = 0;
    for i in 0..strips {
        let width = base + usize::from(i < wide);
        let k0 = v * L;
        v += width;
        let partial = v == nv && rem != 0;
        match (width, partial) {
            (1, false) => strip!(1, false, k0, L),
            (1, true) => strip!(1, true, k0, rem),
            (2, false) => strip!(2, false, k0, L),
            (2, true) => strip!(2, true, k0, rem),
            (3, false) => strip!(3, false, k0, L),
            (3, true) => strip!(3, true, k0, rem),
            (_, false) => strip!(4, false, k0, L),
            (_, true) => strip!(4, true, k0, rem),
        }
    }
}

/// # Safety
/// AVX-512F and AVX-512VL; `d`: `M·N` elements, `x`: `M·K`, `g`: `N·K` (exclusive).
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn tn_avx512<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, x: *const f32, g: *mut f32) {
    let s = Bcast { rows: N::USIZE, steps: M::USIZE, k: K::USIZE, rs: 1, ss: N::USIZE, bias: core::ptr::null() };
    bcast::<Avx2, LANES, BC_ROWS_AVX512, BC_VECS_AVX512>(s, d, x, g)
}

/// # Safety
/// AVX2 and FMA; pointers as for [`tn_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn tn_avx2<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, x: *const f32, g: *mut f32) {
    let s = Bcast { rows: N::USIZE, steps: M::USIZE, k: K::USIZE, rs: 1, ss: N::USIZE, bias: core::ptr::null() };
    bcast::<Avx2, LANES, BC_ROWS_AVX2, BC_VECS_AVX2>(s, d, x, g)
}

/// # Safety
/// AVX-512F and AVX-512VL; `d`: `M·N` elements, `w`: `N·K`, `c`: `M·K` (exclusive).
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn nn_avx512<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, w: *const f32, c: *mut f32) {
    let s = Bcast { rows: M::USIZE, steps: N::USIZE, k: K::USIZE, rs: N::USIZE, ss: 1, bias: core::ptr::null() };
    bcast::<Avx2, LANES, BC_ROWS_AVX512, BC_VECS_AVX512>(s, d, w, c)
}

/// # Safety
/// AVX2 and FMA; pointers as for [`nn_avx512`].
#[target_feature(enable = "avx2,fma")]
pub unsafe fn nn_avx2<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, w: *const f32, c: *mut f32) {
    let s = Bcast { rows: M::USIZE, steps: N::USIZE, k: K::USIZE, rs: N::USIZE, ss: 1, bias: core::ptr::null() };
    bcast::<Avx2, LANES, BC_ROWS_AVX2, BC_VECS_AVX2>(s, d, w, c)
}
