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

use std::error::Error;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// Side of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels of an MNIST image (`28 × 28`).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (the digits 0–9).
pub const CLASSES: usize = 10;

/// The embedded default data: `data/mnist_5k.csv.gz`.
const DEFAULT_CSV_GZ: &[u8] = include_bytes!("../data/mnist_5k.csv.gz");
/// How the embedded data is named in error messages.
const DEFAULT_NAME: &str = "data/mnist_5k.csv.gz (embedded)";
/// Of every class of the default data, this many out of `DEFAULT_TRAIN_DENOM` go to training.
const DEFAULT_TRAIN_NUM: usize = 4;
const DEFAULT_TRAIN_DENOM: usize = 5;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// The IDX file names of the original MNIST distribution, without the `.gz` suffix.
pub const IDX_FILES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

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

/// The full MNIST set from the IDX files in `dir`, as `(train, test)`.
///
/// Reads `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte`, each gzipped with a `.gz` suffix (tried first) or raw. An IDX
/// file is a big-endian `u32` magic number (2051 for images, 2049 for labels), one
/// big-endian `u32` per dimension (count, rows, columns for images; count for labels), then
/// the `u8` data, row-major.
pub fn load_idx_dir(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    let train = load_idx_pair(dir, IDX_FILES[0], IDX_FILES[1])?;
    let test = load_idx_pair(dir, IDX_FILES[2], IDX_FILES[3])?;
    Ok((train, test))
}

fn load_idx_pair(dir: &Path, images_name: &str, labels_name: &str) -> Result<Dataset, DataError> {
    let images_file = find(dir, images_name)?;
    let labels_file = find(dir, labels_name)?;
    let images = read_idx(&images_file, IDX_IMAGES_MAGIC)?;
    let labels = read_idx(&labels_file, IDX_LABELS_MAGIC)?;
    pair(images, images_file, labels, labels_file)
}

/// Digits from the bytes of an IDX image file and of an IDX label file, as
/// [`load_idx_dir`] reads each pair of files, without touching the file system.
///
/// `images_name` and `labels_name` name the data in errors and say how it is stored, as a
/// file name does for [`load_idx_dir`]: gzipped if the name ends with `.gz`, raw otherwise.
/// No input makes it panic, and it allocates no more than the (decompressed) bytes hold.
///
/// # Errors
/// A [`DataError`] naming `images_name` or `labels_name`, as the file loader's.
pub fn parse_idx(images: &[u8], images_name: &Path, labels: &[u8], labels_name: &Path) -> Result<Dataset, DataError> {
    let images_data = read_idx_from(Source::Bytes(images), images_name, IDX_IMAGES_MAGIC)?;
    let labels_data = read_idx_from(Source::Bytes(labels), labels_name, IDX_LABELS_MAGIC)?;
    pair(images_data, images_name.to_owned(), labels_data, labels_name.to_owned())
}

/// One image file's and one label file's contents as digits.
fn pair(
    (image_count, pixels): (usize, Vec<u8>),
    images_file: PathBuf,
    (label_count, labels): (usize, Vec<u8>),
    labels_file: PathBuf,
) -> Result<Dataset, DataError> {
    if image_count != label_count {
        return Err(DataError::CountMismatch { images: images_file, image_count, labels: labels_file, label_count });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= CLASSES) {
        return Err(DataError::LabelOutOfRange { file: labels_file, index, label });
    }
    let mut data = Dataset { images: Vec::with_capacity(pixels.len()), labels: Vec::with_capacity(label_count) };
    for (image, &label) in pixels.chunks_exact(IMAGE_PIXELS).zip(labels.iter()) {
        data.push(image, label);
    }
    Ok(data)
}

/// `dir/name.gz` if it exists, else `dir/name` if it exists.
fn find(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let tried = vec![dir.join(format!("{name}.gz")), dir.join(name)];
    match tried.iter().find(|p| p.exists()) {
        Some(p) => Ok(p.clone()),
        None => Err(DataError::Missing { tried }),
    }
}

fn is_gz(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "gz")
}

