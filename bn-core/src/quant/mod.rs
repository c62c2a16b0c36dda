//! The arithmetic of int8 quantization, TFLite's scheme (the *TensorFlow Lite 8-bit
//! quantization specification*; Jacob et al. 2018, *Quantization and Training of Neural
//! Networks for Efficient Integer-Arithmetic-Only Inference*, arXiv 1712.05877): a real value
//! `r` is `scale · (q − zero_point)` for an integer `q`.
//!
//! - [`QuantParams`]: a tensor's scale and zero point. Activations are asymmetric per tensor
//!   ([`QuantParams::asymmetric`], from a calibrated range that is widened to contain 0, so
//!   that zero padding is exact); weights symmetric per output channel
//!   ([`QuantParams::symmetric`], zero point 0, `q ∈ [−127, 127]`).
//! - [`Multiplier`]: a positive real factor (`input_scale · weight_scale / output_scale`) as a
//!   31-bit fixed-point mantissa and a power-of-two shift, and the multiplication of an `i32`
//!   accumulator by it in integers only, with TFLite's rounding (gemmlowp's
//!   `SaturatingRoundingDoublingHighMul`, then `RoundingDivideByPOT`).
//!
//! - [`Lut`]: sigmoid and tanh (or any element-wise function) of int8 values as a 256-entry
//!   table, with TFLite's fixed output parameters.
//!
//! Everything here is exact integer arithmetic or a documented `f32`/`f64` rounding, so every
//! target computes the same integers. No layer knows it yet: the quantized models build on it.

mod fixed_point;
mod lut;
mod params;

pub use fixed_point::{rounding_divide_by_pot, saturating_rounding_doubling_high_mul, Multiplier};
pub use lut::Lut;
pub use params::QuantParams;
