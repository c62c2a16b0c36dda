//! [`QAffine`]: a per-channel affine map (BNs that fold into no linear layer) quantized to
//! int8.

use generic_array::ArrayLength;

use super::affine::Affine;
use crate::kernels::affine_i8;
use crate::quant::{quantize_channel, QuantParams, QuantizeError, Requantized};
use crate::shape::Vector;

/// An int8 per-channel affine map `y = a_c·x + b_c`, integers only: each channel is a
/// one-input [`QDense`](crate::QDense) output (its weight `±127` or 0 with the scale
/// `|a_c|/127`, its bias and multiplier), applied to every value of the channel (every
/// pixel of an image; one value per channel for a flat input). What the quantized model
/// runs for BNs that fold into no linear layer. Bytes only.
///
/// ```
/// use bn_core::generic_array::arr;
/// use bn_core::quant::QuantParams;
/// use bn_core::{typenum::{U2, U6}, Affine, QAffine};
/// let a = Affine::<U2> { scale: arr![2.0, -0.5], shift: arr![0.25, 1.0] };
/// let (input, output) = (QuantParams::asymmetric(-1.0, 1.0), QuantParams::asymmetric(-2.0, 2.0));
/// let q = QAffine::quantize(&a, input, output, false).unwrap();
/// // Two channels of three pixels.
/// let x = [0.5f32, 0.0, -1.0, 0.5, 0.0, -1.0].map(|v| input.quantize(v));
/// let mut y = Default::default();
/// q.forward_q::<U6>(&x.into(), &mut y);
/// let want = [1.25, 0.25, -1.75, 0.75, 1.0, 1.5];
/// for (&q, w) in y.iter().zip(want) {
///     assert!((output.dequantize(q) - w).abs() <= 2.0 * output.scale);
/// }
/// ```
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QAffine<C: ArrayLength> {
    /// Each channel's scale as an int8 weight.
    pub weight: Vector<C, i8>,
    /// The bias, multipliers, zero point and clamp of the channels.
    pub out: Requantized<C>,
}

// SAFETY: bytes only; all zeros is a valid value.
unsafe impl<C: ArrayLength> crate::zeroed::Zeroable for QAffine<C> {}

impl<C: ArrayLength> Copy for QAffine<C>
where
    Vector<C, i8>: Copy,
    Requantized<C>: Copy,
{
}

impl<C: ArrayLength> QAffine<C> {
    /// The int8 map of a folded `f32` affine layer whose input and output are quantized by
    /// `input` and `output`; `relu` fuses a following ReLU into the output clamp.
    ///
    /// # Errors
    /// [`QuantizeError::Multiplier`] as [`QDense::quantize`](crate::QDense::quantize).
    pub fn quantize(
        affine: &Affine<C, f32>,
        input: QuantParams,
        output: QuantParams,
        relu: bool,
    ) -> Result<Self, QuantizeError> {
        let mut q = Self::default();
        q.quantize_into(affine, input, output, relu)?;
        Ok(q)
    }

    /// [`quantize`](Self::quantize) into `self` (in place).
    ///
    /// # Errors
    /// As [`quantize`](Self::quantize).
    pub fn quantize_into(
        &mut self,
        affine: &Affine<C, f32>,
        input: QuantParams,
        output: QuantParams,
        relu: bool,
    ) -> Result<(), QuantizeError> {
        self.out = Requantized::new(output, relu);
        for c in 0..C::USIZE {
            let w = core::slice::from_mut(&mut self.weight[c]);
            quantize_channel(&[affine.scale[c]], affine.shift[c], input, output, w, &mut self.out, c)?;
        }
        Ok(())
    }

    /// The int8 output of `X` int8 values (`X / C` per channel, channel-major), integers only.
    pub fn forward_q<X: ArrayLength>(&self, x: &Vector<X, i8>, y: &mut Vector<X, i8>) {
        const { assert!(X::USIZE % C::USIZE == 0, "QAffine: a sample must be C channels of equal size") };
        affine_i8(&self.weight, &self.out.view(), x, y);
    }
}
