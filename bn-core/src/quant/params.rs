//! [`QuantParams`]: a tensor's scale and zero point, chosen as TFLite's converter chooses them;
//! [`PackedParams`]: the same inside a model, as bytes.

use super::LeF32;

/// How an int8 tensor stands for reals: `r = scale · (q − zero_point)`.
///
/// ```
/// use bn_core::quant::QuantParams;
/// // Activations: asymmetric, from a calibrated range widened to contain 0.
/// let a = QuantParams::asymmetric(-1.0, 3.0);
/// assert_eq!((a.scale, a.zero_point), (4.0 / 255.0, -64));
/// assert_eq!(a.quantize(0.0), -64); // zero is exact
/// assert_eq!(a.quantize(3.0), 127);
/// assert_eq!(a.quantize(100.0), 127); // saturates
/// // Weights: symmetric per output channel, zero point 0, q in [-127, 127].
/// let w = QuantParams::symmetric(0.5);
/// assert_eq!((w.scale, w.zero_point), (0.5 / 127.0, 0));
/// assert_eq!((w.quantize(-0.5), w.quantize(0.25)), (-127, 64));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// The real step between two consecutive integers (> 0, except for an all-zero range).
    pub scale: f32,
    /// The integer that stands for the real 0.
    pub zero_point: i32,
}

impl QuantParams {
    /// Farther than this from a half-integer, the quotient `r · (1/scale)` rounds as
    /// `r / scale` (see [`quantize_slice`](Self::quantize_slice)).
    pub(crate) const NEAR: f32 = 1.0 / 4096.0;

    /// Asymmetric int8 parameters of the range `[min, max]` (an activation's, from
    /// calibration): TFLite's `GetAsymmetricQuantizationParams` with `[−128, 127]`, in `f32`
    /// as there: the range is widened to contain 0, `scale = (max − min) / 255`, and the zero
    /// point is `−128 − min / scale` rounded half away from zero and clamped to the range (a
    /// range of only 0 gives scale 0 and zero point −128).
    ///
    /// # Panics
    /// If `min` or `max` is not finite, or `min > max`.
    pub fn asymmetric(min: f32, max: f32) -> Self {
        assert!(min.is_finite() && max.is_finite() && min <= max, "a finite range, found [{min}, {max}]");
        let (qmin, qmax) = (f32::from(i8::MIN), f32::from(i8::MAX));
        let (min, max) = (min.min(0.0), max.max(0.0));
        let scale = (max - min) / (qmax - qmin);
        let from_min = if scale != 0.0 { qmin - min / scale } else { qmin };
        let zero_point = if from_min < qmin {
            qmin
        } else if from_min > qmax {
            qmax
        } else {
            libm::roundf(from_min)
        };
        QuantParams { scale, zero_point: zero_point as i32 }
    }

    /// Symmetric int8 parameters of a weight tensor (or one output channel's weights) whose
    /// largest magnitude is `max_abs`: zero point 0, `scale = max_abs / 127`, so that the
    /// weights use `[−127, 127]` (TFLite's spec leaves −128 unused for weights). A channel
    /// of zeros gets scale 0.
    ///
    /// # Panics
    /// If `max_abs` is negative or not finite.
    pub fn symmetric(max_abs: f32) -> Self {
        assert!(max_abs.is_finite() && max_abs >= 0.0, "a finite magnitude, found {max_abs}");
        QuantParams { scale: max_abs / 127.0, zero_point: 0 }
    }

    /// `zero_point + round(r / scale)`, rounded half away from zero and saturated to int8
    /// (`[−127, 127]` for symmetric parameters); 0 maps to the zero point. A scale of 0
    /// maps everything to the zero point.
    ///
    /// In integers after the division, so that a loop over an input vectorizes: the result is
    /// `roundf`'s for every quotient (one beyond ±256 saturates either way), and a NaN maps
    /// to the zero point.
    #[inline]
    pub fn quantize(self, r: f32) -> i8 {
        if self.scale == 0.0 {
            return self.zero_point.clamp(self.lowest(), 127) as i8;
        }
        self.rounded(r / self.scale)
    }

