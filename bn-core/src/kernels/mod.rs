//! The numeric kernels and the run-time choice of the instruction set they run on.
//!
//! Kernels take slices and sizes (as type-level constants) and know no layer: the layers
//! call them, never the reverse. Every kernel is generic over [`Float`]; `f32` runs the
//! SIMD code of the level detected at run time ([`simd_level`]: AVX-512, AVX2, or the
//! portable loops; with `std`, the environment variable `BN_SIMD=avx2|portable` caps it);
//! `f64`, and `f32` with the crate feature `portable`, run the portable loops. For one level
//! the results are deterministic, and the batched and one-sample eval forwards agree bit for
//! bit; the matrix products differ between levels in the last bits, the Batch
//! Normalization kernels do not. Public here: the small vector helpers [`dot`],
//! [`axpy`], [`zero`] and the instruction-set controls ([`simd_level`], [`set_simd_level`],
//! [`detected_simd_level`]).
//!
//! How dispatch works, the register tiles of each kernel, what is deterministic and why,
//! the vector `exp`, and the tuning notes: `docs/kernels.md` in the repository.

use generic_array::ArrayLength;

use crate::float::Float;

pub(crate) mod channels;
mod conv;
mod dispatch;
mod int8;
mod level;
mod operands;
mod pool;
mod portable;
#[cfg(test)]
mod tests;
#[cfg(not(x86_simd))]
mod without_simd;
#[cfg(x86_simd)]
// The kernels index several small register arrays with the same loop variable on purpose.
#[allow(clippy::needless_range_loop)]
mod x86;

pub(crate) use conv::{col2im_add, embed, flip, im2col, Direct, Window};
pub(crate) use dispatch::vectorized;
pub(crate) use int8::{
    affine_i8, avg_pool_i8, conv2d_i8, dense_i8, global_avg_pool_i8, lut_i8, max_pool_i8, quantize_i8, relu_i8, Requant,
};
use level::Supported;
pub use level::{detected_simd_level, set_simd_level, simd_level, SimdLevel};
pub(crate) use operands::{BnBackward, BnStats, BnTrain};
pub(crate) use pool::PoolWindow;
pub use portable::{axpy, dot, zero};

/// `Some(bias as f32s)` or `Some(None)` when `T` is `f32`; `None` otherwise.
#[inline(always)]
fn bias_f32<T: Float>(bias: Option<&[T]>) -> Option<Option<&[f32]>> {
    match bias {
        Some(b) => T::as_f32(b).map(Some),
        None => Some(None),
    }
}

/// `C = A·Bᵀ (+ bias)`: `A` `M × K`, `B` `N × K`, `C` `M × N`, row-major (a dense layer's
/// forward, `Y = X·Wᵀ + b`). Every output is summed in the same order for any `M`, so one
/// sample and a batch agree bit for bit.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(always)]
pub(crate) fn gemm_nt<T: Float, M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: &[T],
    b: &[T],
    bias: Option<&[T]>,
    c: &mut [T],
) {
    gemm_nt_order::<T, M, N, K, false>(a, b, bias, c)
}

/// [`gemm_nt`] for a training batch, free to sum in another order than the one-sample
/// product (see `docs/kernels.md`, "Determinism").
#[inline(always)]
pub(crate) fn gemm_nt_any_order<T: Float, M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    a: &[T],
    b: &[T],
    bias: Option<&[T]>,
    c: &mut [T],
) {
    gemm_nt_order::<T, M, N, K, true>(a, b, bias, c)
}

#[inline(always)]
fn gemm_nt_order<T: Float, M: ArrayLength, N: ArrayLength, K: ArrayLength, const ANY_ORDER: bool>(
    a: &[T],
    b: &[T],
    bias: Option<&[T]>,
    c: &mut [T],
) {
    if let (Some(a32), Some(b32), Some(bias32)) = (T::as_f32(a), T::as_f32(b), bias_f32(bias)) {
        if let Some(c32) = T::as_f32_mut(c) {
            return dispatch::nt::<M, N, K, ANY_ORDER>(Supported::current(), a32, b32, bias32, c32);
        }
    }
    portable::nt(M::USIZE, N::USIZE, K::USIZE, a, b, bias, c)
}

