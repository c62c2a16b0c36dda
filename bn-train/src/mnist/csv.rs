//! The CSV format of the embedded set: one digit per line, 784 pixel values `0..=255`
//! (row-major), then the label `0..=9`, separated by commas, without a header line.

use std::path::Path;

use super::gzip::{gunzip, is_gz, read_maybe_gz};
use super::{DataError, Dataset, CLASSES, IMAGE_PIXELS};

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

pub(super) fn parse_csv_gz(bytes: &[u8], name: &Path) -> Result<Dataset, DataError> {
    parse_csv(&gunzip(bytes, name)?, name)
}

fn parse_csv(text: &[u8], file: &Path) -> Result<Dataset, DataError> {
    const FIELDS: usize = IMAGE_PIXELS + 1;
    let mut data = Dataset::new(IMAGE_PIXELS);
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
                data.push_map(&pixels, u32::from(value), |p| f32::from(p) / 255.0);
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
