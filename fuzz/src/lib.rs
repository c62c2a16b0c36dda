//! The fuzz targets' bodies (each `fuzz_targets/<name>.rs` calls the function of its name),
//! and the networks they load into: `Interop` and `InteropCnn` of `bn_paper::networks`
//! (included from `src/networks/interop.rs` by path: the fuzz crate does not build the
//! `bn-paper` package and its experiments), the
//! networks of the PyTorch fixtures (`tests/pytorch_mlp.rs`, `tests/pytorch_cnn.rs`), so that
//! the seeds, those fixtures, load and the mutations reach every check of the loader.
//!
//! Every target asserts more than "no panic": what it loaded round-trips, a failed load
//! leaves the model unchanged, and the loaded models compute without panicking, the batched
//! forward equal to the one-sample forward bit for bit.

use std::fmt::Debug;
use std::path::Path;

use bn_core::typenum::U5;
use bn_core::{argmax, boxed_zeroed, Batch, Inference, LoadError, Network, PlainData, StateDict, Vector, Zeroable};
use bn_train::csv::{CsvOptions, LabelColumn};
use bn_train::{mnist, DataError, Dataset};

#[path = "../../src/networks/interop.rs"]
mod interop;
pub use interop::{Interop, InteropCnn, InteropCnnFolded, InteropCnnQuantized, InteropFolded, InteropQuantized};

/// `data` as a safetensors file, loaded into both networks and both folded types.
pub fn load_safetensors(data: &[u8]) {
    load_network::<Interop>(data);
    load_network::<InteropCnn>(data);
    load_state_dict(data, || boxed_zeroed::<InteropFolded>(), |m| forward_all(m, &[]));
    load_state_dict(data, || boxed_zeroed::<InteropCnnFolded>(), |m| forward_all(m, &[]));
}

/// Loads into a training network; a loaded network evaluates, classifies and folds.
fn load_network<N: Network<Scalar = f32> + StateDict<Scalar = f32>>(data: &[u8])
where
    N::Folded: StateDict<Scalar = f32>,
{
    load_state_dict(
        data,
        || N::new_boxed(1),
        |net| {
            forward_all(net, &[]);
            let folded = net.fold_boxed();
            forward_all(&*folded, &[]);
            // Folding a finite network whose population variances are positive gives a finite
            // model; anything else may give non-finite values, never a panic.
            let _ = folded.is_finite();
        },
    );
}

/// Loads `data` into a fresh model from `make`: on success the model saves to a file that
/// loads back to the same bytes, and `then` runs on it; on failure the error displays and
/// the model is unchanged.
fn load_state_dict<M: StateDict + ?Sized>(data: &[u8], make: impl Fn() -> Box<M>, then: impl FnOnce(&M)) {
    let mut model = make();
    let before = model.save_safetensors();
    match model.load_safetensors_into(data) {
        Ok(()) => {
            let saved = model.save_safetensors();
            let mut again = make();
            again.load_safetensors_into(&saved).expect("a saved model loads");
            assert_eq!(again.save_safetensors(), saved, "save → load → save changed the bytes");
            then(&model);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert_eq!(model.save_safetensors(), before, "a failed load changed the model: {e}");
        }
    }
}

/// Runs the model on a batch of 5 inputs made of `bytes` (as `f32`s, cycled; zeros when
/// empty): no panic, the batched forward equals the one-sample forward bit for bit (NaN
/// for NaN), and `classify` is the `argmax` of the output.
fn forward_all<M: Inference<Scalar = f32> + ?Sized>(model: &M, bytes: &[u8]) {
    let mut x = boxed_zeroed::<Batch<U5, M::Input, f32>>();
    let values: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    if !values.is_empty() {
        for (k, v) in x.iter_mut().flatten().enumerate() {
            *v = values[k % values.len()];
        }
    }
    let mut y = boxed_zeroed::<Batch<U5, M::Output, f32>>();
    model.forward_batch(&x, &mut y);
    for (xb, yb) in x.iter().zip(y.iter()) {
        let mut one = Vector::<M::Output, f32>::zeroed();
        model.forward_one(xb, &mut one);
        for (a, b) in one.iter().zip(yb.iter()) {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "one sample {a:?}, batched {b:?}");
        }
        assert_eq!(model.classify(xb), argmax(&one));
    }
}

