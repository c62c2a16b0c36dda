//! Parity with PyTorch for residual networks: identity and projection blocks (stride 2, a
//! shortcut with its own BN), GroupNorm with and without affine parameters, inside a block
//! and outside, global average pooling and a BN over the pooled features, on an image that is
//! not square. Both directions, and one SGD step replayed.
//!
//! PyTorch → bn-core: `tools/pytorch_interop_resnet.py` trained the PyTorch equivalent of
//! `InteropResNet` (its `Residual` and `GlobalAvgPool` modules give `network!`'s names:
//! `K.body.J.…`, `K.shortcut.J.…`) 20 SGD steps in train mode and wrote its `state_dict`, the
//! state_dict of its folded equivalent (folded in float64), inputs, PyTorch's eval and folded
//! outputs, and one more SGD step: its labels, rate, train-mode outputs, loss, the state_dict
//! after it and the eval outputs after it (`tests/fixtures/pytorch/resnet_*`). Here every
//! tensor loads (strict), bn-core's eval path and folded model give PyTorch's outputs,
//! PyTorch's folded file loads into the folded type, and bn-core's step gives PyTorch's.
//!
//! bn-core → PyTorch: `writes_files_for_pytorch` trains the loaded network 3 more steps in
//! bn-core and writes `rust_resnet_model.safetensors`, `rust_resnet_model_folded.safetensors`
//! and bn-core's outputs to the target's tmp directory; the script's `--check-rust` mode loads
//! them into PyTorch (`load_state_dict(..., strict=True)`), compares the outputs and bn-core's
//! fold with its own, and replays the 3 steps (needs PyTorch, so not part of `cargo test`).

mod common;

use std::collections::BTreeMap;

use bn_core::typenum::{U144, U16, U8};
use bn_core::{Batch, Loss, Network, Sgd, SoftmaxCrossEntropy, StateDict, Trainer};

use common::files::{f32s, layout, tensors, Tensor};
use common::pytorch::{check, fixture, max_rel, max_rel_state, read, train_and_write_for_pytorch, REL};

bn_core::network! {
    /// `training_model()` of `tools/pytorch_interop_resnet.py`. Shapes: 2×9×8 → stem 6×9×8
    /// → identity block 6×9×8 → projection block (stride 2) 8×5×4 → pre-activation block
    /// with a GroupNorm 8×5×4 → GroupNorm without affine parameters → global_avgpool 8 → BN
    /// over features → 8 → 3.
    pub struct InteropResNet {
        input: (2, 9, 8),
        conv2d(6, kernel = 3, padding = 1), batchnorm, relu,
        residual {
            conv2d(6, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(6, kernel = 3, padding = 1), batchnorm(eps = 1e-3, momentum = 0.2),
        },
        relu,
        residual {
            conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(8, kernel = 1, stride = 2), batchnorm(momentum = cumulative),
        },
        relu,
        residual {
            batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), groupnorm(4, eps = 1e-3),
        },
        groupnorm(2, eps = 1e-4, affine = false),
        global_avgpool,
        batchnorm,
        dense(8), relu,
        dense(3),
    }
}

/// One input: 2 × 9 × 8 values, in (C, H, W) order.
const N_IN: usize = 2 * 9 * 8;
/// PyTorch's training steps before the fixture (each BN's `num_batches_tracked`).
const PYTORCH_STEPS: u64 = 20;
/// The tolerance of the state after one SGD step (relative, floor 1e-3). PyTorch's own
/// float32 step differs from the same step in float64 by 6.2e-6 (the script prints it):
/// each side's parameter moves by the rate times its gradient's float32 rounding, in
/// different orders, so the two float32 steps may differ by about twice that. A gradient
/// with a wrong term (a branch missing at the fork, a BN's batch statistics not
/// differentiated) moves a parameter by about the rate times the gradient, 1e-3 and more.
const STEP_REL: f32 = 5e-5;
/// The tolerance of each tensor's update (after − before), relative to its largest update:
/// the gradient's relative error. PyTorch's float32 update differs from float64's by 3.2e-5
/// (a γ near 1 rounds to 6e-8 after an update of 1.4e-3); a wrong gradient is off by O(1).
const UPDATE_REL: f32 = 1e-3;

fn inputs() -> Vec<[f32; N_IN]> {
    common::pytorch::inputs("resnet_inputs.bin")
}

fn batch<B: bn_core::generic_array::ArrayLength>(x: &[[f32; N_IN]]) -> Batch<B, U144> {
    let mut batch = Batch::<B, U144>::default();
    for (row, x) in batch.iter_mut().zip(x) {
        row.copy_from_slice(x);
    }
    batch
}

