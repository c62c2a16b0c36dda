//! The `f32` entry points of the kernels: the shapes are checked, then the SIMD kernel of the level runs
//! (`x86_simd`), or the portable one. On a SIMD build the portable kernels are the cold
//! fallback, out of line so that the (normally dead) fallback does not bloat every call
//! site; with the `portable` feature they are the main path and inline. Also
//! [`vectorized`], which compiles a closure for the current level.

use generic_array::ArrayLength;

use super::conv::Direct;
use super::level::Supported;
use super::operands::{BnBackward, BnTrain};
use super::pool::PoolWindow;
use super::portable;
#[cfg(not(x86_simd))]
use super::without_simd as simd;
#[cfg(x86_simd)]
use super::x86 as simd;
use crate::float::Float;

/// The portable kernels as called from the `f32` entry points.
mod fallback {
    use super::portable;
    use super::Direct;

    macro_rules! fallback {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            #[cfg_attr(x86_simd, cold, inline(never))]
            #[cfg_attr(not(x86_simd), inline(always))]
            pub fn $name($($arg: $ty),*) {
                portable::$name($($arg),*)
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

    #[cfg_attr(x86_simd, cold, inline(never))]
    #[cfg_attr(not(x86_simd), inline(always))]
    pub fn direct(d: &Direct, w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        super::super::conv::direct(d, w, x, bias, y)
    }

    #[cfg_attr(x86_simd, cold, inline(never))]
    #[cfg_attr(not(x86_simd), inline(always))]
    pub fn direct_weight_gradient(d: &Direct, dy: &[f32], x: &[f32], dw: &mut [f32]) {
        super::super::conv::direct_weight_gradient(d, dy, x, dw)
    }
}

/// Forward of a dense layer in `f32`: `C = A·Bᵀ (+ bias)` with `A` `M × K`, `B` `N × K`,
/// `C` `M × N`, all row-major, on `level`. Panics if a slice is shorter than its shape.
///
/// With `ANY_ORDER` (the training forward), a small `B` may be transposed first and `C`
/// computed as a broadcast product, which sums in another order than the one-sample
/// kernel; without it, every output is summed in the same order for any `M`.
#[inline]
pub(crate) fn nt<M: ArrayLength, N: ArrayLength, K: ArrayLength, const ANY_ORDER: bool>(
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
    if !simd::nt::<M, N, K, ANY_ORDER>(level, a, b, bias, c) {
        fallback::nt(m, n, k, a, b, bias, c)
    }
}

/// Weight gradient of a dense layer in `f32`: `G = Dᵀ·X` with `D` `M × N`, `X` `M × K`,
/// `G` `N × K` (overwritten), on `level`.
#[inline]
pub(crate) fn tn<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
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
    if !simd::tn::<M, N, K>(level, d, x, g) {
        fallback::tn(m, n, k, d, x, g)
    }
}

/// Input gradient of a dense layer in `f32`: `C = D·W` with `D` `M × N`, `W` `N × K`,
/// `C` `M × K` (overwritten), on `level`.
#[inline]
pub(crate) fn nn<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
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
    if !simd::nn::<M, N, K>(level, d, w, c) {
        fallback::nn(m, n, k, d, w, c)
    }
}

/// The logistic function of every element of `x` into `y` (`f32`), on `level`.
#[inline]
pub(crate) fn sigmoid(level: Supported, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    if !simd::sigmoid(level, &x[..n], &mut y[..n]) {
        fallback::sigmoid(&x[..n], &mut y[..n])
    }
}

/// In-place [`sigmoid`], on `level`.
#[inline]
pub(crate) fn sigmoid_in_place(level: Supported, x: &mut [f32]) {
    if !simd::sigmoid_in_place(level, x) {
        fallback::sigmoid_in_place(x)
    }
}

/// Batch Normalization's training forward in `f32` with the SIMD kernels of `level`;
/// returns `false`, doing nothing, on the portable level (the caller runs the portable
/// kernel, which computes the same values bit for bit).
#[inline]
pub(crate) fn bn_forward_train<B: ArrayLength, N: ArrayLength>(level: Supported, a: BnTrain<'_, f32>) -> bool {
    simd::bn_forward_train::<B, N>(level, a)
}

/// Batch Normalization's backward in `f32` (see [`bn_forward_train`]).
#[inline]
pub(crate) fn bn_backward<B: ArrayLength, N: ArrayLength>(level: Supported, a: BnBackward<'_, f32>) -> bool {
    simd::bn_backward::<B, N>(level, a)
}

/// Max pooling with the argmax, by the SIMD kernel when it has one for the window; `false`
/// otherwise (the caller runs the portable kernel).
#[inline]
pub(crate) fn max_pool_indexed(level: Supported, g: &PoolWindow, x: &[f32], y: &mut [f32], argmax: &mut [f32]) -> bool {
    simd::max_pool2(level, g, x, y, argmax)
}

/// Max pooling without the indices, by the SIMD kernel when it has one for the window
/// (`false`: nothing done).
#[inline]
pub(crate) fn max_pool(level: Supported, g: &PoolWindow, x: &[f32], y: &mut [f32]) -> bool {
    simd::max_pool2_values(level, g, x, y)
}

/// Max pooling of `max(x, 0)` by the SIMD kernel when it has one for the window (`false`:
/// nothing done).
#[inline]
pub(crate) fn max_pool_relu(level: Supported, g: &PoolWindow, x: &[f32], y: &mut [f32]) -> bool {
    simd::max_pool2_relu(level, g, x, y)
}

/// The backward of [`max_pool_indexed`], by the SIMD kernel when it has one for the window.
#[inline]
pub(crate) fn max_pool_backward(level: Supported, g: &PoolWindow, argmax: &[f32], dy: &[f32], dx: &mut [f32]) -> bool {
    simd::max_pool2_backward(level, g, argmax, dy, dx)
}

/// The direct stride-1 convolution sum (see [`Direct`]) in `f32`, overwriting `y`.
#[inline]
pub(crate) fn conv_sum(level: Supported, d: &Direct, w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    if !simd::conv_sum(level, d, w, x, bias, y) {
        fallback::direct(d, w, x, bias, y)
    }
}

/// The direct convolution, a ReLU and 2×2 max pooling in one pass, when the level has a
/// kernel for it (`false`: nothing done).
#[inline]
pub(crate) fn conv_sum_relu_pool(
    level: Supported,
    d: &Direct,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> bool {
    simd::conv_sum_relu_pool(level, d, w, x, bias, y)
}

/// One sample's weight gradient of the direct convolution in `f32`, added to `dw`.
#[inline]
pub(crate) fn conv_weight_gradient(level: Supported, d: &Direct, dy: &[f32], x: &[f32], dw: &mut [f32]) {
    if !simd::conv_weight_gradient(level, d, dy, x, dw) {
        fallback::direct_weight_gradient(d, dy, x, dw)
    }
}

/// Runs `f`, for `f32` compiled for the current [`simd_level`](super::simd_level), so that
/// the compiler vectorizes its (inlined) element-wise loops with the widest vectors
/// available. The result is the same on every level: vectorizing element-wise arithmetic
/// does not change a single rounding (Rust never contracts `a·b + c` into an FMA, and
/// reductions stay sequential).
#[inline(always)]
pub(crate) fn vectorized<T: Float, R, F: FnOnce() -> R>(f: F) -> R {
    if T::as_f32(&[]).is_some() {
        simd::vectorized(Supported::current(), f)
    } else {
        f()
    }
}
