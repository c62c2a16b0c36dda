//! The `f32` compute kernels behind [`Dense`](crate::Dense), [`Sigmoid`](crate::Sigmoid) and
//! the element-wise passes, and the run-time choice of the instruction set they run on.
//!
//! # Dispatch
//!
//! [`simd_level`] detects once (with `std`: `is_x86_feature_detected!`, cached in an atomic;
//! without `std`: the compile-time `target_feature`s) whether the CPU has AVX-512F with
//! AVX-512VL, AVX2 with FMA, or neither, and every `f32` kernel runs the matching code. `f64` always takes the
//! portable path, and so does `f32` with the crate feature `portable` (no SIMD code is
//! compiled at all) or on a target other than `x86_64`.
//!
//! # Kernels
//!
//! The matrix products of a dense layer, with `X` (`B × I`), `W` (`O × I`, row-major),
//! `dY` (`B × O`):
//!
//! - forward `Y = X·Wᵀ (+ b)`: both operands are contiguous along the reduction, so the
//!   kernel keeps a register tile of vector accumulators, each summing one output over
//!   `k ≡ lane (mod 8)`, and reduces every 8 of them at once with a transpose-and-add tree
//!   into one vector of outputs: 6 × 4 outputs per tile with AVX-512 (4 × 4 when 6 does not
//!   divide the batch; AVX-512VL's 32 registers), 2 × 4 with AVX2, 1 × 8 for one sample;
//! - `dW = dYᵀ·X` and `dX = dY·W`: the output is contiguous along the vectorized dimension,
//!   so the kernel broadcasts one `dY` entry per tile row against a few vectors of the
//!   other operand (6 rows × 4 vectors with AVX-512, 4 × 3 with AVX2), walking the output in
//!   column strips of balanced widths that stay in L1;
//! - the training forward of a small layer (`O·I ≤ 4096`, `O ≥ 8`, a batch): `W` transposed
//!   in 8 × 8 blocks into a 16 KB stack buffer, then the broadcast kernel above with the bias
//!   as the first term (no horizontal sums, which dominate for rows of 16–32 inputs);
//! - Batch Normalization's training forward and backward: 16 (AVX-512) or 8 (AVX2) features
//!   at a time, several vectors in flight, every per-feature sum kept in a register; the
//!   arithmetic is exactly the scalar code's, so the results equal the portable path's bit
//!   for bit;
//! - the logistic function, below.
//!
//! The matrix products use 8-lane vectors on both levels: on CPUs that execute a 512-bit
//! operation as two 256-bit halves (AMD Zen 4, the target machine), 8-lane FMAs have the
//! same throughput, the horizontal reductions of the forward cost half as many µops, and
//! rows of 100 waste fewer lanes. The element-wise kernels use the full width.
//!
//! No kernel allocates or packs: the shapes are type-level constants, every loop bound is a
//! compile-time constant after monomorphization, and partial vectors use masked loads and
//! stores.
//!
//! # Determinism
//!
//! For one instruction set the results are deterministic, and every output of the forward
//! kernel is summed in the same order whether it is computed alone (one sample) or in a
//! tile (a batch): [`Dense::forward`](crate::Dense::forward) and
//! [`Dense::forward_one`](crate::Dense::forward_one) agree bit for bit, and so do the
//! batched and one-sample sigmoid. The training forward
//! ([`Dense::forward_train`](crate::Dense::forward_train)) is the exception: for small layers
//! it transposes the weights and sums each output in input order, with no such guarantee.
//! Different instruction sets (and the portable path) sum in different orders, so their
//! results differ in the last bits.
//!
//! # The logistic function
//!
//! The vector sigmoid computes `1/(1 + e^(−x))` with a Cephes-style `exp`: `n = round(−x·log₂e)`,
//! `r = −x − n·ln 2` (`ln 2` in two parts), `e^r` by a degree-7 polynomial (Estrin's scheme,
//! for a short dependency chain), then `·2ⁿ` and the reciprocal as a division (on Zen 4 quicker
//! than AVX-512's 14-bit estimate refined by a Newton step). AVX-512 clamps `x` to `±89` and
//! scales with `VSCALEFPS`, which overflows to `∞` by itself, so `σ` is the (subnormal) value
//! down to `x ≈ −88.72` and `0` below; AVX2 clamps to `[−88, 87]`, builds `2ⁿ` from exponent
//! bits and flushes `x < −88` to `0` (the exact value is below `6e-39`). The relative error is
//! below `2.5e-7` (≈ 2 ulp; tested over `[−120, 120]`); `σ` rounds to `1` for large `x` and
//! propagates NaN. The scalar [`Activation::f`](crate::Activation::f)
//! uses [`Float::exp`](crate::Float::exp).

