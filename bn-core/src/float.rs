//! The scalar type of a network: [`Float`], implemented for `f32` (the default) and `f64`.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::zeroed::Zeroable;

/// A floating-point scalar: `f32` (the default everywhere) or `f64`.
///
/// The transcendental functions come from [`libm`], with and without `std`, so a model
/// computes bit-identical results on a host and on a `no_std` target.
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
}

macro_rules! impl_float {
    ($t:ident, $exp:ident, $ln:ident, $sqrt:ident, $tanh:ident) => {
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
                libm::$exp(self)
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
        }
    };
}

impl_float!(f32, expf, logf, sqrtf, tanhf);
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
}