fn pytorch_file() -> Vec<u8> {
    read(&fixture("resnet_model.safetensors"))
}

fn pytorch_model() -> Box<InteropResNet> {
    InteropResNet::load_safetensors(&pytorch_file()).expect("PyTorch's state_dict loads")
}

fn flat<'a, R: AsRef<[f32]> + 'a>(rows: impl IntoIterator<Item = &'a R>) -> Vec<f32> {
    rows.into_iter().flat_map(|r| r.as_ref().to_vec()).collect()
}

fn fixture_f32s(name: &str) -> Vec<f32> {
    f32s(&read(&fixture(name)))
}

/// Every tensor of the model's own file, by name.
fn state(net: &impl StateDict) -> BTreeMap<String, Tensor> {
    tensors(&net.save_safetensors())
}

#[test]
fn pytorch_weights_load_every_tensor_and_give_pytorch_outputs() {
    let net = pytorch_model();
    // Strict: every tensor of PyTorch's state_dict has a place (`K.body.J.…`, `K.shortcut.J.…`,
    // the affine GroupNorm's `7.body.3.weight`, none for GroupNorm 8), and bn-core saves the
    // same tensors back bit for bit: names, dtypes, shapes and values.
    let file = tensors(&pytorch_file());
    let ours = state(&*net);
    assert_eq!(layout(&ours), layout(&file));
    for (k, t) in &file {
        assert_eq!(ours[k].data, t.data, "{k}");
    }
    assert!(file.contains_key("5.shortcut.1.running_var") && file.contains_key("7.body.3.bias"));
    assert!(!file.keys().any(|k| k.starts_with("3.shortcut") || k.starts_with("8.")));
    // PyTorch trained it in train mode: the statistics are counted in every BN, branches
    // included (the script checks that every γ and β moved).
    for (k, t) in &file {
        if k.ends_with("num_batches_tracked") {
            assert_eq!(t.data, (PYTORCH_STEPS as i64).to_le_bytes(), "{k}");
        }
    }

    let x = inputs();
    assert_eq!(x.len(), 16);
    let want = fixture_f32s("resnet_outputs.bin");
    let eval = flat(x.iter().map(|x| net.eval(x)).collect::<Vec<_>>().iter());
    check("eval path vs PyTorch eval", &eval, &want, REL);
    // The batched eval gives the same bits.
    let mut y = Batch::<U16, _>::default();
    net.eval_batch(&batch::<U16>(&x), &mut y);
    assert_eq!(flat(y.iter()), eval, "the batched eval gives the same bits");

    let folded = net.fold();
    let ours = flat(x.iter().map(|x| folded.forward(x)).collect::<Vec<_>>().iter());
    check("bn-core folded model vs PyTorch eval", &ours, &want, REL);
    check("bn-core folded model vs bn-core eval", &ours, &eval, REL);
    check("bn-core folded model vs PyTorch folded model", &ours, &fixture_f32s("resnet_folded_outputs.bin"), REL);
    println!("{}", InteropResNet::SUMMARY);
}

#[test]
fn pytorch_folded_model_loads_into_the_folded_type() {
    // Strict names and shapes: each folded branch renumbered from 0 (`2.body.0`, …,
    // `4.shortcut.0`), the depthwise `[8, 1, 1, 1]` affine layer `6.body.0`, the GroupNorm
    // `6.body.3` kept, the BN over features folded into Linear `9`.
    let theirs = InteropResNetFolded::load_safetensors(&read(&fixture("resnet_model_folded.safetensors")))
        .expect("PyTorch's folded state_dict loads");
    let x = inputs();
    let out = flat(x.iter().map(|x| theirs.forward(x)).collect::<Vec<_>>().iter());
    check("PyTorch-folded model in bn-core vs PyTorch folded", &out, &fixture_f32s("resnet_folded_outputs.bin"), REL);
    check("PyTorch-folded model in bn-core vs PyTorch eval", &out, &fixture_f32s("resnet_outputs.bin"), REL);
    // PyTorch's fold (in f64) and bn-core's (in f32) agree tensor by tensor.
    let ours = state(&pytorch_model().fold());
    let file = state(&*theirs);
    assert_eq!(layout(&ours), layout(&file));
    assert_eq!(file["6.body.0.weight"].shape, [8, 1, 1, 1]);
    let mut worst = 0f32;
    for (k, t) in &ours {
        let (a, b) = (t.f32s(), file[k].f32s());
        worst = a.iter().zip(&b).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(worst, f32::max);
    }
    println!("bn-core's fold vs PyTorch's, {} tensors: max difference {worst:.2e} (relative above 1)", ours.len());
    assert!(worst <= 1e-5, "{worst}");
}

