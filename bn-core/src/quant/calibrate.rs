//! Calibration: the range of each quantized tensor of a network, observed over inputs that
//! the user passes ([`Calibrator`], [`Observer`]), and what can go wrong ([`QuantizeError`]).

use core::fmt;

use super::QuantParams;

/// How a tensor's range is chosen from the values it took during calibration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Observer {
    /// The smallest and largest value (TFLite's converter, PyTorch's `MinMaxObserver`).
    MinMax,
    /// The `p`-th and `(100 − p)`-th percentiles (nearest rank), `p ∈ [50, 100]`: the range
    /// ignores the rarest outliers, which would otherwise stretch the scale of every value.
    /// `Percentile(100.0)` is `MinMax`.
    Percentile(f64),
}

/// A calibrated range `[min, max]` of a tensor's real values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The smallest value kept.
    pub min: f32,
    /// The largest value kept.
    pub max: f32,
}

/// The calibrated ranges of the `N` tensors of a network that have parameters of their own
/// (the input and each linear or affine layer's output, after a fused ReLU), in the order
/// of the network's layers, with their names (`"input"`, then the layers' fields).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranges<const N: usize> {
    /// The tensors' names.
    pub names: [&'static str; N],
    /// Their ranges.
    pub ranges: [Range; N],
}

/// Why a network could not be quantized.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum QuantizeError {
    /// The calibration set is empty.
    NoCalibration,
    /// A calibration value of this tensor is NaN or infinite.
    NotFinite {
        /// The tensor (`"input"` or a layer's field).
        tensor: &'static str,
    },
    /// A range that is not finite, or whose `min` exceeds its `max`.
    BadRange {
        /// The tensor.
        tensor: &'static str,
        /// The range.
        range: Range,
    },
    /// A percentile outside `[50, 100]`.
    BadPercentile(f64),
    /// A layer's requantization factor `s_x·s_w / s_y` is `2^30` or more (its output range is
    /// almost empty): no fixed-point multiplier represents it.
    Multiplier {
        /// The layer.
        layer: &'static str,
        /// The factor.
        factor: f64,
    },
}

impl QuantizeError {
    /// The error with `layer` as the layer's name where it names one.
    pub fn in_layer(self, layer: &'static str) -> Self {
        match self {
            QuantizeError::Multiplier { factor, .. } => QuantizeError::Multiplier { layer, factor },
            e => e,
        }
    }
}

