//! The PyTorch fixtures (`tests/fixtures/pytorch/`, written by `tools/pytorch_interop*.py`)
//! and the comparisons of the parity tests.

use std::path::{Path, PathBuf};

use super::files::f32s;

/// The tolerance of outputs computed from the same weights (eval, folded, one training
/// forward): relative, with a floor for values near zero (as the scripts').
pub const REL: f32 = 1e-5;
/// The floor of [`max_rel`]'s denominator.
pub const FLOOR: f32 = 1e-3;

/// The path of a fixture.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pytorch").join(name)
}

/// A file's bytes; a missing file panics with its path.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Raw little-endian f32s, `cols` per row.
pub fn rows(bytes: &[u8], cols: usize) -> Vec<Vec<f32>> {
    let values = f32s(bytes);
    assert_eq!(values.len() % cols, 0);
    values.chunks(cols).map(<[f32]>::to_vec).collect()
}

/// The inputs of a fixture (`inputs.bin`, `cnn_inputs.bin`): samples of `N` f32s.
pub fn inputs<const N: usize>(name: &str) -> Vec<[f32; N]> {
    rows(&read(&fixture(name)), N).into_iter().map(|r| r.try_into().unwrap()).collect()
}

/// The largest relative difference (with the [`FLOOR`]) between two sets of values.
pub fn max_rel(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).map(|(a, b)| (a - b).abs() / b.abs().max(FLOOR)).fold(0.0, f32::max)
}

/// [`max_rel`] over rows of outputs (the same number of rows, each of the same width).
pub fn max_rel_rows(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).map(|(g, w)| max_rel(g, w)).fold(0.0, f32::max)
}

/// Prints and checks one comparison; returns the measured difference.
pub fn check(what: &str, got: &[f32], want: &[f32], tol: f32) -> f32 {
    let err = max_rel(got, want);
    println!("{what}: max relative difference {err:.2e} (tolerance {tol:.0e})");
    assert!(err <= tol, "{what}: {err} > {tol}");
    err
}

/// Rows of values as little-endian bytes (what the scripts' `--check-rust` mode reads).
pub fn le_bytes(rows: &[Vec<f32>]) -> Vec<u8> {
    rows.iter().flatten().flat_map(|v| v.to_le_bytes()).collect()
}
