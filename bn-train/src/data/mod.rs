//! Data sets in memory: [`Dataset`] (samples and class labels), its seeded split
//! ([`Dataset::split`]), per-feature standardization ([`Standardizer`]) and epochs of
//! mini-batches that fill a network's batch ([`Epochs`]).
//!
//! `mod.rs` holds the data set and its split; `standardize.rs` the standardization;
//! `epochs.rs` the epoch iterator and its saved state.

mod epochs;
mod standardize;
#[cfg(test)]
mod tests;

pub use self::epochs::{BatchInfo, EpochState, Epochs};
pub use self::standardize::Standardizer;

use bn_core::Rng;

use crate::DataError;

/// Labelled samples in memory: `len()` samples of `width()` features each (`f32`), stored
/// sample after sample in one `Vec`, and one class label per sample (`u32`, the class index
/// that [`bn_core::SoftmaxCrossEntropy`] takes as a `usize`).
///
/// ```
/// use bn_train::Dataset;
/// let mut data = Dataset::new(3);
/// data.push(&[1.0, 2.0, 3.0], 0);
/// data.push(&[4.0, 5.0, 6.0], 2);
/// assert_eq!((data.len(), data.width()), (2, 3));
/// assert_eq!((data.sample(1), data.label(1)), (&[4.0, 5.0, 6.0][..], 2));
/// assert_eq!(data.class_counts(3), [1, 0, 1]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    width: usize,
    samples: Vec<f32>,
    labels: Vec<u32>,
}

/// How many samples [`Dataset::split`] holds out for validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Holdout {
    /// This fraction of the samples (`0.0..=1.0`), rounded to the nearest count.
    Fraction(f64),
    /// This many samples.
    Count(usize),
}

impl From<f64> for Holdout {
    fn from(f: f64) -> Self {
        Holdout::Fraction(f)
    }
}

impl From<usize> for Holdout {
    fn from(n: usize) -> Self {
        Holdout::Count(n)
    }
}

impl Dataset {
    /// An empty data set of samples of `width` features.
    pub fn new(width: usize) -> Self {
        Dataset { width, samples: Vec::new(), labels: Vec::new() }
    }

    /// An empty data set with room for `n` samples of `width` features.
    pub fn with_capacity(width: usize, n: usize) -> Self {
        Dataset { width, samples: Vec::with_capacity(width.saturating_mul(n)), labels: Vec::with_capacity(n) }
    }

    /// A data set from its parts: `samples` holds `labels.len()` samples of `width` features,
    /// sample after sample.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if `samples.len() != width × labels.len()`.
    pub fn from_parts(width: usize, samples: Vec<f32>, labels: Vec<u32>) -> Result<Self, DataError> {
        if width.checked_mul(labels.len()) != Some(samples.len()) {
            return Err(DataError::Invalid {
                message: format!("{} values are not {} samples of {width} features", samples.len(), labels.len()),
            });
        }
        Ok(Dataset { width, samples, labels })
    }

    /// The samples and the labels.
    pub fn into_parts(self) -> (Vec<f32>, Vec<u32>) {
        (self.samples, self.labels)
    }

    /// Appends a sample and its label.
    ///
    /// # Panics
    /// If `sample.len() != self.width()`.
    pub fn push(&mut self, sample: &[f32], label: u32) {
        assert_eq!(
            sample.len(),
            self.width,
            "a sample of {} features in a data set of width {}",
            sample.len(),
            self.width
        );
        self.samples.extend_from_slice(sample);
        self.labels.push(label);
    }

    /// Appends a sample given as `u8`s (pixels), each converted with `map`, and its label.
    pub(crate) fn push_map(&mut self, sample: &[u8], label: u32, map: impl Fn(u8) -> f32) {
        debug_assert_eq!(sample.len(), self.width);
        self.samples.extend(sample.iter().map(|&v| map(v)));
        self.labels.push(label);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per sample.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Every sample's features, sample after sample (`len() × width()` values).
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }

    /// Every label, one per sample.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The features of sample `i`.
    ///
    /// # Panics
    /// If `i >= len()` (like indexing).
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.samples[i * self.width..(i + 1) * self.width]
    }

    /// The features of sample `i` as an array of `N` (the width known at compile time, e.g.
    /// 784 for MNIST).
    ///
    /// # Panics
    /// If `i >= len()` or `N != width()`.
    pub fn sample_array<const N: usize>(&self, i: usize) -> &[f32; N] {
        assert_eq!(N, self.width, "sample_array::<{N}> of a data set of width {}", self.width);
        &self.samples.as_chunks::<N>().0[i]
    }

    /// The label of sample `i`.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn label(&self, i: usize) -> u32 {
        self.labels[i]
    }

    /// The samples with their labels, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[f32], u32)> + '_ {
        (0..self.len()).map(|i| (self.sample(i), self.labels[i]))
    }

    /// How many samples of each class `0..classes` there are (labels `>= classes` are not
    /// counted; [`check_classes`](Self::check_classes) finds them).
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// The number of classes the labels call for: the largest label plus one (0 when empty).
    pub fn classes(&self) -> usize {
        self.labels.iter().max().map_or(0, |&l| l as usize + 1)
    }

    /// Checks that every label is below `classes` (a network's number of outputs).
    ///
    /// # Errors
    /// [`DataError::ClassOutOfRange`] naming the first sample whose label is not.
    pub fn check_classes(&self, classes: usize) -> Result<(), DataError> {
        match self.labels.iter().position(|&l| l as usize >= classes) {
            Some(index) => Err(DataError::ClassOutOfRange { index, label: self.labels[index], classes }),
            None => Ok(()),
        }
    }

    /// Checks that the samples have `width` features (a network's input width).
    ///
    /// # Errors
    /// [`DataError::Width`]: "the data set: 783 values, the network takes 784".
    pub fn expect_width(&self, width: usize) -> Result<(), DataError> {
        if self.width == width {
            Ok(())
        } else {
            Err(DataError::Width { file: None, line: None, found: self.width, expected: width })
        }
    }

    /// The samples at `indices`, in that order (an index may repeat).
    ///
    /// # Panics
    /// If an index is `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut out = Dataset::with_capacity(self.width, indices.len());
        for &i in indices {
            out.push(self.sample(i), self.labels[i]);
        }
        out
    }

    /// Splits the data set into `(train, validation)` at random, from `seed`.
    ///
    /// The validation set gets `holdout` samples (a [`Holdout::Fraction`] of `len()` rounded
    /// to the nearest count, or a [`Holdout::Count`]; `0.2` and `1000usize` convert): the first
    /// ones of a permutation of `0..len()` shuffled by `bn_core::Rng::seed(seed)`
    /// (Fisher–Yates, [`Rng::shuffle`]). Both parts keep the samples in their original order.
    /// The same data, holdout and seed give the same split on every platform.
    ///
    /// ```
    /// # use bn_train::Dataset;
    /// let data = Dataset::from_parts(1, (0..10).map(|v| v as f32).collect(), vec![0; 10]).unwrap();
    /// let (train, valid) = data.split(0.3, 7).unwrap();
    /// assert_eq!((train.len(), valid.len()), (7, 3));
    /// ```
    ///
    /// # Errors
    /// [`DataError::Invalid`] if the fraction is not in `0.0..=1.0` or the count exceeds
    /// `len()`.
    pub fn split(&self, holdout: impl Into<Holdout>, seed: u64) -> Result<(Dataset, Dataset), DataError> {
        let n = self.len();
        let valid = match holdout.into() {
            Holdout::Fraction(f) if (0.0..=1.0).contains(&f) => (f * n as f64).round() as usize,
            Holdout::Count(c) if c <= n => c,
            other => {
                return Err(DataError::Invalid {
                    message: format!("cannot hold out {other:?} of {n} samples for validation"),
                })
            }
        };
        let mut order: Vec<usize> = (0..n).collect();
        Rng::seed(seed).shuffle(&mut order);
        let (valid_idx, train_idx) = order.split_at_mut(valid);
        valid_idx.sort_unstable();
        train_idx.sort_unstable();
        Ok((self.subset(train_idx), self.subset(valid_idx)))
    }

    pub(crate) fn samples_mut(&mut self) -> &mut [f32] {
        &mut self.samples
    }
}
