//! ONNX export against onnxruntime: every layer kind, every fold placement, LayerNorm,
//! GroupNorm and residual networks, each as the trained network and as its folded model, an
//! `f64` network; and the paper MLP and the LeNet trained on the embedded digits, on every
//! test digit.
//!
//! The fixtures (`tests/fixtures/onnx/`) come from `tools/onnx_check.py`: it runs
//! `write_onnx_models` below (the models, exported from the weights files checked in here),
//! checks each file with `onnx.checker.check_model(full_check=True)`, runs it in onnxruntime
//! and records the outputs and a hash of each file (`onnxruntime.safetensors`). The tests
//! export the same weights again, check that each file is the one onnxruntime ran (the same
//! hash, or the fixtures are stale), and compare onnxruntime's outputs with bn-core's.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bn_core::typenum::Unsigned;
use bn_core::{Float, Graph, Inference, Network, Rng, StateDict, Vector};
use bn_paper::networks::{Every, Every64, LeNetBn, PaperBn, ResNetTiny};
use common::files::{tensors, Tensor};
use common::fold::randomize;

bn_core::network! {
    /// Every layer kind over features and every BN placement: named layers, with and
    /// without bias, dropout, BN options (ε, `affine = false`, renorm, cumulative), a BN
    /// between activations (an affine layer when folded), two BNs in a row before a dense
    /// layer, LayerNorm with and without γ, β, and a last BN.
    pub struct OnnxMlp {
        input: 6,
        fc1: dense(8), batchnorm, relu, dropout(0.25),
        dense(8, bias), norm: batchnorm(eps = 1e-3, affine = false), tanh,
        batchnorm(renorm), sigmoid,
        layernorm, dense(7), layernorm(eps = 1e-4, affine = false), relu,
        batchnorm(momentum = cumulative), batchnorm,
        head: dense(3), batchnorm,
    }
}

bn_core::network! {
    /// Every image layer kind and fold placement: a BN on the input before a padded conv
    /// (an affine layer over channels when folded), a BN after a conv, one before an
    /// unpadded conv with a rectangular kernel and stride, max and average pooling, a BN
    /// after a pool, a BN across `flatten` into a dense layer.
    pub struct OnnxCnn {
        input: (2, 9, 9),
        batchnorm,
        conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
        batchnorm, conv2d(5, kernel = (2, 3), stride = (1, 2), bias),
        maxpool(2), tanh,
        batchnorm(affine = false), avgpool(2, stride = 1), sigmoid,
        batchnorm, flatten, dense(6), batchnorm, relu,
        dense(3),
    }
}

bn_core::network! {
    /// GroupNorm and LayerNorm over images (with and without γ, β), global average pooling.
    pub struct OnnxNorms {
        input: (3, 6, 6),
        conv2d(6, kernel = 3, padding = 1), groupnorm(3), relu,
        conv2d(6, kernel = 3), groupnorm(2, eps = 1e-3, affine = false), relu,
        layernorm, conv2d(4, kernel = 1), layernorm(affine = false), tanh,
        global_avgpool, dense(3),
    }
}

bn_core::network! {
    /// Residual blocks over features: an identity block with dropout, a named block with a
    /// nested block and LayerNorm in its body and a projection shortcut with a BN.
    pub struct OnnxResMlp {
        input: 6,
        dense(8), batchnorm, relu,
        residual { dense(8), batchnorm, relu, dropout(0.1), dense(8), batchnorm },
        relu,
        blk: residual {
            residual { dense(8), layernorm, tanh },
            dense(5),
        } shortcut {
            dense(5), batchnorm,
        },
        dense(3),
    }
}

bn_core::network! {
    /// A residual block over an image with GroupNorm and a BN in its body.
    pub struct OnnxResCnn {
        input: (2, 6, 6),
        conv2d(4, kernel = 3, padding = 1),
        residual { conv2d(4, kernel = 3, padding = 1), groupnorm(2), relu, batchnorm },
        relu, avgpool(2), flatten, dense(3),
    }
}