/// `data` as the bytes of both folded types: a model exactly as long as the data loads and
/// writes back the same bytes, anything else is `WrongSize`. Data longer than a model is a
/// model and then the inputs it runs on.
pub fn plain_from_bytes(data: &[u8]) {
    plain::<InteropFolded>(data);
    plain::<InteropCnnFolded>(data);
}

/// `data` as the bytes of both int8 models (`…Quantized`: bytes only, every value valid), as
/// [`plain_from_bytes`] does for the folded ones: whatever the bytes, the model runs without
/// a panic (any weight, multiplier, shift, zero point, clamp or table).
pub fn quantized_from_bytes(data: &[u8]) {
    plain::<InteropQuantized>(data);
    plain::<InteropCnnQuantized>(data);
}

fn plain<M: PlainData + Inference<Scalar = f32> + Debug>(data: &[u8]) {
    match M::from_bytes(data) {
        Ok(m) => assert_eq!(m.to_bytes(), data),
        Err(e) => assert_eq!(e, LoadError::WrongSize { expected: M::BYTE_LEN, found: data.len() }),
    }
    let Some((model_bytes, inputs)) = data.split_at_checked(M::BYTE_LEN) else {
        return;
    };
    let model = M::from_bytes_boxed(model_bytes).expect("the model's size");
    assert_eq!(model.to_bytes(), model_bytes, "bytes → model → bytes changed them");
    let mut into = M::zeroed();
    into.from_bytes_into(model_bytes).expect("the model's size");
    assert_eq!(into.to_bytes(), model_bytes);
    forward_all(&*model, inputs);
}

