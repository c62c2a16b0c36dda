//! Proof of PyTorch parity for the normalization family: LayerNorm (over features and over
//! an image), BN without affine parameters (1d and 2d), and Batch Renormalization.
//!
//! PyTorch → bn-core: `tools/pytorch_interop_norm.py` trained the PyTorch equivalent of
//! `NormCnn` and wrote its `state_dict`, inputs, eval outputs and the outputs of one
//! train-mode forward to `tests/fixtures/pytorch/norm_*`. Here the file loads with strict
//! names, and bn-core's eval path, folded model and training forward match PyTorch's.
//!
//! Batch Renormalization (no PyTorch layer): the script wrote Algorithm 1 of Ioffe 2017 with
//! autograd (r and d detached), ran a few SGD steps of `Renorm` and `RenormCnn` in float64 from
//! float32 initial weights, and saved the run (`renorm_*`). Here bn-core runs the same steps and
//! matches its outputs, losses, r and d, the first step's gradients and the moving μ, σ.
//!
//! bn-core → PyTorch: the state_dicts bn-core saves have PyTorch's names, shapes and dtypes
//! (checked here against the list the script wrote), and `writes_files_for_pytorch` writes
//! them with bn-core's eval outputs to the target's tmp directory, for the script's
//! `--check-rust` mode (`load_state_dict(..., strict=True)` and PyTorch's eval; needs
//! PyTorch, so not part of `cargo test`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use bn_core::typenum::{U128, U16, U4, U5, U50, U8};
use bn_core::{Batch, Loss, Network, Sgd, SoftmaxCrossEntropy, Trainer};

use common::files::{f32s, layout, numbers, tensors, Tensor};
use common::pytorch::{check, fixture, max_rel, read, REL};

bn_core::network! {
    /// `norm_model()` of `tools/pytorch_interop_norm.py`: LayerNorm over a 4×8×8 image
    /// (`nn.LayerNorm([4, 8, 8])`), over 16 features with ε = 1e-3, and without affine
    /// parameters; BatchNorm2d and BatchNorm1d with `affine = false` (each folds into the
    /// layer before it).
    pub struct NormCnn {
        input: (2, 8, 8),
        conv2d(4, kernel = 3, padding = 1), layernorm, relu,
        maxpool(2),
        conv2d(6, kernel = 3, padding = 1), batchnorm(affine = false), relu,
        flatten,
        dense(16), layernorm(eps = 1e-3), relu,
        dense(8), batchnorm(affine = false), tanh,
        layernorm(affine = false),
        head: dense(3),
    }
}

bn_core::network! {
    /// Batch Renormalization over features (`renorm_model(image=False)` of the script).
    pub struct Renorm {
        input: 5,
        dense(6), batchnorm(renorm(rmax = 2, dmax = 1)), relu,
        dense(3),
    }
}

bn_core::network! {
    /// Batch Renormalization over the channels of images (`renorm_model(image=True)`).
    pub struct RenormCnn {
        input: (2, 5, 5),
        conv2d(3, kernel = 3, padding = 1), batchnorm(renorm(rmax = 2, dmax = 1)), relu,
        flatten,
        dense(3),
    }
}

/// The tolerance of the Batch Renormalization runs (bn-core in f32 against the reference in
/// f64, over several SGD steps: each step moves a parameter by the learning rate times its
/// gradient's f32 rounding, and the next outputs see it).
const RUN_REL: f32 = 1e-4;
/// ε of the renorm layers (BN's default), to compare `√(running_var + ε)` with σ.
const EPS: f32 = 1e-5;

fn norm_net() -> Box<NormCnn> {
    NormCnn::load_safetensors(&read(&fixture("norm_model.safetensors"))).expect("PyTorch's state_dict loads")
}

