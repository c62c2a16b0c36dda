//! Statistics of the experiments' numbers: the percentiles of Figure 1 and the spread of a
//! cell's seeds.

/// The percentiles [`percentiles`] computes (Figure 1 (b) and (c)).
pub const PERCENTILES: [f32; 3] = [15.0, 50.0, 85.0];

/// The 15th, 50th and 85th percentiles of `values`, with linear interpolation between
/// the two nearest ranks (numpy's default `method="linear"`): the `p`th percentile of the
/// sorted `x₀ ≤ … ≤ x_{n−1}` is at rank `h = p/100·(n−1)`,
/// `x_⌊h⌋ + (h − ⌊h⌋)·(x_⌈h⌉ − x_⌊h⌋)`.
///
/// Sorts `values` in place. Returns NaNs for an empty slice.
///
/// ```
/// assert_eq!(bn_paper::stats::percentiles(&mut [20.0, 10.0]), [11.5, 15.0, 18.5]);
/// ```
pub fn percentiles(values: &mut [f32]) -> [f32; 3] {
    if values.is_empty() {
        return [f32::NAN; 3];
    }
    values.sort_unstable_by(f32::total_cmp);
    PERCENTILES.map(|p| {
        let h = f64::from(p) / 100.0 * (values.len() - 1) as f64;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        let (a, b) = (f64::from(values[lo]), f64::from(values[hi]));
        (a + (h - lo as f64) * (b - a)) as f32
    })
}

/// Mean, minimum and maximum of some values (NaN for none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The mean.
    pub mean: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`.
    ///
    /// ```
    /// use bn_paper::stats::Spread;
    /// let s = Spread::of(&[0.968, 0.971, 0.974]);
    /// assert_eq!(s.percent(), " 97.1 % (96.8–97.4)");
    /// ```
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Spread { mean: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        Spread {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// `97.1 % (96.8–97.4)`.
    pub fn percent(&self) -> String {
        format!("{:5.1} % ({:.1}–{:.1})", 100.0 * self.mean, 100.0 * self.min, 100.0 * self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: [f32; 3], want: [f32; 3]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn percentiles_interpolate_linearly() {
        // Sorted 1 2 3 4 5: ranks 0.6, 2, 3.4.
        assert_close(percentiles(&mut [5.0, 1.0, 4.0, 2.0, 3.0]), [1.6, 3.0, 4.4]);
        // Ranks 0.15, 0.5, 0.85 between 10 and 20.
        assert_close(percentiles(&mut [20.0, 10.0]), [11.5, 15.0, 18.5]);
        // Sorted −7 −1 0.5 2 3 3 8: ranks 0.9 → −7 + 0.9·6, 3 → 2, 5.1 → 3 + 0.1·5.
        assert_close(percentiles(&mut [0.5, -1.0, 2.0, 8.0, 3.0, 3.0, -7.0]), [-1.6, 2.0, 3.5]);
        assert_eq!(percentiles(&mut [7.0]), [7.0; 3]);
        assert!(percentiles(&mut []).iter().all(|p| p.is_nan()));
        // 0..=100: the pth percentile is p.
        let mut v: Vec<f32> = (0..=100).rev().map(|i| i as f32).collect();
        assert_eq!(percentiles(&mut v), [15.0, 50.0, 85.0]);
    }

    #[test]
    fn spread_of_values() {
        let s = Spread::of(&[0.5, 0.25, 1.0]);
        assert_eq!((s.mean, s.min, s.max), (0.5833333333333334, 0.25, 1.0));
        assert_eq!(s.percent(), " 58.3 % (25.0–100.0)");
        let none = Spread::of(&[]);
        assert!(none.mean.is_nan() && none.min.is_nan() && none.max.is_nan());
    }
}
