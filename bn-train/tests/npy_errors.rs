//! The `.npy` loader: numpy's files (`tests/fixtures/`, written by `tools/npy_fixtures.py`)
//! and hand-built bytes, and every error naming the file.

use std::path::{Path, PathBuf};

use bn_train::{load_npy, parse_npy, DataError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A version 1.0 `.npy` file: magic, version, header (padded to 64 bytes), data.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend(data);
    v
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn labels(n: usize) -> Vec<u8> {
    npy("<i8", false, &format!("({n},)"), &(0..n as i64).flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>())
}

fn err(samples: &[u8], labels: &[u8]) -> String {
    match parse_npy(samples, Path::new("x.npy"), labels, Path::new("y.npy")) {
        Ok(d) => panic!("expected an error, loaded {} samples", d.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn numpy_files_load() {
    let expected: Vec<f32> = (0..4).flat_map(|i| (0..6).map(move |j| (10 * i + j) as f32)).collect();
    for x in ["x_f32.npy", "x_f64_be.npy", "x_u8.npy"] {
        for y in ["y_i64.npy", "y_u8_column.npy"] {
            let d = load_npy(&fixture(x), &fixture(y)).unwrap_or_else(|e| panic!("{x}, {y}: {e}"));
            assert_eq!((d.len(), d.width()), (4, 6), "{x}");
            assert_eq!(d.samples(), expected, "{x}");
            assert_eq!(d.labels(), [3, 1, 4, 1]);
        }
    }
}

#[test]
fn wrong_dtype() {
    let e = load_npy(&fixture("x_f16.npy"), &fixture("y_i64.npy")).unwrap_err().to_string();
    assert!(
        e.ends_with("x_f16.npy: the array's dtype is '<f2', expected float32 (<f4), float64 (<f8) or uint8 (|u1)"),
        "{e}"
    );
    let e = load_npy(&fixture("x_f32.npy"), &fixture("y_f32.npy")).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "y_f32.npy: the array's dtype is '<f4', expected an integer dtype (int8 to int64, uint8 to uint64)"
        ),
        "{e}"
    );
    assert!(err(&npy("<i4", false, "(1, 1)", &[0; 4]), &labels(1)).contains("dtype is '<i4'"));
    assert!(err(&npy("|b1", false, "(1, 1)", &[0]), &labels(1))
        .contains("x.npy: the array's dtype is '|b1', expected a numeric dtype"));
}

#[test]
fn fortran_order() {
    let e = load_npy(&fixture("x_fortran.npy"), &fixture("y_i64.npy")).unwrap_err();
    assert!(matches!(e, DataError::FortranOrder { .. }));
    assert!(e
        .to_string()
        .ends_with("x_fortran.npy: the array is in Fortran order; save a C-order array (numpy.ascontiguousarray)"));
    // One dimension: the same bytes in either order.
    assert!(
        parse_npy(&npy("<f4", true, "(2,)", &f32s(&[1.0, 2.0])), Path::new("x"), &labels(2), Path::new("y")).is_ok()
    );
}

#[test]
fn truncated_and_trailing() {
    let good = npy("<f4", false, "(2, 3)", &f32s(&[0.0; 6]));
    assert!(parse_npy(&good, Path::new("x"), &labels(2), Path::new("y")).is_ok());
    let header_len = good.len() - 24;
    assert_eq!(
        err(&good[..good.len() - 1], &labels(2)),
        format!("x.npy: truncated: expected {} bytes (data), found {}", good.len(), good.len() - 1)
    );
    assert_eq!(
        err(&good[..40], &labels(2)),
        format!("x.npy: truncated: expected {header_len} bytes (header), found 40")
    );
    assert_eq!(err(&good[..3], &labels(2)), "x.npy: truncated: expected 10 bytes (header), found 3");
    let mut long = good.clone();
    long.push(0);
    assert!(err(&long, &labels(2)).starts_with("x.npy: trailing data"));
    let e = load_npy(&fixture("x_f32.npy"), Path::new("/nonexistent/y.npy")).unwrap_err().to_string();
    assert!(e.starts_with("/nonexistent/y.npy: cannot read"), "{e}");
}

#[test]
fn malformed_headers() {
    assert_eq!(
        err(b"PK\x03\x04 a zip file", &labels(1)),
        "x.npy: not a valid .npy file: it does not start with the magic bytes \\x93NUMPY"
    );
    let mut v9 = npy("<f4", false, "(1, 1)", &[0; 4]);
    v9[6] = 9;
    assert!(err(&v9, &labels(1)).contains("unknown format version 9"));
    assert!(err(&npy("<f4", false, "(-1, 1)", &[]), &labels(1)).contains("is not a size"));
    assert!(err(&npy("<f4", false, "'a'", &[]), &labels(1)).contains("is not a tuple"));
    let huge = npy("<f4", false, "(4294967296, 4294967296, 4294967296)", &[]);
    assert!(err(&huge, &labels(1))
        .contains("the array's shape is [4294967296, 4294967296, 4294967296], expected fewer elements"));
    // Zero samples, and a zero beside huge dimensions (npyz would overflow computing strides).
    assert_eq!(err(&npy("<f4", false, "(0, 3)", &[]), &labels(0)), "x.npy: no samples: an array of 0 samples");
    assert!(
        err(&npy("<f4", false, "(0, 4294967296, 4294967296, 4294967296)", &[]), &labels(0)).contains("fewer elements")
    );
    assert!(err(&npy("<f4", false, "()", &[0; 4]), &labels(1)).contains("expected [samples, features…]"));
}

/// Headers that would make the Python-literal parser run for minutes are refused before it
/// runs: `nested_header.npy` is what the `npy` fuzz target found (18 nested `{`, over 10
/// minutes to parse before the bound), and a long header is refused as numpy refuses it.
#[test]
fn headers_too_deep_or_too_long() {
    let nested = std::fs::read(fixture("nested_header.npy")).unwrap();
    assert_eq!(
        err(&nested, &labels(1)),
        "x.npy: not a valid .npy file: its header opens 19 brackets; a plain array's opens 2 (its \
         dictionary and its shape), structured dtypes are not read"
    );
    let deep = npy("<f4", false, &format!("{}1,{}", "(".repeat(40), ")".repeat(40)), &[0; 4]);
    assert!(err(&deep, &labels(1)).contains("its header opens 41 brackets"));
    // Three brackets are still read (a list inside the shape is not numpy's but parses).
    let three = npy("<f4", false, "([1], 1)", &[0; 4]);
    assert!(err(&three, &labels(1)).contains("the dimension [1] is not an integer"));
    let mut long = npy("<f4", false, "(1, 1)", &[0; 4]);
    let pad = vec![b' '; 10_000];
    let at = long.len() - 5; // before the header's final newline
    long.splice(at..at, pad);
    let len = u16::from_le_bytes([long[8], long[9]]) + 10_000;
    long[8..10].copy_from_slice(&len.to_le_bytes());
    assert_eq!(
        err(&long, &labels(1)),
        format!(
            "x.npy: not a valid .npy file: its header is {len} bytes, more than the 10000 numpy reads \
             by default (max_header_size)"
        )
    );
}

#[test]
fn shape_mismatch_and_bad_labels() {
    let x = npy("<f4", false, "(2, 28, 28)", &f32s(&[0.5; 2 * 784]));
    let d = parse_npy(&x, Path::new("x"), &labels(2), Path::new("y")).unwrap();
    assert_eq!(d.width(), 784);
    assert_eq!(err(&x, &labels(3)), "x.npy holds 2 samples but y.npy holds 3 labels");
    let y2d = npy("<i8", false, "(2, 2)", &[0; 32]);
    assert_eq!(err(&x, &y2d), "y.npy: the array's shape is [2, 2], expected [samples] or [samples, 1]");
    let negative = npy("<i4", false, "(2,)", &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(err(&x, &negative), "y.npy: index 1: the label -1 is not a class index (an integer 0 to 4294967295)");
}

#[test]
fn nan_is_refused() {
    let x = npy("<f4", false, "(2, 3)", &f32s(&[0.0, 1.0, 2.0, 3.0, f32::NAN, 5.0]));
    assert_eq!(
        err(&x, &labels(2)),
        "x.npy: sample 1, feature 1 (0-based, as numpy indexes): NaN is not finite (NaN and infinities are refused)"
    );
    let big = npy("<f8", false, "(1, 1)", &1e300f64.to_le_bytes());
    assert!(err(&big, &labels(1)).contains("sample 0, feature 0 (0-based, as numpy indexes): inf is not finite"));
}

#[test]
fn never_panics_on_corrupted_files() {
    let good = npy("<f4", false, "(2, 3)", &f32s(&[1.0; 6]));
    let mut rng = bn_core::Rng::seed(5);
    for _ in 0..2000 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(4) {
            let k = rng.below(bytes.len());
            bytes[k] = rng.below(256) as u8;
        }
        bytes.truncate(rng.below(bytes.len() + 1).max(bytes.len() - rng.below(8)));
        let _ = parse_npy(&bytes, Path::new("x"), &labels(2), Path::new("y"));
        let _ = parse_npy(&good, Path::new("x"), &bytes, Path::new("y"));
    }
}
