//! Parity with PyTorch for multilayer perceptrons (`bn_paper::networks::Interop`: every layer
//! kind over features and every fold case), both directions.
//!
//! PyTorch → bn-core: `tools/pytorch_interop.py` trained the PyTorch equivalent of `Interop`
//! a few steps and wrote its `state_dict` (`safetensors.torch.save_file`), the state_dict of
//! its folded equivalent, inputs and PyTorch's eval outputs to `tests/fixtures/pytorch/`.
//! Here they load, and bn-core's outputs (eval path, folded model) match PyTorch's.
//!
//! bn-core → PyTorch: `writes_files_for_pytorch` trains the loaded network a few more steps
//! in bn-core and writes `rust_model.safetensors`, `rust_model_folded.safetensors` and
//! bn-core's outputs to the target's tmp directory; the script's `--check-rust` mode loads
//! them into PyTorch (`load_state_dict(..., strict=True)`) and compares (needs PyTorch, so
//! not part of `cargo test`).

mod common;

use bn_core::Momentum;
use bn_paper::networks::{Interop, InteropFolded};

use common::pytorch::{fixture, max_rel_rows, read, rows, train_and_write_for_pytorch, REL};

const N_IN: usize = 6;
const N_OUT: usize = 3;

fn inputs() -> Vec<[f32; N_IN]> {
    common::pytorch::inputs("inputs.bin")
}

fn pytorch_model() -> Box<Interop> {
    Interop::load_safetensors(&read(&fixture("model.safetensors"))).expect("PyTorch's state_dict loads")
}

#[test]
fn pytorch_weights_give_pytorch_outputs() {
    let net = pytorch_model();
    // Trained in train mode: statistics and parameters are not the defaults.
    assert_eq!(net.batchnorm1.num_batches_tracked, 10);
    assert_eq!(net.batchnorm8.num_batches_tracked, 10);
    assert!(net.batchnorm1.running_mean.iter().all(|&m| m != 0.0));
    assert!(net.batchnorm5.running_var.iter().all(|&v| v != 1.0));
    assert!(net.batchnorm8.gamma.iter().all(|&g| g != 1.0));
    // ε and momentum are the declared ones.
    assert_eq!(net.batchnorm5.eps, 1e-3);
    assert_eq!(net.batchnorm8.momentum, Momentum::Cumulative);

    let want = rows(&read(&fixture("outputs.bin")), N_OUT);
    let x = inputs();
    assert_eq!(x.len(), 16);
    let eval: Vec<Vec<f32>> = x.iter().map(|x| net.eval(x).to_vec()).collect();
    let err = max_rel_rows(&eval, &want);
    println!("eval path vs PyTorch eval: max relative difference {err:.2e}");
    assert!(err <= REL, "eval path vs PyTorch: {err}");

    let folded = net.fold();
    let ours: Vec<Vec<f32>> = x.iter().map(|x| folded.forward(x).to_vec()).collect();
    let err = max_rel_rows(&ours, &want);
    println!("bn-core folded model vs PyTorch eval: max relative difference {err:.2e}");
    assert!(err <= REL, "folded vs PyTorch: {err}");
}

#[test]
fn pytorch_folded_model_loads_into_the_folded_type() {
    let theirs = InteropFolded::load_safetensors(&read(&fixture("model_folded.safetensors"))).unwrap();
    let x = inputs();
    let out: Vec<Vec<f32>> = x.iter().map(|x| theirs.forward(x).to_vec()).collect();
    let err = max_rel_rows(&out, &rows(&read(&fixture("folded_outputs.bin")), N_OUT));
    println!("PyTorch-folded model in bn-core vs PyTorch: max relative difference {err:.2e}");
    assert!(err <= REL, "{err}");
    let err = max_rel_rows(&out, &rows(&read(&fixture("outputs.bin")), N_OUT));
    assert!(err <= REL, "{err}");
    // PyTorch's fold (in f64) and bn-core's (in f32) agree parameter by parameter.
    let ours = pytorch_model().fold();
    let (a, b) = (bn_core::PlainData::as_scalars(&ours), bn_core::PlainData::as_scalars(&*theirs));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "scalar {i}: {x} vs {y}");
    }
}

#[test]
fn writes_files_for_pytorch() {
    // Train a few more steps in bn-core, so the file holds bn-core's own values.
    let mut net = pytorch_model();
    let folded = train_and_write_for_pytorch(&mut *net, &inputs(), "rust_model", "pytorch_interop.py");
    assert_eq!(net.batchnorm1.num_batches_tracked, 13);
    // The files are of a trained, folded network: the fold is not the identity.
    assert_ne!(folded, pytorch_model().fold());
}
