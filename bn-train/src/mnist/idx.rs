//! The IDX files of the original MNIST distribution: a big-endian `u32` magic number (2051
//! for images, 2049 for labels), one big-endian `u32` per dimension (count, rows, columns
//! for images; count for labels), then the `u8` data, row-major.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::gzip::{check_gzip, is_gz};
use super::{DataError, Dataset, CLASSES, IMAGE_PIXELS, IMAGE_SIDE};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// The IDX file names of the original MNIST distribution, without the `.gz` suffix.
pub const IDX_FILES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

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
    let mut data = Dataset::with_capacity(IMAGE_PIXELS, label_count);
    for (image, &label) in pixels.chunks_exact(IMAGE_PIXELS).zip(labels.iter()) {
        data.push_map(image, u32::from(label), |p| f32::from(p) / 255.0);
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