/// The bytes of `file`, decompressed if its name ends with `.gz`.
fn read_maybe_gz(file: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(file).map_err(|source| DataError::Io { file: file.to_owned(), source })?;
    if !is_gz(file) {
        return Ok(raw);
    }
    gunzip(&raw, file)
}

/// Checks the gzip magic bytes.
fn check_gzip(bytes: &[u8], file: &Path) -> Result<(), DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Ok(())
    } else {
        Err(DataError::NotGzip { file: file.to_owned(), found: bytes.iter().take(4).copied().collect() })
    }
}

/// Decompresses `bytes` (all gzip members).
fn gunzip(bytes: &[u8], file: &Path) -> Result<Vec<u8>, DataError> {
    check_gzip(bytes, file)?;
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip { file: file.to_owned(), source })?;
    Ok(out)
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the stream.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads an IDX file of `u8` with the given magic number; returns the item count and data.
///
/// Streams the (decompressed) bytes and keeps no more than the header announces, so a
/// corrupt header cannot make it allocate more than the file holds.
fn read_idx(file: &Path, magic: u32) -> Result<(usize, Vec<u8>), DataError> {
    read_idx_from(Source::File, file, magic)
}

/// Where [`read_idx_from`] reads: the file itself, or bytes in memory named like a file.
enum Source<'a> {
    File,
    Bytes(&'a [u8]),
}

/// [`read_idx`] over `source`; `file` names it (and a `.gz` suffix means gzipped).
fn read_idx_from(source: Source<'_>, file: &Path, magic: u32) -> Result<(usize, Vec<u8>), DataError> {
    let gz = is_gz(file);
    let err = |source: io::Error| {
        if gz {
            DataError::Gzip { file: file.to_owned(), source }
        } else {
            DataError::Io { file: file.to_owned(), source }
        }
    };
    let io_err = |source| DataError::Io { file: file.to_owned(), source };
    let truncated =
        |part, expected: u64, found: u64| DataError::Truncated { file: file.to_owned(), part, expected, found };

    let mut reader: Box<dyn Read + '_> = match (source, gz) {
        (Source::File, true) => {
            let raw = std::fs::read(file).map_err(io_err)?;
            check_gzip(&raw, file)?;
            Box::new(MultiGzDecoder::new(io::Cursor::new(raw)))
        }
        (Source::File, false) => Box::new(BufReader::new(File::open(file).map_err(io_err)?)),
        (Source::Bytes(bytes), true) => {
            check_gzip(bytes, file)?;
            Box::new(MultiGzDecoder::new(bytes))
        }
        (Source::Bytes(bytes), false) => Box::new(bytes),
    };

    let mut head = [0u8; 4];
    let n = read_full(&mut reader, &mut head).map_err(err)?;
    if n < 4 {
        return Err(truncated("header", 4, n as u64));
    }
    let found = u32::from_be_bytes(head);
    if found != magic {
        return Err(DataError::BadMagic { file: file.to_owned(), expected: magic, found });
    }
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims as u64;
    let mut dims_bytes = vec![0u8; 4 * ndims];
    let n = read_full(&mut reader, &mut dims_bytes).map_err(err)?;
    if n < dims_bytes.len() {
        return Err(truncated("header", header_len, 4 + n as u64));
    }
    let dims: Vec<u32> = dims_bytes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).collect();
    if let [_, rows, cols] = dims[..] {
        if (rows, cols) != (IMAGE_SIDE as u32, IMAGE_SIDE as u32) {
            return Err(DataError::Dimensions { file: file.to_owned(), rows, cols });
        }
    }
    let count = dims.first().copied().unwrap_or(0);
    let data_len = dims.iter().map(|&d| u64::from(d)).product::<u64>();
    let expected = header_len + data_len;

    let mut data = Vec::new();
    (&mut reader).take(data_len).read_to_end(&mut data).map_err(err)?;
    let found = header_len + data.len() as u64;
    if found < expected {
        return Err(truncated("header and data", expected, found));
    }
    let extra = io::copy(&mut reader, &mut io::sink()).map_err(err)?;
    if extra > 0 {
        return Err(DataError::TrailingData { file: file.to_owned(), expected, found: expected + extra });
    }
    Ok((count as usize, data))
}

