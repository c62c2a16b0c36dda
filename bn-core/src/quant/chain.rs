//! What the quantized model's generated code calls between layers: views of a buffer's
//! prefix as a vector, the input's quantization and the output's dequantization.

use generic_array::{ArrayLength, GenericArray};

use super::PackedParams;
use crate::shape::Vector;

/// The first `W` values of `buf` as a vector.
///
/// # Panics
/// If `buf` is shorter than `W` (the generated code sizes its buffers for the widest layer).
#[inline(always)]
pub fn prefix<W: ArrayLength, T>(buf: &[T]) -> &Vector<W, T> {
    GenericArray::from_slice(&buf[..W::USIZE])
}

/// The first `W` values of `buf` as a mutable vector.
///
/// # Panics
/// As [`prefix`].
#[inline(always)]
pub fn prefix_mut<W: ArrayLength, T>(buf: &mut [T]) -> &mut Vector<W, T> {
    GenericArray::from_mut_slice(&mut buf[..W::USIZE])
}

/// The int8 values of `x` quantized by `params` ([`QuantParams::quantize`](super::QuantParams::quantize)).
pub fn quantize_values(params: PackedParams, x: &[f32], out: &mut [i8]) {
    crate::kernels::quantize_i8(params.get(), x, out);
}

/// The real values of the int8 values `q` quantized by `params`.
pub fn dequantize_values(params: PackedParams, q: &[i8], out: &mut [f32]) {
    let p = params.get();
    for (y, &v) in out.iter_mut().zip(q) {
        *y = p.dequantize(v);
    }
}
