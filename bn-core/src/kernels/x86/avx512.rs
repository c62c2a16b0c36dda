//! The AVX-512 vector of `f32`.

use core::arch::x86_64::*;

use super::vector::{exp, Simd};

/// The AVX-512 logistic function of `x`, written once for the 16- and the 8-lane intrinsics.
macro_rules! logistic {
    ($x:expr, $set1:ident, $min:ident, $max:ident, $mul:ident, $round:ident, $fnmsub:ident, $fnmadd:ident,
     $fmadd:ident, $add:ident, $scalef:ident, $div:ident) => {{
        use exp::*;
        // e^(−x) = 2ⁿ·e^r with n = round(−x·log₂e), r = −x − n·ln 2; x clamped to ±89 (max/min
        // with the operand order that propagates NaN), so that ±∞ give 0 and 1 and no r is NaN.
        let x = $min($set1(CLAMP), $max($set1(-CLAMP), $x));
        let n = $round::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>($mul(x, $set1(-LOG2E)));
        let r = $fnmsub(n, $set1(C1), x);
        let r = $fnmadd(n, $set1(C2), r);
        // e^r = (1 + r) + r²·p(r), p of degree 5 by Estrin's scheme (shorter latency).
        let r2 = $mul(r, r);
        let a = $fmadd($set1(P0), r, $set1(P1));
        let b = $fmadd($set1(P2), r, $set1(P3));
        let c = $fmadd($set1(P4), r, $set1(P5));
        let p = $fmadd($fmadd(a, r2, b), r2, c);
        let er = $fmadd(p, r2, $add(r, $set1(1.0)));
        // ·2ⁿ by VSCALEFPS, which overflows to ∞ by itself (x below ≈ −88.72: σ = 1/∞ = 0)
        // and underflows gradually (x above ≈ 87.3, where σ has long rounded to 1). Both ends
        // produce subnormals (the division for x in [−88.72, −87.3]), which some CPUs handle
        // slowly; saturated units only.
        let d = $add($scalef(er, n), $set1(1.0));
        // 1/d as a division (correctly rounded; on AMD Zen 4 also quicker than the 14-bit
        // estimate and a Newton step). In all 17 operations instead of 21 with the
        // exponent built from integer bits.
        $div($set1(1.0), d)
    }};
}

#[derive(Clone, Copy)]
pub struct Avx512;

// Each method's contract is the trait method's `# Safety` (`vector.rs`): the CPU has
// AVX-512F (every method is compiled for it), and pointers are valid as the method says.
impl Simd for Avx512 {
    type V = __m512;
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn splat(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
        _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
        _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sub(a: __m512, b: __m512) -> __m512 {
        _mm512_sub_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        _mm512_mul_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn div(a: __m512, b: __m512) -> __m512 {
        _mm512_div_ps(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sqrt(a: __m512) -> __m512 {
        _mm512_sqrt_ps(a)
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn neg(a: __m512) -> __m512 {
        _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(i32::MIN)))
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn pos(a: __m512) -> __m512 {
        // MAXPS returns its second operand when the comparison fails (NaN, ±0).
        _mm512_max_ps(a, _mm512_setzero_ps())
    }
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn sigmoid(x: __m512) -> __m512 {
        logistic!(
            x,
            _mm512_set1_ps,
            _mm512_min_ps,
            _mm512_max_ps,
            _mm512_mul_ps,
            _mm512_roundscale_ps,
            _mm512_fnmsub_ps,
            _mm512_fnmadd_ps,
            _mm512_fmadd_ps,
            _mm512_add_ps,
            _mm512_scalef_ps,
            _mm512_div_ps
        )
    }
}

/// [`Avx512`]'s logistic function on 8 lanes (AVX-512VL): the same operations, so the same
/// values lane for lane. For short rows: twice the independent chains, and 8-float stores
/// and loads that match those of the matrix products, so they forward.
///
/// # Safety
/// AVX-512F and AVX-512VL.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
pub unsafe fn sigmoid8(x: __m256) -> __m256 {
    logistic!(
        x,
        _mm256_set1_ps,
        _mm256_min_ps,
        _mm256_max_ps,
        _mm256_mul_ps,
        _mm256_roundscale_ps,
        _mm256_fnmsub_ps,
        _mm256_fnmadd_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        _mm256_scalef_ps,
        _mm256_div_ps
    )
}