/// Digits from a CSV file like the embedded one, decompressed if its name ends with `.gz`.
///
/// One digit per line: 784 pixel values `0..=255` (row-major), then the label `0..=9`,
/// separated by commas, without a header line. Blank lines are ignored.
pub fn load_csv(file: &Path) -> Result<Dataset, DataError> {
    let bytes = read_maybe_gz(file)?;
    parse_csv(&bytes, file)
}

/// Digits from the bytes of a CSV file, as [`load_csv`] reads the file, without touching
/// the file system: `name` names the data in errors and says how it is stored (gzipped if
/// it ends with `.gz`, plain text otherwise). No input makes it panic.
///
/// # Errors
/// A [`DataError`] naming `name`, as the file loader's.
pub fn parse_csv_bytes(bytes: &[u8], name: &Path) -> Result<Dataset, DataError> {
    if is_gz(name) {
        parse_csv_gz(bytes, name)
    } else {
        parse_csv(bytes, name)
    }
}

fn parse_csv_gz(bytes: &[u8], name: &Path) -> Result<Dataset, DataError> {
    parse_csv(&gunzip(bytes, name)?, name)
}

fn parse_csv(text: &[u8], file: &Path) -> Result<Dataset, DataError> {
    const FIELDS: usize = IMAGE_PIXELS + 1;
    let mut data = Dataset::default();
    let mut pixels = [0u8; IMAGE_PIXELS];
    for (line_index, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.trim_ascii().is_empty() {
            continue;
        }
        let csv_err = |column: usize, reason: &'static str, found: String| DataError::Csv {
            file: file.to_owned(),
            line: line_index + 1,
            column,
            reason,
            found,
        };
        let mut fields = line.split(|&b| b == b',');
        for column in 1..=FIELDS {
            let Some(field) = fields.next() else {
                return Err(csv_err(
                    column,
                    "expected 785 comma-separated fields (784 pixels and the label)",
                    "the end of the line".into(),
                ));
            };
            let Some(value) = parse_u8(field) else {
                return Err(csv_err(column, "expected an integer 0-255", shorten(field)));
            };
            if column <= IMAGE_PIXELS {
                pixels[column - 1] = value;
            } else if value as usize >= CLASSES {
                return Err(csv_err(column, "expected a label 0-9", shorten(field)));
            } else {
                data.push(&pixels, value);
            }
        }
        if let Some(extra) = fields.next() {
            return Err(csv_err(
                FIELDS + 1,
                "expected 785 fields (784 pixels and the label), the line has more",
                shorten(extra),
            ));
        }
    }
    Ok(data)
}

/// A decimal integer `0..=255`, surrounded by optional ASCII whitespace.
fn parse_u8(field: &[u8]) -> Option<u8> {
    let digits = field.trim_ascii();
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0u32, |v, &d| 10 * v + u32::from(d - b'0'));
    u8::try_from(v).ok()
}

