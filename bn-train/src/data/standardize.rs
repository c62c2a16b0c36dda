//! [`Standardizer`]: per-feature mean and standard deviation, fitted on the training set and
//! applied to every set.

use super::Dataset;
use crate::DataError;

/// Per-feature standardization, `x ← (x − mean) / std`, fitted on the training set and
/// applied to it and to the validation and test sets (with the training set's statistics).
///
/// [`fit`](Self::fit) computes each feature's mean and population standard deviation
/// (divided by `n`, as scikit-learn's `StandardScaler`) in two passes, accumulating in
/// `f64`. A constant feature (standard deviation 0) gets a standard deviation of 1: it is
/// centered to 0 and not scaled, so that no value becomes NaN.
///
/// ```
/// # use bn_train::{Dataset, Standardizer};
/// let mut train = Dataset::from_parts(2, vec![1.0, 5.0, 3.0, 5.0], vec![0, 1]).unwrap();
/// let fit = Standardizer::fit(&train).unwrap();
/// assert_eq!((fit.mean(), fit.std()), (&[2.0, 5.0][..], &[1.0, 1.0][..]));
/// fit.apply(&mut train).unwrap();
/// assert_eq!(train.samples(), [-1.0, 0.0, 1.0, 0.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Standardizer {
    /// Each feature's mean and standard deviation over `train`.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if `train` is empty.
    pub fn fit(train: &Dataset) -> Result<Self, DataError> {
        let (n, w) = (train.len(), train.width());
        if n == 0 {
            return Err(DataError::Invalid { message: "cannot fit a standardization on an empty data set".into() });
        }
        let mut sum = vec![0f64; w];
        for (sample, _) in train.iter() {
            for (s, &x) in sum.iter_mut().zip(sample) {
                *s += f64::from(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        let mut sq = vec![0f64; w];
        for (sample, _) in train.iter() {
            for ((q, &x), m) in sq.iter_mut().zip(sample).zip(&mean) {
                let d = f64::from(x) - m;
                *q += d * d;
            }
        }
        let std = sq
            .iter()
            .map(|q| {
                let s = (q / n as f64).sqrt() as f32;
                if s > 0.0 && s.is_finite() {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Standardizer { mean: mean.iter().map(|&m| m as f32).collect(), std })
    }

    /// A standardization from saved statistics (e.g. a checkpoint's).
    ///
    /// # Errors
    /// [`DataError::Invalid`] if the lengths differ or a standard deviation is not positive
    /// and finite, or a mean not finite.
    pub fn from_parts(mean: Vec<f32>, std: Vec<f32>) -> Result<Self, DataError> {
        if mean.len() != std.len()
            || !mean.iter().all(|m| m.is_finite())
            || !std.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err(DataError::Invalid {
                message: "a standardization needs as many finite means as positive standard deviations".into(),
            });
        }
        Ok(Standardizer { mean, std })
    }

    /// Each feature's mean.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// Each feature's standard deviation (1 for a constant feature).
    pub fn std(&self) -> &[f32] {
        &self.std
    }

    /// Standardizes every sample of `data` in place.
    ///
    /// # Errors
    /// [`DataError::Width`] if `data`'s width is not the fitted one.
    pub fn apply(&self, data: &mut Dataset) -> Result<(), DataError> {
        if data.width() != self.mean.len() {
            return Err(DataError::Width { file: None, line: None, found: data.width(), expected: self.mean.len() });
        }
        if self.mean.is_empty() {
            return Ok(());
        }
        for sample in data.samples_mut().chunks_exact_mut(self.mean.len()) {
            self.apply_sample(sample);
        }
        Ok(())
    }

    /// Standardizes one sample in place (e.g. an input at inference time).
    ///
    /// # Panics
    /// If `sample.len()` is not the fitted width.
    pub fn apply_sample(&self, sample: &mut [f32]) {
        assert_eq!(sample.len(), self.mean.len(), "a sample of the fitted width");
        for ((x, m), s) in sample.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = (*x - m) / s;
        }
    }
}