/// `G = Dᵀ·X` (overwritten): `D` `M × N`, `X` `M × K`, `G` `N × K` (a dense layer's weight
/// gradient).
#[inline(always)]
pub(crate) fn gemm_tn<T: Float, M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: &[T], x: &[T], g: &mut [T]) {
    if let (Some(d32), Some(x32)) = (T::as_f32(d), T::as_f32(x)) {
        if let Some(g32) = T::as_f32_mut(g) {
            return dispatch::tn::<M, N, K>(Supported::current(), d32, x32, g32);
        }
    }
    portable::tn(M::USIZE, N::USIZE, K::USIZE, d, x, g)
}

/// `C = D·W` (overwritten): `D` `M × N`, `W` `N × K`, `C` `M × K` (a dense layer's input
/// gradient).
#[inline(always)]
pub(crate) fn gemm_nn<T: Float, M: ArrayLength, N: ArrayLength, K: ArrayLength>(d: &[T], w: &[T], c: &mut [T]) {
    if let (Some(d32), Some(w32)) = (T::as_f32(d), T::as_f32(w)) {
        if let Some(c32) = T::as_f32_mut(c) {
            return dispatch::nn::<M, N, K>(Supported::current(), d32, w32, c32);
        }
    }
    portable::nn(M::USIZE, N::USIZE, K::USIZE, d, w, c)
}

/// The direct stride-1 convolution sum of `d` (see [`Direct`]), overwriting `y`.
///
/// # Panics
/// If a slice is shorter than its shape, or the sum reads outside the image.
#[inline(always)]
pub(crate) fn conv_sum<T: Float>(d: &Direct, w: &[T], x: &[T], bias: Option<&[T]>, y: &mut [T]) {
    if let (Some(w32), Some(x32), Some(bias32)) = (T::as_f32(w), T::as_f32(x), bias_f32(bias)) {
        if let Some(y32) = T::as_f32_mut(y) {
            return dispatch::conv_sum(Supported::current(), d, w32, x32, bias32, y32);
        }
    }
    conv::direct(d, w, x, bias, y)
}

/// The direct convolution `d`, a ReLU and 2×2 max pooling of stride 2: `y` (`co ×
/// ⌊oh/2⌋ × ⌊ow/2⌋`) is bit for bit [`conv_sum`] into `sum`, then [`max_pool_relu`] into
/// `y`; with AVX-512 in one pass that never writes `sum`.
///
/// # Panics
/// As [`conv_sum`].
#[inline(always)]
pub(crate) fn conv_sum_relu_pool<T: Float>(
    d: &Direct,
    w: &[T],
    x: &[T],
    bias: Option<&[T]>,
    sum: &mut [T],
    y: &mut [T],
) {
    if let (Some(w32), Some(x32), Some(bias32)) = (T::as_f32(w), T::as_f32(x), bias_f32(bias)) {
        if let Some(y32) = T::as_f32_mut(y) {
            if dispatch::conv_sum_relu_pool(Supported::current(), d, w32, x32, bias32, y32) {
                return;
            }
        }
    }
    conv_sum(d, w, x, bias, sum);
    let g = PoolWindow { c: d.co, h: d.oh, w: d.ow, size: 2, stride: 2, oh: d.oh / 2, ow: d.ow / 2 };
    max_pool_relu(&g, sum, y)
}

/// One sample's weight gradient of the direct convolution `d`, added to `dw`.
///
/// # Panics
/// As [`conv_sum`].
#[inline(always)]
pub(crate) fn conv_weight_gradient<T: Float>(d: &Direct, dy: &[T], x: &[T], dw: &mut [T]) {
    if let (Some(dy32), Some(x32)) = (T::as_f32(dy), T::as_f32(x)) {
        if let Some(dw32) = T::as_f32_mut(dw) {
            return dispatch::conv_weight_gradient(Supported::current(), d, dy32, x32, dw32);
        }
    }
    conv::direct_weight_gradient(d, dy, x, dw)
}

/// The logistic function of every element of `x` into `y` (over the common length).
#[inline(always)]
pub(crate) fn sigmoid<T: Float>(x: &[T], y: &mut [T]) {
    if let Some(x32) = T::as_f32(x) {
        if let Some(y32) = T::as_f32_mut(y) {
            return dispatch::sigmoid(Supported::current(), x32, y32);
        }
    }
    portable::sigmoid(x, y)
}

/// The logistic function of every element, in place.
#[inline(always)]
pub(crate) fn sigmoid_in_place<T: Float>(x: &mut [T]) {
    if let Some(x32) = T::as_f32_mut(x) {
        return dispatch::sigmoid_in_place(Supported::current(), x32);
    }
    portable::sigmoid_in_place(x)
}