/// A field for an error message: quoted, at most 20 characters.
fn shorten(field: &[u8]) -> String {
    let s = String::from_utf8_lossy(field);
    let mut out: String = s.chars().take(20).collect();
    if s.chars().count() > 20 {
        out.push('…');
    }
    format!("{out:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh, empty directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("bn-paper-mnist-{tag}-{}-{n}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
        fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    /// `n` images (image `i` filled with the value `i`) and the labels `i % 10`.
    fn images(n: u32) -> Vec<u8> {
        let data: Vec<u8> = (0..n).flat_map(|i| [i as u8; IMAGE_PIXELS]).collect();
        idx(IDX_IMAGES_MAGIC, &[n, 28, 28], &data)
    }

    fn labels(n: u32) -> Vec<u8> {
        idx(IDX_LABELS_MAGIC, &[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>())
    }

    /// A directory with a valid gzipped set of 3 training and 2 test digits.
    fn valid_dir(tag: &str) -> TempDir {
        let dir = TempDir::new(tag);
        dir.write("train-images-idx3-ubyte.gz", &gz(&images(3)));
        dir.write("train-labels-idx1-ubyte.gz", &gz(&labels(3)));
        dir.write("t10k-images-idx3-ubyte.gz", &gz(&images(2)));
        dir.write("t10k-labels-idx1-ubyte.gz", &gz(&labels(2)));
        dir
    }

    fn idx_error(dir: &TempDir) -> String {
        match load_idx_dir(&dir.0) {
            Ok((train, test)) => panic!("expected an error, loaded {} + {} digits", train.len(), test.len()),
            Err(e) => e.to_string(),
        }
    }

    fn assert_contains(msg: &str, parts: &[&str]) {
        for p in parts {
            assert!(msg.contains(p), "{msg:?} does not contain {p:?}");
        }
    }

    #[test]
    fn default_data_is_split_400_100_per_class() {
        let (train, test) = load_default().unwrap();
        assert_eq!((train.len(), test.len()), (4000, 1000));
        assert_eq!(train.images.len(), 4000 * IMAGE_PIXELS);
        assert_eq!(test.images.len(), 1000 * IMAGE_PIXELS);
        assert_eq!(train.class_counts(), [400; CLASSES]);
        assert_eq!(test.class_counts(), [100; CLASSES]);
        for set in [&train, &test] {
            assert!(set.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
            assert!(set.images.contains(&1.0) && set.images.contains(&0.0));
        }
        // Disjoint: no test image is a training image.
        let train_images: std::collections::HashSet<Vec<u32>> =
            train.iter().map(|(im, _)| im.iter().map(|p| p.to_bits()).collect()).collect();
        assert!(test.iter().all(|(im, _)| !train_images.contains(&im.iter().map(|p| p.to_bits()).collect::<Vec<_>>())));
        // Mean pixel near MNIST's 0.1307.
        let mean = train.images.iter().map(|&p| f64::from(p)).sum::<f64>() / train.images.len() as f64;
        assert!((mean - 0.1307).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn idx_gz_and_raw_files_load() {
        let dir = valid_dir("valid");
        // A raw file is used when there is no .gz one.
        std::fs::remove_file(dir.0.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        dir.write("t10k-labels-idx1-ubyte", &labels(2));
        // .gz wins over raw.
        dir.write("train-labels-idx1-ubyte", b"garbage");
        let (train, test) = load_idx_dir(&dir.0).unwrap();
        assert_eq!((train.len(), test.len()), (3, 2));
        assert_eq!(train.labels, [0, 1, 2]);
        assert_eq!(test.labels, [0, 1]);
        assert_eq!(train.image(2)[100], 2.0 / 255.0);
        assert_eq!(test.image(1)[783], 1.0 / 255.0);
    }

    #[test]
    fn missing_file_names_what_was_tried() {
        let dir = TempDir::new("missing");
        let msg = idx_error(&dir);
        assert_contains(&msg, &["not found", "train-images-idx3-ubyte.gz, ", "train-images-idx3-ubyte"]);
        let dir = valid_dir("missing2");
        std::fs::remove_file(dir.0.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        assert_contains(&idx_error(&dir), &["not found", "t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"]);
    }

    #[test]
    fn io_error_names_the_file() {
        let dir = valid_dir("io");
        // A directory where a file should be: found, but cannot be read.
        std::fs::remove_file(dir.0.join("train-labels-idx1-ubyte.gz")).unwrap();
        std::fs::create_dir(dir.0.join("train-labels-idx1-ubyte.gz")).unwrap();
        let err = load_idx_dir(&dir.0).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert!(err.source().is_some());
        assert_contains(&err.to_string(), &["train-labels-idx1-ubyte.gz: cannot read"]);
    }

    #[test]
    fn not_gzip_and_corrupt_gzip() {
        let dir = valid_dir("gzip");
        dir.write("train-images-idx3-ubyte.gz", &images(3));
        assert_contains(
            &idx_error(&dir),
            &["train-images-idx3-ubyte.gz: not a gzip file (it starts with hex \"00 00 08 03\", not 1f 8b)"],
        );

        // Cut short in the middle of the deflate stream.
        let full = gz(&images(3));
        dir.write("train-images-idx3-ubyte.gz", &full[..full.len() / 2]);
        assert_contains(&idx_error(&dir), &["train-images-idx3-ubyte.gz: corrupt gzip data"]);

        // A wrong CRC in the trailer.
        let mut bad = full.clone();
        let k = bad.len() - 8;
        bad[k] ^= 0xff;
        dir.write("train-images-idx3-ubyte.gz", &bad);
        assert_contains(&idx_error(&dir), &["train-images-idx3-ubyte.gz: corrupt gzip data"]);

        // Garbage after a valid header.
        let mut garbage = full[..10].to_vec();
        garbage.extend([0xff; 40]);
        dir.write("train-images-idx3-ubyte.gz", &garbage);
        assert_contains(&idx_error(&dir), &["train-images-idx3-ubyte.gz: corrupt gzip data"]);
    }

    #[test]
    fn bad_magic_is_reported_in_decimal() {
        let dir = valid_dir("magic");
        dir.write("train-images-idx3-ubyte.gz", &gz(&labels(3)));
        assert_contains(
            &idx_error(&dir),
            &["train-images-idx3-ubyte.gz: bad magic number 2049, expected 2051 (an IDX image file)"],
        );
        let dir = valid_dir("magic2");
        dir.write("t10k-labels-idx1-ubyte.gz", &gz(&images(2)));
        assert_contains(&idx_error(&dir), &["t10k-labels-idx1-ubyte.gz: bad magic number 2051, expected 2049"]);
        // A gzipped file without the .gz suffix.
        let dir = valid_dir("magic3");
        std::fs::remove_file(dir.0.join("train-images-idx3-ubyte.gz")).unwrap();
        dir.write("train-images-idx3-ubyte", &gz(&images(3)));
        assert_contains(&idx_error(&dir), &["bad magic number 529205248", "looks gzip-compressed"]);
    }

    #[test]
    fn images_must_be_28x28() {
        let dir = valid_dir("dims");
        dir.write("train-images-idx3-ubyte.gz", &gz(&idx(IDX_IMAGES_MAGIC, &[1, 32, 32], &[0; 1024])));
        assert_contains(&idx_error(&dir), &["train-images-idx3-ubyte.gz: images are 32x32, expected 28x28"]);
    }

    #[test]
    fn truncated_and_trailing_data() {
        let dir = valid_dir("trunc");
        let mut short = images(3);
        short.truncate(short.len() - 10);
        dir.write("train-images-idx3-ubyte.gz", &gz(&short));
        let expected = 16 + 3 * 784;
        assert_contains(
            &idx_error(&dir),
            &[
                &format!("train-images-idx3-ubyte.gz: truncated: expected {expected} bytes after decompression (header and data)"),
                &format!("found {}", expected - 10),
            ],
        );
        // Cut inside the header, raw file.
        std::fs::remove_file(dir.0.join("train-images-idx3-ubyte.gz")).unwrap();
        dir.write("train-images-idx3-ubyte", &images(3)[..10]);
        assert_contains(
            &idx_error(&dir),
            &["train-images-idx3-ubyte: truncated: expected 16 bytes (header), found 10"],
        );
        dir.write("train-images-idx3-ubyte", &images(3)[..2]);
        assert_contains(&idx_error(&dir), &["expected 4 bytes (header), found 2"]);
        // A header claiming 4 billion images does not allocate for them.
        dir.write("train-images-idx3-ubyte", &idx(IDX_IMAGES_MAGIC, &[u32::MAX, 28, 28], &[1, 2, 3]));
        assert_contains(&idx_error(&dir), &[&format!("expected {} bytes", 16 + u64::from(u32::MAX) * 784), "found 19"]);

        let dir = valid_dir("trailing");
        let mut long = labels(3);
        long.extend([0; 5]);
        dir.write("train-labels-idx1-ubyte.gz", &gz(&long));
        assert_contains(
            &idx_error(&dir),
            &["train-labels-idx1-ubyte.gz: trailing data: expected 11 bytes after decompression (header and data), found 16"],
        );
    }

    #[test]
    fn count_mismatch() {
        let dir = valid_dir("count");
        dir.write("t10k-labels-idx1-ubyte.gz", &gz(&labels(3)));
        assert_contains(
            &idx_error(&dir),
            &["t10k-images-idx3-ubyte.gz holds 2 images but", "t10k-labels-idx1-ubyte.gz holds 3 labels"],
        );
    }

    #[test]
    fn label_out_of_range() {
        let dir = valid_dir("label");
        dir.write("train-labels-idx1-ubyte.gz", &gz(&idx(IDX_LABELS_MAGIC, &[3], &[1, 10, 2])));
        assert_contains(
            &idx_error(&dir),
            &["train-labels-idx1-ubyte.gz: the label at index 1 is 10, expected a digit 0-9"],
        );
    }

    fn csv_line(pixel: &str, label: &str) -> String {
        let mut fields = vec![pixel.to_string(); IMAGE_PIXELS];
        fields.push(label.to_string());
        fields.join(",")
    }

    /// A valid line with field `column` (1-based) replaced by `value`.
    fn csv_line_with(column: usize, value: &str) -> String {
        let mut fields = vec!["1"; IMAGE_PIXELS + 1];
        fields[column - 1] = value;
        fields.join(",")
    }

    fn csv_error(dir: &TempDir, name: &str, text: &str) -> String {
        let file = dir.write(name, text.as_bytes());
        match load_csv(&file) {
            Ok(d) => panic!("expected an error, loaded {} digits", d.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn csv_loads_plain_and_gzipped() {
        let dir = TempDir::new("csv");
        let text = format!("{}\r\n{}\n\n", csv_line("255", "3"), csv_line(" 0 ", "9"));
        let plain = load_csv(&dir.write("a.csv", text.as_bytes())).unwrap();
        let gzipped = load_csv(&dir.write("a.csv.gz", &gz(text.as_bytes()))).unwrap();
        assert_eq!(plain, gzipped);
        assert_eq!(plain.labels, [3, 9]);
        assert_eq!(plain.image(0), &[1.0; IMAGE_PIXELS]);
        assert_eq!(plain.image(1), &[0.0; IMAGE_PIXELS]);
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let dir = TempDir::new("csverr");
        let good = csv_line("1", "1");
        let msg = csv_error(&dir, "p.csv", &format!("{good}\n{}\n", csv_line_with(3, "x7")));
        assert_contains(&msg, &["p.csv: line 2, column 3: expected an integer 0-255, found \"x7\""]);

        let msg = csv_error(&dir, "big.csv", &format!("{good}\n\n{}\n", csv_line("256", "1")));
        assert_contains(&msg, &["big.csv: line 3, column 1: expected an integer 0-255, found \"256\""]);

        let msg = csv_error(&dir, "neg.csv", &csv_line("-1", "1"));
        assert_contains(&msg, &["line 1, column 1", "found \"-1\""]);

        let msg = csv_error(&dir, "label.csv", &csv_line("0", "12"));
        assert_contains(&msg, &["label.csv: line 1, column 785: expected a label 0-9, found \"12\""]);

        let msg = csv_error(&dir, "short.csv", &vec!["0"; IMAGE_PIXELS].join(","));
        assert_contains(&msg, &["short.csv: line 1, column 785: expected 785", "found the end of the line"]);

        let msg = csv_error(&dir, "long.csv", &format!("{good},5"));
        assert_contains(&msg, &["long.csv: line 1, column 786", "has more, found \"5\""]);

        let header: Vec<String> = (0..IMAGE_PIXELS).map(|i| format!("pixel{i}")).chain(["label".into()]).collect();
        let msg = csv_error(&dir, "header.csv", &format!("{}\n{good}\n", header.join(",")));
        assert_contains(&msg, &["header.csv: line 1, column 1: expected an integer 0-255, found \"pixel0\""]);

        let msg = csv_error(&dir, "semi.csv", &good.replace(',', ";"));
        assert_contains(&msg, &["line 1, column 1", "…"]);

        let file = dir.write("x.csv.gz", good.as_bytes());
        assert_contains(&load_csv(&file).unwrap_err().to_string(), &["x.csv.gz: not a gzip file"]);
        let msg = load_csv(&dir.0.join("nope.csv")).unwrap_err().to_string();
        assert_contains(&msg, &["nope.csv: cannot read"]);
    }

    #[test]
    fn errors_never_panic_on_random_bytes() {
        let dir = valid_dir("fuzz");
        let mut rng = bn_core::Rng::seed(3);
        for len in [0usize, 1, 3, 4, 7, 8, 15, 16, 17, 100, 900] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
                dir.write(name, &bytes);
                assert!(load_idx_dir(&dir.0).is_err());
                dir.write(name, &gz(&bytes));
                assert!(load_idx_dir(&dir.0).is_err());
            }
            let _ = load_csv(&dir.write("r.csv", &bytes));
            let _ = load_csv(&dir.write("r.csv.gz", &bytes));
        }
    }

    #[test]
    fn bytes_entry_points_equal_the_file_loaders() {
        let dir = valid_dir("bytes");
        let (train, _) = load_idx_dir(&dir.0).unwrap();
        let (img, lab) = (Path::new("train-images-idx3-ubyte.gz"), Path::new("train-labels-idx1-ubyte.gz"));
        assert_eq!(parse_idx(&gz(&images(3)), img, &gz(&labels(3)), lab).unwrap(), train);
        let raw = parse_idx(&images(3), Path::new("i"), &labels(3), Path::new("l")).unwrap();
        assert_eq!(raw, train);
        // Errors name the data as the file loader names the file.
        let err = parse_idx(&images(3), Path::new("i"), &labels(2), Path::new("l")).unwrap_err().to_string();
        assert_contains(&err, &["i holds 3 images but l holds 2 labels"]);
        let err = parse_idx(&images(3), img, &labels(3), lab).unwrap_err().to_string();
        assert_contains(&err, &["train-images-idx3-ubyte.gz: not a gzip file"]);
        let err = parse_idx(&images(3)[..10], Path::new("i"), &labels(3), Path::new("l")).unwrap_err().to_string();
        assert_contains(&err, &["i: truncated: expected 16 bytes (header), found 10"]);

        let text = format!("{}\n{}\n", csv_line("255", "3"), csv_line("0", "9"));
        let csv = TempDir::new("bytescsv");
        let from_file = load_csv(&csv.write("a.csv", text.as_bytes())).unwrap();
        assert_eq!(parse_csv_bytes(text.as_bytes(), Path::new("a.csv")).unwrap(), from_file);
        assert_eq!(parse_csv_bytes(&gz(text.as_bytes()), Path::new("a.csv.gz")).unwrap(), from_file);
        let err = parse_csv_bytes(b"1,2", Path::new("x.csv")).unwrap_err().to_string();
        assert_contains(&err, &["x.csv: line 1, column 3: expected 785"]);
    }

    #[test]
    fn full_mnist_from_shared_data_if_present() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
        if !dir.is_dir() {
            eprintln!("skipped: {} does not exist", dir.display());
            return;
        }
        let (train, test) = load_idx_dir(&dir).unwrap();
        assert_eq!((train.len(), test.len()), (60000, 10000));
        assert_eq!(train.images.len(), 60000 * IMAGE_PIXELS);
        assert_eq!(&train.labels[..5], [5, 0, 4, 1, 9]);
        assert_eq!(&test.labels[..3], [7, 2, 1]);
        let mean = train.images.iter().map(|&p| f64::from(p)).sum::<f64>() / train.images.len() as f64;
        assert!((mean - 0.13066).abs() < 1e-4, "mean {mean}");
        // The embedded set is the first 500 of each class of the training set.
        let (small_train, _) = load_default().unwrap();
        let first_zero = train.labels.iter().position(|&l| l == 0).unwrap();
        assert_eq!(small_train.image(0), train.image(first_zero));
    }
}
