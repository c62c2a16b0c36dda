//! The loaders' tests: the default split, every [`DataError`] on files built here, the
//! byte entry points against the file loaders, and full MNIST where it is present.

use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::*;

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("bn-train-mnist-{tag}-{}-{n}-{nanos}", std::process::id()));
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
    assert_eq!(train.samples().len(), 4000 * IMAGE_PIXELS);
    assert_eq!(test.samples().len(), 1000 * IMAGE_PIXELS);
    assert_eq!(train.class_counts(CLASSES), [400; CLASSES]);
    assert_eq!(test.class_counts(CLASSES), [100; CLASSES]);
    for set in [&train, &test] {
        assert!(set.samples().iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert!(set.samples().contains(&1.0) && set.samples().contains(&0.0));
    }
    // Disjoint: no test image is a training image.
    let train_images: std::collections::HashSet<Vec<u32>> =
        train.iter().map(|(im, _)| im.iter().map(|p| p.to_bits()).collect()).collect();
    assert!(test.iter().all(|(im, _)| !train_images.contains(&im.iter().map(|p| p.to_bits()).collect::<Vec<_>>())));
    // Mean pixel near MNIST's 0.1307.
    let mean = train.samples().iter().map(|&p| f64::from(p)).sum::<f64>() / train.samples().len() as f64;
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
    assert_eq!(train.labels(), [0, 1, 2]);
    assert_eq!(test.labels(), [0, 1]);
    assert_eq!(train.sample(2)[100], 2.0 / 255.0);
    assert_eq!(test.sample(1)[783], 1.0 / 255.0);
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
    assert_contains(&idx_error(&dir), &["train-images-idx3-ubyte: truncated: expected 16 bytes (header), found 10"]);
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
    assert_eq!(plain.labels(), [3, 9]);
    assert_eq!(plain.sample(0), &[1.0; IMAGE_PIXELS]);
    assert_eq!(plain.sample(1), &[0.0; IMAGE_PIXELS]);
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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist");
    if !dir.is_dir() {
        eprintln!("skipped: {} does not exist", dir.display());
        return;
    }
    let (train, test) = load_idx_dir(&dir).unwrap();
    assert_eq!((train.len(), test.len()), (60000, 10000));
    assert_eq!(train.samples().len(), 60000 * IMAGE_PIXELS);
    assert_eq!(&train.labels()[..5], [5, 0, 4, 1, 9]);
    assert_eq!(&test.labels()[..3], [7, 2, 1]);
    let mean = train.samples().iter().map(|&p| f64::from(p)).sum::<f64>() / train.samples().len() as f64;
    assert!((mean - 0.13066).abs() < 1e-4, "mean {mean}");
    // The embedded set is the first 500 of each class of the training set.
    let (small_train, _) = load_default().unwrap();
    let first_zero = train.labels().iter().position(|&l| l == 0).unwrap();
    assert_eq!(small_train.sample(0), train.sample(first_zero));
}
