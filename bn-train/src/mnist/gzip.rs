//! gzip: the optional compression of both formats (a `.gz` suffix says a file is gzipped).

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::DataError;

pub(crate) fn is_gz(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "gz")
}

/// The bytes of `file`, decompressed if its name ends with `.gz`.
pub(super) fn read_maybe_gz(file: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(file).map_err(|source| DataError::Io { file: file.to_owned(), source })?;
    if !is_gz(file) {
        return Ok(raw);
    }
    gunzip(&raw, file)
}

/// Checks the gzip magic bytes.
pub(super) fn check_gzip(bytes: &[u8], file: &Path) -> Result<(), DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Ok(())
    } else {
        Err(DataError::NotGzip { file: file.to_owned(), found: bytes.iter().take(4).copied().collect() })
    }
}

/// Decompresses `bytes` (all gzip members).
pub(crate) fn gunzip(bytes: &[u8], file: &Path) -> Result<Vec<u8>, DataError> {
    check_gzip(bytes, file)?;
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip { file: file.to_owned(), source })?;
    Ok(out)
}
