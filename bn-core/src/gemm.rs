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
//! batched and one-sample sigmoid. Different instruction sets (and the portable path) sum
//! in different orders, so their results differ in the last bits.
//!
//! # The logistic function
//!
//! The vector sigmoid computes `1/(1 + e^(−x))` with a Cephes-style `exp`: `x` clamped to
//! `[−88, 87]`, `n = round(−x·log₂e)`, `r = −x − n·ln 2` (`ln 2` in two parts), `e^r` by a
//! degree-7 polynomial (Estrin's scheme, for a short dependency chain), `2ⁿ` from the
//! exponent bits, and the reciprocal as a division (AVX2) or the 14-bit estimate refined by
//! one Newton step (AVX-512). Its relative error is below `2.5e-7` (≈ 2 ulp; tested over
//! `[−120, 120]`); it rounds to `1` for large `x`, returns `0` for `x < −88` (where the exact
//! value is below `6e-39`) and propagates NaN. The scalar [`Activation::f`](crate::Activation::f)
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
pub(crate) mod portable {
    use crate::kernels::{axpy, dot, zero};
    use crate::Float;

    /// `C[m][n] = Σ_k A[m][k]·B[n][k] (+ bias[n])`.
    #[inline(always)]
    pub fn nt<T: Float>(m: usize, n: usize, k: usize, a: &[T], b: &[T], bias: Option<&[T]>, c: &mut [T]) {
        for r in 0..m {
            let ar = &a[r * k..r * k + k];
            let cr = &mut c[r * n..r * n + n];
            for (j, cv) in cr.iter_mut().enumerate() {
                let s = dot(&b[j * k..j * k + k], ar);
                *cv = match bias {
                    Some(bias) => s + bias[j],
                    None => s,
                };
            }
        }
    }

    /// `G[n][k] = Σ_m D[m][n]·X[m][k]` (overwrites `G`).
    #[inline(always)]
    pub fn tn<T: Float>(m: usize, n: usize, k: usize, d: &[T], x: &[T], g: &mut [T]) {
        zero(g);
        for r in 0..m {
            let xr = &x[r * k..r * k + k];
            for j in 0..n {
                axpy(d[r * n + j], xr, &mut g[j * k..j * k + k]);
            }
        }
    }

    /// `C[m][k] = Σ_n D[m][n]·W[n][k]` (overwrites `C`).
    #[inline(always)]
    pub fn nn<T: Float>(m: usize, n: usize, k: usize, d: &[T], w: &[T], c: &mut [T]) {
        for r in 0..m {
            let cr = &mut c[r * k..r * k + k];
            zero(cr);
            for j in 0..n {
                axpy(d[r * n + j], &w[j * k..j * k + k], cr);
            }
        }
    }

    /// `y = 1/(1 + e^(−x))` element-wise, with [`Float::exp`].
    #[inline(always)]
    pub fn sigmoid<T: Float>(x: &[T], y: &mut [T]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = T::ONE / (T::ONE + (-x).exp());
        }
    }

    /// In-place [`sigmoid`].
    #[inline(always)]
    pub fn sigmoid_in_place<T: Float>(x: &mut [T]) {
        for v in x.iter_mut() {
            *v = T::ONE / (T::ONE + (-*v).exp());
        }
    }
}

/// The portable `f32` kernels as the fallback of the SIMD builds: out of line, so that the
/// (normally dead) fallback does not bloat every call site. With the `portable` feature they
/// are the main path and inline.
mod cold {
    #[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
    macro_rules! fallback {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            #[cold]
            #[inline(never)]
            pub fn $name($($arg: $ty),*) {
                super::portable::$name($($arg),*)
            }
        )*};
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
    macro_rules! fallback {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            #[inline(always)]
            pub fn $name($($arg: $ty),*) {
                super::portable::$name($($arg),*)
            }
        )*};
    }
    fallback! {
        nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>, c: &mut [f32]);
        tn(m: usize, n: usize, k: usize, d: &[f32], x: &[f32], g: &mut [f32]);
        nn(m: usize, n: usize, k: usize, d: &[f32], w: &[f32], c: &mut [f32]);
        sigmoid(x: &[f32], y: &mut [f32]);
        sigmoid_in_place(x: &mut [f32]);
    }
}

// ---------------------------------------------------------------------------------------
// f32 entry points: check the shapes, then dispatch.
// ---------------------------------------------------------------------------------------

/// Forward of a dense layer in `f32`: `C = A·Bᵀ (+ bias)` with `A` `M × K`, `B` `N × K`,
/// `C` `M × N`, all row-major. Panics if a slice is shorter than its shape.
#[inline]
pub(crate) fn nt_f32<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) {
    nt_f32_at::<M, N, K>(Supported::current(), a, b, bias, c)
}