bn_core::network! {
    /// The edges over features: a block first, a nested block in a shortcut with a named
    /// layer, a layer named `logits` before the last, a trailing BN after an activation (an
    /// affine layer when folded), dropout last.
    pub struct OnnxEdges {
        input: 4,
        residual { dense(4), tanh },
        fc: dense(6), batchnorm, relu,
        residual { dense(6) } shortcut { residual { dense(6), relu }, inner: dense(6) },
        logits: dense(3), sigmoid,
        batchnorm,
        dropout(0.5),
    }
}

bn_core::network! {
    /// The edges over images: unequal padding (1, 2) with a (3, 5) kernel, a (3, 1) kernel,
    /// max pooling with a stride, a block last, so the output is an image, `[batch, 3, 6, 6]`.
    pub struct OnnxImageOut {
        input: (2, 7, 7),
        conv2d(3, kernel = (3, 5), padding = (1, 2)), maxpool(2, stride = 1), relu,
        residual { conv2d(3, kernel = (3, 1), padding = (1, 0)), batchnorm },
    }
}

bn_core::network! {
    /// Only dropout: nothing is computed (the file is one `Identity`).
    pub struct OnnxDropoutOnly { input: 3, dropout(0.5) }
}

bn_core::network! {
    /// An `f64` network with images: a BN on the input before a padded conv (a depthwise
    /// `Conv` when folded), GroupNorm, average and global pooling.
    pub struct OnnxCnn64 {
        input: (1, 5, 5),
        scalar: f64,
        batchnorm, conv2d(2, kernel = 3, padding = 1), groupnorm(2), relu,
        avgpool(2), global_avgpool, dense(2),
    }
}

