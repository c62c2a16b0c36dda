//! [`Requantized`]: the output stage every linear int8 layer shares (per output channel a
//! bias and a multiplier, then the output zero point and the clamp), and how it is made
//! from a float layer's weights ([`quantize_channel`]).

use core::fmt;

use generic_array::ArrayLength;

use super::{LeI32, Multiplier, QuantParams, QuantizeError};
use crate::kernels::Requant;
use crate::shape::Vector;

/// The output stage of a linear int8 layer with `O` output channels (see
/// [`QDense`](crate::QDense)): `y_o = clamp(z_y + M_o(acc_o), min, max)` where `acc_o` starts
/// at `bias_o`. Bytes only (alignment 1): part of a [`PlainData`](crate::PlainData) model.
#[repr(C)]
pub struct Requantized<O: ArrayLength> {
    /// `b_o − (z_x + 128)·Σ_i w_oi`: TFLite's int32 bias `b_o = round(bias_o / (s_x·s_o))`
    /// with the input's offset folded in, because the kernels multiply `x + 128` (the int8
    /// input as an unsigned byte) by the weights.
    pub bias: Vector<O, LeI32>,
    /// The Q0.31 mantissa of each output's multiplier `M_o = s_x·s_o / s_y`...
    pub mantissa: Vector<O, LeI32>,
    /// ...and its power of two ([`Multiplier`]).
    pub shift: Vector<O, i8>,
    /// `z_y`.
    pub output_zero_point: i8,
    /// The clamp: `[−128, 127]`, or `[z_y, 127]` with a fused ReLU.
    pub min: i8,
    /// See `min`.
    pub max: i8,
}

// SAFETY: bytes only; all zeros is a valid value.
unsafe impl<O: ArrayLength> crate::zeroed::Zeroable for Requantized<O> {}

impl<O: ArrayLength> Copy for Requantized<O>
where
    Vector<O, LeI32>: Copy,
    Vector<O, i8>: Copy,
{
}

// By hand: derives would bound `O` itself, which a geometry's associated type is not.
impl<O: ArrayLength> Clone for Requantized<O> {
    fn clone(&self) -> Self {
        Requantized { bias: self.bias.clone(), mantissa: self.mantissa.clone(), shift: self.shift.clone(), ..*self }
    }
}

impl<O: ArrayLength> Default for Requantized<O> {
    fn default() -> Self {
        Requantized {
            bias: Vector::default(),
            mantissa: Vector::default(),
            shift: Vector::default(),
            output_zero_point: 0,
            min: 0,
            max: 0,
        }
    }
}

impl<O: ArrayLength> PartialEq for Requantized<O> {
    fn eq(&self, o: &Self) -> bool {
        (self.bias == o.bias && self.mantissa == o.mantissa && self.shift == o.shift)
            && (self.output_zero_point, self.min, self.max) == (o.output_zero_point, o.min, o.max)
    }
}

impl<O: ArrayLength> Eq for Requantized<O> {}

impl<O: ArrayLength> fmt::Debug for Requantized<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requantized")
            .field("bias", &self.bias)
            .field("mantissa", &self.mantissa)
            .field("shift", &self.shift)
            .field("output_zero_point", &self.output_zero_point)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

impl<O: ArrayLength> Requantized<O> {
    /// An empty stage writing `output` (clamped at its zero point when `relu`), to be filled
    /// channel by channel by [`quantize_channel`].
    pub(crate) fn new(output: QuantParams, relu: bool) -> Self {
        let z = output.zero_point as i8;
        Requantized { output_zero_point: z, min: if relu { z } else { i8::MIN }, max: i8::MAX, ..Self::default() }
    }

    /// The kernels' view.
    pub(crate) fn view(&self) -> Requant<'_> {
        Requant {
            bias: &self.bias,
            mantissa: &self.mantissa,
            shift: &self.shift,
            output_zero_point: i32::from(self.output_zero_point),
            min: i32::from(self.min),
            max: i32::from(self.max),
        }
    }

    /// The real factor `M_o` of output `o` (for reports and tests).
    pub fn multiplier(&self, o: usize) -> Multiplier {
        Multiplier { mantissa: self.mantissa[o].get(), shift: i32::from(self.shift[o]) }
    }
}

/// Quantizes output channel `o` of a float linear layer into `out_weights` and `stage`: the
/// weights symmetric (`s_o = max |w| / 127`, TFLite's per-channel scheme), the bias
/// `round(bias / (s_x·s_o))` in `f64` (half away from zero, saturated to `i32`) with the
/// input's offset folded in ([`Requantized::bias`]), the multiplier `s_x·s_o / s_y`
/// computed in `f64` from the `f32` scales.
///
/// # Errors
/// [`QuantizeError::Multiplier`] (without the layer's name) when `s_x·s_o / s_y ≥ 2^30`.
pub(crate) fn quantize_channel<O: ArrayLength>(
    weights: &[f32],
    bias: f32,
    input: QuantParams,
    output: QuantParams,
    out_weights: &mut [i8],
    stage: &mut Requantized<O>,
    o: usize,
) -> Result<(), QuantizeError> {
    let w = QuantParams::symmetric(weights.iter().fold(0f32, |m, v| m.max(v.abs())));
    let mut sum = 0i64;
    for (q, &v) in out_weights.iter_mut().zip(weights) {
        *q = w.quantize(v);
        sum += i64::from(*q);
    }
    let acc_scale = f64::from(input.scale) * f64::from(w.scale);
    let b = if acc_scale > 0.0 { libm::round(f64::from(bias) / acc_scale) } else { 0.0 };
    let b = b.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64;
    let folded = b - (i64::from(input.zero_point) + 128) * sum;
    stage.bias[o] = LeI32::new(folded.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32);
    let factor = if output.scale > 0.0 { acc_scale / f64::from(output.scale) } else { 0.0 };
    let m = Multiplier::try_new(factor).ok_or(QuantizeError::Multiplier { layer: "", factor })?;
    stage.mantissa[o] = LeI32::new(m.mantissa);
    stage.shift[o] = m.shift as i8;
    Ok(())
}
