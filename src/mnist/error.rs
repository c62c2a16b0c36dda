//! [`DataError`]: why MNIST data could not be loaded, naming the file concerned.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::gzip::is_gz;
use super::{IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IMAGE_SIDE};

/// Why MNIST data could not be loaded. Every variant names the file concerned.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// None of the candidate files exists.
    Missing {
        /// The paths tried, in order.
        tried: Vec<PathBuf>,
    },
    /// Reading the file failed.
    Io {
        /// The file.
        file: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A file expected to be gzip-compressed does not start with the gzip magic bytes.
    NotGzip {
        /// The file.
        file: PathBuf,
        /// Its first bytes (at most 4).
        found: Vec<u8>,
    },
    /// The gzip stream is corrupt or cut short.
    Gzip {
        /// The file.
        file: PathBuf,
        /// The decoder's error.
        source: io::Error,
    },
    /// An IDX file's magic number is not the expected one.
    BadMagic {
        /// The file.
        file: PathBuf,
        /// The expected magic number (2051 for images, 2049 for labels).
        expected: u32,
        /// The magic number found.
        found: u32,
    },
    /// The images are not 28 × 28.
    Dimensions {
        /// The file.
        file: PathBuf,
        /// The rows and columns of an image according to the file.
        rows: u32,
        /// See `rows`.
        cols: u32,
    },
    /// The file (after decompression) is shorter than its header says.
    Truncated {
        /// The file.
        file: PathBuf,
        /// What was cut short: `"header"` or `"header and data"`.
        part: &'static str,
        /// The expected number of bytes (header and data).
        expected: u64,
        /// The number of bytes found.
        found: u64,
    },
    /// The file (after decompression) is longer than its header says.
    TrailingData {
        /// The file.
        file: PathBuf,
        /// The expected number of bytes (header and data).
        expected: u64,
        /// The number of bytes found.
        found: u64,
    },
    /// The image and label files hold different numbers of items.
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its number of images.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Its number of labels.
        label_count: usize,
    },
    /// A label of an IDX label file is not a digit 0–9.
    LabelOutOfRange {
        /// The file.
        file: PathBuf,
        /// The label's index (0-based).
        index: usize,
        /// The label found.
        label: u8,
    },
    /// A line of a CSV file is malformed.
    Csv {
        /// The file.
        file: PathBuf,
        /// The line (1-based).
        line: usize,
        /// The column, i.e. the field (1-based).
        column: usize,
        /// What is wrong.
        reason: &'static str,
        /// What was found there (shortened).
        found: String,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Missing { tried } => {
                write!(f, "MNIST file not found; tried ")?;
                for (i, p) in tried.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}", p.display())?;
                }
                Ok(())
            }
            DataError::Io { file, source } => write!(f, "{}: cannot read: {source}", file.display()),
            DataError::NotGzip { file, found } => {
                let hex: Vec<String> = found.iter().map(|b| format!("{b:02x}")).collect();
                write!(f, "{}: not a gzip file (it starts with hex {:?}, not 1f 8b)", file.display(), hex.join(" "))
            }
            DataError::Gzip { file, source } => write!(f, "{}: corrupt gzip data: {source}", file.display()),
            DataError::BadMagic { file, expected, found } => {
                let what = match *expected {
                    IDX_IMAGES_MAGIC => " (an IDX image file)",
                    IDX_LABELS_MAGIC => " (an IDX label file)",
                    _ => "",
                };
                write!(f, "{}: bad magic number {found}, expected {expected}{what}", file.display())?;
                if found >> 16 == 0x1f8b {
                    write!(f, "; the file looks gzip-compressed: name it with a .gz suffix")?;
                }
                Ok(())
            }
            DataError::Dimensions { file, rows, cols } => {
                write!(f, "{}: images are {rows}x{cols}, expected {IMAGE_SIDE}x{IMAGE_SIDE}", file.display())
            }
            DataError::Truncated { file, part, expected, found } => write!(
                f,
                "{}: truncated: expected {expected} bytes{} ({part}), found {found}",
                file.display(),
                decompressed(file)
            ),
            DataError::TrailingData { file, expected, found } => write!(
                f,
                "{}: trailing data: expected {expected} bytes{} (header and data), found {found}",
                file.display(),
                decompressed(file)
            ),
            DataError::CountMismatch { images, image_count, labels, label_count } => write!(
                f,
                "{} holds {image_count} images but {} holds {label_count} labels",
                images.display(),
                labels.display()
            ),
            DataError::LabelOutOfRange { file, index, label } => {
                write!(f, "{}: the label at index {index} is {label}, expected a digit 0-9", file.display())
            }
            DataError::Csv { file, line, column, reason, found } => {
                write!(f, "{}: line {line}, column {column}: {reason}, found {found}", file.display())
            }
        }
    }
}

fn decompressed(file: &Path) -> &'static str {
    if is_gz(file) {
        " after decompression"
    } else {
        ""
    }
}

impl Error for DataError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            DataError::Io { source, .. } | DataError::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}