/// The mean and biased variance of every column of a `B × N` batch, shifted two-pass (see
/// [`BatchNorm`](crate::BatchNorm)); `stats.inv_std` is scratch.
#[inline(always)]
pub(crate) fn bn_statistics<T: Float, B: ArrayLength, N: ArrayLength>(x: &[T], stats: &mut BnStats<'_, T>) {
    portable::bn_statistics::<T, B, N>(x, stats)
}

/// Batch Normalization's training forward over a `B × N` batch, without the population
/// statistics: the batch statistics into `a.stats`, the normalized, scaled and shifted
/// batch into `a.y`. The SIMD kernels compute the portable code's operations lane by lane,
/// so every level gives the same bits.
#[inline(always)]
pub(crate) fn bn_forward_train<T: Float, B: ArrayLength, N: ArrayLength>(mut a: BnTrain<'_, T>) {
    if let Some(a32) = a.as_f32() {
        if dispatch::bn_forward_train::<B, N>(Supported::current(), a32) {
            return;
        }
    }
    vectorized::<T, _, _>(
        #[inline(always)]
        || portable::bn_forward_train::<T, B, N>(a),
    )
}

/// Batch Normalization's backward over a `B × N` batch through μ_B and σ²_B: `a.dx`, and
/// `∂ℓ/∂γ`, `∂ℓ/∂β` into `a.dgamma`, `a.dbeta` (overwritten). Same bits on every level.
#[inline(always)]
pub(crate) fn bn_backward<T: Float, B: ArrayLength, N: ArrayLength>(mut a: BnBackward<'_, T>) {
    if let Some(a32) = a.as_f32() {
        if dispatch::bn_backward::<B, N>(Supported::current(), a32) {
            return;
        }
    }
    vectorized::<T, _, _>(
        #[inline(always)]
        || portable::bn_backward::<T, B, N>(a),
    )
}

/// Max pooling of one image: 2×2 windows of stride 2 by the SIMD kernel, others by the
/// portable one (see the `pool` kernels).
#[inline(always)]
pub(crate) fn max_pool<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T]) {
    if let (Some(x32), Some(y32)) = (T::as_f32(x), T::as_f32_mut(y)) {
        if dispatch::max_pool(Supported::current(), g, x32, y32) {
            return;
        }
    }
    pool::max_pool(g, x, y)
}

/// Max pooling of `max(x, 0)` for one image (a ReLU then the pool, bit for bit).
#[inline(always)]
pub(crate) fn max_pool_relu<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T]) {
    if let (Some(x32), Some(y32)) = (T::as_f32(x), T::as_f32_mut(y)) {
        if dispatch::max_pool_relu(Supported::current(), g, x32, y32) {
            return;
        }
    }
    // ReLU's formula: NaN and −0 give +0.
    pool::max_pool_map(g, x, y, |v| if v > T::ZERO { v } else { T::ZERO })
}

/// Max pooling of one image, recording where each output came from.
#[inline(always)]
pub(crate) fn max_pool_indexed<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T], argmax: &mut [T]) {
    if let Some(x32) = T::as_f32(x) {
        if let (Some(y32), Some(a32)) = (T::as_f32_mut(y), T::as_f32_mut(argmax)) {
            if dispatch::max_pool_indexed(Supported::current(), g, x32, y32, a32) {
                return;
            }
        }
    }
    pool::max_pool_indexed(g, x, y, argmax)
}

/// The backward of max pooling: each gradient to the input its output came from.
#[inline(always)]
pub(crate) fn max_pool_backward<T: Float>(g: &PoolWindow, argmax: &[T], dy: &[T], dx: &mut [T]) {
    if let (Some(a32), Some(dy32)) = (T::as_f32(argmax), T::as_f32(dy)) {
        if let Some(dx32) = T::as_f32_mut(dx) {
            if dispatch::max_pool_backward(Supported::current(), g, a32, dy32, dx32) {
                return;
            }
        }
    }
    pool::max_pool_backward(argmax, dy, dx)
}

/// Average pooling of one image.
#[inline(always)]
pub(crate) fn avg_pool<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T]) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || pool::avg_pool(g, x, y),
    )
}

/// The backward of average pooling.
#[inline(always)]
pub(crate) fn avg_pool_backward<T: Float>(g: &PoolWindow, dy: &[T], dx: &mut [T]) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || pool::avg_pool_backward(g, dy, dx),
    )
}