/// [`nt_f32`] on a given level, which must not exceed [`detected_simd_level`].
#[inline]
pub(crate) fn nt_f32_at<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
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
        let bias = bias.map_or(core::ptr::null(), <[f32]>::as_ptr);
        match level.0 {
            SimdLevel::Avx512 => {
                // SAFETY: the CPU supports the level (a `Supported`); the slices hold at least
                // `M·K`, `N·K`, `M·N` (and `N` bias) elements (asserted above), which is all
                // the kernel reads and writes; `c` is exclusively borrowed, so it aliases
                // nothing.
                return unsafe { x86::nt_avx512::<M, N, K>(a.as_ptr(), b.as_ptr(), bias, c.as_mut_ptr()) };
            }
            // SAFETY: as above.
            SimdLevel::Avx2 => return unsafe { x86::nt_avx2::<M, N, K>(a.as_ptr(), b.as_ptr(), bias, c.as_mut_ptr()) },
            SimdLevel::Portable => {}
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
mod x86 {
    //! Every function here is `unsafe`: callers guarantee that the CPU supports the
    //! instruction set named by the function (or by the `Simd` implementation it is
    //! instantiated with) and that every pointer is valid for the extents documented on
    //! the function. The intrinsics inside are then sound: loads and stores stay within
    //! those extents (masked loads and stores do not touch masked-off lanes).

    use core::arch::x86_64::*;
    use core::array::from_fn;

    use generic_array::ArrayLength;

    /// One instruction set's vector of `f32` and the operations the kernels need. Every
    /// method requires the CPU to support the instruction set.
    pub trait Simd: Copy {
        type V: Copy;
        unsafe fn zero() -> Self::V;
        unsafe fn splat(x: f32) -> Self::V;
        /// Loads `L` elements from `p`.
        unsafe fn load(p: *const f32) -> Self::V;
        /// Loads `n ≤ L` elements from `p` (the other lanes are 0; nothing past `p + n` is read).
        unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
        unsafe fn store(p: *mut f32, v: Self::V);
        /// Stores the first `n ≤ L` lanes to `p` (nothing past `p + n` is written).
        unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
        /// `a·b + c`, one rounding.
        unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
        unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
        unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
        unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
        unsafe fn sqrt(a: Self::V) -> Self::V;
        /// `−a` (the sign bit flipped, like scalar negation).
        unsafe fn neg(a: Self::V) -> Self::V;
        /// `if a > 0 { a } else { 0 }` per lane (NaN gives 0).
        unsafe fn pos(a: Self::V) -> Self::V;
        /// `1/(1 + e^(−x))` per lane (see the module docs).
        unsafe fn sigmoid(x: Self::V) -> Self::V;
    }

    /// What the dot-product (forward) kernel needs besides [`Simd`]: implemented for the
    /// 8-lane vectors, which both levels use for it.
    pub trait Dot: Simd {
        /// `acc` has `L` vectors; returns the vector whose lane `i` is the sum of the lanes of
        /// `acc[i]`, summed by a fixed tree that does not depend on `i`.
        unsafe fn reduce(acc: &[Self::V]) -> Self::V;
        /// Stores lanes `4q .. 4q + n` of `v` (`n ≤ 4`) to `p .. p + n`.
        unsafe fn store_quad(p: *mut f32, v: Self::V, q: usize, n: usize);
        /// Lane `l` of the result is lane `l mod period` of `v`.
        unsafe fn repeat(v: Self::V, period: usize) -> Self::V;
    }

    /// Cephes `expf` constants.
    mod exp {
        pub const LOG2E: f32 = core::f32::consts::LOG2_E;
        pub const C1: f32 = 0.693_359_4;
        pub const C2: f32 = -2.121_944_4e-4;
        pub const P0: f32 = 1.987_569_1e-4;
        pub const P1: f32 = 1.398_199_9e-3;
        pub const P2: f32 = 8.333_452e-3;
        pub const P3: f32 = 4.166_579_6e-2;
        pub const P4: f32 = 1.666_666_5e-1;
        pub const P5: f32 = 0.5; // Cephes: 5.0000001201e-1, which rounds to 0.5 in f32
        /// `e^t` is computed for `t` clamped to `[LO, HI]` (so that `2ⁿ` is a normal float).
        pub const LO: f32 = -87.0;
        pub const HI: f32 = 88.0;
        /// Below this `x`, the sigmoid is flushed to 0 (its value is under 6e-39).
        pub const ZERO_BELOW: f32 = -88.0;
    }

    /// Stores the first `n ≤ 4` lanes of `x` to `p .. p + n`.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn store4(p: *mut f32, x: __m128, n: usize) {
        if n == 4 {
            _mm_storeu_ps(p, x);
        } else {
            let mut t = [0f32; 4];
            _mm_storeu_ps(t.as_mut_ptr(), x);
            core::ptr::copy_nonoverlapping(t.as_ptr(), p, n);
        }
    }

    #[derive(Clone, Copy)]
    pub struct Avx512;

    impl Simd for Avx512 {
        type V = __m512;
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
            _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            _mm512_sub_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn div(a: __m512, b: __m512) -> __m512 {
            _mm512_div_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn sqrt(a: __m512) -> __m512 {
            _mm512_sqrt_ps(a)
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn neg(a: __m512) -> __m512 {
            _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(i32::MIN)))
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn pos(a: __m512) -> __m512 {
            // MAXPS returns its second operand when the comparison fails (NaN, ±0).
            _mm512_max_ps(a, _mm512_setzero_ps())
        }
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn sigmoid(x: __m512) -> __m512 {
            use exp::*;
            // e^(−x) = 2ⁿ·e^r with n = round(−x·log₂e), r = −x − n·ln 2; x clamped first
            // (max/min with the operand order that propagates NaN) so that 2ⁿ is normal.
            let tiny = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(ZERO_BELOW));
            let x = _mm512_min_ps(_mm512_set1_ps(-LO), _mm512_max_ps(_mm512_set1_ps(-HI), x));
            let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
                x,
                _mm512_set1_ps(-LOG2E),
            ));
            let r = _mm512_fnmsub_ps(n, _mm512_set1_ps(C1), x);
            let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C2), r);
            // e^r − 1 = r + r²·p(r), p of degree 5 by Estrin's scheme (shorter latency).
            let r2 = _mm512_mul_ps(r, r);
            let a = _mm512_fmadd_ps(_mm512_set1_ps(P0), r, _mm512_set1_ps(P1));
            let b = _mm512_fmadd_ps(_mm512_set1_ps(P2), r, _mm512_set1_ps(P3));
            let c = _mm512_fmadd_ps(_mm512_set1_ps(P4), r, _mm512_set1_ps(P5));
            let p = _mm512_fmadd_ps(_mm512_fmadd_ps(a, r2, b), r2, c);
            let em1 = _mm512_fmadd_ps(p, r2, r);
            // 2ⁿ from the exponent bits (n ∈ [−126, 127]), off the critical path.
            let pow2 = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
                _mm512_cvtps_epi32(n),
                _mm512_set1_epi32(127),
            )));
            // d = 1 + e^(−x) = (e^r − 1)·2ⁿ + (2ⁿ + 1).
            let d = _mm512_fmadd_ps(em1, pow2, _mm512_add_ps(pow2, _mm512_set1_ps(1.0)));
            // 1/d: the 14-bit estimate and one Newton step (error ≈ 2⁻²⁸ before rounding).
            let y = _mm512_rcp14_ps(d);
            let s = _mm512_fmadd_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(1.0)), y);
            _mm512_mask_blend_ps(tiny, s, _mm512_setzero_ps())
        }
    }

    #[derive(Clone, Copy)]
    pub struct Avx2;

    /// `MASKS[8 - n..16 - n]` enables the first `n` lanes.
    static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn mask8(n: usize) -> __m256i {
        _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast())
    }

    impl Simd for Avx2 {
        type V = __m256;
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
            _mm256_maskload_ps(p, mask8(n))
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
            _mm256_maskstore_ps(p, mask8(n), v)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            _mm256_sub_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn div(a: __m256, b: __m256) -> __m256 {
            _mm256_div_ps(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn sqrt(a: __m256) -> __m256 {
            _mm256_sqrt_ps(a)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn neg(a: __m256) -> __m256 {
            _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(a), _mm256_set1_epi32(i32::MIN)))
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn pos(a: __m256) -> __m256 {
            // MAXPS returns its second operand when the comparison fails (NaN, ±0).
            _mm256_max_ps(a, _mm256_setzero_ps())
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn sigmoid(x: __m256) -> __m256 {
            use exp::*;
            // As the AVX-512 version, with a division for the reciprocal.
            let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(ZERO_BELOW));
            let x = _mm256_min_ps(_mm256_set1_ps(-LO), _mm256_max_ps(_mm256_set1_ps(-HI), x));
            let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
                x,
                _mm256_set1_ps(-LOG2E),
            ));
            let r = _mm256_fnmsub_ps(n, _mm256_set1_ps(C1), x);
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C2), r);
            let r2 = _mm256_mul_ps(r, r);
            let a = _mm256_fmadd_ps(_mm256_set1_ps(P0), r, _mm256_set1_ps(P1));
            let b = _mm256_fmadd_ps(_mm256_set1_ps(P2), r, _mm256_set1_ps(P3));
            let c = _mm256_fmadd_ps(_mm256_set1_ps(P4), r, _mm256_set1_ps(P5));
            let p = _mm256_fmadd_ps(_mm256_fmadd_ps(a, r2, b), r2, c);
            let em1 = _mm256_fmadd_ps(p, r2, r);
            let pow2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
                _mm256_cvtps_epi32(n),
                _mm256_set1_epi32(127),
            )));
            let d = _mm256_fmadd_ps(em1, pow2, _mm256_add_ps(pow2, _mm256_set1_ps(1.0)));
            let s = _mm256_div_ps(_mm256_set1_ps(1.0), d);
            _mm256_blendv_ps(s, _mm256_setzero_ps(), tiny)
        }
    }

    impl Dot for Avx2 {
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn reduce(acc: &[__m256]) -> __m256 {
            let t: [__m256; 4] = from_fn(|i| {
                _mm256_add_ps(
                    _mm256_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                    _mm256_unpackhi_ps(acc[2 * i], acc[2 * i + 1]),
                )
            });
            let u: [__m256; 2] = from_fn(|j| {
                let (a, b) = (_mm256_castps_pd(t[2 * j]), _mm256_castps_pd(t[2 * j + 1]));
                _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)), _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)))
            });
            _mm256_add_ps(_mm256_permute2f128_ps::<0x20>(u[0], u[1]), _mm256_permute2f128_ps::<0x31>(u[0], u[1]))
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store_quad(p: *mut f32, v: __m256, q: usize, n: usize) {
            let x = if q == 0 { _mm256_castps256_ps128(v) } else { _mm256_extractf128_ps::<1>(v) };
            store4(p, x, n)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn repeat(v: __m256, period: usize) -> __m256 {
            let idx: [i32; 8] = from_fn(|l| (l % period) as i32);
            _mm256_permutevar8x32_ps(v, _mm256_loadu_si256(idx.as_ptr().cast()))
        }
    }

    // ---- forward: C = A·Bᵀ (+ bias) ----

    /// One `MR × NR` tile of outputs `C[m0 + i][n0 + j]` (`A = MR·NR` accumulators, a
    /// multiple of `L`; `NR` is 4 or `A`), `A` `m × k`, `B` `n × k`, `C` `m × n`. Only the
    /// first `NA` columns are accumulated (the others stay zero) and only the first
    /// `nv ≤ NA` are stored; rows past `m` repeat row `m − 1` and are not stored. `bias` is
    /// null or has `n` elements. Each group of `L` accumulators is reduced by one
    /// transpose-and-add tree, so every output is summed in the same order whatever the
    /// tile shape.
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
            if NR == 4 {
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
            match tail.div_ceil(4) {
                0 => {}
                1 => nt_tile::<S, L, 1, ONE, 4, ONE>(dims, a, b, bias, c, 0, full, tail),
                2 => nt_tile::<S, L, 1, ONE, 8, ONE>(dims, a, b, bias, c, 0, full, tail),
                3 => nt_tile::<S, L, 1, ONE, 12, ONE>(dims, a, b, bias, c, 0, full, tail),
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
                nt_tile::<S, L, MR, 4, 4, A>(dims, a, b, bias, c, m0, n0, 4.min(n - n0));
                n0 += 4;
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
        nt::<Avx2, 8, 6, 24, 4, 16, 8>((M::USIZE, N::USIZE, K::USIZE), a, b, bias, c)
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
        nt::<Avx2, 8, 2, 8, 2, 8, 8>((M::USIZE, N::USIZE, K::USIZE), a, b, bias, c)
    }

    // ---- gradients: C[r][k] = Σ_s P[r·rs + s·ss]·Q[s][k] ----

    /// The shape of a broadcast product: `C` (`rows × k`, row-major) `= Σ_s` (column `s` of
    /// `P`, read with strides `rs` per row and `ss` per `s`) ⊗ (row `s` of `Q`, `steps × k`).
    #[derive(Clone, Copy)]
    struct Bcast {
        rows: usize,
        steps: usize,
        k: usize,
        rs: usize,
        ss: usize,
    }

    /// Rows `r0..r0 + RT` (rows past `rows` repeat the last one and are not stored) and
    /// columns `k0..k0 + KT·L` of `C`; with `PARTIAL`, the last vector has `last` lanes.
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
        let mut acc = [[S::zero(); KT]; RT];
        for st in 0..s.steps {
            let qr = q.add(st * s.k + k0);
            let qv: [S::V; KT] =
                from_fn(
                    |j| {
                        if PARTIAL && j + 1 == KT {
                            S::load_n(qr.add(j * L), last)
                        } else {
                            S::load(qr.add(j * L))
                        }
                    },
                );
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
        let s = Bcast { rows: N::USIZE, steps: M::USIZE, k: K::USIZE, rs: 1, ss: N::USIZE };
        bcast::<Avx2, 8, 6, 4>(s, d, x, g)
    }

    /// # Safety
    /// AVX2 and FMA; pointers as for [`tn_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tn_avx2<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, x: *const f32, g: *mut f32) {
        let s = Bcast { rows: N::USIZE, steps: M::USIZE, k: K::USIZE, rs: 1, ss: N::USIZE };
        bcast::<Avx2, 8, 4, 3>(s, d, x, g)
    }

    /// # Safety
    /// AVX-512F and AVX-512VL; `d`: `M·N` elements, `w`: `N·K`, `c`: `M·K` (exclusive).
    #[target_feature(enable = "avx512f,avx512vl")]
    pub unsafe fn nn_avx512<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, w: *const f32, c: *mut f32) {
        let s = Bcast { rows: M::USIZE, steps: N::USIZE, k: K::USIZE, rs: N::USIZE, ss: 1 };
        bcast::<Avx2, 8, 6, 4>(s, d, w, c)
    }

    /// # Safety
    /// AVX2 and FMA; pointers as for [`nn_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn nn_avx2<M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: *const f32, w: *const f32, c: *mut f32) {
        let s = Bcast { rows: M::USIZE, steps: N::USIZE, k: K::USIZE, rs: N::USIZE, ss: 1 };
        bcast::<Avx2, 8, 4, 3>(s, d, w, c)
    }

    // ---- sigmoid ----

    /// `y[i] = σ(x[i])` for `i < n`; `x` and `y` may be the same pointer (each element is
    /// read before it is written, and no other).
    #[inline(always)]
    unsafe fn sigmoid<S: Simd, const L: usize>(x: *const f32, y: *mut f32, n: usize) {
        let mut i = 0;
        while i + L <= n {
            S::store(y.add(i), S::sigmoid(S::load(x.add(i))));
            i += L;
        }
        if i < n {
            S::store_n(y.add(i), S::sigmoid(S::load_n(x.add(i), n - i)), n - i);
        }
    }

    /// # Safety
    /// AVX-512F and AVX-512VL; `x` and `y` valid for `n` elements, equal or not overlapping.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub unsafe fn sigmoid_avx512(x: *const f32, y: *mut f32, n: usize) {
        sigmoid::<Avx512, 16>(x, y, n)
    }

    /// # Safety
    /// AVX2 and FMA; pointers as for [`sigmoid_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sigmoid_avx2(x: *const f32, y: *mut f32, n: usize) {
        sigmoid::<Avx2, 8>(x, y, n)
    }

    // ---- Batch Normalization: `BatchNorm`'s scalar formulas, 16 (8) features at a time ----

    /// The operands of a BN training forward over `rows × n` row-major inputs: `x`, `y`
    /// (`rows·n` elements), `gamma`, `beta` and the five cache vectors (`n` each).
    #[derive(Clone, Copy)]
    pub struct BnFwd {
        pub rows: usize,
        pub n: usize,
        pub eps: f32,
        pub x: *const f32,
        pub gamma: *const f32,
        pub beta: *const f32,
        pub y: *mut f32,
        pub mean: *mut f32,
        pub var: *mut f32,
        pub inv_std: *mut f32,
        pub shift: *mut f32,
        pub delta: *mut f32,
    }

    /// The operands of a BN backward: `x`, `dy`, `dx` (`rows·n`), `gamma` and the cache
    /// vectors `inv_std`, `shift`, `delta`, the outputs `dgamma`, `dbeta` (`n` each).
    #[derive(Clone, Copy)]
    pub struct BnBwd {
        pub rows: usize,
        pub n: usize,
        pub x: *const f32,
        pub dy: *const f32,
        pub gamma: *const f32,
        pub inv_std: *const f32,
        pub shift: *const f32,
        pub delta: *const f32,
        pub dx: *mut f32,
        pub dgamma: *mut f32,
        pub dbeta: *mut f32,
    }

    /// Loads `w ≤ L` lanes.
    #[inline(always)]
    unsafe fn ld<S: Simd, const L: usize>(p: *const f32, w: usize) -> S::V {
        if w == L {
            S::load(p)
        } else {
            S::load_n(p, w)
        }
    }

    /// Stores `w ≤ L` lanes.
    #[inline(always)]
    unsafe fn st<S: Simd, const L: usize>(p: *mut f32, v: S::V, w: usize) {
        if w == L {
            S::store(p, v)
        } else {
            S::store_n(p, v, w)
        }
    }

    /// Features `k0 .. k0 + (G−1)·L + last`: shifted two-pass statistics, then normalize.
    #[inline(always)]
    unsafe fn bn_fwd_group<S: Simd, const L: usize, const G: usize>(a: BnFwd, k0: usize, last: usize) {
        let w = |g: usize| if g + 1 == G { last } else { L };
        let m = S::splat(a.rows as f32);
        let shift: [S::V; G] = from_fn(|g| ld::<S, L>(a.x.add(k0 + g * L), w(g)));
        let mut delta = [S::zero(); G];
        for r in 0..a.rows {
            let xr = a.x.add(r * a.n + k0);
            for g in 0..G {
                delta[g] = S::add(delta[g], S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]));
            }
        }
        for d in delta.iter_mut() {
            *d = S::div(*d, m);
        }
        let (mut q, mut sum) = ([S::zero(); G], [S::zero(); G]);
        for r in 0..a.rows {
            let xr = a.x.add(r * a.n + k0);
            for g in 0..G {
                let d = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
                q[g] = S::add(q[g], S::mul(d, d));
                sum[g] = S::add(sum[g], d);
            }
        }
        let (eps, one) = (S::splat(a.eps), S::splat(1.0));
        let mut inv = [S::zero(); G];
        for g in 0..G {
            let v = S::pos(S::div(S::sub(q[g], S::div(S::mul(sum[g], sum[g]), m)), m));
            inv[g] = S::div(one, S::sqrt(S::add(v, eps)));
            let o = k0 + g * L;
            st::<S, L>(a.mean.add(o), S::add(shift[g], delta[g]), w(g));
            st::<S, L>(a.var.add(o), v, w(g));
            st::<S, L>(a.inv_std.add(o), inv[g], w(g));
            st::<S, L>(a.shift.add(o), shift[g], w(g));
            st::<S, L>(a.delta.add(o), delta[g], w(g));
        }
        let gamma: [S::V; G] = from_fn(|g| ld::<S, L>(a.gamma.add(k0 + g * L), w(g)));
        let beta: [S::V; G] = from_fn(|g| ld::<S, L>(a.beta.add(k0 + g * L), w(g)));
        for r in 0..a.rows {
            let (xr, yr) = (a.x.add(r * a.n + k0), a.y.add(r * a.n + k0));
            for g in 0..G {
                let xc = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
                st::<S, L>(yr.add(g * L), S::add(S::mul(gamma[g], S::mul(xc, inv[g])), beta[g]), w(g));
            }
        }
    }

    /// Features `k0 .. k0 + (G−1)·L + last` of the backward.
    #[inline(always)]
    unsafe fn bn_bwd_group<S: Simd, const L: usize, const G: usize>(a: BnBwd, k0: usize, last: usize) {
        let w = |g: usize| if g + 1 == G { last } else { L };
        let m = S::splat(a.rows as f32);
        let vec = |p: *const f32| -> [S::V; G] { from_fn(|g| ld::<S, L>(p.add(k0 + g * L), w(g))) };
        let (shift, delta, inv, gamma) = (vec(a.shift), vec(a.delta), vec(a.inv_std), vec(a.gamma));
        let (mut s_dxhat_xc, mut s_dxhat, mut s_xc, mut dgamma, mut dbeta) =
            ([S::zero(); G], [S::zero(); G], [S::zero(); G], [S::zero(); G], [S::zero(); G]);
        for r in 0..a.rows {
            let (xr, dyr) = (a.x.add(r * a.n + k0), a.dy.add(r * a.n + k0));
            for g in 0..G {
                let xc = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
                let dy = ld::<S, L>(dyr.add(g * L), w(g));
                let dxhat = S::mul(dy, gamma[g]);
                s_dxhat_xc[g] = S::add(s_dxhat_xc[g], S::mul(dxhat, xc));
                s_dxhat[g] = S::add(s_dxhat[g], dxhat);
                s_xc[g] = S::add(s_xc[g], xc);
                dgamma[g] = S::add(dgamma[g], S::mul(dy, S::mul(xc, inv[g])));
                dbeta[g] = S::add(dbeta[g], dy);
            }
        }
        let (two, mhalf, mtwo) = (S::splat(2.0), S::splat(-0.5), S::splat(-2.0));
        let mut dvar2_m = [S::zero(); G];
        let mut dmu_m = [S::zero(); G];
        for g in 0..G {
            let o = k0 + g * L;
            st::<S, L>(a.dgamma.add(o), dgamma[g], w(g));
            st::<S, L>(a.dbeta.add(o), dbeta[g], w(g));
            let is = inv[g];
            let dvar = S::mul(S::mul(S::mul(S::mul(s_dxhat_xc[g], mhalf), is), is), is);
            let dmu = S::add(S::mul(S::neg(s_dxhat[g]), is), S::div(S::mul(S::mul(dvar, mtwo), s_xc[g]), m));
            dvar2_m[g] = S::div(S::mul(dvar, two), m);
            dmu_m[g] = S::div(dmu, m);
        }
        for r in 0..a.rows {
            let (xr, dyr, dxr) = (a.x.add(r * a.n + k0), a.dy.add(r * a.n + k0), a.dx.add(r * a.n + k0));
            for g in 0..G {
                let xc = S::sub(S::sub(ld::<S, L>(xr.add(g * L), w(g)), shift[g]), delta[g]);
                let dxhat = S::mul(ld::<S, L>(dyr.add(g * L), w(g)), gamma[g]);
                let dx = S::add(S::add(S::mul(dxhat, inv[g]), S::mul(dvar2_m[g], xc)), dmu_m[g]);
                st::<S, L>(dxr.add(g * L), dx, w(g));
            }
        }
    }

    /// Every feature, `G ≤ 4` vectors at a time, the rest (with the partial vector) as one
    /// smaller group: the per-feature sums are sequential over the batch (as in the scalar
    /// code), so independent vectors in flight are what hides the add latency.
    macro_rules! by_groups {
        ($group:ident, $s:ty, $l:literal, $g:literal, $a:expr, $n:expr) => {{
            let (full, rem) = ($n / $l, $n % $l);
            let mut v = 0;
            while full - v >= $g {
                $group::<$s, $l, $g>($a, v * $l, $l);
                v += $g;
            }
            let rest = full - v + usize::from(rem > 0);
            let last = if rem > 0 { rem } else { $l };
            match rest {
                0 => {}
                1 => $group::<$s, $l, 1>($a, v * $l, last),
                2 => $group::<$s, $l, 2>($a, v * $l, last),
                3 => $group::<$s, $l, 3>($a, v * $l, last),
                _ => $group::<$s, $l, 4>($a, v * $l, last),
            }
        }};
    }

    /// # Safety
    /// AVX-512F and AVX-512VL; every pointer of `a` valid for its extent (see [`BnFwd`]), outputs exclusive.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub unsafe fn bn_fwd_avx512<B: ArrayLength, N: ArrayLength>(mut a: BnFwd) {
        // The shape as compile-time constants, so every loop and tail is specialized.
        (a.rows, a.n) = (B::USIZE, N::USIZE);
        by_groups!(bn_fwd_group, Avx512, 16, 4, a, N::USIZE)
    }

    /// # Safety
    /// AVX2 and FMA; pointers as for [`bn_fwd_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn bn_fwd_avx2<B: ArrayLength, N: ArrayLength>(mut a: BnFwd) {
        // The shape as compile-time constants, so every loop and tail is specialized.
        (a.rows, a.n) = (B::USIZE, N::USIZE);
        by_groups!(bn_fwd_group, Avx2, 8, 2, a, N::USIZE)
    }

    /// # Safety
    /// AVX-512F and AVX-512VL; every pointer of `a` valid for its extent (see [`BnBwd`]), outputs exclusive.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub unsafe fn bn_bwd_avx512<B: ArrayLength, N: ArrayLength>(mut a: BnBwd) {
        // The shape as compile-time constants, so every loop and tail is specialized.
        (a.rows, a.n) = (B::USIZE, N::USIZE);
        by_groups!(bn_bwd_group, Avx512, 16, 2, a, N::USIZE)
    }

    /// # Safety
    /// AVX2 and FMA; pointers as for [`bn_bwd_avx512`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn bn_bwd_avx2<B: ArrayLength, N: ArrayLength>(mut a: BnBwd) {
        // The shape as compile-time constants, so every loop and tail is specialized.
        (a.rows, a.n) = (B::USIZE, N::USIZE);
        by_groups!(bn_bwd_group, Avx2, 8, 1, a, N::USIZE)
    }

    // ---- whole functions compiled for an instruction set ----

    /// # Safety
    /// AVX-512F and AVX-512VL.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub unsafe fn run_avx512<R, F: FnOnce() -> R>(f: F) -> R {
        f()
    }

    /// # Safety
    /// AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run_avx2<R, F: FnOnce() -> R>(f: F) -> R {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use typenum::{U1, U10, U100, U16, U17, U2, U3, U32, U33, U4, U5, U6, U60, U7, U784, U9};

    /// Every level this CPU can run.
    fn levels() -> Vec<SimdLevel> {
        [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512]
            .into_iter()
            .filter(|&l| l <= detected_simd_level())
            .collect()
    }

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::Rng::seed(seed);
        (0..n).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect()
    }

    /// `|got − exact| ≤ tol·Σ|terms|` for every element (f64 reference).
    fn close(got: &[f32], exact: &[f64], scale: &[f64], what: &str) {
        for (i, ((&g, &e), &s)) in got.iter().zip(exact).zip(scale).enumerate() {
            assert!((f64::from(g) - e).abs() <= 4e-6 * (s + 1e-30), "{what}[{i}]: {g} vs {e}");
        }
    }

    fn check_shape<M: ArrayLength, N: ArrayLength, K: ArrayLength>() {
        let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
        let (a, b, bias, d) = (data(m * k, 1), data(n * k, 2), data(n, 3), data(m * n, 4));
        // f64 references: value and Σ|terms| (for the tolerance).
        let (mut y, mut ys) = (alloc::vec![0f64; m * n], alloc::vec![0f64; m * n]);
        let (mut g, mut gs) = (alloc::vec![0f64; n * k], alloc::vec![0f64; n * k]);
        let (mut dx, mut dxs) = (alloc::vec![0f64; m * k], alloc::vec![0f64; m * k]);
        for r in 0..m {
            for j in 0..n {
                let mut s = f64::from(bias[j]);
                let mut t = s.abs();
                for kk in 0..k {
                    let p = f64::from(a[r * k + kk]) * f64::from(b[j * k + kk]);
                    s += p;
                    t += p.abs();
                }
                (y[r * n + j], ys[r * n + j]) = (s, t);
                for kk in 0..k {
                    let p = f64::from(d[r * n + j]) * f64::from(a[r * k + kk]);
                    g[j * k + kk] += p;
                    gs[j * k + kk] += p.abs();
                    let q = f64::from(d[r * n + j]) * f64::from(b[j * k + kk]);
                    dx[r * k + kk] += q;
                    dxs[r * k + kk] += q.abs();
                }
            }
        }
        let what = |op: &str, l: SimdLevel| alloc::format!("{op} {m}x{n}x{k} {}", l.name());
        for l in levels() {
            // Outputs start as NaN: the kernels must write every element (and nothing else:
            // the slices are exactly the shapes' sizes, so the asserts in the entry points and
            // the masked tails are what keeps them in bounds).
            let mut c = alloc::vec![f32::NAN; m * n];
            nt_f32_at::<M, N, K>(Supported::new(l), &a, &b, Some(&bias), &mut c);
            close(&c, &y, &ys, &what("nt", l));
            // One sample at a time: bit-identical to the batch.
            for r in 0..m {
                let mut c1 = alloc::vec![f32::NAN; n];
                nt_f32_at::<U1, N, K>(Supported::new(l), &a[r * k..(r + 1) * k], &b, Some(&bias), &mut c1);
                for j in 0..n {
                    assert_eq!(c1[j].to_bits(), c[r * n + j].to_bits(), "{} row {r} col {j}", what("nt one", l));
                }
            }
            // Without a bias.
            let mut c0 = alloc::vec![f32::NAN; m * n];
            nt_f32_at::<M, N, K>(Supported::new(l), &a, &b, None, &mut c0);
            let y0: Vec<f64> = (0..m * n).map(|i| y[i] - f64::from(bias[i % n])).collect();
            close(&c0, &y0, &ys, &what("nt no bias", l));
            let mut gg = alloc::vec![f32::NAN; n * k];
            tn_f32_at::<M, N, K>(Supported::new(l), &d, &a, &mut gg);
            close(&gg, &g, &gs, &what("tn", l));
            let mut cc = alloc::vec![f32::NAN; m * k];
            nn_f32_at::<M, N, K>(Supported::new(l), &d, &b, &mut cc);
            close(&cc, &dx, &dxs, &what("nn", l));
        }
    }

    #[test]
    fn products_match_f64_on_every_level_and_shape() {
        check_shape::<U1, U1, U1>();
        check_shape::<U2, U3, U5>();
        check_shape::<U3, U17, U33>();
        check_shape::<U5, U10, U100>();
        check_shape::<U7, U9, U16>();
        check_shape::<U6, U4, U32>();
        check_shape::<U9, U33, U17>();
        check_shape::<U4, U16, U1>();
        check_shape::<U60, U100, U100>();
    }

    #[test]
    fn paper_layer_shapes() {
        check_shape::<U3, U100, U784>();
        check_shape::<U60, U10, U100>();
    }

    #[test]
    fn sigmoid_is_accurate_on_every_level() {
        let mut xs: Vec<f32> = Vec::new();
        let mut x = -120.0f32;
        while x < 120.0 {
            xs.push(x);
            x += 0.013;
        }
        xs.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            17.0,
            17.5,
            -87.9,
            -88.0,
            -88.1,
            88.5,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        for l in levels() {
            let mut y = alloc::vec![f32::NAN; xs.len()];
            sigmoid_f32_at(Supported::new(l), &xs, &mut y);
            let mut worst = 0f64;
            for (&x, &s) in xs.iter().zip(&y) {
                let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
                if x < -88.0 {
                    // Flushed to 0 by the SIMD paths (the portable path returns the subnormal value).
                    assert!(
                        s == 0.0 || l == SimdLevel::Portable && (f64::from(s) - exact).abs() < 1e-44,
                        "{}: σ({x}) = {s}",
                        l.name()
                    );
                    continue;
                }
                let rel = (f64::from(s) - exact).abs() / exact;
                worst = worst.max(rel);
                assert!(rel <= 2.5e-7 || exact < 1.2e-38, "{}: σ({x}) = {s} vs {exact} (rel {rel:e})", l.name());
            }
            assert!(worst < 2.5e-7, "{}: worst relative error {worst:e}", l.name());
            let mut nan = [f32::NAN; 3];
            sigmoid_f32_at(Supported::new(l), &[f32::NAN, 1.0, f32::NAN], &mut nan);
            assert!(nan[0].is_nan() && nan[2].is_nan() && (nan[1] - 0.731_058_6).abs() < 1e-7, "{}: {nan:?}", l.name());
        }
    }

    fn check_batchnorm<B: crate::TrainBatch, N: ArrayLength>() {
        let mut rng = crate::Rng::seed(11);
        let mut x = Batch::<B, N, f32>::default();
        let mut dy = Batch::<B, N, f32>::default();
        // A large mean and a small spread (the shifted statistics matter), and a constant
        // feature (variance 0).
        for (i, v) in crate::flat_mut(&mut x).iter_mut().enumerate() {
            *v = if i % N::USIZE == 1 { 3.0 } else { 1e3 + rng.uniform() as f32 };
        }
        for v in crate::flat_mut(&mut dy).iter_mut() {
            *v = rng.uniform() as f32 - 0.5;
        }
        let mut bn = BatchNorm::<N, f32>::new();
        for (k, (g, b)) in bn.gamma.iter_mut().zip(bn.beta.iter_mut()).enumerate() {
            (*g, *b) = (0.5 + k as f32 * 0.1, k as f32 * -0.01);
        }
        let (mut y0, mut c0, mut dx0, mut g0) = (
            Batch::<B, N, f32>::default(),
            BatchNormCache::default(),
            Batch::<B, N, f32>::default(),
            BatchNormGrads::default(),
        );
        bn.forward_train_portable(&x, &mut y0, &mut c0);
        bn.backward_portable(&x, &c0, &dy, &mut dx0, &mut g0);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for l in levels() {
            let (mut y, mut c, mut dx, mut g) = (
                Batch::<B, N, f32>::default(),
                BatchNormCache::default(),
                Batch::<B, N, f32>::default(),
                BatchNormGrads::default(),
            );
            if !bn_forward_train_f32_at(Supported::new(l), &bn, &x, &mut y, &mut c) {
                assert_eq!(l, SimdLevel::Portable);
                continue;
            }
            assert!(bn_backward_f32_at(Supported::new(l), &bn, &x, &c, &dy, &mut dx, &mut g));
            let what = alloc::format!("{} {}x{}", l.name(), B::USIZE, N::USIZE);
            assert_eq!(bits(crate::flat(&y)), bits(crate::flat(&y0)), "{what}: y");
            for (a, b) in [
                (&c.mean, &c0.mean),
                (&c.var, &c0.var),
                (&c.inv_std, &c0.inv_std),
                (&c.shift, &c0.shift),
                (&c.delta, &c0.delta),
            ] {
                assert_eq!(bits(a), bits(b), "{what}: cache");
            }
            assert_eq!(bits(crate::flat(&dx)), bits(crate::flat(&dx0)), "{what}: dx");
            assert_eq!(bits(&g.gamma), bits(&g0.gamma), "{what}: dγ");
            assert_eq!(bits(&g.beta), bits(&g0.beta), "{what}: dβ");
        }
    }

    #[test]
    fn batchnorm_kernels_equal_the_portable_code_bit_for_bit() {
        check_batchnorm::<U2, U1>();
        check_batchnorm::<U3, U17>();
        check_batchnorm::<U32, U32>();
        check_batchnorm::<U60, U100>();
        check_batchnorm::<U5, U33>();
    }

    #[test]
    fn the_level_can_only_be_lowered() {
        let best = detected_simd_level();
        assert!(simd_level() <= best);
        assert_eq!(SimdLevel::Avx512.lanes(), 16);
        assert_eq!(SimdLevel::Portable.name(), "portable");
    }
}