fn norm_inputs() -> Batch<U16, U128> {
    let values = f32s(&read(&fixture("norm_inputs.bin")));
    let mut batch = Batch::<U16, U128>::default();
    assert_eq!(values.len(), 16 * 128);
    for (row, x) in batch.iter_mut().zip(values.chunks(128)) {
        row.copy_from_slice(x);
    }
    batch
}

fn flat<'a, R: AsRef<[f32]> + 'a>(rows: impl IntoIterator<Item = &'a R>) -> Vec<f32> {
    rows.into_iter().flat_map(|r| r.as_ref().to_vec()).collect()
}

#[test]
fn layernorm_and_affine_free_bn_match_pytorch() {
    let net = norm_net();
    // The options survive the load, and PyTorch trained the parameters and statistics.
    assert!(!net.batchnorm5.affine && !net.batchnorm12.affine);
    assert_eq!((net.batchnorm5.num_batches_tracked, net.batchnorm12.num_batches_tracked), (30, 30));
    assert!(net.batchnorm5.running_var.iter().all(|&v| v != 1.0));
    assert_eq!((net.layernorm1.eps, net.layernorm9.eps, net.layernorm14.eps), (1e-5, 1e-3, 1e-5));
    assert!(net.layernorm1.gamma.iter().any(|&g| g != 1.0));
    assert!(net.layernorm9.beta.iter().any(|&b| b != 0.0));

    let x = norm_inputs();
    let want = f32s(&read(&fixture("norm_outputs.bin")));
    let eval = flat(x.iter().map(|x| net.eval(x)).collect::<Vec<_>>().iter());
    check("NormCnn eval path vs PyTorch eval", &eval, &want, REL);
    let mut y = Batch::<U16, _>::default();
    net.eval_batch(&x, &mut y);
    assert_eq!(flat(y.iter()), eval, "the batched eval gives the same bits");

    let folded = net.fold();
    let ours = flat(x.iter().map(|x| folded.forward(x)).collect::<Vec<_>>().iter());
    check("NormCnn folded model vs PyTorch eval", &ours, &want, REL);
    check("NormCnn folded model vs bn-core eval", &ours, &eval, REL);
    check(
        "NormCnn folded model vs PyTorch folded model",
        &ours,
        &f32s(&read(&fixture("norm_folded_outputs.bin"))),
        REL,
    );

    // One training forward of the 16 inputs as one batch: batch statistics in both BNs (the
    // LayerNorms compute the same as in eval), then the running statistics it updated.
    let mut net = net;
    let mut trainer = Trainer::<NormCnn, U16>::new_boxed();
    let train = f32s(&read(&fixture("norm_train_outputs.bin")));
    let (want_out, want_stats) = train.split_at(16 * 3);
    let out = flat(net.forward_train(&x, &mut trainer.workspace).iter());
    check("NormCnn training forward (batch statistics) vs PyTorch train mode", &out, want_out, REL);
    let stats: Vec<f32> = [
        net.batchnorm5.running_mean.as_slice(),
        net.batchnorm5.running_var.as_slice(),
        net.batchnorm12.running_mean.as_slice(),
        net.batchnorm12.running_var.as_slice(),
    ]
    .concat();
    check("NormCnn running statistics after it vs PyTorch's", &stats, want_stats, REL);
    assert_eq!(net.batchnorm12.num_batches_tracked, 31);
}

