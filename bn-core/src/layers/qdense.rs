//! [`QDense`]: a folded dense layer quantized to int8, TFLite's scheme (Jacob et al. 2018,
//! *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
//! Inference*, arXiv 1712.05877, §2; the TFLite 8-bit quantization specification).

use generic_array::ArrayLength;

use super::dense::Dense;
use crate::kernels::dense_i8;
use crate::quant::{quantize_channel, QuantParams, QuantizeError, Requantized};
use crate::shape::{flat, flat_mut, Matrix, Vector};

/// An int8 dense layer, integers only from its int8 input to its int8 output:
///
/// ```text
/// acc_o = b_o + Σ_i w_oi · (x_i − z_x)                      (i32, exact)
/// y_o   = clamp(z_y + M_o(acc_o), min, max)                 (M_o: fixed-point, TFLite's rounding)
/// ```
///
/// made from a folded `f32` dense layer `y = W x + b` and the quantization of its input
/// (`s_x`, `z_x`) and output (`s_y`, `z_y`): each output channel's weights symmetric,
/// `w_oi = round(W_oi / s_o)` with `s_o = max_i |W_oi| / 127`; `b_o = round(b_o / (s_x·s_o))`;
/// `M_o = s_x·s_o / s_y`. A ReLU after the layer is the clamp `[z_y, 127]` (exact: the
/// output's zero maps to `z_y`). The stored bias has `z_x` folded in ([`Requantized`]).
///
/// Bytes only (alignment 1, no padding): part of a [`PlainData`](crate::PlainData) model.
///
/// ```
/// use bn_core::generic_array::arr;
/// use bn_core::quant::QuantParams;
/// use bn_core::{typenum::{U2, U3}, Dense, QDense};
/// let dense = Dense::<U3, U2> { weight: arr![arr![0.5, -1.0, 0.25], arr![1.0, 1.0, 1.0]], bias: arr![0.1, -0.2] };
/// let (input, output) = (QuantParams::asymmetric(-1.0, 1.0), QuantParams::asymmetric(-2.0, 3.0));
/// let q = QDense::quantize(&dense, input, output, false).unwrap();
/// let x = [0.5f32, -0.25, 1.0];
/// let xq = x.map(|v| input.quantize(v));
/// let mut yq = arr![0i8, 0];
/// q.forward_q(&xq.into(), &mut yq);
/// // y = W x + b = [0.85, 1.05]: one output step is 5/255.
/// let y = [output.dequantize(yq[0]), output.dequantize(yq[1])];
/// assert!((y[0] - 0.85).abs() < 2.0 * output.scale && (y[1] - 1.05).abs() < 2.0 * output.scale);
/// ```
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QDense<I: ArrayLength, O: ArrayLength> {
    /// The weights, `[out][in]`, symmetric per output channel.
    pub weight: Matrix<O, I, i8>,
    /// The bias, multipliers, zero point and clamp of the outputs.
    pub out: Requantized<O>,
}

// SAFETY: bytes only; all zeros is a valid value.
unsafe impl<I: ArrayLength, O: ArrayLength> crate::zeroed::Zeroable for QDense<I, O> {}

impl<I: ArrayLength, O: ArrayLength> Copy for QDense<I, O>
where
    Matrix<O, I, i8>: Copy,
    Requantized<O>: Copy,
{
}

impl<I: ArrayLength, O: ArrayLength> QDense<I, O> {
    /// The int8 layer of a folded `f32` dense layer whose input and output are quantized by
    /// `input` and `output`; `relu` fuses a following ReLU into the output clamp.
    ///
    /// # Errors
    /// [`QuantizeError::Multiplier`] when an output's factor `s_x·s_o / s_y` is `2^30` or
    /// more (the layer's name left empty: see [`QuantizeError::in_layer`]).
    pub fn quantize(
        dense: &Dense<I, O, f32, true>,
        input: QuantParams,
        output: QuantParams,
        relu: bool,
    ) -> Result<Self, QuantizeError> {
        let mut q = Self::default();
        q.quantize_into(dense, input, output, relu)?;
        Ok(q)
    }

    /// [`quantize`](Self::quantize) into `self` (in place: a quantized model is built on the
    /// heap, never on the stack).
    ///
    /// # Errors
    /// As [`quantize`](Self::quantize).
    pub fn quantize_into(
        &mut self,
        dense: &Dense<I, O, f32, true>,
        input: QuantParams,
        output: QuantParams,
        relu: bool,
    ) -> Result<(), QuantizeError> {
        self.out = Requantized::new(output, relu);
        for o in 0..O::USIZE {
            quantize_channel(&dense.weight[o], dense.bias[o], input, output, &mut self.weight[o], &mut self.out, o)?;
        }
        Ok(())
    }

    /// The int8 output of an int8 input, integers only.
    pub fn forward_q(&self, x: &Vector<I, i8>, y: &mut Vector<O, i8>) {
        dense_i8(flat(&self.weight), &self.out.view(), x, y);
    }

    /// The weights as one row-major slice, `[out][in]`.
    pub fn weight_mut(&mut self) -> &mut [i8] {
        flat_mut(&mut self.weight)
    }
}

#[cfg(test)]
mod tests {
    use typenum::{U16, U9};

    use super::*;
    use crate::{Init, Rng};

    /// Against the float layer on random inputs: the int8 output is within two output steps
    /// of the rounded float result (one for rounding the input, one for the weights and
    /// the requantization), and the fused ReLU is exact at the zero point.
    #[test]
    fn int8_dense_follows_the_float_layer() {
        let mut rng = Rng::seed(4);
        let mut dense = Dense::<U16, U9, f32, true>::default();
        Init::Gaussian { std: 0.4 }.fill(crate::shape::flat_mut(&mut dense.weight), 1, 1, &mut rng);
        Init::Gaussian { std: 0.2 }.fill(&mut dense.bias, 1, 1, &mut rng);
        let input = QuantParams::asymmetric(-1.5, 2.0);
        let output = QuantParams::asymmetric(-4.0, 4.0);
        for relu in [false, true] {
            let q = QDense::quantize(&dense, input, output, relu).unwrap();
            for _ in 0..200 {
                let x: Vector<U16, f32> = (0..16).map(|_| (rng.uniform() * 3.5 - 1.5) as f32).collect();
                let xq: Vector<U16, i8> = x.iter().map(|&v| input.quantize(v)).collect();
                let mut yq = Vector::<U9, i8>::default();
                q.forward_q(&xq, &mut yq);
                for o in 0..9 {
                    let mut y: f32 = dense.bias[o] + dense.weight[o].iter().zip(&x).map(|(w, x)| w * x).sum::<f32>();
                    if relu {
                        y = y.max(0.0);
                    }
                    let want = output.quantize(y);
                    assert!((i32::from(yq[o]) - i32::from(want)).abs() <= 2, "{o}: {} vs {want} ({y})", yq[o]);
                    if relu {
                        assert!(i32::from(yq[o]) >= output.zero_point);
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_output_range_is_an_error() {
        let dense = Dense::<U16, U9, f32, true> { weight: Default::default(), bias: Default::default() };
        let mut d = dense;
        d.weight[0][0] = 1.0;
        let tiny = QuantParams { scale: 1e-30, zero_point: 0 };
        let e = QDense::quantize(&d, QuantParams::asymmetric(-1.0, 1.0), tiny, false).unwrap_err();
        assert!(matches!(e.in_layer("dense3"), QuantizeError::Multiplier { layer: "dense3", .. }));
        assert!(QDense::quantize(&dense, QuantParams::asymmetric(-1.0, 1.0), tiny, false).is_ok());
    }
}