#[test]
fn one_sgd_step_matches_pytorch() {
    let mut net = pytorch_model();
    let before = state(&*net);
    let step = tensors(&read(&fixture("resnet_step.safetensors")));
    let labels: Vec<usize> = step["labels"]
        .data
        .chunks_exact(8)
        .map(|c| usize::try_from(i64::from_le_bytes(c.try_into().unwrap())).unwrap())
        .collect();
    let lr = step["lr"].f32s()[0];
    assert_eq!((labels.len(), lr), (8, 0.05));

    // The step of `train_step`, taken apart to see its outputs and loss: forward with batch
    // statistics in every BN (branches included), softmax cross-entropy, backward, SGD.
    let x = batch::<U8>(&inputs()[..8]);
    let labels = bn_core::GenericArray::<usize, U8>::from_iter(labels);
    let mut trainer = Trainer::<InteropResNet, U8>::new_boxed();
    let out = flat(net.forward_train(&x, &mut trainer.workspace).iter());
    check("training forward (batch statistics) vs PyTorch train mode", &out, &step["outputs"].f32s(), REL);
    let (out, dout) = InteropResNet::output_and_grad(&mut trainer.workspace);
    let loss = SoftmaxCrossEntropy.loss_and_grad(out, &labels, dout);
    check("loss vs PyTorch's", &[loss], &step["loss"].f32s(), REL);
    net.backward(&x, &mut trainer.workspace, &mut trainer.grads);
    net.step(&trainer.grads, &mut trainer.state, &Sgd::new(lr));

    // The state after it: parameters, running statistics (updated from the batch's), counts.
    let after = state(&*net);
    let want = tensors(&read(&fixture("resnet_model_step.safetensors")));
    let (err, key) = max_rel_state(&after, &want);
    println!(
        "state after one step vs PyTorch's: max relative difference {err:.2e} in {key} (tolerance {STEP_REL:.0e})"
    );
    assert!(err <= STEP_REL, "{key}: {err}");
    // Each tensor's update against PyTorch's, relative to its largest: the gradients agree.
    let mut worst = (0f32, String::new());
    for (k, b) in before.iter().filter(|(_, t)| t.dtype == "F32") {
        let b = b.f32s();
        let ours: Vec<f32> = after[k].f32s().iter().zip(&b).map(|(a, b)| a - b).collect();
        let theirs: Vec<f32> = want[k].f32s().iter().zip(&b).map(|(a, b)| a - b).collect();
        let largest = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(largest > 0.0, "{k} did not move");
        let err = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / largest;
        if err > worst.0 || err.is_nan() {
            worst = (err, k.clone());
        }
    }
    println!("updates vs PyTorch's: max difference {:.2e} of the tensor's largest, in {}", worst.0, worst.1);
    assert!(worst.0 <= UPDATE_REL, "{}: {}", worst.1, worst.0);
    // The stepped network evaluates as PyTorch's.
    let eval = flat(inputs().iter().map(|x| net.eval(x)).collect::<Vec<_>>().iter());
    let err = max_rel(&eval, &step["eval_outputs"].f32s());
    println!("eval after the step vs PyTorch's: max relative difference {err:.2e} (tolerance {STEP_REL:.0e})");
    assert!(err <= STEP_REL, "{err}");
}

#[test]
fn writes_files_for_pytorch() {
    // Train a few more steps in bn-core, so the file holds bn-core's own values. The script's
    // `--check-rust` replays these steps in PyTorch: keep the batches, labels, loss and
    // learning rate in step with `RUST_STEPS`, `RUST_BATCH` and `RUST_LR` of
    // tools/pytorch_interop.py.
    let mut net = pytorch_model();
    let folded = train_and_write_for_pytorch(&mut *net, &inputs(), "rust_resnet_model", "pytorch_interop_resnet.py");
    let counts: Vec<Vec<u8>> =
        state(&*net).into_iter().filter(|(k, _)| k.ends_with("num_batches_tracked")).map(|(_, t)| t.data).collect();
    assert_eq!(counts.len(), 8);
    assert!(counts.iter().all(|c| *c == (PYTORCH_STEPS as i64 + 3).to_le_bytes()));
    // The files are of a trained, folded network: the fold is not the identity.
    assert_ne!(folded, pytorch_model().fold());
}