#[test]
fn pytorch_folded_model_loads_into_the_folded_type() {
    // Strict names and shapes: the LayerNorms kept ([4, 8, 8] and [16], none for the one
    // without affine parameters), conv 4 and Linear 10 with the biases of the folded BNs.
    let theirs = NormCnnFolded::load_safetensors(&read(&fixture("norm_model_folded.safetensors"))).unwrap();
    // PyTorch's fold (in f64) and bn-core's (in f32) agree tensor by tensor (the tensors,
    // not the whole type: its LayerNorms' ε differ, see the next test).
    let ours = tensors(&norm_net().fold().save_safetensors());
    let file = tensors(&theirs.save_safetensors());
    assert_eq!(layout(&ours), layout(&file));
    let mut worst = 0f32;
    for (k, t) in &ours {
        let (x, y) = (t.f32s(), file[k].f32s());
        worst = x.iter().zip(&y).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(worst, f32::max);
    }
    println!("bn-core's fold vs PyTorch's, {} tensors: max difference {worst:.2e} (relative above 1)", ours.len());
    assert!(worst <= 1e-5, "{worst}");
    // With the declared ε, the loaded model gives PyTorch's folded outputs.
    let mut theirs = theirs;
    (theirs.layernorm1.eps, theirs.layernorm9.eps, theirs.layernorm14.eps) = (1e-5, 1e-3, 1e-5);
    let x = norm_inputs();
    let out = flat(x.iter().map(|x| theirs.forward(x)).collect::<Vec<_>>().iter());
    let want = f32s(&read(&fixture("norm_folded_outputs.bin")));
    check("PyTorch-folded NormCnn in bn-core (declared eps set) vs PyTorch folded", &out, &want, REL);
    check(
        "PyTorch-folded NormCnn in bn-core (declared eps set) vs PyTorch eval",
        &out,
        &f32s(&read(&fixture("norm_outputs.bin"))),
        REL,
    );
}

#[test]
fn pytorch_folded_file_keeps_the_declared_layernorm_eps() {
    let theirs = NormCnnFolded::load_safetensors(&read(&fixture("norm_model_folded.safetensors"))).unwrap();
    let eps = (theirs.layernorm1.eps, theirs.layernorm9.eps, theirs.layernorm14.eps);
    let x = norm_inputs();
    let out = flat(x.iter().map(|x| theirs.forward(x)).collect::<Vec<_>>().iter());
    let err = max_rel(&out, &f32s(&read(&fixture("norm_folded_outputs.bin"))));
    println!("eps after load {eps:?}; outputs vs PyTorch folded: max relative difference {err:.2e}");
    assert_eq!(eps, (1e-5, 1e-3, 1e-5));
    assert!(err <= REL, "{err}");
}

/// The state_dict layout that the script listed (`norm_state_dict.txt`).
fn listed_layout() -> Vec<(String, String, Vec<usize>)> {
    let text = String::from_utf8(read(&fixture("norm_state_dict.txt"))).unwrap();
    let mut out: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (parts[0].to_string(), parts[1].to_string(), numbers(parts[2]))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn saved_state_dicts_have_pytorch_names_shapes_and_dtypes() {
    let ours = tensors(&NormCnn::new_boxed(7).save_safetensors());
    let listed = listed_layout();
    assert_eq!(listed.len(), 18);
    assert_eq!(layout(&ours), listed, "bn-core's NormCnn file vs PyTorch's state_dict");
    // The fixture itself (read by this test's own reader) has that layout too.
    assert_eq!(layout(&tensors(&read(&fixture("norm_model.safetensors")))), listed);
    // A renorm BN saves as BatchNorm1d/2d: the same tensors as PyTorch's initial state_dict.
    for (ours, file) in [
        (Renorm::new_boxed(1).save_safetensors(), "renorm_init.safetensors"),
        (RenormCnn::new_boxed(1).save_safetensors(), "renorm_cnn_init.safetensors"),
    ] {
        assert_eq!(layout(&tensors(&ours)), layout(&tensors(&read(&fixture(file)))), "{file}");
    }
}

#[test]
fn writes_files_for_pytorch() {
    // Two training steps in bn-core first, so the file holds bn-core's own values.
    let mut net = norm_net();
    let mut trainer = Trainer::<NormCnn, U8>::new_boxed();
    let x = norm_inputs();
    let mut batch = Batch::<U8, U128>::default();
    for step in 0..2 {
        for (b, row) in batch.iter_mut().enumerate() {
            row.copy_from_slice(&x[step * 8 + b]);
        }
        let labels = core::array::from_fn::<usize, 8, _>(|i| (i + step) % 3).into();
        net.train_step(&batch, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.05), &mut trainer);
    }
    let bytes = net.save_safetensors();
    assert_eq!(*NormCnn::load_safetensors(&bytes).unwrap(), *net);
    let eval = flat(x.iter().map(|x| net.eval(x)).collect::<Vec<_>>().iter());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join("rust_norm_model.safetensors"), bytes).unwrap();
    std::fs::write(
        dir.join("rust_norm_model_outputs.bin"),
        eval.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
    )
    .unwrap();
    println!(
        "wrote {dir}/rust_norm_model.safetensors (the renorm tests write rust_renorm*_model.safetensors); check with:\n  \
         python3 tools/pytorch_interop_norm.py --check-rust {dir}",
        dir = dir.display()
    );
}