/// `data` as an IDX image file and an IDX label file: byte 0 says which are gzipped (bit 0:
/// the images, bit 1: the labels), bytes 1–2 the length of the label file (little-endian,
/// cut to what follows), then the label file, then the image file.
pub fn mnist_idx(data: &[u8]) {
    let Some((&[flags, lo, hi], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let (labels, images) = rest.split_at(usize::from(u16::from_le_bytes([lo, hi])).min(rest.len()));
    let name = |gz: bool, base: &'static str| Path::new(if gz { base } else { base.trim_end_matches(".gz") });
    let images_name = name(flags & 1 != 0, "images-idx3-ubyte.gz");
    let labels_name = name(flags & 2 != 0, "labels-idx1-ubyte.gz");
    check_dataset(mnist::parse_idx(images, images_name, labels, labels_name));
}

/// `data` as a CSV file: byte 0 says whether it is gzipped (bit 0), the rest is the file.
pub fn mnist_csv(data: &[u8]) {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let name = Path::new(if flags & 1 != 0 { "digits.csv.gz" } else { "digits.csv" });
    check_dataset(mnist::parse_csv_bytes(text, name));
}

/// A loaded set is consistent; an error displays.
fn check_dataset(result: Result<Dataset, DataError>) {
    match result {
        Ok(d) => {
            assert_eq!(d.width(), mnist::IMAGE_PIXELS);
            assert_eq!(d.samples().len(), d.len() * mnist::IMAGE_PIXELS);
            assert!(d.labels().iter().all(|&l| (l as usize) < mnist::CLASSES));
            assert!(d.samples().iter().all(|p| (0.0..=1.0).contains(p)));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// `data` as a CSV file for `bn_train::parse_csv`: byte 0 picks the options (bit 0: a
/// header; bits 1–2: the label column, last, first, index 1 or the name `y`; bit 3: `;`
/// as the delimiter; bit 4: 3 features expected), the rest is the file. A loaded set has
/// `len × width` finite values, at least one sample, the expected width, and is what a
/// second parse gives; an error names the data.
pub fn csv(data: &[u8]) {
    let Some((&flags, text)) = data.split_first() else {
        return;
    };
    let label = match (flags >> 1) & 3 {
        0 => LabelColumn::Last,
        1 => LabelColumn::First,
        2 => LabelColumn::Index(1),
        _ => LabelColumn::Name("y".into()),
    };
    let mut opts = CsvOptions::default().header(flags & 1 != 0).label(label);
    if flags & 8 != 0 {
        opts = opts.delimiter(b';');
    }
    if flags & 16 != 0 {
        opts = opts.width(3);
    }
    match bn_train::parse_csv(text, &opts) {
        Ok(d) => {
            assert!(!d.is_empty());
            assert_eq!(d.samples().len(), d.len() * d.width());
            assert!(d.samples().iter().all(|v| v.is_finite()));
            if let Some(w) = opts.expected_width {
                assert_eq!(d.width(), w);
            }
            assert_eq!(bn_train::parse_csv(text, &opts).expect("parses again"), d);
        }
        Err(e) => assert!(e.to_string().starts_with("<bytes>"), "{e}"),
    }
}

/// `data` as a `.npy` file of samples and one of labels: bytes 0–1 the length of the
/// samples' file (little-endian, cut to what follows), then it, then the labels' file. A
/// loaded set has `len × width` finite values and as many labels; an error names a file.
pub fn npy(data: &[u8]) {
    let Some((&[lo, hi], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (samples, labels) = rest.split_at(usize::from(u16::from_le_bytes([lo, hi])).min(rest.len()));
    match bn_train::parse_npy(samples, Path::new("x.npy"), labels, Path::new("y.npy")) {
        Ok(d) => {
            assert!(!d.is_empty());
            assert_eq!(d.samples().len(), d.len() * d.width());
            assert_eq!(d.labels().len(), d.len());
            assert!(d.samples().iter().all(|v| v.is_finite()));
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("x.npy") || msg.starts_with("y.npy"), "{msg}");
        }
    }
}

/// The `network!` front end (bn-macros-impl's `expand_network`) on any text that lexes as
/// Rust tokens: it must give tokens back (an expansion, or errors with the fallback), never
/// panic, and what it gives back lexes again. Seeds: the bodies of the trybuild cases.
pub fn network_macro(data: &[u8]) {
    use std::str::FromStr;
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(tokens) = proc_macro2::TokenStream::from_str(text) else { return };
    let out = bn_macros_impl::expand_network(tokens);
    assert!(proc_macro2::TokenStream::from_str(&out.to_string()).is_ok(), "the output does not lex");
}

/// `data` as a checkpoint (`bn_train::load_checkpoint_bytes`) of `Interop` at batch 5: a
/// load either succeeds, and the checkpoint written from the loaded state loads back to
/// the same bytes, or fails with an error that displays, leaving the network and the trainer
/// unchanged.
pub fn checkpoint(data: &[u8]) {
    use bn_train::checkpoint::{checkpoint_bytes, load_checkpoint_bytes};
    let name = Path::new("fuzz.safetensors");
    let mut net = Interop::new_boxed(1);
    let mut trainer = bn_core::Trainer::<Interop, U5>::new_boxed();
    let before = checkpoint_bytes(&*net, &mut trainer, &bn_train::Progress::default());
    match load_checkpoint_bytes(data, name, &mut *net, &mut trainer) {
        Ok(progress) => {
            let saved = checkpoint_bytes(&*net, &mut trainer, &progress);
            let mut again = Interop::new_boxed(2);
            let mut t = bn_core::Trainer::<Interop, U5>::new_boxed();
            let p = load_checkpoint_bytes(&saved, name, &mut *again, &mut t).expect("a saved checkpoint loads");
            assert_eq!(checkpoint_bytes(&*again, &mut t, &p), saved, "save → load → save changed the bytes");
        }
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.safetensors: "), "{e}");
            let after = checkpoint_bytes(&*net, &mut trainer, &bn_train::Progress::default());
            assert!(after == before, "a failed load changed the network or the trainer");
        }
    }
}
