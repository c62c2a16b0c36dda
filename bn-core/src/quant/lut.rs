//! [`Lut`]: an activation of int8 values as a 256-entry table, integers only at run time.

use generic_array::ArrayLength;

use super::QuantParams;
use crate::shape::Vector;

/// An element-wise function of int8 values as a table: entry `q + 128` is the int8 output for
/// the input `q`. Sigmoid and tanh of the int8 models; built once at quantization time (in
/// `f64`, so every target builds the same table), then applying it is one load per value.
///
/// The outputs use TFLite's fixed parameters: sigmoid `scale = 1/256`, `zero_point = −128`
/// (the range `[0, 1)`); tanh `scale = 1/128`, `zero_point = 0` (`[−1, 1)`).
///
/// ```
/// use bn_core::quant::{Lut, QuantParams};
/// let input = QuantParams::asymmetric(-8.0, 8.0);
/// let sigmoid = Lut::sigmoid(input);
/// assert_eq!(sigmoid.apply(input.quantize(0.0)), 0); // σ(0) = 0.5 = (0 − (−128)) / 256
/// assert_eq!(sigmoid.apply(-128), -128); // σ(−8) ≈ 0.0003 rounds to 0
/// assert_eq!(Lut::tanh(input).apply(input.quantize(0.0)), 0);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lut {
    /// `table[q + 128]`: the output for the input `q`.
    pub table: [i8; 256],
}

impl Lut {
    /// The output parameters of [`Lut::sigmoid`]'s table (TFLite's for int8 `LOGISTIC`).
    pub const SIGMOID_OUTPUT: QuantParams = QuantParams { scale: 1.0 / 256.0, zero_point: -128 };
    /// The output parameters of [`Lut::tanh`]'s table (TFLite's for int8 `TANH`).
    pub const TANH_OUTPUT: QuantParams = QuantParams { scale: 1.0 / 128.0, zero_point: 0 };

    /// The table of `f` from `input` to `output` parameters: for each `q`, `f(s_in·(q −
    /// z_in))` in `f64`, divided by `s_out`, rounded half away from zero, plus `z_out`,
    /// clamped to int8.
    pub fn new(input: QuantParams, output: QuantParams, f: impl Fn(f64) -> f64) -> Self {
        let mut table = [0i8; 256];
        for (i, t) in table.iter_mut().enumerate() {
            let q = i as i32 - 128;
            let y = f(f64::from(input.scale) * f64::from(q - input.zero_point));
            let r = libm::round(y / f64::from(output.scale)) + f64::from(output.zero_point);
            *t = r.clamp(-128.0, 127.0) as i8;
        }
        Lut { table }
    }

    /// The logistic sigmoid `1 / (1 + e^−x)` of inputs quantized by `input`, into
    /// [`Lut::SIGMOID_OUTPUT`].
    pub fn sigmoid(input: QuantParams) -> Self {
        Lut::new(input, Self::SIGMOID_OUTPUT, |x| 1.0 / (1.0 + libm::exp(-x)))
    }

    /// `tanh x` of inputs quantized by `input`, into [`Lut::TANH_OUTPUT`].
    pub fn tanh(input: QuantParams) -> Self {
        Lut::new(input, Self::TANH_OUTPUT, libm::tanh)
    }

    /// The output for the input `q`.
    pub fn apply(&self, q: i8) -> i8 {
        self.table[(i32::from(q) + 128) as usize]
    }

    /// The table applied to every value of `x`.
    pub fn forward_q<N: ArrayLength>(&self, x: &Vector<N, i8>, y: &mut Vector<N, i8>) {
        crate::kernels::lut_i8(&self.table, x, y);
    }
}

// SAFETY: bytes only; all zeros is a valid value.
unsafe impl crate::zeroed::Zeroable for Lut {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table, its output parameters and the function it stands for.
    type Case = (Lut, QuantParams, fn(f64) -> f64);

    /// Every entry is the float function rounded to the nearest output step (within half a
    /// step of it, before the clamp), and the tables are monotone.
    #[test]
    fn tables_follow_the_functions() {
        for input in [QuantParams::asymmetric(-8.0, 8.0), QuantParams::asymmetric(-0.5, 3.0)] {
            let cases: [Case; 2] = [
                (Lut::sigmoid(input), Lut::SIGMOID_OUTPUT, |x| 1.0 / (1.0 + libm::exp(-x))),
                (Lut::tanh(input), Lut::TANH_OUTPUT, libm::tanh),
            ];
            for (lut, out, f) in cases {
                for q in i8::MIN..=i8::MAX {
                    let y = f(f64::from(input.dequantize(q)));
                    let got = f64::from(out.dequantize(lut.apply(q)));
                    let top = f64::from(out.dequantize(127));
                    assert!((got - y.min(top)).abs() <= 0.5 * f64::from(out.scale) + 1e-9, "{q}: {got} vs {y}");
                }
                assert!(lut.table.windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }
}
