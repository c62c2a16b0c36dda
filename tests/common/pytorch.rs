//! The PyTorch fixtures (`tests/fixtures/pytorch/`, written by `tools/pytorch_interop*.py`)
//! and the comparisons of the parity tests.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use super::files::{f32s, layout, Tensor};

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

/// The largest relative difference (with the [`FLOOR`]) between two sets of values; a NaN
/// on either side counts as infinitely far (`f32::max` alone would drop it).
pub fn max_rel(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() / b.abs().max(FLOOR))
        .map(|e| if e.is_nan() { f32::INFINITY } else { e })
        .fold(0.0, f32::max)
}

/// [`max_rel`] over rows of outputs (the same number of rows, each of the same width).
pub fn max_rel_rows(got: &[Vec<f32>], want: &[Vec<f32>]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).map(|(g, w)| max_rel(g, w)).fold(0.0, f32::max)
}

/// [`max_rel`] over two state_dicts with the same tensors (names, dtypes and shapes are
/// asserted equal): the largest difference of any `F32` tensor and its name; any other dtype
/// (`num_batches_tracked`) must be equal bit for bit.
pub fn max_rel_state(got: &BTreeMap<String, Tensor>, want: &BTreeMap<String, Tensor>) -> (f32, String) {
    assert_eq!(layout(got), layout(want));
    let mut worst = (0f32, String::new());
    for (k, w) in want {
        if w.dtype != "F32" {
            assert_eq!(got[k].data, w.data, "{k}");
            continue;
        }
        let err = max_rel(&got[k].f32s(), &w.f32s());
        if err > worst.0 || worst.1.is_empty() {
            worst = (err, k.clone());
        }
    }
    worst
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

/// The training steps that the scripts' `--check-rust` mode replays in PyTorch (keep in step
/// with `RUST_STEPS`, `RUST_BATCH` and `RUST_LR` of `tools/pytorch_interop.py`): `STEPS` SGD
/// steps at learning rate `LR` on batches of 8 fixture inputs taken in turn, labels
/// `(i + step) % 3`.
pub const RUST_STEPS: usize = 3;
/// See [`RUST_STEPS`].
pub const RUST_LR: f32 = 0.05;

/// Trains `net` the [`RUST_STEPS`] steps, checks that its weights file and its folded model's
/// load back unchanged, and writes `{prefix}.safetensors`, `{prefix}_outputs.bin` (the eval
/// outputs of `x`), `{prefix}_folded.safetensors` and `{prefix}_folded_outputs.bin` to the
/// target's tmp directory, for `python3 tools/{script} --check-rust …`. Returns the folded
/// model.
pub fn train_and_write_for_pytorch<N, const I: usize>(
    net: &mut N,
    x: &[[f32; I]],
    prefix: &str,
    script: &str,
) -> N::Folded
where
    N: bn_core::Network<Scalar = f32> + bn_core::StateDict<Scalar = f32> + PartialEq + std::fmt::Debug,
    N::Folded: bn_core::StateDict<Scalar = f32> + PartialEq + std::fmt::Debug,
{
    use bn_core::typenum::U8;
    use bn_core::{boxed_zeroed, Batch, Sgd, SoftmaxCrossEntropy, StateDict, Trainer};

    let mut trainer = Trainer::<N, U8>::new_boxed();
    let mut batch: Box<Batch<U8, N::Input>> = boxed_zeroed();
    for step in 0..RUST_STEPS {
        for (b, row) in batch.iter_mut().enumerate() {
            row.copy_from_slice(&x[(step * 8 + b) % x.len()]);
        }
        let labels = core::array::from_fn::<usize, 8, _>(|i| (i + step) % 3).into();
        net.train_step(&*batch, &labels, &SoftmaxCrossEntropy, &Sgd::new(RUST_LR), &mut trainer);
    }
    let folded = net.fold();

    let bytes = net.save_safetensors();
    let folded_bytes = folded.save_safetensors();
    let mut loaded = N::new_boxed(0);
    loaded.load_safetensors_into(&bytes).expect("bn-core's weights file loads");
    assert_eq!(*loaded, *net);
    // Into another network's fold, not zeroed memory: a kept GroupNorm or LayerNorm has its
    // declared ε and groups, which the file does not carry (as `load_safetensors` does).
    let mut loaded_folded = N::new_boxed(1).fold_boxed();
    assert_ne!(*loaded_folded, folded);
    loaded_folded.load_safetensors_into(&folded_bytes).expect("bn-core's folded weights file loads");
    assert_eq!(*loaded_folded, folded);

    let eval = le_bytes(&x.iter().map(|v| forward(&*net, v)).collect::<Vec<_>>());
    let folded_out = le_bytes(&x.iter().map(|v| forward(&folded, v)).collect::<Vec<_>>());

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, data) in [
        (format!("{prefix}.safetensors"), &bytes),
        (format!("{prefix}_outputs.bin"), &eval),
        (format!("{prefix}_folded.safetensors"), &folded_bytes),
        (format!("{prefix}_folded_outputs.bin"), &folded_out),
    ] {
        std::fs::write(dir.join(name), data).unwrap();
    }
    println!(
        "wrote {dir}/{prefix}.safetensors (and its siblings); check with:\n  \
         python3 tools/{script} --check-rust {dir}/{prefix}.safetensors",
        dir = dir.display()
    );
    folded
}

/// A model's output (eval mode) for one input, as a `Vec`.
fn forward<M: bn_core::Inference<Scalar = f32>, const I: usize>(model: &M, x: &[f32; I]) -> Vec<f32> {
    let mut input = bn_core::Vector::<M::Input>::default();
    input.copy_from_slice(x);
    let mut out = bn_core::Vector::<M::Output>::default();
    model.forward_one(&input, &mut out);
    out.to_vec()
}