    /// The smallest integer: −127 for symmetric parameters (zero point 0: TFLite leaves
    /// −128 unused for weights), −128 otherwise.
    #[inline(always)]
    pub(crate) fn lowest(self) -> i32 {
        if self.zero_point == 0 {
            -127
        } else {
            -128
        }
    }

    /// `zero_point + round(v)` saturated to `[lowest, 127]`, `v` the quotient `r / scale`.
    #[inline(always)]
    fn rounded(self, v: f32) -> i8 {
        // Beyond ±256 steps the result saturates whatever the rounding, so `round_half_away`
        // clamps the quotient there.
        (round_half_away(v) + self.zero_point).clamp(self.lowest(), 127) as i8
    }

    /// [`quantize`](Self::quantize) of every value of `x` into `out`, the same integers, in a
    /// loop that vectorizes (the kernels compile it for each SIMD level) without a division
    /// per value.
    ///
    /// Blocks of 16 values take the quotient as `r · (1/scale)`: within `2⁻¹⁴` of the
    /// correctly rounded `r / scale` while it is below 256 in magnitude (three roundings of
    /// at most `2⁻²⁴` relative each, and `1/scale` normal), and rounding to the nearest
    /// integer can only differ between two quotients that close when a half-integer lies
    /// between them. So a block whose every product is below 256 and farther than `2⁻¹²`
    /// from a half-integer gives [`quantize`](Self::quantize)'s integers; any other block
    /// (a value at a tie, a NaN, one far out of range) is computed by division: rare for
    /// measured inputs, every block for inputs on a grid of ties (pixels `k/255` with a
    /// scale of `2/255`), which then run as fast as a division per value.
    ///
    /// As a zip, the first `min(x.len(), out.len())` values.
    #[inline(always)]
    pub fn quantize_slice(self, x: &[f32], out: &mut [i8]) {
        const BLOCK: usize = 16;
        // The first `min(x.len(), out.len())` values, as a zip would pair them.
        let n = x.len().min(out.len());
        let (x, out) = (&x[..n], &mut out[..n]);
        let inv = 1.0 / self.scale;
        if !inv.is_normal() {
            // A scale of 0, or one too small or too large for the bound above.
            for (q, &r) in out.iter_mut().zip(x) {
                *q = self.quantize(r);
            }
            return;
        }
        let (mut xs, mut os) = (x.chunks_exact(BLOCK), out.chunks_exact_mut(BLOCK));
        for (xb, ob) in (&mut xs).zip(&mut os) {
            let (Ok(xb), Ok(ob)) = (<&[f32; BLOCK]>::try_from(xb), <&mut [i8; BLOCK]>::try_from(ob)) else {
                continue; // never: the chunks are exact
            };
            let mut far = true;
            for (q, &r) in ob.iter_mut().zip(xb) {
                let v = r * inv;
                let a = v.abs();
                // Below 256 (a NaN is not), the truncation is exact in `i32` and the
                // fraction exact in `f32`; other values go to the division anyway.
                let a_small = if a < 256.0 { a } else { 0.0 };
                // SAFETY: `a_small` is finite, in [0, 256).
                let frac = a_small - unsafe { a_small.to_int_unchecked::<i32>() } as f32;
                far &= (a < 256.0) & ((frac - 0.5).abs() > Self::NEAR);
                *q = self.rounded(v);
            }
            if !far {
                for (q, &r) in ob.iter_mut().zip(xb) {
                    *q = self.quantize(r);
                }
            }
        }
        for (q, &r) in os.into_remainder().iter_mut().zip(xs.remainder()) {
            *q = self.quantize(r);
        }
    }

    /// `scale · (q − zero_point)`.
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

/// `x` rounded to the nearest integer, ties away from zero (`roundf`), for `x` within ±256
/// or NaN (0): `x` truncated toward zero, then one step away from zero when the fraction it
/// dropped (exact in `f32` at these magnitudes) is at least one half. Plain conversions and
/// comparisons, so that a loop over it vectorizes.
#[inline(always)]
fn round_half_away(x: f32) -> i32 {
    let x = if x.is_nan() { 0.0 } else { x.clamp(-256.0, 256.0) };
    // SAFETY: `x` is finite and within ±256 (just above), so it fits an `i32`.
    let t: i32 = unsafe { x.to_int_unchecked() };
    let frac = x - t as f32;
    t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5)
}