/// The reference run of the script for one renorm network.
struct Run {
    file: BTreeMap<String, Tensor>,
}

impl Run {
    fn load(prefix: &str) -> Self {
        Run { file: tensors(&read(&fixture(&format!("{prefix}_reference.safetensors")))) }
    }
    fn get(&self, name: &str) -> Vec<f32> {
        self.file.get(name).unwrap_or_else(|| panic!("{name}")).f32s()
    }
    fn steps(&self) -> usize {
        self.file["inputs"].shape[0]
    }
    fn labels(&self, step: usize) -> Vec<usize> {
        let t = &self.file["labels"];
        assert_eq!(t.dtype, "I64");
        let b = t.shape[1];
        t.data
            .chunks_exact(8)
            .skip(step * b)
            .take(b)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as usize)
            .collect()
    }
    /// The inputs of `step`, `n` values per sample.
    fn inputs(&self, step: usize) -> Vec<f32> {
        let all = self.get("inputs");
        let per = all.len() / self.steps();
        all[step * per..(step + 1) * per].to_vec()
    }
    /// Rows `step` of a `[STEPS, …]` tensor.
    fn at(&self, name: &str, step: usize) -> Vec<f32> {
        let all = self.get(name);
        let per = all.len() / self.steps();
        all[step * per..(step + 1) * per].to_vec()
    }
}

/// The largest differences of one renorm run, per comparison.
#[derive(Default, Debug)]
struct Errors {
    outputs: f32,
    losses: f32,
    r_d: f32,
    grads: f32,
    mu_sigma: f32,
    eval: f32,
}

