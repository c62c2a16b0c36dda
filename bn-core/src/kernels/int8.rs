//! The integer kernels of int8 models (portable loops for now; the SIMD levels will compute
//! the same integers, as integer arithmetic is exact). TFLite's reference semantics.

use crate::quant::Multiplier;

/// The operands of an int8 fully connected product besides its input and output.
pub(crate) struct DenseI8<'a> {
    /// `[out][in]`, row-major.
    pub weight: &'a [i8],
    /// `[out]`, in the accumulator's scale.
    pub bias: &'a [i32],
    /// The requantization multiplier of each output, as mantissa and shift.
    pub mantissa: &'a [i32],
    pub shift: &'a [i32],
    pub input_zero_point: i32,
    pub output_zero_point: i32,
    /// The output's clamp, `[min, max]` in `[−128, 127]`.
    pub min: i32,
    pub max: i32,
}

/// `y_o = clamp(z_y + M_o(b_o + Σ_i w_oi·(x_i − z_x)), min, max)`: TFLite's int8
/// `FULLY_CONNECTED` with per-channel weights. The sum is exact in `i32` (|w| ≤ 127,
/// |x − z_x| ≤ 255: 66,000 inputs before it could overflow).
pub(crate) fn dense_i8(op: &DenseI8<'_>, x: &[i8], y: &mut [i8]) {
    let n = x.len();
    debug_assert_eq!(op.weight.len(), n * y.len());
    for (o, out) in y.iter_mut().enumerate() {
        let row = &op.weight[o * n..(o + 1) * n];
        let acc = row
            .iter()
            .zip(x)
            .fold(op.bias[o], |acc, (&w, &xi)| acc + i32::from(w) * (i32::from(xi) - op.input_zero_point));
        let m = Multiplier { mantissa: op.mantissa[o], shift: op.shift[o] };
        *out = (op.output_zero_point + m.apply(acc)).clamp(op.min, op.max) as i8;
    }
}