bn_core::network! {
    /// [`OnnxCnn64`] in `f32`, for its random weights (`randomize` takes `f32` networks).
    pub struct OnnxCnn32 {
        input: (1, 5, 5),
        batchnorm, conv2d(2, kernel = 3, padding = 1), groupnorm(2), relu,
        avgpool(2), global_avgpool, dense(2),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx").join(name)
}

/// Samples per coverage case.
const SAMPLES: usize = 16;

/// One exported model: its file, its inputs and bn-core's outputs (`f64` values; an `f32`
/// model's are `f32`s widened; every file is `FLOAT`).
struct Case {
    name: String,
    onnx: Vec<u8>,
    /// The input's dimensions after the batch: `[n]` or `[c, h, w]`.
    dims: Vec<usize>,
    /// The outputs of one sample.
    width: usize,
    inputs: Vec<f64>,
    outputs: Vec<f64>,
    /// Whether the file must have the hash onnxruntime recorded (not for a folded model
    /// folded here: folding computes dot products whose last bit can depend on the SIMD
    /// level, so its file can differ between machines by a bit of a weight).
    hashed: bool,
}

/// bn-core's outputs of `model` on `inputs`, one sample after the other.
fn outputs<M: Inference>(model: &M, inputs: &[f64]) -> Vec<f64> {
    let (i, o) = (M::Input::USIZE, M::Output::USIZE);
    let mut y = Vector::<M::Output, M::Scalar>::default();
    let mut out = Vec::with_capacity(inputs.len() / i * o);
    for x in inputs.chunks_exact(i) {
        let x: Vector<M::Input, M::Scalar> = x.iter().map(|&v| M::Scalar::from_f64(v)).collect();
        model.forward_one(&x, &mut y);
        out.extend(y.iter().map(|v| v.to_f64()));
    }
    out
}

/// Seeded inputs in [−2, 2), `f32` values (so that both scalars see the same numbers).
fn seeded_inputs(width: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::seed(seed);
    (0..SAMPLES * width).map(|_| f64::from((rng.uniform() * 4.0 - 2.0) as f32)).collect()
}

fn case<M: Graph + StateDict + Inference>(name: &str, model: &M, inputs: &[f64], hashed: bool) -> Case {
    Case {
        name: name.to_string(),
        onnx: bn_core::save_onnx(model),
        dims: M::INPUT.to_vec(),
        width: M::Output::USIZE,
        inputs: inputs.to_vec(),
        outputs: outputs(model, inputs),
        hashed,
    }
}

/// The trained network and its folded model from their weights fixtures
/// (`{name}.safetensors`, `{name}_folded.safetensors`), on seeded inputs.
fn coverage_pair<N>(name: &str, seed: u64) -> [Case; 2]
where
    N: Network + Graph + StateDict + Inference,
    N::Folded: Graph + StateDict + Inference<Scalar = <N as Inference>::Scalar>,
{
    let mut net = N::new_boxed(0);
    net.load_safetensors_into(&read(&format!("{name}.safetensors"))).unwrap();
    let mut folded = net.fold_boxed();
    folded.load_safetensors_into(&read(&format!("{name}_folded.safetensors"))).unwrap();
    let x = seeded_inputs(<N as Inference>::Input::USIZE, seed);
    [case(name, &*net, &x, true), case(&format!("{name}_folded"), &*folded, &x, true)]
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(fixture(file)).unwrap_or_else(|e| panic!("{file}: {e} (run tools/onnx_check.py)"))
}

/// Every layer kind, as the trained and the folded model.
fn coverage_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(coverage_pair::<OnnxMlp>("mlp", 1));
    cases.extend(coverage_pair::<OnnxCnn>("cnn", 2));
    cases.extend(coverage_pair::<OnnxNorms>("norms", 3));
    cases.extend(coverage_pair::<OnnxResMlp>("res_mlp", 4));
    cases.extend(coverage_pair::<OnnxResCnn>("res_cnn", 5));
    cases.extend(coverage_pair::<ResNetTiny>("resnet_tiny", 6));
    cases.extend(coverage_pair::<Every64>("every64", 7));
    cases.extend(coverage_pair::<OnnxEdges>("edges", 8));
    cases.extend(coverage_pair::<OnnxImageOut>("image_out", 9));
    cases.extend(coverage_pair::<OnnxDropoutOnly>("dropout_only", 10));
    cases.extend(coverage_pair::<OnnxCnn64>("cnn64", 11));
    cases
}

/// The embedded test digits (1000), pixels scaled to [0, 1].
fn test_digits() -> (Vec<f64>, Vec<u32>) {
    let (_, test) = bn_train::mnist::load_default().unwrap();
    (test.samples().iter().map(|&v| f64::from(v / 255.0)).collect(), test.labels().to_vec())
}

/// The paper MLP and the LeNet trained on the embedded digits (`paper.safetensors`,
/// `lenet.safetensors`), and their folded models (folded here), on the test digits `x`.
fn mnist_cases(x: &[f64]) -> Vec<Case> {
    let mut cases = Vec::new();
    let paper = PaperBn::load_safetensors(&read("paper.safetensors")).unwrap();
    cases.push(case("paper", &*paper, x, true));
    cases.push(case("paper_folded", &*paper.fold_boxed(), x, false));
    let lenet = LeNetBn::load_safetensors(&read("lenet.safetensors")).unwrap();
    cases.push(case("lenet", &*lenet, x, true));
    cases.push(case("lenet_folded", &*lenet.fold_boxed(), x, false));
    cases
}

/// FNV-1a, 64 bits: the hash `tools/onnx_check.py` records of each file it ran.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// onnxruntime's outputs (`{case}.output`) and the hashes of the files it ran
/// (`{case}.fnv1a`).
struct Onnxruntime {
    outputs: BTreeMap<String, Tensor>,
    hashes: BTreeMap<String, String>,
}

