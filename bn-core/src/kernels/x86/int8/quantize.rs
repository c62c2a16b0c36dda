//! The int8 model's input quantization (`kernels/int8/`, `quantize_i8`) with AVX-512.

use super::*;
use crate::quant::QuantParams;

/// `x`'s values quantized by `p` into `out`, 64 at a time, the portable loop's integers
/// ([`QuantParams::quantize_slice`]: the quotient as a product by `1/scale`, values near a
/// tie by division): rounding (one conversion) and clamping in vector registers, and the
/// 64 bytes packed ([`pack4`]) and stored at once. (The portable loop's `vpmovdb` straight
/// to memory takes several cycles for each 16 bytes on AMD's Zen 4 and 5.) Returns
/// how many values it quantized, a multiple of 64: the caller does the rest. `0` for a scale
/// whose reciprocal is not normal (the portable loop divides).
///
/// # Safety
/// The CPU supports AVX-512F and BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn quantize_avx512(p: QuantParams, x: &[f32], out: &mut [i8]) -> usize {
    let inv = 1.0 / p.scale;
    if !inv.is_normal() {
        return 0;
    }
    let (vinv, within, limit) = (_mm512_set1_ps(inv), _mm512_set1_ps(0.5 - QuantParams::NEAR), _mm512_set1_ps(256.0));
    let (zp, vlo, vhi) = (_mm512_set1_epi32(p.zero_point), _mm512_set1_epi32(p.lowest()), _mm512_set1_epi32(127));
    let blocks = x.len().min(out.len()) / 64;
    for b in 0..blocks {
        let (xb, ob) = (x.as_ptr().add(64 * b), out.as_mut_ptr().add(64 * b));
        let mut far = 0xffff;
        let q: [__m512i; 4] = from_fn(|k| {
            let v = _mm512_mul_ps(_mm512_loadu_ps(xb.add(16 * k)), vinv);
            // To the nearest integer, ties to even: half away from zero everywhere but at a
            // tie, and a lane within NEAR of a tie (its distance to that integer beyond
            // ½ − NEAR) sends the block to the division, as does one at or beyond 256 or NaN
            // (unordered comparisons are false).
            let r = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
            let off = _mm512_abs_ps(_mm512_sub_ps(v, _mm512_cvtepi32_ps(r)));
            far &= _mm512_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_abs_ps(v), limit)
                & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(off, within);
            _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zp), vlo), vhi)
        });
        if far == 0xffff {
            _mm512_storeu_si512(ob.cast(), pack4(q));
        } else {
            // A value near a tie, NaN, or far out of range: divide (rare).
            // SAFETY: block `b` is within both slices (`blocks` counts whole blocks of the
            // shorter); `ob` is the only reference to its bytes here.
            let (xs, os) = (core::slice::from_raw_parts(xb, 64), core::slice::from_raw_parts_mut(ob, 64));
            for (q, &r) in os.iter_mut().zip(xs) {
                *q = p.quantize(r);
            }
        }
    }
    64 * blocks
}
