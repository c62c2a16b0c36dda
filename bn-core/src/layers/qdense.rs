//! [`QDense`]: a folded dense layer quantized to int8, TFLite's scheme (Jacob et al. 2018,
//! *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
//! Inference*, arXiv 1712.05877, §2; the TFLite 8-bit quantization specification).

use generic_array::ArrayLength;

use super::dense::Dense;
use crate::kernels::{dense_i8, DenseI8};
use crate::quant::{Multiplier, QuantParams};
use crate::shape::{flat, Matrix, Vector};

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
/// output's zero maps to `z_y`).
///
/// ```
/// use bn_core::generic_array::arr;
/// use bn_core::quant::QuantParams;
/// use bn_core::{typenum::{U2, U3}, Dense, QDense};
/// let dense = Dense::<U3, U2> { weight: arr![arr![0.5, -1.0, 0.25], arr![1.0, 1.0, 1.0]], bias: arr![0.1, -0.2] };
/// let (input, output) = (QuantParams::asymmetric(-1.0, 1.0), QuantParams::asymmetric(-2.0, 3.0));
/// let q = QDense::quantize(&dense, input, output, false);
/// let x = [0.5f32, -0.25, 1.0];
/// let xq = x.map(|v| input.quantize(v));
/// let mut yq = arr![0i8, 0];
/// q.forward_q(&xq.into(), &mut yq);
/// // y = W x + b = [0.85, 1.05]: one output step is 5/255.
/// let y = [output.dequantize(yq[0]), output.dequantize(yq[1])];
/// assert!((y[0] - 0.85).abs() < 2.0 * output.scale && (y[1] - 1.05).abs() < 2.0 * output.scale);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct QDense<I: ArrayLength, O: ArrayLength> {
    /// The weights, `[out][in]`, symmetric per output channel.
    pub weight: Matrix<O, I, i8>,
    /// The biases in the accumulator's scale `s_x·s_o`.
    pub bias: Vector<O, i32>,
    /// Each output's requantization multiplier `s_x·s_o / s_y`: its Q0.31 mantissa...
    pub mantissa: Vector<O, i32>,
    /// ...and its power of two ([`Multiplier`]).
    pub shift: Vector<O, i32>,
    /// `z_x`.
    pub input_zero_point: i32,
    /// `z_y`.
    pub output_zero_point: i32,
    /// The output's clamp: `[−128, 127]`, or `[z_y, 127]` with a fused ReLU.
    pub min: i32,
    /// See `min`.
    pub max: i32,
}

impl<I: ArrayLength, O: ArrayLength> QDense<I, O> {
    /// The int8 layer of a folded `f32` dense layer whose input and output are quantized by
    /// `input` and `output`; `relu` fuses a following ReLU into the output clamp.
    pub fn quantize(dense: &Dense<I, O, f32, true>, input: QuantParams, output: QuantParams, relu: bool) -> Self {
        let mut q = QDense {
            weight: Matrix::default(),
            bias: Vector::default(),
            mantissa: Vector::default(),
            shift: Vector::default(),
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            min: if relu { output.zero_point } else { -128 },
            max: 127,
        };
        for o in 0..O::USIZE {
            let row = &dense.weight[o];
            let w = QuantParams::symmetric(row.iter().fold(0f32, |m, v| m.max(v.abs())));
            for (qw, &v) in q.weight[o].iter_mut().zip(row.iter()) {
                *qw = w.quantize(v);
            }
            let acc_scale = f64::from(input.scale) * f64::from(w.scale);
            let b = if acc_scale > 0.0 { libm::round(f64::from(dense.bias[o]) / acc_scale) } else { 0.0 };
            q.bias[o] = b.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            let m = if output.scale > 0.0 {
                Multiplier::new(acc_scale / f64::from(output.scale))
            } else {
                Multiplier::new(0.0)
            };
            (q.mantissa[o], q.shift[o]) = (m.mantissa, m.shift);
        }
        q
    }

    /// The int8 output of an int8 input, integers only.
    pub fn forward_q(&self, x: &Vector<I, i8>, y: &mut Vector<O, i8>) {
        let op = DenseI8 {
            weight: flat(&self.weight),
            bias: &self.bias,
            mantissa: &self.mantissa,
            shift: &self.shift,
            input_zero_point: self.input_zero_point,
            output_zero_point: self.output_zero_point,
            min: self.min,
            max: self.max,
        };
        dense_i8(&op, x, y);
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
            let q = QDense::quantize(&dense, input, output, relu);
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
}