impl Onnxruntime {
    fn read() -> Self {
        let bytes = read("onnxruntime.safetensors");
        Onnxruntime { outputs: tensors(&bytes), hashes: common::files::metadata(&bytes) }
    }

    fn output(&self, case: &str) -> Vec<f32> {
        self.outputs[&format!("{case}.output")].f32s()
    }
}

/// The worst, over samples, of a sample's largest difference over its largest output
/// magnitude (onnxruntime's), `width` outputs per sample.
fn relative(got: &[f64], want: &[f64], width: usize) -> f64 {
    assert_eq!(got.len(), want.len());
    got.chunks_exact(width)
        .zip(want.chunks_exact(width))
        .map(|(g, w)| {
            let scale = w.iter().fold(1e-6f64, |m, w| m.max(w.abs()));
            g.iter().zip(w).fold(0f64, |m, (g, w)| m.max((g - w).abs())) / scale
        })
        .fold(0f64, f64::max)
}

fn check(ort: &Onnxruntime, cases: &[Case], tolerance: f64) -> BTreeMap<String, f64> {
    let mut worst = BTreeMap::new();
    for c in cases {
        let hash = ort.hashes.get(&format!("{}.fnv1a", c.name)).unwrap_or_else(|| panic!("no hash of {}", c.name));
        if c.hashed {
            assert_eq!(
                format!("{:016x}", fnv1a(&c.onnx)),
                *hash,
                "{}: the exported file is not the one onnxruntime ran: run tools/onnx_check.py",
                c.name
            );
        }
        let want: Vec<f64> = ort.output(&c.name).into_iter().map(f64::from).collect();
        let err = relative(&c.outputs, &want, c.width);
        assert!(err <= tolerance, "{}: onnxruntime differs from bn-core by {err:.2e} (relative)", c.name);
        worst.insert(c.name.clone(), err);
    }
    worst
}

/// Every layer kind, trained and folded, within 1e-5 relative to each sample's largest output
/// (an `f64` network too: its file computes in `f32`).
#[test]
fn onnxruntime_runs_every_layer_kind_as_bn_core_does() {
    let worst = check(&Onnxruntime::read(), &coverage_cases(), 1e-5);
    println!("{worst:#?}");
}

/// The paper MLP and the LeNet: every test digit gets the same class from onnxruntime as from
/// bn-core, and the logits agree within 1e-5.
#[test]
fn onnxruntime_classifies_every_test_digit_as_bn_core_does() {
    let (x, labels) = test_digits();
    let (ort, cases) = (Onnxruntime::read(), mnist_cases(&x));
    let worst = check(&ort, &cases, 1e-5);
    println!("{worst:#?}");
    for c in &cases {
        let ours: Vec<usize> = c.outputs.chunks_exact(10).map(bn_core::argmax).collect();
        let theirs: Vec<usize> = ort.output(&c.name).chunks_exact(10).map(bn_core::argmax).collect();
        assert_eq!(ours.len(), labels.len());
        let differ = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{}: {differ} of {} test digits classified differently", c.name, ours.len());
        let correct = ours.iter().zip(&labels).filter(|(&a, &l)| a == l as usize).count();
        println!("{}: {correct} of {} correct, the same in onnxruntime", c.name, labels.len());
    }
}

