//! Writes the checked-in seeds, `fuzz/seeds/<target>/`, from the project's real files:
//! the PyTorch fixtures (`tests/fixtures/pytorch/`) and the embedded MNIST subset
//! (`bn-train/data/mnist_5k.csv.gz`), and small CSV and `.npy` files written here.
//! Deterministic; small (about 70 KB in all).
//!
//! ```sh
//! cargo +nightly run --manifest-path fuzz/Cargo.toml --bin make_seeds
//! ```

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bn_core::PlainData;
use bn_fuzz::{Interop, InteropCnn, InteropCnnFolded, InteropFolded};
use bn_train::mnist::{self, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IMAGE_PIXELS};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The samples of width `W` in a fixture's inputs (little-endian `f32`s).
fn calibration<W: bn_core::generic_array::ArrayLength>(bytes: &[u8]) -> Vec<bn_core::Vector<W, f32>> {
    let values: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    values.chunks_exact(W::USIZE).map(|x| bn_core::GenericArray::from_slice(x).clone()).collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = root.join("tests/fixtures/pytorch");
    let seeds = root.join("fuzz/seeds");
    let read = |name: &str| std::fs::read(fixtures.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));

    // load_safetensors: PyTorch's files, and bn-core's own of fresh networks.
    let dir = clean(&seeds.join("load_safetensors"));
    for name in
        ["model.safetensors", "model_folded.safetensors", "cnn_model.safetensors", "cnn_model_folded.safetensors"]
    {
        write(&dir, &format!("pytorch_{name}"), &read(name));
    }
    write(&dir, "bn_interop.safetensors", &Interop::new(3).save_safetensors());
    write(&dir, "bn_interop_cnn_folded.safetensors", &InteropCnn::new_boxed(3).fold_boxed().save_safetensors());

    // plain_from_bytes: the folded models' bytes, alone and followed by inputs.
    let dir = clean(&seeds.join("plain_from_bytes"));
    let folded = InteropFolded::load_safetensors(&read("model_folded.safetensors")).expect("fixture");
    let cnn_folded = InteropCnnFolded::load_safetensors(&read("cnn_model_folded.safetensors")).expect("fixture");
    let inputs = read("inputs.bin");
    let cnn_inputs = read("cnn_inputs.bin");
    write(&dir, "interop_folded.bin", &folded.to_bytes());
    write(&dir, "interop_folded_inputs.bin", &[folded.to_bytes(), inputs[..5 * 6 * 4].to_vec()].concat());
    write(&dir, "cnn_folded.bin", &cnn_folded.to_bytes());
    write(&dir, "cnn_folded_input.bin", &[cnn_folded.to_bytes(), cnn_inputs[..2 * 17 * 14 * 4].to_vec()].concat());

    // quantized_from_bytes: the same models quantized (calibrated on the fixtures' inputs),
    // alone and followed by inputs.
    let dir = clean(&seeds.join("quantized_from_bytes"));
    let q = folded.quantize(&calibration(&inputs)).expect("a finite calibration");
    let cnn_q = cnn_folded.quantize(&calibration(&cnn_inputs)).expect("a finite calibration");
    write(&dir, "interop_int8.bin", &q.to_bytes());
    write(&dir, "interop_int8_inputs.bin", &[q.to_bytes(), inputs[..5 * 6 * 4].to_vec()].concat());
    write(&dir, "cnn_int8.bin", &cnn_q.to_bytes());
    write(&dir, "cnn_int8_input.bin", &[cnn_q.to_bytes(), cnn_inputs[..2 * 17 * 14 * 4].to_vec()].concat());

    // The embedded MNIST subset: its first lines, as CSV and as IDX files.
    let mut text = Vec::new();
    let gz = std::fs::read(root.join("bn-train/data/mnist_5k.csv.gz")).expect("bn-train/data/mnist_5k.csv.gz");
    MultiGzDecoder::new(&gz[..]).read_to_end(&mut text).expect("gzip");
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').take(3).collect();

    let dir = clean(&seeds.join("mnist_csv"));
    let csv = lines.join(&b'\n');
    write(&dir, "three_lines.csv", &[&[0u8][..], &csv].concat());
    write(&dir, "three_lines.csv.gz", &[&[1u8][..], &gzip(&csv)].concat());
    write(&dir, "one_line_crlf.csv", &[&[0u8][..], lines[0], b"\r\n\r\n"].concat());

    let dir = clean(&seeds.join("mnist_idx"));
    let digits = mnist::parse_csv_bytes(&csv, Path::new("seed.csv")).expect("the embedded data");
    let n = digits.len() as u32;
    let pixels: Vec<u8> = digits.samples().iter().map(|&p| (p * 255.0).round() as u8).collect();
    assert_eq!(pixels.len(), digits.len() * IMAGE_PIXELS);
    let images = idx(IDX_IMAGES_MAGIC, &[n, 28, 28], &pixels);
    let digit_labels: Vec<u8> = digits.labels().iter().map(|&l| l as u8).collect();
    let labels = idx(IDX_LABELS_MAGIC, &[n], &digit_labels);
    let pair = |flags: u8, labels: &[u8], images: &[u8]| {
        let len = u16::try_from(labels.len()).expect("a short label file").to_le_bytes();
        [&[flags, len[0], len[1]][..], labels, images].concat()
    };
    write(&dir, "raw.idx", &pair(0, &labels, &images));
    write(&dir, "gzipped.idx", &pair(3, &gzip(&labels), &gzip(&images)));
    write(&dir, "empty.idx", &pair(0, &idx(IDX_LABELS_MAGIC, &[0], &[]), &idx(IDX_IMAGES_MAGIC, &[0, 28, 28], &[])));

    // csv: byte 0 the options (see bn_fuzz::csv), then the file.
    let dir = clean(&seeds.join("csv"));
    write(&dir, "plain.csv", b"\x001,2,3,0\n4.5,-6,7e-1,1\n");
    write(&dir, "header_name.csv", b"\x07a,y,b,c\r\n1,2,3,4\n\n5,6,7,8\n");
    write(&dir, "semicolon_width3.csv", b"\x18\"1\";2;3;9\n4;5;6;0\n");
    write(&dir, "first_column.csv", b"\x022,0.5,0.25\n3,1e3,-1\n");

    // npy: bytes 0-1 the samples' file length, the samples' file, the labels' file.
    let dir = clean(&seeds.join("npy"));
    let f32s: Vec<u8> = (0..6).flat_map(|v| (v as f32).to_le_bytes()).collect();
    let f64s: Vec<u8> = (0..6).flat_map(|v| f64::from(v).to_be_bytes()).collect();
    let y_i64: Vec<u8> = [3i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let npy_pair = |x: Vec<u8>, y: Vec<u8>| {
        let len = u16::try_from(x.len()).expect("a short file").to_le_bytes();
        [&len[..], &x, &y].concat()
    };
    write(&dir, "f32_i64.npy", &npy_pair(npy("<f4", "(2, 3)", &f32s), npy("<i8", "(2,)", &y_i64)));
    write(&dir, "f64be_u8.npy", &npy_pair(npy(">f8", "(2, 1, 3)", &f64s), npy("|u1", "(2, 1)", &[3, 1])));
    write(
        &dir,
        "u8_i32.npy",
        &npy_pair(npy("|u1", "(2, 3)", &[0, 1, 2, 3, 4, 5]), npy("<i4", "(2,)", &[1, 0, 0, 0, 0, 0, 0, 0])),
    );
    // The input this target found that made the header parser run for minutes (now refused).
    let nested = std::fs::read(root.join("bn-train/tests/fixtures/nested_header.npy")).expect("nested_header.npy");
    write(&dir, "nested_header.npy", &npy_pair(nested, Vec::new()));

    // checkpoint: a checkpoint of `Interop` after two AdamW steps.
    let dir = clean(&seeds.join("checkpoint"));
    let mut net = bn_fuzz::Interop::new_boxed(1);
    let mut trainer = bn_core::Trainer::<bn_fuzz::Interop, bn_core::typenum::U5>::new_boxed();
    let x = bn_core::Batch::<bn_core::typenum::U5, _>::default();
    let labels = bn_core::GenericArray::<usize, bn_core::typenum::U5>::default();
    for _ in 0..2 {
        net.train_step(&x, &labels, &bn_core::SoftmaxCrossEntropy, &bn_core::AdamW::new(1e-3), &mut trainer);
    }
    let progress = bn_train::Progress { step: 2, ..bn_train::Progress::default() };
    write(&dir, "interop_adamw.safetensors", &bn_train::checkpoint::checkpoint_bytes(&*net, &mut trainer, &progress));
}

/// A version 1.0 `.npy` file, as numpy writes it: magic, version, the header dictionary
/// padded with spaces to a multiple of 64 bytes, then the data.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let len = u16::try_from(header.len()).expect("a short header").to_le_bytes();
    [&b"\x93NUMPY\x01\x00"[..], &len, header.as_bytes(), data].concat()
}

fn clean(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create the seed directory");
    dir.to_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write a seed");
    println!("{}: {} bytes", dir.join(name).display(), bytes.len());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}
