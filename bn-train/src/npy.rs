//! Labelled samples from numpy's `.npy` files: one array of samples, one of labels.
//!
//! - **Samples**: `float32`, `float64` or `uint8`, C order, shape `[n, …]`: sample `i` is
//!   `x[i]` flattened in C order (`[n, 784]`, `[n, 28, 28]` and `[n, 1, 28, 28]` all give
//!   samples of 784 features; a 1-D array gives samples of one feature). `float64` values
//!   are rounded to `f32`; `uint8` values are converted as they are (`0..=255`, **not**
//!   scaled: standardize them, [`crate::Standardizer`]). NaN and infinities are refused.
//! - **Labels**: any integer dtype (`int8`…`int64`, `uint8`…`uint64`), shape `[n]` or
//!   `[n, 1]`, each a class index `0..2³²`.
//!
//! Both byte orders are read. The header is parsed by npyz (and its shape checked here
//! first, so that no shape makes it overflow); headers over 10 000 bytes (numpy's own limit)
//! or with more than 3 brackets are refused before parsing, as parsing time grows
//! exponentially with nesting. Every error names the file.
//!
//! From numpy:
//!
//! ```python
//! np.save("x.npy", X.astype(np.float32))   # [n, features] (or [n, 28, 28], …)
//! np.save("y.npy", y.astype(np.int64))     # [n] class indices
//! ```

use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};
use py_literal::Value;

use crate::{DataError, Dataset};

/// The longest header read: numpy's own default `max_header_size` (numpy writes headers of
/// 64 to 128 bytes for plain arrays).
const MAX_HEADER_LEN: usize = 10_000;
/// The most opening brackets a header may hold, in or out of strings: numpy's header of a
/// plain array holds 2. Parsing time grows exponentially with nesting, so this bounds it
/// (3 brackets and 10 000 bytes parse in under 0.1 s in the worst case measured).
const MAX_HEADER_BRACKETS: usize = 3;
/// The dtypes [`load_npy`] reads for samples.
const SAMPLE_DTYPES: &str = "float32 (<f4), float64 (<f8) or uint8 (|u1)";
/// The dtypes [`load_npy`] reads for labels.
const LABEL_DTYPES: &str = "an integer dtype (int8 to int64, uint8 to uint64)";

/// Labelled samples from a `.npy` file of samples and one of labels (see the
/// [module](self) for the dtypes and shapes).
///
/// # Errors
/// [`DataError::Io`] naming the file that cannot be read, and those of [`parse_npy`].
pub fn load_npy(samples: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let read = |file: &Path| std::fs::read(file).map_err(|source| DataError::Io { file: file.to_owned(), source });
    parse_npy(&read(samples)?, samples, &read(labels)?, labels)
}

/// [`load_npy`] from bytes in memory; `samples_name` and `labels_name` name them in errors.
/// Never panics, and allocates no more than the bytes hold.
///
/// # Errors
/// A [`DataError`] naming the array concerned: [`NpyHeader`](DataError::NpyHeader) (no
/// magic bytes, an unknown version, a malformed header),
/// [`Truncated`](DataError::Truncated) and [`TrailingData`](DataError::TrailingData) (fewer
/// or more data bytes than the shape says), [`NpyDtype`](DataError::NpyDtype),
/// [`FortranOrder`](DataError::FortranOrder), [`NpyShape`](DataError::NpyShape),
/// [`Empty`](DataError::Empty) (no samples), [`NotFinite`](DataError::NotFinite),
/// [`BadLabel`](DataError::BadLabel) (a negative or too large label),
/// [`LengthMismatch`](DataError::LengthMismatch).
pub fn parse_npy(samples: &[u8], samples_name: &Path, labels: &[u8], labels_name: &Path) -> Result<Dataset, DataError> {
    let (n, width, values) = read_samples(samples, samples_name)?;
    let classes = read_labels(labels, labels_name)?;
    if classes.len() != n {
        return Err(DataError::LengthMismatch {
            samples: samples_name.to_owned(),
            sample_count: n,
            labels: labels_name.to_owned(),
            label_count: classes.len(),
        });
    }
    Dataset::from_parts(width, values, classes)
}

