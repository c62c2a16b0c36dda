//! [`Multiplier`]: a real factor as a fixed-point mantissa and a shift, and the integer-only
//! multiplication of an accumulator by it, bit for bit TFLite's reference
//! (`QuantizeMultiplier` and `MultiplyByQuantizedMultiplier` of
//! `tensorflow/lite/kernels/internal/`, the double-rounding variant, which is TFLite's
//! default; gemmlowp's `fixedpoint.h` for the two primitives).

/// A positive real factor `m = mantissa · 2^(shift − 31)` with `mantissa ∈ [2^30, 2^31)` (a
/// Q0.31 number in [0.5, 1)), or zero. What requantization multiplies an `i32` accumulator
/// by: `input_scale · weight_scale / output_scale`.
///
/// ```
/// use bn_core::quant::Multiplier;
/// let m = Multiplier::new(0.75);
/// assert_eq!((m.mantissa, m.shift), (1 << 30 | 1 << 29, 0));
/// assert_eq!(m.apply(100), 75);
/// assert_eq!(m.apply(-3), -2); // −2.25 rounds to −2
/// assert_eq!(Multiplier::new(1.5).apply(7), 11); // 10.5 rounds up
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// The mantissa in Q0.31: `[2^30, 2^31)`, or 0 for a zero factor.
    pub mantissa: i32,
    /// The power of two: `m = mantissa / 2^31 · 2^shift`, in `[−31, 30]`.
    pub shift: i32,
}

impl Multiplier {
    /// The nearest representable factor to `real` (≥ 0, finite, below 2^30): TFLite's
    /// `QuantizeMultiplier`. `frexp` splits `real` into `q · 2^shift` with `q ∈ [0.5, 1)`;
    /// `q · 2^31` is rounded half away from zero; a mantissa that rounds up to `2^31` is
    /// halved and the shift raised; a factor below `2^−32` (shift < −31) is flushed to zero.
    ///
    /// # Panics
    /// If `real` is negative, not finite, or `2^30` or more (a scale ratio that large is a
    /// calibration error, not a model).
    pub fn new(real: f64) -> Self {
        match Self::try_new(real) {
            Some(m) => m,
            None => panic!("a multiplier in [0, 2^30), found {real}"),
        }
    }

    /// [`Multiplier::new`], or `None` where it panics.
    pub fn try_new(real: f64) -> Option<Self> {
        if !(real.is_finite() && real >= 0.0 && real < (1u64 << 30) as f64) {
            return None;
        }
        if real == 0.0 {
            return Some(Multiplier { mantissa: 0, shift: 0 });
        }
        let (q, mut shift) = libm::frexp(real);
        let mut q_fixed = libm::round(q * (1u64 << 31) as f64) as i64;
        if q_fixed == 1 << 31 {
            q_fixed /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Some(Multiplier { mantissa: 0, shift: 0 });
        }
        Some(Multiplier { mantissa: q_fixed as i32, shift })
    }

    /// `x · m`, rounded as TFLite rounds (`MultiplyByQuantizedMultiplier`): a left shift for a
    /// positive exponent, the doubling high multiplication by the mantissa, then a rounding
    /// right shift. Integers only.
    pub fn apply(self, x: i32) -> i32 {
        let (left, right) = if self.shift > 0 { (self.shift, 0) } else { (0, -self.shift) };
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x.wrapping_shl(left as u32), self.mantissa), right)
    }

    /// The real factor this multiplier stands for.
    pub fn to_f64(self) -> f64 {
        f64::from(self.mantissa) * libm::exp2(f64::from(self.shift - 31))
    }
}

/// `a · b / 2^31` rounded to nearest, ties toward +∞ (1.5 → 2, −1.5 → −1: the nudge of a
/// negative product is `1 − 2^30`, then the division truncates), saturating the one
/// overflow (`a = b = −2^31`) to `i32::MAX`: gemmlowp's `SaturatingRoundingDoublingHighMul`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero, as C's does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero: gemmlowp's
/// `RoundingDivideByPOT` (`exponent` in `0..=31`).
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent));
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact value of `x · m` rounded to nearest, ties toward +∞, in 128-bit integers:
    /// what the fixed-point path must give when only one rounding happens (no right shift).
    fn exact(x: i32, m: Multiplier) -> i64 {
        let num = i128::from(x) * i128::from(m.mantissa);
        let den = 1i128 << (31 - m.shift);
        (2 * num + den).div_euclid(2 * den) as i64
    }

    #[test]
    fn multipliers_round_and_normalize_as_tflite() {
        assert_eq!(Multiplier::new(0.5), Multiplier { mantissa: 1 << 30, shift: 0 });
        assert_eq!(Multiplier::new(1.0), Multiplier { mantissa: 1 << 30, shift: 1 });
        assert_eq!(Multiplier::new(0.25), Multiplier { mantissa: 1 << 30, shift: -1 });
        // Just under 1: the mantissa rounds up to 2^31, halved, the shift raised.
        assert_eq!(Multiplier::new(1.0 - 1e-12), Multiplier { mantissa: 1 << 30, shift: 1 });
        // Below 2^−32: flushed to zero.
        assert_eq!(Multiplier::new(1e-10), Multiplier { mantissa: 0, shift: 0 });
        assert_eq!(Multiplier::new(0.0).apply(12345), 0);
        for real in [0.003_921_568_6, 0.1, 0.333, 0.9999, 1.7, 123.456] {
            let m = Multiplier::new(real);
            assert!((m.to_f64() - real).abs() <= real * 2f64.powi(-30), "{real}: {m:?}");
            assert!((1 << 30..=i32::MAX).contains(&m.mantissa));
        }
    }

    #[test]
    fn the_high_multiplication_rounds_ties_up_and_saturates() {
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
        // 3 · 2^30 / 2^31 = 1.5 → 2; −1.5 → −2.
        // Ties toward +∞: 1.5 → 2, −1.5 → −1, 0.5 → 1, −0.5 → 0; −1.75 → −2.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-7, 1 << 29), -2);
    }

    #[test]
    fn the_rounding_shift_rounds_half_away_from_zero() {
        let cases = [(5, 1, 3), (-5, 1, -3), (4, 1, 2), (7, 2, 2), (-7, 2, -2), (6, 2, 2), (-6, 2, -2), (9, 0, 9)];
        for (x, e, want) in cases {
            assert_eq!(rounding_divide_by_pot(x, e), want, "{x} / 2^{e}");
        }
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
    }

    /// Against exact rational arithmetic: the two roundings of the reference differ from one
    /// rounding of the exact product by at most one (the known double-rounding error), and
    /// agree with it whenever the right shift is 0.
    #[test]
    fn requantization_is_within_one_of_the_exact_product() {
        let mut rng = crate::Rng::seed(3);
        for _ in 0..20_000 {
            let real = libm::exp2(rng.uniform() * 20.0 - 16.0);
            let m = Multiplier::new(real);
            let x = ((rng.uniform() - 0.5) * 2e6) as i32;
            let (got, want) = (i64::from(m.apply(x)), exact(x, m));
            assert!((got - want).abs() <= 1, "{x} · {real}: {got} vs {want}");
            if m.shift >= 0 {
                assert_eq!(got, want, "{x} · {real}");
            }
        }
    }
}
