//! Re-exports for the code that `network!` generates (not a public API: no stability
//! guarantees). Generated code names only `::core::…` and `::bn_core::__private::…`, so it
//! compiles in any crate that depends on `bn-core`, under any name imports.

pub use crate::inference::{array_as_vector, image_as_vector};
pub use crate::{flat, flat_mut, sub_batch, sub_batch_mut, CacheAligned};
pub use crate::{
    Activation, Affine, AvgPool2d, Batch, BatchNorm, BatchNormCache, BatchNormGrads, Conv2d, Conv2dBuffers,
    Conv2dScratch, Conv2dShape, ConvBlock, Dense, Dropout, Float, Freeze, Fused, GlobalAvgPool, GroupNorm,
    GroupNormCache, GroupNormGrads, Inference, Init, LayerNorm, LayerNormCache, LayerNormGrads, Matrix, MaxPool2d,
    Momentum, Network, NonEmptyBatch, Optimizer, OptimizerState, ParamKind, Parameters, PlainData, Pool2dShape, ReLU,
    Residual, Rng, Sigmoid, StateMut, Tanh, TrainBatch, Vector, Zeroable,
};
pub use crate::{Loss, Trainer};
pub use generic_array::{ArrayLength, GenericArray};
pub use typenum;
pub use typenum::{UInt, UTerm, B0, B1};

/// The seal of [`Graph`](crate::Graph): implemented by `network!`'s expansion only.
pub trait SealedGraph {}

/// Asserts (at compile time, via the bound) that a field type is [`Zeroable`].
pub const fn assert_zeroable<T: Zeroable>() {}

/// Expands its input only when `bn-core` has its `alloc` feature (heap constructors).
#[cfg(feature = "alloc")]
#[macro_export]
#[doc(hidden)]
macro_rules! __bn_if_alloc {
    ($($t:tt)*) => { $($t)* };
}
/// Expands its input only when `bn-core` has its `alloc` feature (heap constructors).
#[cfg(not(feature = "alloc"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __bn_if_alloc {
    ($($t:tt)*) => {};
}
pub use crate::__bn_if_alloc as if_alloc;

#[cfg(feature = "alloc")]
pub use alloc::boxed::Box;

/// Expands its input only when `bn-core` has its `safetensors` feature (weights files).
#[cfg(feature = "safetensors")]
#[macro_export]
#[doc(hidden)]
macro_rules! __bn_if_safetensors {
    ($($t:tt)*) => { $($t)* };
}
/// Expands its input only when `bn-core` has its `safetensors` feature (weights files).
#[cfg(not(feature = "safetensors"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __bn_if_safetensors {
    ($($t:tt)*) => {};
}
pub use crate::__bn_if_safetensors as if_safetensors;

/// Expands its input only when `bn-core` has its `onnx` feature (ONNX export).
#[cfg(feature = "onnx")]
#[macro_export]
#[doc(hidden)]
macro_rules! __bn_if_onnx {
    ($($t:tt)*) => { $($t)* };
}
/// Expands its input only when `bn-core` has its `onnx` feature (ONNX export).
#[cfg(not(feature = "onnx"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __bn_if_onnx {
    ($($t:tt)*) => {};
}
pub use crate::__bn_if_onnx as if_onnx;

#[cfg(feature = "alloc")]
pub use crate::boxed_zeroed;
#[cfg(feature = "onnx")]
pub use crate::format::save_onnx;
pub use crate::format::{
    visit_channel_affine, visit_channel_affine_mut, LayerTensors, StateDict, TensorMut, TensorName, TensorRef,
};
pub use crate::format::{Dims, Graph, Node, Op};
#[cfg(feature = "safetensors")]
pub use crate::LoadError;
#[cfg(feature = "alloc")]
pub use alloc::vec::Vec;

/// What the quantized model (`…Quantized`) and its construction use.
pub mod quant {
    pub use crate::quant::chain::{dequantize_values, prefix, prefix_mut, quantize_values};
    #[cfg(feature = "alloc")]
    pub use crate::quant::{Calibrator, Quantize};
    pub use crate::quant::{Int8Inference, Lut, Observer, PackedParams, QuantParams, QuantizeError, Ranges};
    pub use crate::{QAffine, QConv2d, QDense};

    pub use crate::quant::{refused, Unquantizable};
}