impl fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantizeError::NoCalibration => write!(f, "quantization needs at least one calibration input, found none"),
            QuantizeError::NotFinite { tensor } => {
                write!(f, "calibration: `{tensor}` took a NaN or infinite value; every input must be finite")
            }
            QuantizeError::BadRange { tensor, range } => write!(
                f,
                "the range of `{tensor}` is [{}, {}]; expected finite numbers with min ≤ max",
                range.min, range.max
            ),
            QuantizeError::BadPercentile(p) => write!(f, "a percentile in [50, 100], found {p}"),
            QuantizeError::Multiplier { layer, factor } => write!(
                f,
                "`{layer}`: the requantization factor s_x·s_w/s_y is {factor:e}, 2^30 or more (its output range is almost empty)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for QuantizeError {}

impl<const N: usize> Ranges<N> {
    /// The parameters of each tensor ([`QuantParams::asymmetric`] of its range).
    ///
    /// # Errors
    /// [`QuantizeError::BadRange`] for a range that is not finite or has `min > max`.
    pub fn params(&self) -> Result<[QuantParams; N], QuantizeError> {
        let mut out = [QuantParams { scale: 0.0, zero_point: 0 }; N];
        for ((p, &tensor), &range) in out.iter_mut().zip(&self.names).zip(&self.ranges) {
            if !(range.min.is_finite() && range.max.is_finite() && range.min <= range.max) {
                return Err(QuantizeError::BadRange { tensor, range });
            }
            *p = QuantParams::asymmetric(range.min, range.max);
        }
        Ok(out)
    }
}

/// Collects the values of `N` tensors over the calibration inputs and gives their
/// [`Ranges`]. What `network!`'s `calibrate` runs; `MinMax` keeps two numbers per tensor,
/// `Percentile` every value.
#[cfg(feature = "alloc")]
pub struct Calibrator<const N: usize> {
    observer: Observer,
    names: [&'static str; N],
    ranges: [Range; N],
    values: alloc::vec::Vec<alloc::vec::Vec<f32>>,
}

#[cfg(feature = "alloc")]
impl<const N: usize> Calibrator<N> {
    /// A calibrator of the tensors `names` with `observer`.
    ///
    /// # Errors
    /// [`QuantizeError::BadPercentile`].
    pub fn new(observer: Observer, names: [&'static str; N]) -> Result<Self, QuantizeError> {
        if let Observer::Percentile(p) = observer {
            if !(50.0..=100.0).contains(&p) {
                return Err(QuantizeError::BadPercentile(p));
            }
        }
        let keep = matches!(observer, Observer::Percentile(_));
        Ok(Calibrator {
            observer,
            names,
            ranges: [Range { min: f32::INFINITY, max: f32::NEG_INFINITY }; N],
            values: (0..if keep { N } else { 0 }).map(|_| alloc::vec::Vec::new()).collect(),
        })
    }

    /// Records the values of tensor `k` for one input.
    ///
    /// # Errors
    /// [`QuantizeError::NotFinite`] for a NaN or an infinity.
    pub fn observe(&mut self, k: usize, values: &[f32]) -> Result<(), QuantizeError> {
        let r = &mut self.ranges[k];
        for &v in values {
            if !v.is_finite() {
                return Err(QuantizeError::NotFinite { tensor: self.names[k] });
            }
            r.min = r.min.min(v);
            r.max = r.max.max(v);
        }
        if let Some(kept) = self.values.get_mut(k) {
            kept.extend_from_slice(values);
        }
        Ok(())
    }

    /// The ranges.
    ///
    /// # Errors
    /// [`QuantizeError::NoCalibration`] when nothing was observed.
    pub fn finish(mut self) -> Result<Ranges<N>, QuantizeError> {
        if self.ranges.iter().any(|r| r.min > r.max) {
            return Err(QuantizeError::NoCalibration);
        }
        if let Observer::Percentile(p) = self.observer {
            for (r, v) in self.ranges.iter_mut().zip(&mut self.values) {
                v.sort_unstable_by(f32::total_cmp);
                let rank = |q: f64| {
                    let k = libm::ceil(q / 100.0 * v.len() as f64) as usize;
                    v[k.clamp(1, v.len()) - 1]
                };
                *r = Range { min: rank(100.0 - p), max: rank(p) };
            }
        }
        Ok(Ranges { names: self.names, ranges: self.ranges })
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn percentiles_drop_the_outliers() {
        let mut c = Calibrator::<2>::new(Observer::Percentile(99.0), ["a", "b"]).unwrap();
        let a: alloc::vec::Vec<f32> = (0..1000).map(|i| i as f32).collect();
        c.observe(0, &a).unwrap();
        c.observe(1, &[5.0]).unwrap();
        let r = c.finish().unwrap();
        assert_eq!(r.ranges, [Range { min: 9.0, max: 989.0 }, Range { min: 5.0, max: 5.0 }]);
        let mut m = Calibrator::<1>::new(Observer::MinMax, ["a"]).unwrap();
        m.observe(0, &a).unwrap();
        assert_eq!(m.finish().unwrap().ranges, [Range { min: 0.0, max: 999.0 }]);
    }

    #[test]
    fn bad_calibrations_are_errors() {
        assert_eq!(
            Calibrator::<1>::new(Observer::Percentile(40.0), ["a"]).err(),
            Some(QuantizeError::BadPercentile(40.0))
        );
        let mut c = Calibrator::<1>::new(Observer::MinMax, ["x"]).unwrap();
        assert_eq!(c.observe(0, &[1.0, f32::NAN]), Err(QuantizeError::NotFinite { tensor: "x" }));
        assert_eq!(Calibrator::<1>::new(Observer::MinMax, ["x"]).unwrap().finish(), Err(QuantizeError::NoCalibration));
    }
}
