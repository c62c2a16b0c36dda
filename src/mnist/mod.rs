//! MNIST: the embedded 5000-digit default set and the full set from IDX files.
//!
//! - [`load_default`] parses `data/mnist_5k.csv.gz`, embedded in the binary (5000 digits of
//!   the MNIST training set, the first 500 of each class; see `data/README.md` for its origin
//!   and license), and splits it into 4000 training and 1000 test digits.
//! - [`load_idx_dir`] reads the full set (60000 training and 10000 test digits) from the four
//!   IDX files of the original distribution, gzipped or raw.
//! - [`load_csv`] reads a file in the format of the embedded one.
//! - [`parse_idx`] and [`parse_csv_bytes`] read the same formats from bytes in memory (the
//!   file loaders' parsers, also what the fuzz targets drive).
//!
//! Pixels are scaled to `[0, 1]` (divided by 255). No loader panics on bad input: every
//! problem is a [`DataError`] naming the file.
//!
//! One file per format: `idx.rs` (the original distribution's files), `csv.rs` (the
//! embedded set's format), `gzip.rs` (the compression either may have), and `error.rs`
//! (every problem, naming the file); `tests.rs` tests them together.

mod csv;
mod error;
mod gzip;
mod idx;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use self::csv::{load_csv, parse_csv_bytes};
pub use self::error::DataError;
pub use self::idx::{load_idx_dir, parse_idx, IDX_FILES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};

use self::csv::parse_csv_gz;

/// Side of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels of an MNIST image (`28 × 28`).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (the digits 0–9).
pub const CLASSES: usize = 10;

/// The embedded default data: `data/mnist_5k.csv.gz`.
const DEFAULT_CSV_GZ: &[u8] = include_bytes!("../../data/mnist_5k.csv.gz");
/// How the embedded data is named in error messages.
const DEFAULT_NAME: &str = "data/mnist_5k.csv.gz (embedded)";
/// Of every class of the default data, this many out of `DEFAULT_TRAIN_DENOM` go to training.
const DEFAULT_TRAIN_NUM: usize = 4;
const DEFAULT_TRAIN_DENOM: usize = 5;

/// Labelled MNIST digits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// `len() × 784` pixels, image after image, each row-major, scaled to `[0, 1]`.
    pub images: Vec<f32>,
    /// One label `0..=9` per image.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Number of digits.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no digits.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of digit `i`, row-major. Panics if `i >= len()` (like indexing).
    pub fn image(&self, i: usize) -> &[f32; IMAGE_PIXELS] {
        &self.images.as_chunks::<IMAGE_PIXELS>().0[i]
    }

    /// The digits with their labels.
    pub fn iter(&self) -> impl Iterator<Item = (&[f32; IMAGE_PIXELS], u8)> + '_ {
        self.images.as_chunks::<IMAGE_PIXELS>().0.iter().zip(self.labels.iter().copied())
    }

    /// How many digits of each class there are.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    fn push(&mut self, pixels: &[u8], label: u8) {
        self.images.extend(pixels.iter().map(|&p| f32::from(p) / 255.0));
        self.labels.push(label);
    }

    fn push_from(&mut self, other: &Dataset, i: usize) {
        self.images.extend_from_slice(other.image(i));
        self.labels.push(other.labels[i]);
    }
}

/// The embedded default data, split into `(train, test)`.
///
/// The embedded file holds 5000 digits of the MNIST training set, the first 500 of each
/// class in the original order, sorted by class. The split is deterministic and
/// stratified: of every class, the first 400 digits (in file order) go to the training set
/// and the last 100 to the test set, so both sets are balanced (4000 and 1000 digits) and
/// disjoint. Both are sorted by class: shuffle the training set before taking mini-batches.
pub fn load_default() -> Result<(Dataset, Dataset), DataError> {
    let all = parse_csv_gz(DEFAULT_CSV_GZ, Path::new(DEFAULT_NAME))?;
    Ok(split_stratified(&all, DEFAULT_TRAIN_NUM, DEFAULT_TRAIN_DENOM))
}

/// Splits every class in file order: its first `⌊count · num / denom⌋` digits go to the
/// first set, the others to the second.
fn split_stratified(all: &Dataset, num: usize, denom: usize) -> (Dataset, Dataset) {
    let counts = all.class_counts();
    let mut seen = [0usize; CLASSES];
    let (mut train, mut test) = (Dataset::default(), Dataset::default());
    for (i, &label) in all.labels.iter().enumerate() {
        let c = label as usize;
        let to_train = seen[c] < counts[c] * num / denom;
        seen[c] += 1;
        if to_train {
            train.push_from(all, i);
        } else {
            test.push_from(all, i);
        }
    }
    (train, test)
}
