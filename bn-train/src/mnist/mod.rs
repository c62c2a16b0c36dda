//! MNIST: the embedded 5000-digit default set and the full set from IDX files.
//!
//! - [`load_default`] parses `data/mnist_5k.csv.gz`, embedded in the binary (5000 digits of
//!   the MNIST training set, the first 500 of each class; see `bn-train/data/README.md` for its origin
//!   and license), and splits it into 4000 training and 1000 test digits.
//! - [`load_idx_dir`] reads the full set (60000 training and 10000 test digits) from the four
//!   IDX files of the original distribution, gzipped or raw.
//! - [`load_csv`] reads a file in the format of the embedded one.
//! - [`parse_idx`] and [`parse_csv_bytes`] read the same formats from bytes in memory (the
//!   file loaders' parsers, also what the fuzz targets drive).
//!
//! Every loader gives a [`Dataset`] of width 784 ([`IMAGE_PIXELS`]) whose labels are the
//! digits 0–9; [`Dataset::sample_array`]`::<784>` gives an image as an array. Pixels are
//! scaled to `[0, 1]` (divided by 255). No loader panics on bad input: every problem is a
//! [`DataError`] naming the file.
//!
//! One file per format: `idx.rs` (the original distribution's files), `csv.rs` (the
//! embedded set's format, read by its own strict parser: 785 integers per line), `gzip.rs`
//! (the compression either may have); `tests.rs` tests them together.

mod csv;
pub(crate) mod gzip;
mod idx;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use self::csv::{load_csv, parse_csv_bytes};
pub use self::idx::{load_idx_dir, parse_idx, IDX_FILES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};
pub use crate::{DataError, Dataset};

use self::csv::parse_csv_gz;

/// Side of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels of an MNIST image (`28 × 28`).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (the digits 0–9).
pub const CLASSES: usize = 10;

/// The embedded default data: `bn-train/data/mnist_5k.csv.gz`.
const DEFAULT_CSV_GZ: &[u8] = include_bytes!("../../data/mnist_5k.csv.gz");
/// How the embedded data is named in error messages.
const DEFAULT_NAME: &str = "data/mnist_5k.csv.gz (embedded)";
/// Of every class of the default data, this many out of `DEFAULT_TRAIN_DENOM` go to training.
const DEFAULT_TRAIN_NUM: usize = 4;
const DEFAULT_TRAIN_DENOM: usize = 5;

/// The embedded digits as the CSV file they are (decompressed): 5000 lines of 784 pixel
/// values (0–255) and the label last, no header; and the name errors give it. For the
/// generic CSV loader ([`parse_csv_named`](crate::parse_csv_named)), e.g. in the
/// `own_data` example.
pub fn embedded_csv() -> Result<(Vec<u8>, &'static Path), DataError> {
    let name = Path::new(DEFAULT_NAME);
    Ok((gzip::gunzip(DEFAULT_CSV_GZ, name)?, name))
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
    let counts = all.class_counts(CLASSES);
    let mut seen = [0usize; CLASSES];
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, &label) in all.labels().iter().enumerate() {
        let c = label as usize;
        let to_train = seen[c] < counts[c] * num / denom;
        seen[c] += 1;
        if to_train {
            train.push(i);
        } else {
            test.push(i);
        }
    }
    (all.subset(&train), all.subset(&test))
}