/// The samples of a `.npy` array: their number, their width and their values.
///
/// # Errors
/// As [`parse_npy`].
pub fn read_samples(bytes: &[u8], name: &Path) -> Result<(usize, usize, Vec<f32>), DataError> {
    let array = Array::parse(bytes, name)?;
    let Some((&n, rest)) = array.shape.split_first() else {
        return Err(array.shape_error("[samples, features…]"));
    };
    let width = rest.iter().product::<u64>();
    let (Ok(n), Ok(width)) = (usize::try_from(n), usize::try_from(width)) else {
        return Err(array.shape_error("[samples, features…]"));
    };
    if n == 0 {
        return Err(DataError::Empty { file: name.to_owned(), what: "an array of 0 samples" });
    }
    let npy = array.file;
    let values: Vec<f32> = match (array.kind, array.size) {
        (TypeChar::Float, 4) => npy.into_vec::<f32>(),
        (TypeChar::Float, 8) => npy.into_vec::<f64>().map(|v| v.into_iter().map(|x| x as f32).collect()),
        (TypeChar::Uint, 1) => npy.into_vec::<u8>().map(|v| v.into_iter().map(f32::from).collect()),
        _ => return Err(DataError::NpyDtype { file: name.to_owned(), found: array.descr, expected: SAMPLE_DTYPES }),
    }
    .map_err(|e| DataError::NpyHeader { file: name.to_owned(), message: e.to_string() })?;
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        // A value exists, so `width ≥ 1`.
        let w = width.max(1);
        let at = format!("sample {}, feature {} (0-based, as numpy indexes)", k / w, k % w);
        return Err(DataError::NotFinite { file: name.to_owned(), at, found: values[k].to_string() });
    }
    Ok((n, width, values))
}

/// The class labels of a `.npy` array of integers, shape `[n]` or `[n, 1]`.
///
/// # Errors
/// As [`parse_npy`].
pub fn read_labels(bytes: &[u8], name: &Path) -> Result<Vec<u32>, DataError> {
    let array = Array::parse(bytes, name)?;
    if !matches!(array.shape[..], [_] | [_, 1]) {
        return Err(array.shape_error("[samples] or [samples, 1]"));
    }
    let file = array.file;
    let wide: Vec<i128> = match (array.kind, array.size) {
        (TypeChar::Int, 1) => file.into_vec::<i8>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Int, 2) => file.into_vec::<i16>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Int, 4) => file.into_vec::<i32>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Int, 8) => file.into_vec::<i64>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Uint, 1) => file.into_vec::<u8>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Uint, 2) => file.into_vec::<u16>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Uint, 4) => file.into_vec::<u32>().map(|v| v.into_iter().map(i128::from).collect()),
        (TypeChar::Uint, 8) => file.into_vec::<u64>().map(|v| v.into_iter().map(i128::from).collect()),
        _ => return Err(DataError::NpyDtype { file: name.to_owned(), found: array.descr, expected: LABEL_DTYPES }),
    }
    .map_err(|e| DataError::NpyHeader { file: name.to_owned(), message: e.to_string() })?;
    wide.iter()
        .enumerate()
        .map(|(i, &l)| {
            u32::try_from(l).map_err(|_| DataError::BadLabel {
                file: name.to_owned(),
                at: format!("index {i}"),
                found: l.to_string(),
            })
        })
        .collect()
}

/// A `.npy` array whose header is checked: a plain dtype, C order (or one dimension), and
/// exactly as many data bytes as the shape and dtype say.
struct Array<'a> {
    file: NpyFile<&'a [u8]>,
    name: &'a Path,
    shape: Vec<u64>,
    kind: TypeChar,
    size: u64,
    descr: String,
}

