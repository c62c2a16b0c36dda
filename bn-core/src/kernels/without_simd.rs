//! The SIMD entry points of a build without SIMD code (the `portable` feature, or a target
//! other than `x86_64`): each declines, so the portable kernel runs. They keep the shape
//! parameters of the SIMD entry points, so that the callers are the same for both builds.
#![allow(clippy::extra_unused_type_parameters)]

use generic_array::ArrayLength;

use super::conv::Direct;
use super::level::Supported;
use super::operands::{BnBackward, BnTrain};
use super::pool::PoolWindow;

pub(crate) fn nt<M: ArrayLength, N: ArrayLength, K: ArrayLength, const ANY_ORDER: bool>(
    _: Supported,
    _: &[f32],
    _: &[f32],
    _: Option<&[f32]>,
    _: &mut [f32],
) -> bool {
    false
}

pub(crate) fn tn<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    _: Supported,
    _: &[f32],
    _: &[f32],
    _: &mut [f32],
) -> bool {
    false
}

pub(crate) fn nn<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    _: Supported,
    _: &[f32],
    _: &[f32],
    _: &mut [f32],
) -> bool {
    false
}

pub(crate) fn sigmoid(_: Supported, _: &[f32], _: &mut [f32]) -> bool {
    false
}

pub(crate) fn sigmoid_in_place(_: Supported, _: &mut [f32]) -> bool {
    false
}

pub(crate) fn bn_forward_train<B: ArrayLength, N: ArrayLength>(_: Supported, _: BnTrain<'_, f32>) -> bool {
    false
}

pub(crate) fn bn_backward<B: ArrayLength, N: ArrayLength>(_: Supported, _: BnBackward<'_, f32>) -> bool {
    false
}

pub(crate) fn max_pool2(_: Supported, _: &PoolWindow, _: &[f32], _: &mut [f32], _: &mut [f32]) -> bool {
    false
}

pub(crate) fn max_pool2_values(_: Supported, _: &PoolWindow, _: &[f32], _: &mut [f32]) -> bool {
    false
}

pub(crate) fn max_pool2_relu(_: Supported, _: &PoolWindow, _: &[f32], _: &mut [f32]) -> bool {
    false
}

pub(crate) fn max_pool2_backward(_: Supported, _: &PoolWindow, _: &[f32], _: &[f32], _: &mut [f32]) -> bool {
    false
}

pub(crate) fn conv_sum(_: Supported, _: &Direct, _: &[f32], _: &[f32], _: Option<&[f32]>, _: &mut [f32]) -> bool {
    false
}

pub(crate) fn conv_sum_relu_pool(
    _: Supported,
    _: &Direct,
    _: &[f32],
    _: &[f32],
    _: Option<&[f32]>,
    _: &mut [f32],
) -> bool {
    false
}

pub(crate) fn conv_weight_gradient(_: Supported, _: &Direct, _: &[f32], _: &[f32], _: &mut [f32]) -> bool {
    false
}

#[inline(always)]
pub(crate) fn vectorized<R, F: FnOnce() -> R>(_: Supported, f: F) -> R {
    f()
}
