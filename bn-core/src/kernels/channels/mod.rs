//! Batch Normalization over the channels of images (PyTorch's `BatchNorm2d`; Ioffe & Szegedy
//! 2015, §3.2): the entry points, each the function of the same name in `arithmetic`
//! compiled for the current [`simd_level`](super::simd_level), so the same bits on every
//! level. A batch of `B` samples of `N` channels of `S` pixels each, sample-major.
//!
//! - A whole batch: [`bn_forward_train`], [`bn_backward`], and [`bn_forward_train_then`],
//!   [`bn_backward_then`] with an activation fused after the normalization.
//! - A sample at a time (for layers fused across a whole block): [`statistics_sample`],
//!   [`statistics_finish`], [`normalize_sample`], [`backward_sums_sample`],
//!   [`backward_coefficients`], [`backward_sample`]; the same arithmetic in the same order
//!   as the whole-batch functions, so a loop over the samples gives the same bits.

mod arithmetic;

use generic_array::ArrayLength;

use super::dispatch::vectorized;
use super::operands::{BnBackward, BnStats, BnTrain};
use crate::float::Float;
pub(crate) use arithmetic::{BackwardSums, Channels, Coefficients};

/// Batch Normalization's training forward over the channels of a `B × N × S` batch of
/// images, without the population statistics (see
/// [`bn_forward_train`](super::bn_forward_train)).
#[inline(always)]
pub(crate) fn bn_forward_train<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(a: BnTrain<'_, T>) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::bn_forward_train::<T, B, N, S>(a),
    )
}

/// Batch Normalization's backward over the channels of a `B × N × S` batch of images.
#[inline(always)]
pub(crate) fn bn_backward<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(a: BnBackward<'_, T>) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::bn_backward::<T, B, N, S>(a),
    )
}

/// [`bn_forward_train`] with `f` applied to every output in the same pass.
#[inline(always)]
pub(crate) fn bn_forward_train_then<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(
    a: BnTrain<'_, T>,
    f: impl Fn(T) -> T,
) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::bn_forward_train_then::<T, B, N, S>(a, f),
    )
}

/// The backward of [`bn_forward_train_then`] for an `f` whose derivative needs only its
/// input (see `arithmetic::bn_backward_then`).
#[inline(always)]
pub(crate) fn bn_backward_then<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(
    a: BnBackward<'_, T>,
    beta: &[T],
    df: impl Fn(T) -> T,
) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::bn_backward_then::<T, B, N, S>(a, beta, df),
    )
}

/// Sample `i` into the running statistics.
#[inline(always)]
pub(crate) fn statistics_sample<T: Float>(n: usize, s: usize, i: usize, sample: &[T], c: &mut BnStats<'_, T>) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::statistics_sample(n, s, i, sample, c),
    )
}

/// Mean, variance and `1/√(var + ε)` of `m` values per channel.
#[inline(always)]
pub(crate) fn statistics_finish<T: Float>(n: usize, m: usize, eps: T, c: &mut BnStats<'_, T>) {
    arithmetic::statistics_finish(n, m, c);
    arithmetic::inverse_deviations(n, eps, c);
}

/// One sample's `f(BN(x))`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn normalize_sample<T: Float>(
    n: usize,
    s: usize,
    x: &[T],
    y: &mut [T],
    gamma: &[T],
    beta: &[T],
    c: &BnStats<'_, T>,
    f: impl Fn(T) -> T,
) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::normalize_sample(n, s, x, y, gamma, beta, c, f),
    )
}

/// One sample's terms of the backward's sums.
#[inline(always)]
pub(crate) fn backward_sums_sample<T: Float>(
    n: usize,
    s: usize,
    x: &[T],
    dy: &[T],
    c: &Channels<'_, T>,
    sums: &mut BackwardSums<'_, T>,
    df: impl Fn(T) -> T,
) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::backward_sums_sample(n, s, x, dy, c, sums, df),
    )
}

/// `dγ` and the factors of the input gradient from the sums.
#[inline(always)]
pub(crate) fn backward_coefficients<T: Float>(
    n: usize,
    m: usize,
    c: &Channels<'_, T>,
    sums: &mut BackwardSums<'_, T>,
    out: &mut Coefficients<'_, T>,
) {
    arithmetic::backward_coefficients(n, m, c, sums, out)
}

/// One sample's input gradient.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn backward_sample<T: Float>(
    n: usize,
    s: usize,
    x: &[T],
    dy: &[T],
    dx: &mut [T],
    c: &Channels<'_, T>,
    coef: &[&[T]; 3],
    df: impl Fn(T) -> T,
) {
    vectorized::<T, _, _>(
        #[inline(always)]
        || arithmetic::backward_sample(n, s, x, dy, dx, c, coef, df),
    )
}
