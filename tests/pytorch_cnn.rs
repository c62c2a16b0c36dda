//! Parity with PyTorch for convolutional networks (`bn_paper::networks::InteropCnn`: every
//! image layer kind and option, and a BN in every place of the fold plan), both directions
//! (multilayer perceptrons: `tests/pytorch_mlp.rs`).
//!
//! PyTorch → bn-core: `tools/pytorch_interop_cnn.py` trained the PyTorch equivalent of
//! `InteropCnn` a few steps and wrote its `state_dict` (`safetensors.torch.save_file`), the
//! state_dict of its folded equivalent, inputs and PyTorch's eval outputs to
//! `tests/fixtures/pytorch/cnn_*`. Here they load, and bn-core's outputs (eval path, folded
//! model) match PyTorch's.
//!
//! bn-core → PyTorch: `writes_files_for_pytorch` trains the loaded network a few more steps
//! in bn-core and writes `rust_cnn_model.safetensors`, `rust_cnn_model_folded.safetensors` and
//! bn-core's outputs to the target's tmp directory; the script's `--check-rust` mode loads
//! them into PyTorch (`load_state_dict(..., strict=True)`), compares the outputs and replays
//! the training steps (needs PyTorch, so not part of `cargo test`).

mod common;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U16, U476};
use bn_core::{Batch, BatchNorm, Momentum};
use bn_paper::networks::{InteropCnn, InteropCnnFolded};

use common::pytorch::{fixture, max_rel_rows, read, rows, train_and_write_for_pytorch, REL};

/// One input: 2 × 17 × 14 values, in (C, H, W) order.
const N_IN: usize = 2 * 17 * 14;
const N_OUT: usize = 3;

/// The 16 inputs, each an image flattened in (C, H, W) order as PyTorch's `N C H W` tensor.
fn inputs() -> Vec<[f32; N_IN]> {
    common::pytorch::inputs("cnn_inputs.bin")
}

fn pytorch_model() -> Box<InteropCnn> {
    InteropCnn::load_safetensors(&read(&fixture("cnn_model.safetensors"))).expect("PyTorch's state_dict loads")
}

/// A BN trained in train mode by PyTorch: `batches` batches counted, and no statistic or
/// parameter left at its initial value. γ and β must have moved by more than rounding (8 ulps
/// of 1): a β whose shift a later BN cancels (BN → linear → BN) only gathers rounding noise.
fn assert_trained<N: ArrayLength>(name: &str, bn: &BatchNorm<N>, batches: u64) {
    assert_eq!(bn.num_batches_tracked, batches, "{name}.num_batches_tracked");
    assert!(bn.running_mean.iter().all(|&m| m != 0.0), "{name}.running_mean: {:?}", bn.running_mean);
    assert!(bn.running_var.iter().all(|&v| v != 1.0), "{name}.running_var: {:?}", bn.running_var);
    assert!(bn.gamma.iter().all(|&g| (g - 1.0).abs() > 1e-6), "{name}.weight: {:?}", bn.gamma);
    assert!(bn.beta.iter().all(|&b| b.abs() > 1e-6), "{name}.bias: {:?}", bn.beta);
}

