//! [`DataError`]: why data could not be loaded or used, naming the file, line and column
//! concerned. One enum for every loader of the crate (CSV, `.npy`, MNIST's IDX and CSV) and
//! for the checks of a data set against a network.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::mnist::gzip::is_gz;
use crate::mnist::{IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IMAGE_SIDE};

/// Why data could not be loaded or used. Every variant about a file names it (data parsed
/// from bytes is named `<bytes>` or by the name the caller gave); those about a line of a
/// CSV file name the line (1-based, as an editor shows it) and, where one applies, the
/// column (1-based).
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
    /// A CSV file (or a `.npy` array) holds no sample.
    Empty {
        /// The file.
        file: PathBuf,
        /// What it holds instead: `"an empty file"`, `"only a header"`, …
        what: &'static str,
    },
    /// A CSV row has another number of values than the first row.
    Ragged {
        /// The file.
        file: PathBuf,
        /// The row's line.
        line: usize,
        /// Its number of values (the label included).
        found: usize,
        /// The line of the first row (the header, if there is one).
        first_line: usize,
        /// The first row's number of values.
        expected: usize,
    },
    /// The samples have another number of features than expected (the network's input).
    Width {
        /// The file, or `None` for a data set in memory.
        file: Option<PathBuf>,
        /// The first line with that width (CSV files only).
        line: Option<usize>,
        /// The samples' number of features (the label excluded).
        found: usize,
        /// The number expected.
        expected: usize,
    },
    /// A CSV cell is not a number.
    NotANumber {
        /// The file.
        file: PathBuf,
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// The cell (shortened).
        found: String,
    },
    /// A value is NaN or infinite.
    NotFinite {
        /// The file.
        file: PathBuf,
        /// Where: `line 3, column 12` for a CSV file (1-based, as an editor counts), `sample 7,
        /// feature 2 (0-based, as numpy indexes)` for a `.npy` file.
        at: String,
        /// The value as written (shortened).
        found: String,
    },
    /// A label is not a class index (a non-negative integer below 2³²).
    BadLabel {
        /// The file.
        file: PathBuf,
        /// Where: `line 3, column 1` for a CSV file, `index 7` for a `.npy` file.
        at: String,
        /// The label as written (shortened).
        found: String,
    },
    /// The label column named in the options is not in the file.
    NoLabelColumn {
        /// The file.
        file: PathBuf,
        /// The column asked for: a name, or an index (0-based) as text.
        label: String,
        /// What the first row has: its names, or its number of columns.
        found: String,
    },
    /// A CSV file cannot be split into records (an I/O error while reading, invalid quoting).
    CsvSyntax {
        /// The file.
        file: PathBuf,
        /// The line, if known.
        line: Option<usize>,
        /// The CSV reader's message.
        message: String,
    },
    /// A `.npy` file's header is malformed (magic bytes, version, the header's dictionary).
    NpyHeader {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A `.npy` array's element type is not one the loader reads.
    NpyDtype {
        /// The file.
        file: PathBuf,
        /// The dtype found (numpy's `descr`, e.g. `<i2`, or a structured type).
        found: String,
        /// The dtypes read.
        expected: &'static str,
    },
    /// A `.npy` array is stored in Fortran (column-major) order.
    FortranOrder {
        /// The file.
        file: PathBuf,
    },
    /// A `.npy` array's shape is not one the loader takes.
    NpyShape {
        /// The file.
        file: PathBuf,
        /// The shape found.
        shape: Vec<u64>,
        /// What was expected.
        expected: &'static str,
    },
    /// The samples and the labels are not as many.
    LengthMismatch {
        /// Where the samples come from.
        samples: PathBuf,
        /// Their number.
        sample_count: usize,
        /// Where the labels come from.
        labels: PathBuf,
        /// Their number.
        label_count: usize,
    },
    /// A label is not below the network's number of classes.
    ClassOutOfRange {
        /// The sample's index in the data set (0-based).
        index: usize,
        /// Its label.
        label: u32,
        /// The number of classes.
        classes: usize,
    },
    /// A data set is too small or an argument is out of range (a split's fraction, a batch
    /// larger than the data set, a saved epoch state of another data set).
    Invalid {
        /// What is wrong.
        message: String,
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
            DataError::Empty { file, what } => write!(f, "{}: no samples: {what}", file.display()),
            DataError::Ragged { file, line, found, first_line, expected } => write!(
                f,
                "{}: line {line}: {found} values, the first row (line {first_line}) has {expected}",
                file.display()
            ),
            DataError::Width { file, line, found, expected } => {
                match (file, line) {
                    (Some(file), Some(line)) => write!(f, "{}: line {line}: ", file.display())?,
                    (Some(file), None) => write!(f, "{}: ", file.display())?,
                    (None, _) => write!(f, "the data set: ")?,
                }
                write!(f, "{found} values, the network takes {expected}")
            }
            DataError::NotANumber { file, line, column, found } => {
                write!(f, "{}: line {line}, column {column}: {found} is not a number", file.display())
            }
            DataError::NotFinite { file, at, found } => {
                write!(f, "{}: {at}: {found} is not finite (NaN and infinities are refused)", file.display())
            }
            DataError::BadLabel { file, at, found } => write!(
                f,
                "{}: {at}: the label {found} is not a class index (an integer 0 to 4294967295)",
                file.display()
            ),
            DataError::NoLabelColumn { file, label, found } => {
                write!(f, "{}: no label column {label}: the first row has {found}", file.display())
            }
            DataError::CsvSyntax { file, line, message } => match line {
                Some(line) => write!(f, "{}: line {line}: {message}", file.display()),
                None => write!(f, "{}: {message}", file.display()),
            },
            DataError::NpyHeader { file, message } => write!(f, "{}: not a valid .npy file: {message}", file.display()),
            DataError::NpyDtype { file, found, expected } => {
                write!(f, "{}: the array's dtype is {found}, expected {expected}", file.display())
            }
            DataError::FortranOrder { file } => write!(
                f,
                "{}: the array is in Fortran order; save a C-order array (numpy.ascontiguousarray)",
                file.display()
            ),
            DataError::NpyShape { file, shape, expected } => {
                write!(f, "{}: the array's shape is {shape:?}, expected {expected}", file.display())
            }
            DataError::LengthMismatch { samples, sample_count, labels, label_count } => write!(
                f,
                "{} holds {sample_count} samples but {} holds {label_count} labels",
                samples.display(),
                labels.display()
            ),
            DataError::ClassOutOfRange { index, label, classes } => {
                write!(f, "the label of sample {index} is {label}, the network has {classes} classes")
            }
            DataError::Invalid { message } => f.write_str(message),
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