/// Writes what `tools/onnx_check.py` runs into `$ONNX_OUT`: each case's `.onnx` file and its
/// inputs (`{name}.input`, little-endian `f32`), and `cases.txt` (name, dtype, input
/// dimensions). With `ONNX_WEIGHTS=1` it first writes new weights fixtures: random
/// weights and statistics for the coverage networks, and the MNIST networks trained on the
/// embedded digits.
#[test]
#[ignore = "run by tools/onnx_check.py"]
fn write_onnx_models() {
    let out = PathBuf::from(std::env::var("ONNX_OUT").expect("ONNX_OUT: the directory to write to"));
    std::fs::create_dir_all(&out).unwrap();
    if std::env::var("ONNX_WEIGHTS").is_ok_and(|v| v == "1") {
        write_weights();
    }
    let mut list = String::new();
    for c in coverage_cases().into_iter().chain(mnist_cases(&test_digits().0)) {
        std::fs::write(out.join(format!("{}.onnx", c.name)), &c.onnx).unwrap();
        let bytes: Vec<u8> = c.inputs.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
        std::fs::write(out.join(format!("{}.input", c.name)), bytes).unwrap();
        let dims: Vec<String> = c.dims.iter().map(usize::to_string).collect();
        list.push_str(&format!("{} f32 {}\n", c.name, dims.join(",")));
    }
    std::fs::write(out.join("cases.txt"), list).unwrap();
}

/// Random weights, γ, β and statistics (`common::fold::randomize`) for a coverage network,
/// and its folded model's weights.
fn write_random<N>(name: &str, seed: u64)
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32>,
    N::Folded: StateDict,
{
    let mut net = N::new_boxed(0);
    randomize(&mut *net, seed);
    std::fs::write(fixture(&format!("{name}.safetensors")), net.save_safetensors()).unwrap();
    std::fs::write(fixture(&format!("{name}_folded.safetensors")), net.fold_boxed().save_safetensors()).unwrap();
}

/// [`write_random`] for an `f64` network `N64` through its `f32` twin `N32` (`randomize`
/// takes `f32` networks; loading the twin's file converts), and `N64`'s own folded model.
fn write_random_f64<N32, N64>(name: &str, seed: u64)
where
    N32: Network<Scalar = f32> + StateDict<Scalar = f32>,
    N32::Folded: StateDict,
    N64: Network + StateDict,
    N64::Folded: StateDict,
{
    write_random::<N32>(name, seed);
    let mut net = N64::new_boxed(0);
    net.load_safetensors_into(&read(&format!("{name}.safetensors"))).unwrap();
    std::fs::write(fixture(&format!("{name}_folded.safetensors")), net.fold_boxed().save_safetensors()).unwrap();
}

fn write_weights() {
    std::fs::create_dir_all(fixture("")).unwrap();
    write_random::<OnnxMlp>("mlp", 11);
    write_random::<OnnxCnn>("cnn", 12);
    write_random::<OnnxNorms>("norms", 13);
    write_random::<OnnxResMlp>("res_mlp", 14);
    write_random::<OnnxResCnn>("res_cnn", 15);
    write_random::<ResNetTiny>("resnet_tiny", 16);
    write_random_f64::<Every, Every64>("every64", 17);
    write_random::<OnnxEdges>("edges", 18);
    write_random::<OnnxImageOut>("image_out", 19);
    write_random::<OnnxDropoutOnly>("dropout_only", 20);
    write_random_f64::<OnnxCnn32, OnnxCnn64>("cnn64", 21);
    write_trained::<PaperBn>("paper");
    write_trained::<LeNetBn>("lenet");
}

/// A network trained on the embedded digits with AdamW for two epochs.
fn write_trained<N>(name: &str)
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32>,
{
    use bn_core::typenum::U50;
    let (train, _) = bn_train::mnist::load_default().unwrap();
    let train = bn_train::Dataset::from_parts(
        train.width(),
        train.samples().iter().map(|v| v / 255.0).collect(),
        train.labels().to_vec(),
    )
    .unwrap();
    let mut net = N::new_boxed(1);
    let mut trainer = bn_core::Trainer::<N, U50>::new_boxed();
    let config = bn_train::FitConfig::new(2, bn_core::AdamW::new(1e-3), bn_core::FixedLr);
    bn_train::fit(&mut *net, &mut trainer, &train, None, &config, bn_train::Progress::default(), &mut ()).unwrap();
    std::fs::write(fixture(&format!("{name}.safetensors")), net.save_safetensors()).unwrap();
}