/// [`QuantParams`] inside a quantized model: the scale as its little-endian bytes, the zero
/// point as an `i8` (an activation's is always in `[−128, 127]`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackedParams {
    /// The scale.
    pub scale: LeF32,
    /// The zero point.
    pub zero_point: i8,
}

// SAFETY: bytes only; all zeros is a valid value.
unsafe impl crate::zeroed::Zeroable for PackedParams {}

impl PackedParams {
    /// The packed form of an activation's parameters.
    pub fn new(p: QuantParams) -> Self {
        debug_assert!((-128..=127).contains(&p.zero_point));
        PackedParams { scale: LeF32::new(p.scale), zero_point: p.zero_point as i8 }
    }

    /// The parameters.
    pub fn get(self) -> QuantParams {
        QuantParams { scale: self.scale.get(), zero_point: i32::from(self.zero_point) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_widened_to_contain_zero() {
        // All positive (after a ReLU): the zero point is −128, zero is the lowest code.
        let p = QuantParams::asymmetric(0.5, 2.55);
        assert_eq!((p.scale, p.zero_point), (2.55 / 255.0, -128));
        assert_eq!(p.quantize(0.0), -128);
        // All negative: the zero point is 127.
        let n = QuantParams::asymmetric(-2.0, -1.0);
        assert_eq!(n.zero_point, 127);
        assert_eq!(n.quantize(0.0), 127);
        // Only zero.
        assert_eq!(QuantParams::asymmetric(0.0, 0.0), QuantParams { scale: 0.0, zero_point: -128 });
    }

    #[test]
    fn quantizing_round_trips_within_half_a_step() {
        let p = QuantParams::asymmetric(-0.7, 1.9);
        let mut rng = crate::Rng::seed(9);
        for _ in 0..10_000 {
            let r = (rng.uniform() * 2.6 - 0.7) as f32;
            let back = p.dequantize(p.quantize(r));
            assert!((back - r).abs() <= 0.5 * p.scale * (1.0 + 1e-5), "{r} → {back}");
        }
        let w = QuantParams::symmetric(0.0);
        assert_eq!((w.quantize(1.0), w.dequantize(5)), (0, 0.0));
        // Symmetric weights never use −128.
        assert_eq!(QuantParams::symmetric(1.0).quantize(-2.0), -127);
    }

    /// The rounding is `roundf`'s within ±256, at ties and next to them; beyond, it clamps.
    #[test]
    fn rounding_is_roundf() {
        let mut cases = alloc::vec![0.5f32, -0.5, 1.5, -1.5, 2.5, 0.49999997, -0.49999997, 255.5, -255.5, 255.49998];
        cases.extend([0.0, -0.0, 127.5, -128.5, 256.0, -256.0, 1e-40, -1e-40]);
        let mut rng = crate::Rng::seed(2);
        cases.extend((0..100_000).map(|_| ((rng.uniform() - 0.5) * 512.0) as f32));
        for x in cases {
            assert_eq!(round_half_away(x), libm::roundf(x) as i32, "{x}");
        }
        for (x, want) in [(1e10, 256), (-3e9, -256), (f32::INFINITY, 256), (f32::NEG_INFINITY, -256), (f32::NAN, 0)] {
            assert_eq!(round_half_away(x), want, "{x}");
        }
        let p = QuantParams::asymmetric(-1.0, 1.0);
        assert_eq!(i32::from(p.quantize(f32::NAN)), p.zero_point, "NaN: the zero point");
        assert_eq!((p.quantize(1e30), p.quantize(-1e30)), (127, -128));
    }

    #[test]
    #[should_panic(expected = "a finite range")]
    fn an_inverted_range_is_refused() {
        QuantParams::asymmetric(1.0, -1.0);
    }
}