use generic_array::ArrayLength;

use crate::{Batch, BatchNorm, BatchNormCache, BatchNormGrads, Float};

/// The instruction set that the `f32` kernels run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Plain Rust loops (what `f64` and the `portable` feature always use).
    Portable,
    /// AVX2 and FMA: 8 lanes of `f32`.
    Avx2,
    /// AVX-512F and AVX-512VL: 16 lanes of `f32` (the dot products of the forward use 8 lanes
    /// and 32 registers).
    Avx512,
}

impl SimdLevel {
    /// `"portable"`, `"avx2"` or `"avx512"`.
    pub const fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The `f32` lanes of one vector (1 for the portable path).
    pub const fn lanes(self) -> usize {
        match self {
            SimdLevel::Portable => 1,
            SimdLevel::Avx2 => 8,
            SimdLevel::Avx512 => 16,
        }
    }
}

#[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
mod level {
    use super::SimdLevel;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0: not detected yet; otherwise `1 + level`.
    static CURRENT: AtomicU8 = AtomicU8::new(0);
    /// What the CPU supports (same encoding).
    static DETECTED: AtomicU8 = AtomicU8::new(0);

    fn encode(l: SimdLevel) -> u8 {
        1 + l as u8
    }

    fn decode(v: u8) -> SimdLevel {
        match v {
            3 => SimdLevel::Avx512,
            2 => SimdLevel::Avx2,
            _ => SimdLevel::Portable,
        }
    }

    #[cfg(feature = "std")]
    fn detect() -> SimdLevel {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") {
            SimdLevel::Avx512
        } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            SimdLevel::Avx2
        } else {
            SimdLevel::Portable
        }
    }

    #[cfg(not(feature = "std"))]
    fn detect() -> SimdLevel {
        if cfg!(all(target_feature = "avx512f", target_feature = "avx512vl")) {
            SimdLevel::Avx512
        } else if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
            SimdLevel::Avx2
        } else {
            SimdLevel::Portable
        }
    }

    pub fn detected() -> SimdLevel {
        match DETECTED.load(Ordering::Relaxed) {
            0 => {
                let l = detect();
                DETECTED.store(encode(l), Ordering::Relaxed);
                l
            }
            v => decode(v),
        }
    }

    #[inline(always)]
    pub fn current() -> SimdLevel {
        match CURRENT.load(Ordering::Relaxed) {
            0 => {
                let l = detected();
                // Keep a level set by `set` in the meantime.
                let _ = CURRENT.compare_exchange(0, encode(l), Ordering::Relaxed, Ordering::Relaxed);
                decode(CURRENT.load(Ordering::Relaxed))
            }
            v => decode(v),
        }
    }

    pub fn set(l: SimdLevel) -> SimdLevel {
        let l = l.min(detected());
        CURRENT.store(encode(l), Ordering::Relaxed);
        l
    }
}

#[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
mod level {
    use super::SimdLevel;
    pub fn detected() -> SimdLevel {
        SimdLevel::Portable
    }
    #[inline(always)]
    pub fn current() -> SimdLevel {
        SimdLevel::Portable
    }
    pub fn set(_: SimdLevel) -> SimdLevel {
        SimdLevel::Portable
    }
}

/// The instruction set the `f32` kernels use: the best one the CPU has (detected once),
/// unless lowered by [`set_simd_level`]. Always [`SimdLevel::Portable`] with the crate
/// feature `portable` or off `x86_64`.
#[inline]
pub fn simd_level() -> SimdLevel {
    level::current()
}

/// The best instruction set this CPU supports (ignoring [`set_simd_level`]).
pub fn detected_simd_level() -> SimdLevel {
    level::detected()
}

/// Makes the `f32` kernels use `level`, or the best level the CPU has if that is lower;
/// returns the level now in use. For benchmarks and tests of the fallback paths: it is
/// process-wide, so call it before computing (results of different levels differ in the
/// last bits).
pub fn set_simd_level(level: SimdLevel) -> SimdLevel {
    level::set(level)
}

/// A [`SimdLevel`] that this CPU supports. Made only by [`Supported::current`] (the level
/// in use, which never exceeds the detected one) and [`Supported::new`] (which checks), so
/// the SIMD entry points may rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Supported(SimdLevel);

impl Supported {
    /// The level in use ([`simd_level`]).
    #[inline(always)]
    pub(crate) fn current() -> Self {
        Supported(simd_level())
    }

