//! The int8 table lookup (`kernels/int8/`, `lut_i8`: sigmoid and tanh) with AVX-512 VBMI.

use super::*;

/// `y = table[x + 128]` for every value, 64 at a time: the index is `x ^ 0x80`; two
/// `vpermi2b` look up its low 7 bits in the table's two halves (128 bytes each, in two
/// registers per half), and its top bit picks the half. The same bytes as the portable loop.
///
/// # Safety
/// The CPU supports AVX-512F, BW and VBMI ([`vbmi`]); `y` has at least `x.len()` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(crate) unsafe fn lut_vbmi(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    let t: [__m512i; 4] = from_fn(|k| _mm512_loadu_si512(table.as_ptr().add(64 * k).cast()));
    let flip = _mm512_set1_epi8(-128);
    let mut i = 0;
    while i < x.len() {
        // Masked loads and stores past the end of a partial last block touch nothing.
        let m = if x.len() - i >= 64 { u64::MAX } else { (1u64 << (x.len() - i)) - 1 };
        let index = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x.as_ptr().add(i)), flip);
        let low = _mm512_permutex2var_epi8(t[0], index, t[1]);
        let high = _mm512_permutex2var_epi8(t[2], index, t[3]);
        let v = _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high);
        _mm512_mask_storeu_epi8(y.as_mut_ptr().add(i), m, v);
        i += 64;
    }
}
