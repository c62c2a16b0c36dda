//! The arithmetic of int8 quantization, TFLite's scheme (the *TensorFlow Lite 8-bit
//! quantization specification*; Jacob et al. 2018, *Quantization and Training of Neural
//! Networks for Efficient Integer-Arithmetic-Only Inference*, arXiv 1712.05877): a real value
//! `r` is `scale · (q − zero_point)` for an integer `q`.
//!
//! - [`QuantParams`]: a tensor's scale and zero point. Activations are asymmetric per tensor
//!   ([`QuantParams::asymmetric`], from a calibrated range that is widened to contain 0, so
//!   that zero padding is exact); weights symmetric per output channel
//!   ([`QuantParams::symmetric`], zero point 0, `q ∈ [−127, 127]`). [`PackedParams`]: the
//!   same as bytes, inside a model.
//! - [`Multiplier`]: a positive real factor (`input_scale · weight_scale / output_scale`) as a
//!   31-bit fixed-point mantissa and a power-of-two shift, and the multiplication of an `i32`
//!   accumulator by it in integers only, with TFLite's rounding (gemmlowp's
//!   `SaturatingRoundingDoublingHighMul`, then `RoundingDivideByPOT`).
//! - [`Requantized`]: the output stage of every linear int8 layer (bias, multiplier, zero
//!   point, clamp).
//! - [`Lut`]: sigmoid and tanh (or any element-wise function) of int8 values as a 256-entry
//!   table, with TFLite's fixed output parameters.
//! - Calibration: [`Observer`], [`Range`], [`Ranges`], [`Calibrator`], [`QuantizeError`].
//! - [`LeI32`], [`LeF32`]: 32-bit numbers as little-endian bytes, so that a quantized model
//!   is bytes only (alignment 1, no padding).
//!
//! ```
//! use bn_core::quant::Observer;
//! bn_core::network! {
//!     pub struct Small { input: 4, dense(8), batchnorm, relu, dense(3) }
//! }
//! let folded = Small::new(1).fold();
//! let calibration: Vec<[f32; 4]> = (0..100).map(|i| [i as f32 / 50.0 - 1.0, 0.5, -0.25, (i % 7) as f32 / 7.0]).collect();
//! // The calibrated tensors: the input, then each linear layer's output (the ReLU is dense0's clamp).
//! assert_eq!(SmallQuantized::TENSORS, ["input", "dense0", "dense3"]);
//! let ranges = folded.calibrate(&calibration, Observer::MinMax).unwrap();
//! let q = folded.quantize_with(&ranges).unwrap(); // = folded.quantize(&calibration)
//! assert_eq!(*q, *folded.quantize(&calibration).unwrap());
//! // The same logits to within a few output steps.
//! let (x, step) = ([0.3, 0.5, -0.25, 0.5], q.output.scale.get());
//! for (a, b) in folded.forward(&x).iter().zip(q.forward(&x).iter()) {
//!     assert!((a - b).abs() <= 4.0 * step, "{a} vs {b}");
//! }
//! ```
//!
//! Everything here is exact integer arithmetic or a documented `f32`/`f64` rounding, so every
//! target computes the same integers. The layers are [`QDense`](crate::QDense),
//! [`QConv2d`](crate::QConv2d) and [`QAffine`](crate::QAffine); `network!` generates the
//! quantized model (`…Quantized`) from them.

mod bytes;
mod calibrate;
pub(crate) mod chain;
mod fixed_point;
mod lut;
mod params;
mod refusal;
mod stage;

pub use bytes::{LeF32, LeI32};
#[cfg(feature = "alloc")]
pub use calibrate::Calibrator;
pub use calibrate::{Observer, QuantizeError, Range, Ranges};
pub use fixed_point::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul, Multiplier};
pub use lut::Lut;
pub use params::{PackedParams, QuantParams};
pub use refusal::{refused, Unquantizable};
pub(crate) use stage::quantize_channel;
pub use stage::Requantized;

/// An int8 model that `network!` generates (`…Quantized`), for generic code: its integer
/// forward and its input's quantization (the inherent methods of the same names).
pub trait Int8Inference: crate::Inference<Scalar = f32> + crate::PlainData<Scalar = u8> {
    /// The int8 output (logits) of an int8 input, integers only.
    fn forward_q(&self, x: &crate::Vector<Self::Input, i8>, y: &mut crate::Vector<Self::Output, i8>);
    /// The int8 values of a real input (the model's input parameters).
    fn quantize_input(&self, x: &crate::Vector<Self::Input, f32>, q: &mut crate::Vector<Self::Input, i8>);
}

/// A folded model that `network!` can quantize (every network of `f32` whose layers int8
/// inference computes): what generic code calls; the generated inherent methods
/// (`calibrate`, `quantize_with`, `quantize`) say more.
#[cfg(feature = "alloc")]
pub trait Quantize: crate::Inference<Scalar = f32> {
    /// The int8 model (`…Quantized`).
    type Quantized: Int8Inference<Input = Self::Input, Output = Self::Output>;

    /// The int8 model calibrated on `calibration` with min/max ranges.
    ///
    /// # Errors
    /// See [`QuantizeError`].
    fn quantize(
        &self,
        calibration: &[crate::Vector<Self::Input, f32>],
    ) -> Result<alloc::boxed::Box<Self::Quantized>, QuantizeError>;
}
