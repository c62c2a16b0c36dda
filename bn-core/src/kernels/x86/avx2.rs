//! The AVX2 vector of `f32`, for the element-wise kernels and the dot products of both levels.

use core::arch::x86_64::*;
use core::array::from_fn;

use super::vector::{exp, store4, Dot, Simd};

#[derive(Clone, Copy)]
pub struct Avx2;

/// `MASKS[8 - n..16 - n]` enables the first `n` lanes.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The mask of the first `n` lanes (`VMASKMOVPS`'s sign bits).
///
/// # Safety
/// The CPU supports AVX2; `n ≤ 8` (the load reads `MASKS[8 - n..16 - n]`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn mask8(n: usize) -> __m256i {
    _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast())
}

// Each method's contract is the trait method's `# Safety` (`vector.rs`): the CPU has AVX2
// and FMA (every method is compiled for them), and pointers are valid as the method says.
impl Simd for Avx2 {
    type V = __m256;
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn splat(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
        _mm256_maskload_ps(p, mask8(n))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
        _mm256_maskstore_ps(p, mask8(n), v)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        _mm256_add_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sub(a: __m256, b: __m256) -> __m256 {
        _mm256_sub_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        _mm256_mul_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn div(a: __m256, b: __m256) -> __m256 {
        _mm256_div_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sqrt(a: __m256) -> __m256 {
        _mm256_sqrt_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn neg(a: __m256) -> __m256 {
        _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(a), _mm256_set1_epi32(i32::MIN)))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pos(a: __m256) -> __m256 {
        // MAXPS returns its second operand when the comparison fails (NaN, ±0).
        _mm256_max_ps(a, _mm256_setzero_ps())
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sigmoid(x: __m256) -> __m256 {
        use exp::*;
        // As the AVX-512 version, with a division for the reciprocal.
        let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(ZERO_BELOW));
        let x = _mm256_min_ps(_mm256_set1_ps(-LO), _mm256_max_ps(_mm256_set1_ps(-HI), x));
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            x,
            _mm256_set1_ps(-LOG2E),
        ));
        let r = _mm256_fnmsub_ps(n, _mm256_set1_ps(C1), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C2), r);
        let r2 = _mm256_mul_ps(r, r);
        let a = _mm256_fmadd_ps(_mm256_set1_ps(P0), r, _mm256_set1_ps(P1));
        let b = _mm256_fmadd_ps(_mm256_set1_ps(P2), r, _mm256_set1_ps(P3));
        let c = _mm256_fmadd_ps(_mm256_set1_ps(P4), r, _mm256_set1_ps(P5));
        let p = _mm256_fmadd_ps(_mm256_fmadd_ps(a, r2, b), r2, c);
        let em1 = _mm256_fmadd_ps(p, r2, r);
        let pow2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        )));
        let d = _mm256_fmadd_ps(em1, pow2, _mm256_add_ps(pow2, _mm256_set1_ps(1.0)));
        let s = _mm256_div_ps(_mm256_set1_ps(1.0), d);
        _mm256_blendv_ps(s, _mm256_setzero_ps(), tiny)
    }
}

// As above: the contracts are `Dot`'s.
impl Dot for Avx2 {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn reduce(acc: &[__m256]) -> __m256 {
        let t: [__m256; 4] = from_fn(|i| {
            _mm256_add_ps(
                _mm256_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                _mm256_unpackhi_ps(acc[2 * i], acc[2 * i + 1]),
            )
        });
        let u: [__m256; 2] = from_fn(|j| {
            let (a, b) = (_mm256_castps_pd(t[2 * j]), _mm256_castps_pd(t[2 * j + 1]));
            _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)), _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)))
        });
        _mm256_add_ps(_mm256_permute2f128_ps::<0x20>(u[0], u[1]), _mm256_permute2f128_ps::<0x31>(u[0], u[1]))
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store_quad(p: *mut f32, v: __m256, q: usize, n: usize) {
        let x = if q == 0 { _mm256_castps256_ps128(v) } else { _mm256_extractf128_ps::<1>(v) };
        store4(p, x, n)
    }
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn repeat(v: __m256, period: usize) -> __m256 {
        let idx: [i32; 8] = from_fn(|l| (l % period) as i32);
        _mm256_permutevar8x32_ps(v, _mm256_loadu_si256(idx.as_ptr().cast()))
    }
}