/// Runs the script's steps in bn-core and compares; `$grads` maps the reference's gradient
/// names to bn-core's gradient tensors, `$b` and `$in` the batch size and input width.
macro_rules! renorm_run {
    ($net:ident, $prefix:literal, $b:ty, $in:ty, |$g:ident| $grads:expr) => {{
        let run = Run::load($prefix);
        let mut net = $net::load_safetensors(&read(&fixture(concat!($prefix, "_init.safetensors")))).unwrap();
        // The load keeps the declared options: a renormalizing BN with the limits 2 and 1.
        assert!(net.batchnorm1.renorm);
        assert_eq!((net.batchnorm1.rmax, net.batchnorm1.dmax), (2.0, 1.0));
        let mut trainer = Trainer::<$net, $b>::new_boxed();
        let mut errs = Errors::default();
        let mut x = Batch::<$b, $in>::default();
        for step in 0..run.steps() {
            for (row, v) in x.iter_mut().zip(run.inputs(step).chunks(<$in as bn_core::typenum::Unsigned>::USIZE)) {
                row.copy_from_slice(v);
            }
            let labels: bn_core::GenericArray<usize, $b> = bn_core::GenericArray::from_iter(run.labels(step));
            let out = flat(net.forward_train(&x, &mut trainer.workspace).iter());
            errs.outputs = errs.outputs.max(max_rel(&out, &run.at("outputs", step)));
            let cache = &trainer.workspace.c1; // batchnorm1
            let rd = [cache.r.as_slice(), cache.d.as_slice()].concat();
            let want_rd = [run.at("r", step), run.at("d", step)].concat();
            errs.r_d = errs.r_d.max(max_rel(&rd, &want_rd));
            let (out, dout) = $net::output_and_grad(&mut trainer.workspace);
            let loss = SoftmaxCrossEntropy.loss_and_grad(out, &labels, dout);
            errs.losses = errs.losses.max(max_rel(&[loss], &run.at("losses", step)));
            net.backward(&x, &mut trainer.workspace, &mut trainer.grads);
            if step == 0 {
                let $g = &trainer.grads;
                let grads: Vec<(&str, Vec<f32>)> = $grads;
                assert_eq!(grads.len(), run.file.keys().filter(|k| k.starts_with("grad.")).count());
                for (name, got) in grads {
                    let err = max_rel(&got, &run.get(&format!("grad.{name}")));
                    println!("  {} gradient of {name}: max relative difference {err:.2e}", $prefix);
                    errs.grads = errs.grads.max(err);
                }
            }
            net.step(&trainer.grads, &mut trainer.state, &Sgd::new(0.1));
        }
        let bn = &net.batchnorm1;
        assert_eq!(bn.num_batches_tracked, run.steps() as u64);
        let sigma: Vec<f32> = bn.running_var.iter().map(|v| (v + EPS).sqrt()).collect();
        errs.mu_sigma = max_rel(&[bn.running_mean.as_slice(), &sigma].concat(), &[run.get("mu"), run.get("sigma")].concat());
        let eval = flat(x.iter().map(|x| net.eval(x)).collect::<Vec<_>>().iter());
        errs.eval = max_rel(&eval, &run.get("eval_outputs"));
        println!("{} ({} steps): {errs:?}", $prefix, run.steps());
        for (what, err) in [
            ("training outputs", errs.outputs),
            ("losses", errs.losses),
            ("r and d", errs.r_d),
            ("gradients of step 0", errs.grads),
            ("moving mu and sigma", errs.mu_sigma),
            ("eval outputs", errs.eval),
        ] {
            assert!(err <= RUN_REL, "{}: {what}: {err} > {RUN_REL}", $prefix);
        }
        // bn-core -> PyTorch: the trained network and its eval outputs, for `--check-rust`.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let le = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        std::fs::write(dir.join(concat!("rust_", $prefix, "_model.safetensors")), net.save_safetensors()).unwrap();
        std::fs::write(dir.join(concat!("rust_", $prefix, "_model_outputs.bin")), le(&eval)).unwrap();
        net
    }};
}

fn matrix<'a, R: AsRef<[f32]> + 'a>(rows: impl IntoIterator<Item = &'a R>) -> Vec<f32> {
    flat(rows)
}

#[test]
fn batch_renormalization_over_features_follows_the_paper() {
    renorm_run!(Renorm, "renorm", U8, U5, |g| vec![
        ("0.weight", matrix(g.dense0.weight.iter())),
        ("1.weight", g.batchnorm1.gamma.to_vec()),
        ("1.bias", g.batchnorm1.beta.to_vec()),
        ("3.weight", matrix(g.dense3.weight.iter())),
        ("3.bias", g.dense3.bias.to_vec()),
    ]);
}

#[test]
fn batch_renormalization_over_images_follows_the_paper() {
    renorm_run!(RenormCnn, "renorm_cnn", U4, U50, |g| vec![
        ("0.weight", matrix(g.conv2d0.weight.iter())),
        ("1.weight", g.batchnorm1.gamma.to_vec()),
        ("1.bias", g.batchnorm1.beta.to_vec()),
        ("4.weight", matrix(g.dense4.weight.iter())),
        ("4.bias", g.dense4.bias.to_vec()),
    ]);
}