#[test]
fn pytorch_weights_give_pytorch_outputs() {
    let net = pytorch_model();
    // Trained in train mode (10 steps): statistics and parameters are not the defaults, the
    // BatchNorm2d ones (per channel) as the BatchNorm1d ones.
    assert_trained("1", &net.batchnorm1, 10);
    assert_trained("4", &net.batchnorm4, 10);
    assert_trained("7", &net.batchnorm7, 10);
    assert_trained("9", &net.batchnorm9, 10);
    assert_trained("11", &net.batchnorm11, 10);
    assert_trained("16", &net.batchnorm16, 10);
    assert_trained("20", &net.batchnorm20, 10);
    // ε and momentum are the declared ones (PyTorch's modules were built with the same).
    let declared = [
        (&net.batchnorm1.eps, &net.batchnorm1.momentum, 1e-5, Momentum::Exponential(0.1)),
        (&net.batchnorm4.eps, &net.batchnorm4.momentum, 1e-3, Momentum::Exponential(0.3)),
        (&net.batchnorm7.eps, &net.batchnorm7.momentum, 1e-5, Momentum::Cumulative),
        (&net.batchnorm9.eps, &net.batchnorm9.momentum, 1e-4, Momentum::Exponential(0.05)),
        (&net.batchnorm11.eps, &net.batchnorm11.momentum, 1e-5, Momentum::Exponential(0.1)),
        (&net.batchnorm16.eps, &net.batchnorm16.momentum, 1e-2, Momentum::Cumulative),
        (&net.batchnorm20.eps, &net.batchnorm20.momentum, 1e-2, Momentum::Exponential(0.1)),
    ];
    for (i, (eps, momentum, want_eps, want_momentum)) in declared.into_iter().enumerate() {
        assert_eq!((*eps, *momentum), (want_eps, want_momentum), "BN {i} of the list");
    }

    let want = rows(&read(&fixture("cnn_outputs.bin")), N_OUT);
    let x = inputs();
    assert_eq!(x.len(), 16);
    let eval: Vec<Vec<f32>> = x.iter().map(|x| net.eval(x).to_vec()).collect();
    let err = max_rel_rows(&eval, &want);
    println!("eval path vs PyTorch eval: max relative difference {err:.2e}");
    assert!(err <= REL, "eval path vs PyTorch: {err}");

    // The batched eval gives the same bits.
    let mut batch = Batch::<U16, U476>::default();
    for (row, x) in batch.iter_mut().zip(&x) {
        row.copy_from_slice(x);
    }
    let mut y = Batch::<U16, _>::default();
    net.eval_batch(&batch, &mut y);
    assert!(y.iter().zip(&eval).all(|(a, b)| a.as_slice() == b.as_slice()));

    let folded = net.fold();
    let ours: Vec<Vec<f32>> = x.iter().map(|x| folded.forward(x).to_vec()).collect();
    let err = max_rel_rows(&ours, &want);
    println!("bn-core folded model vs PyTorch eval: max relative difference {err:.2e}");
    assert!(err <= REL, "folded vs PyTorch: {err}");
    let err = max_rel_rows(&ours, &rows(&read(&fixture("cnn_folded_outputs.bin")), N_OUT));
    println!("bn-core folded model vs PyTorch folded model: max relative difference {err:.2e}");
    assert!(err <= REL, "folded vs PyTorch folded: {err}");
    println!("{}\n{folded}", InteropCnn::SUMMARY);
}

#[test]
fn pytorch_folded_model_loads_into_the_folded_type() {
    // The names and shapes of the folded file are those of `InteropCnnFolded`: the load checks
    // each (depthwise `[C, 1, 1, 1]` weights for the per-channel affine layers).
    let theirs = InteropCnnFolded::load_safetensors(&read(&fixture("cnn_model_folded.safetensors"))).unwrap();
    let x = inputs();
    let out: Vec<Vec<f32>> = x.iter().map(|x| theirs.forward(x).to_vec()).collect();
    let err = max_rel_rows(&out, &rows(&read(&fixture("cnn_folded_outputs.bin")), N_OUT));
    println!("PyTorch-folded model in bn-core vs PyTorch folded model: max relative difference {err:.2e}");
    assert!(err <= REL, "{err}");
    let err = max_rel_rows(&out, &rows(&read(&fixture("cnn_outputs.bin")), N_OUT));
    println!("PyTorch-folded model in bn-core vs PyTorch eval: max relative difference {err:.2e}");
    assert!(err <= REL, "{err}");
    // PyTorch's fold (in f64) and bn-core's (in f32) agree parameter by parameter.
    let ours = pytorch_model().fold();
    let (a, b) = (bn_core::PlainData::as_scalars(&ours), bn_core::PlainData::as_scalars(&*theirs));
    assert_eq!(a.len(), b.len());
    let mut worst = 0f32;
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let err = (x - y).abs() / y.abs().max(1.0);
        assert!(err <= 1e-5, "scalar {i}: {x} vs {y}");
        worst = worst.max(err);
    }
    println!("bn-core's fold vs PyTorch's, {} scalars: max difference {worst:.2e} (relative above 1)", a.len());
}

#[test]
fn writes_files_for_pytorch() {
    // Train a few more steps in bn-core, so the file holds bn-core's own values. The script's
    // `--check-rust` replays these steps in PyTorch: keep the batches, labels, loss and
    // learning rate in step with `RUST_STEPS`, `RUST_BATCH` and `RUST_LR` of
    // tools/pytorch_interop.py.
    let mut net = pytorch_model();
    let folded = train_and_write_for_pytorch(&mut *net, &inputs(), "rust_cnn_model", "pytorch_interop_cnn.py");
    assert_eq!(net.batchnorm1.num_batches_tracked, 13);
    assert_eq!(net.batchnorm20.num_batches_tracked, 13);
    // The files are of a trained, folded network: the fold is not the identity.
    assert_ne!(folded, pytorch_model().fold());
}
