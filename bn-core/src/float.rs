//! The scalar type of a network: [`Float`], implemented for `f32` (the default) and `f64`.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::zeroed::Zeroable;

/// A floating-point scalar: `f32` (the default everywhere) or `f64`.
///
/// The scalar transcendental functions come from [`libm`], with and without `std`, except
/// `f32`'s [`exp`](Float::exp): an inline, branch-free Cephes polynomial (relative error
/// below 2.5e-7, no FMA, no table), which the softmax of every training step calls per logit.
/// Both are plain IEEE arithmetic, so a model computes bit-identical results on a host and on
/// a `no_std` target. The
/// layers' `f32` kernels (matrix products, the vector sigmoid) use SIMD code chosen at run
/// time (see [`kernels::simd_level`](crate::kernels::simd_level)): their results are
/// deterministic for one instruction set and differ between instruction sets in the last
/// bits; `f64`, and `f32` with the crate feature `portable`, use plain loops and `libm`.
pub trait Float:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Zeroable
    + 'static
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// The type's name, `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64`, exactly.
    fn to_f64(self) -> f64;
    /// Converts a count.
    fn from_usize(n: usize) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// The larger of two values (NaN-ignoring like [`f32::max`]).
    fn max(self, other: Self) -> Self;
    /// Whether the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;

    /// The slice as `f32`s when `Self` is `f32` (the kernels' SIMD paths are for `f32`
    /// only), `None` otherwise (the default).
    #[doc(hidden)]
    #[inline(always)]
    fn as_f32(x: &[Self]) -> Option<&[f32]> {
        let _ = x;
        None
    }

    /// The mutable twin of [`as_f32`](Self::as_f32).
    #[doc(hidden)]
    #[inline(always)]
    fn as_f32_mut(x: &mut [Self]) -> Option<&mut [f32]> {
        let _ = x;
        None
    }
}

/// `e^x` for `f32`: Cephes' `expf` (range reduction `x = n·ln 2 + r` with `ln 2` in two
/// parts, a degree-7 polynomial for `e^r`, then `2ⁿ` from exponent bits in two halves so that
/// overflow gives `+∞` and underflow `0` or a subnormal). Relative error below 2.5e-7 (≈ 2 ulp)
/// over the normal range; NaN gives NaN. Inline and branch-free, unlike `libm::expf`, and
/// bit-identical everywhere (no FMA, no table).
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer (|t| < 2²²).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-104.0, 89.0); // keeps NaN
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * C1) - n * C2;
    // p(r) = P0·r⁵ + … + P5 by Estrin's scheme (a short dependency chain: the softmax of a
    // row waits on its exponentials).
    let r2 = r * r;
    let a = 1.987_569_1e-4f32 * r + 1.398_199_9e-3;
    let b = 8.333_452e-3f32 * r + 4.166_579_6e-2;
    let c = 1.666_666_5e-1f32 * r + 0.5; // Cephes: 5.0000001201e-1, 0.5 in f32
    let p = (a * r2 + b) * r2 + c;
    let e = (p * r2 + r) + 1.0;
    // n ∈ [−150, 129] (0 for NaN): 2ⁿ = 2^(n/2) · 2^(n − n/2), each a normal float.
    let n = n as i32;
    let (h, l) = (n / 2, n - n / 2);
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    e * pow2(h) * pow2(l)
}

macro_rules! impl_float {
    ($t:ident, $exp:ident, $ln:ident, $sqrt:ident, $tanh:ident $(, { $($extra:tt)* })?) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = stringify!($t);
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                libm::$ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                libm::$sqrt(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                libm::$tanh(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            $($($extra)*)?
        }
    };
}

impl_float!(f32, exp_f32, logf, sqrtf, tanhf, {
    #[inline(always)]
    fn as_f32(x: &[f32]) -> Option<&[f32]> {
        Some(x)
    }
    #[inline(always)]
    fn as_f32_mut(x: &mut [f32]) -> Option<&mut [f32]> {
        Some(x)
    }
});
use libm::exp;
impl_float!(f64, exp, log, sqrt, tanh);

#[cfg(test)]
mod tests {
    use super::Float;

    #[test]
    fn transcendental_functions_match_known_values() {
        approx::assert_relative_eq!(Float::exp(1.0f64), core::f64::consts::E, max_relative = 1e-15);
        approx::assert_relative_eq!(Float::exp(1.0f32), core::f32::consts::E, max_relative = 1e-6);
        approx::assert_relative_eq!(Float::sqrt(2.0f32), core::f32::consts::SQRT_2);
        approx::assert_relative_eq!(Float::ln(core::f64::consts::E), 1.0);
        approx::assert_relative_eq!(Float::tanh(0.5f64), 0.462_117_157_260_009_8, max_relative = 1e-15);
        assert_eq!(<f32 as Float>::NAME, "f32");
        assert_eq!(<f64 as Float>::from_usize(7), 7.0);
    }

    #[test]
    fn f32_exp_is_accurate_everywhere() {
        let mut worst = 0f64;
        let mut x = -110.0f32;
        while x < 95.0 {
            let got = f64::from(super::exp_f32(x));
            let exact = f64::from(x).exp();
            if exact > f64::from(f32::MAX) {
                assert_eq!(got, f64::INFINITY, "exp({x})");
            } else if exact < 1.2e-38 {
                // Subnormal or zero: absolute error within a few subnormal steps.
                assert!((got - exact).abs() < 1e-44 * 8.0, "exp({x}) = {got:e} vs {exact:e}");
            } else {
                worst = worst.max((got - exact).abs() / exact);
            }
            x += 0.000_37;
        }
        assert!(worst < 2.5e-7, "worst relative error {worst:e}");
        assert_eq!(super::exp_f32(0.0), 1.0);
        assert_eq!(super::exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(super::exp_f32(f32::INFINITY), f32::INFINITY);
        assert!(super::exp_f32(f32::NAN).is_nan());
    }
}