    /// `level`, which must not exceed [`detected_simd_level`] (panics otherwise).
    #[allow(dead_code)]
    pub(crate) fn new(level: SimdLevel) -> Self {
        assert!(level <= detected_simd_level(), "{level:?} is not supported by this CPU");
        Supported(level)
    }
}

// ---------------------------------------------------------------------------------------
// Portable kernels (any `Float`; what `f64` and the `portable` feature use).
// ---------------------------------------------------------------------------------------

/// Portable implementations, in the layers' historical summation order.
pub(crate) mod portable;

/// The portable `f32` kernels as the fallback of the SIMD builds: out of line, so that the
/// (normally dead) fallback does not bloat every call site. With the `portable` feature they
/// are the main path and inline.
mod cold;

// ---------------------------------------------------------------------------------------
// f32 entry points: check the shapes, then dispatch.
// ---------------------------------------------------------------------------------------

/// Forward of a dense layer in `f32`: `C = A·Bᵀ (+ bias)` with `A` `M × K`, `B` `N × K`,
/// `C` `M × N`, all row-major. Panics if a slice is shorter than its shape.
///
/// With `ANY_ORDER` (the training forward), a small `B` may be transposed first and `C`
/// computed as a broadcast product, which sums in another order than the one-sample
/// kernel; without it, every output is summed in the same order for any `M`.
#[inline]
pub(crate) fn nt_f32<M: ArrayLength, N: ArrayLength, K: ArrayLength, const ANY_ORDER: bool>(
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) {
    nt_f32_at::<M, N, K, ANY_ORDER>(Supported::current(), a, b, bias, c)
}

/// [`nt_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn nt_f32_at<M: ArrayLength, N: ArrayLength, K: ArrayLength, const ANY_ORDER: bool>(
    level: Supported,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n, "gemm: operand shorter than its shape");
    if let Some(bias) = bias {
        assert!(bias.len() >= n, "gemm: bias shorter than its shape");
    }
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let bias = bias.map_or(core::ptr::null(), <[f32]>::as_ptr);
        // SAFETY (every arm): the CPU supports the level (a `Supported`); the slices hold at
        // least `M·K`, `N·K`, `M·N` (and `N` bias) elements (asserted above), which is all
        // the kernels read and write; `c` is exclusively borrowed, so it aliases nothing.
        match (level.0, ANY_ORDER) {
            (SimdLevel::Avx512, false) => return unsafe { x86::nt_avx512::<M, N, K>(a, b, bias, c) },
            (SimdLevel::Avx512, true) => return unsafe { x86::ntt_avx512::<M, N, K>(a, b, bias, c) },
            (SimdLevel::Avx2, false) => return unsafe { x86::nt_avx2::<M, N, K>(a, b, bias, c) },
            (SimdLevel::Avx2, true) => return unsafe { x86::ntt_avx2::<M, N, K>(a, b, bias, c) },
            (SimdLevel::Portable, _) => {}
        }
    }
    let _ = level;
    cold::nt(m, n, k, a, b, bias, c)
}

/// Weight gradient of a dense layer in `f32`: `G = Dᵀ·X` with `D` `M × N`, `X` `M × K`,
/// `G` `N × K` (overwritten).
#[inline]
pub(crate) fn tn_f32<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: &[f32], x: &[f32], g: &mut [f32]) {
    tn_f32_at::<M, N, K>(Supported::current(), d, x, g)
}

/// [`tn_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn tn_f32_at<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    level: Supported,
    d: &[f32],
    x: &[f32],
    g: &mut [f32],
) {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    assert!(d.len() >= m * n && x.len() >= m * k && g.len() >= n * k, "gemm: operand shorter than its shape");
    if n == 0 || k == 0 {
        return;
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        match level.0 {
            // SAFETY: the CPU supports the level (a `Supported`); `d`, `x`, `g` hold `M·N`, `M·K`, `N·K`
            // elements (asserted above), all the kernel touches; `g` is exclusive.
            SimdLevel::Avx512 => return unsafe { x86::tn_avx512::<M, N, K>(d.as_ptr(), x.as_ptr(), g.as_mut_ptr()) },
            // SAFETY: as above.
            SimdLevel::Avx2 => return unsafe { x86::tn_avx2::<M, N, K>(d.as_ptr(), x.as_ptr(), g.as_mut_ptr()) },
            SimdLevel::Portable => {}
        }
    }
    let _ = level;
    cold::tn(m, n, k, d, x, g)
}