impl<'a> Array<'a> {
    fn parse(bytes: &'a [u8], name: &'a Path) -> Result<Self, DataError> {
        let header_err = |message: String| DataError::NpyHeader { file: name.to_owned(), message };
        let truncated = |part, expected: usize, found: usize| DataError::Truncated {
            file: name.to_owned(),
            part,
            expected: expected as u64,
            found: found as u64,
        };
        const MAGIC: &[u8] = b"\x93NUMPY";
        if !bytes.starts_with(MAGIC) {
            if MAGIC.starts_with(bytes) {
                return Err(truncated("header", 10, bytes.len()));
            }
            return Err(header_err("it does not start with the magic bytes \\x93NUMPY".into()));
        }
        // The version, then the header's length: 2 bytes (version 1) or 4 (versions 2 and 3).
        let len_bytes = match bytes.get(6) {
            Some(1) => 2,
            Some(2 | 3) => 4,
            Some(v) => return Err(header_err(format!("unknown format version {v}"))),
            None => return Err(truncated("header", 10, bytes.len())),
        };
        let start = 8 + len_bytes;
        let Some(len) = bytes.get(8..start) else {
            return Err(truncated("header", start, bytes.len()));
        };
        let len = len.iter().rev().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let end = start + len;
        let Some(text) = bytes.get(start..end) else {
            return Err(truncated("header", end, bytes.len()));
        };
        // Bound the header before any Python-literal parsing (ours, then npyz's): py_literal's
        // parser takes time exponential in the nesting depth (15 unclosed `{` take seconds).
        if len > MAX_HEADER_LEN {
            return Err(header_err(format!(
                "its header is {len} bytes, more than the {MAX_HEADER_LEN} numpy reads by default (max_header_size)"
            )));
        }
        let brackets = text.iter().filter(|b| matches!(b, b'(' | b'[' | b'{')).count();
        if brackets > MAX_HEADER_BRACKETS {
            return Err(header_err(format!(
                "its header opens {brackets} brackets; a plain array's opens 2 (its dictionary and \
                 its shape), structured dtypes are not read"
            )));
        }
        let shape = shape_of(text).map_err(header_err)?;
        // No product of dimensions may overflow (npyz multiplies them).
        let elements = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d.max(1)));
        let too_large =
            || DataError::NpyShape { file: name.to_owned(), shape: shape.clone(), expected: "fewer elements" };
        let elements = elements.ok_or_else(too_large)?;
        let elements = if shape.contains(&0) { 0 } else { elements };

        let file = NpyFile::new(bytes).map_err(|e| header_err(e.to_string()))?;
        let dtype = file.dtype();
        let descr = dtype.descr();
        if file.order() == Order::Fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(DataError::FortranOrder { file: name.to_owned() });
        }
        let DType::Plain(ty) = dtype else {
            return Err(DataError::NpyDtype { file: name.to_owned(), found: descr, expected: "a plain numeric dtype" });
        };
        let (kind, size) = (ty.type_char(), ty.size_field());
        if !matches!(kind, TypeChar::Int | TypeChar::Uint | TypeChar::Float) || !matches!(size, 1 | 2 | 4 | 8) {
            return Err(DataError::NpyDtype { file: name.to_owned(), found: descr, expected: "a numeric dtype" });
        }
        let data_len = elements.checked_mul(size).and_then(|b| usize::try_from(b).ok()).ok_or_else(too_large)?;
        let expected = end.checked_add(data_len).ok_or_else(too_large)?;
        if bytes.len() < expected {
            return Err(truncated("data", expected, bytes.len()));
        }
        if bytes.len() > expected {
            return Err(DataError::TrailingData {
                file: name.to_owned(),
                expected: expected as u64,
                found: bytes.len() as u64,
            });
        }
        Ok(Array { file, name, shape, kind, size, descr })
    }

    fn shape_error(&self, expected: &'static str) -> DataError {
        DataError::NpyShape { file: self.name.to_owned(), shape: self.shape.clone(), expected }
    }
}

/// The `shape` entry of a header's dictionary.
fn shape_of(text: &[u8]) -> Result<Vec<u64>, String> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let text = std::str::from_utf8(text).map_err(|_| "the header is not UTF-8 text".to_string())?;
    let value: Value = text.parse().map_err(|e| format!("the header is not a Python literal: {e}"))?;
    let Value::Dict(entries) = value else {
        return Err("the header is not a dictionary".into());
    };
    let shape = entries
        .iter()
        .find(|(k, _)| matches!(k, Value::String(s) if s == "shape"))
        .map(|(_, v)| v)
        .ok_or("the header has no shape")?;
    let (Value::Tuple(dims) | Value::List(dims)) = shape else {
        return Err(format!("the shape {shape} is not a tuple"));
    };
    dims.iter()
        .map(|d| match d {
            Value::Integer(i) => u64::try_from(i).map_err(|_| format!("the dimension {i} is not a size")),
            other => Err(format!("the dimension {other} is not an integer")),
        })
        .collect()
}