/// Input gradient of a dense layer in `f32`: `C = D·W` with `D` `M × N`, `W` `N × K`,
/// `C` `M × K` (overwritten).
#[inline]
pub(crate) fn nn_f32<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: &[f32], w: &[f32], c: &mut [f32]) {
    nn_f32_at::<M, N, K>(Supported::current(), d, w, c)
}

/// [`nn_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn nn_f32_at<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    level: Supported,
    d: &[f32],
    w: &[f32],
    c: &mut [f32],
) {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    assert!(d.len() >= m * n && w.len() >= n * k && c.len() >= m * k, "gemm: operand shorter than its shape");
    if m == 0 || k == 0 {
        return;
    }
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        match level.0 {
            // SAFETY: the CPU supports the level (a `Supported`); `d`, `w`, `c` hold `M·N`, `N·K`, `M·K`
            // elements (asserted above), all the kernel touches; `c` is exclusive.
            SimdLevel::Avx512 => return unsafe { x86::nn_avx512::<M, N, K>(d.as_ptr(), w.as_ptr(), c.as_mut_ptr()) },
            // SAFETY: as above.
            SimdLevel::Avx2 => return unsafe { x86::nn_avx2::<M, N, K>(d.as_ptr(), w.as_ptr(), c.as_mut_ptr()) },
            SimdLevel::Portable => {}
        }
    }
    let _ = level;
    cold::nn(m, n, k, d, w, c)
}

/// The logistic function of every element of `x` into `y` (`f32`).
#[inline]
pub(crate) fn sigmoid_f32(x: &[f32], y: &mut [f32]) {
    sigmoid_f32_at(Supported::current(), x, y)
}

/// [`sigmoid_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn sigmoid_f32_at(level: Supported, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        match level.0 {
            // SAFETY: the CPU supports the level (a `Supported`); `x` and `y` hold at least `n` elements and
            // `y` is exclusive (so it does not overlap `x`).
            SimdLevel::Avx512 => return unsafe { x86::sigmoid_avx512(x.as_ptr(), y.as_mut_ptr(), n) },
            // SAFETY: as above.
            SimdLevel::Avx2 => return unsafe { x86::sigmoid_avx2(x.as_ptr(), y.as_mut_ptr(), n) },
            SimdLevel::Portable => {}
        }
    }
    let _ = level;
    cold::sigmoid(&x[..n], &mut y[..n])
}

/// In-place [`sigmoid_f32`].
#[inline]
pub(crate) fn sigmoid_in_place_f32(x: &mut [f32]) {
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        let n = x.len();
        let p = x.as_mut_ptr();
        match simd_level() {
            // SAFETY: the level comes from `simd_level`, so the CPU supports it; the kernel
            // reads element `i` before writing element `i` only, through one pointer into
            // the exclusively borrowed `x` of `n` elements.
            SimdLevel::Avx512 => return unsafe { x86::sigmoid_avx512(p, p, n) },
            // SAFETY: as above.
            SimdLevel::Avx2 => return unsafe { x86::sigmoid_avx2(p, p, n) },
            SimdLevel::Portable => {}
        }
    }
    cold::sigmoid_in_place(x)
}

/// Batch Normalization training forward in `f32` (statistics, normalization, cache; not
/// the population statistics) with the SIMD kernels. Returns `false`, doing nothing, on the
/// portable path. The arithmetic is `BatchNorm`'s scalar code, lane by lane, so the results
/// equal the portable path's bit for bit.
#[inline]
pub(crate) fn bn_forward_train_f32<B: ArrayLength, N: ArrayLength>(
    bn: &BatchNorm<N, f32>,
    x: &Batch<B, N, f32>,
    y: &mut Batch<B, N, f32>,
    cache: &mut BatchNormCache<N, f32>,
) -> bool {
    bn_forward_train_f32_at(Supported::current(), bn, x, y, cache)
}

/// [`bn_forward_train_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn bn_forward_train_f32_at<B: ArrayLength, N: ArrayLength>(
    level: Supported,
    bn: &BatchNorm<N, f32>,
    x: &Batch<B, N, f32>,
    y: &mut Batch<B, N, f32>,
    cache: &mut BatchNormCache<N, f32>,
) -> bool {
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        if B::USIZE == 0 || N::USIZE == 0 {
            return false;
        }
        let a = x86::BnFwd {
            rows: B::USIZE,
            n: N::USIZE,
            eps: bn.eps,
            x: crate::flat(x).as_ptr(),
            gamma: bn.gamma.as_ptr(),
            beta: bn.beta.as_ptr(),
            y: crate::flat_mut(y).as_mut_ptr(),
            mean: cache.mean.as_mut_ptr(),
            var: cache.var.as_mut_ptr(),
            inv_std: cache.inv_std.as_mut_ptr(),
            shift: cache.shift.as_mut_ptr(),
            delta: cache.delta.as_mut_ptr(),
        };
        match level.0 {
            // SAFETY: the CPU supports the level (a `Supported`); `x`, `y` are `B × N` and the other
            // vectors have `N` elements (their types say so); the outputs are distinct
            // exclusive borrows.
            SimdLevel::Avx512 => unsafe { x86::bn_fwd_avx512::<B, N>(a) },
            // SAFETY: as above.
            SimdLevel::Avx2 => unsafe { x86::bn_fwd_avx2::<B, N>(a) },
            SimdLevel::Portable => return false,
        }
        true
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
    {
        let _ = (level, bn, x, y, cache);
        false
    }
}

/// Batch Normalization backward in `f32` with the SIMD kernels (see
/// [`bn_forward_train_f32`]); `false` on the portable path.
#[inline]
pub(crate) fn bn_backward_f32<B: ArrayLength, N: ArrayLength>(
    bn: &BatchNorm<N, f32>,
    x: &Batch<B, N, f32>,
    cache: &BatchNormCache<N, f32>,
    dy: &Batch<B, N, f32>,
    dx: &mut Batch<B, N, f32>,
    grads: &mut BatchNormGrads<N, f32>,
) -> bool {
    bn_backward_f32_at(Supported::current(), bn, x, cache, dy, dx, grads)
}

/// [`bn_backward_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn bn_backward_f32_at<B: ArrayLength, N: ArrayLength>(
    level: Supported,
    bn: &BatchNorm<N, f32>,
    x: &Batch<B, N, f32>,
    cache: &BatchNormCache<N, f32>,
    dy: &Batch<B, N, f32>,
    dx: &mut Batch<B, N, f32>,
    grads: &mut BatchNormGrads<N, f32>,
) -> bool {
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        if B::USIZE == 0 || N::USIZE == 0 {
            return false;
        }
        let a = x86::BnBwd {
            rows: B::USIZE,
            n: N::USIZE,
            x: crate::flat(x).as_ptr(),
            dy: crate::flat(dy).as_ptr(),
            gamma: bn.gamma.as_ptr(),
            inv_std: cache.inv_std.as_ptr(),
            shift: cache.shift.as_ptr(),
            delta: cache.delta.as_ptr(),
            dx: crate::flat_mut(dx).as_mut_ptr(),
            dgamma: grads.gamma.as_mut_ptr(),
            dbeta: grads.beta.as_mut_ptr(),
        };
        match level.0 {
            // SAFETY: the CPU supports the level (a `Supported`); `x`, `dy`, `dx` are `B × N`, the
            // vectors have `N` elements (by their types); the outputs are distinct exclusive
            // borrows.
            SimdLevel::Avx512 => unsafe { x86::bn_bwd_avx512::<B, N>(a) },
            // SAFETY: as above.
            SimdLevel::Avx2 => unsafe { x86::bn_bwd_avx2::<B, N>(a) },
            SimdLevel::Portable => return false,
        }
        true
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
    {
        let _ = (level, bn, x, cache, dy, dx, grads);
        false
    }
}

/// Runs `f` compiled for the current [`simd_level`], so that the compiler vectorizes its
/// (inlined) element-wise loops with the widest vectors available. The result is the same
/// on every level: vectorizing element-wise arithmetic does not change a single rounding
/// (Rust never contracts `a·b + c` into an FMA, and reductions stay sequential).
#[inline(always)]
pub(crate) fn vectorized<R, F: FnOnce() -> R>(f: F) -> R {
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    {
        match simd_level() {
            // SAFETY: the level comes from `simd_level`, so the CPU supports AVX-512F and AVX-512VL.
            SimdLevel::Avx512 => unsafe { x86::run_avx512(f) },
            // SAFETY: the level comes from `simd_level`, so the CPU supports AVX2 and FMA.
            SimdLevel::Avx2 => unsafe { x86::run_avx2(f) },
            SimdLevel::Portable => f(),
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
    f()
}

/// Keeps `Float` in scope for the docs of this module's users.
#[allow(dead_code)]
fn _uses_float<T: Float>() {}

// ---------------------------------------------------------------------------------------
// x86_64 SIMD kernels.
// ---------------------------------------------------------------------------------------

#[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
// The kernels index several small register arrays with the same loop variable on purpose.
#[allow(clippy::needless_range_loop)]
mod x86;

#[cfg(test)]
mod tests;
