//! W5, the ResNet experiment's network (`bn_paper::networks::ResNetBn`: a 3×3 stem of 16
//! channels, three stages of one residual block at 16, 32 and 64 channels — 28×28, 14×14,
//! 7×7 — with projection shortcuts at the strides, `global_avgpool`, `dense(10)`; f32, one
//! thread):
//!
//! - `resnet/train_step_b60`: a training step at batch 60 (forward, softmax cross-entropy,
//!   backward, SGD): 3.35 GFLOP (forward 1.12 G, weight gradients 1.12 G, input gradients
//!   1.11 G);
//! - `resnet/folded_one`: the folded model, one sample (`forward`), and
//!   `resnet/folded_batch60`: a batch of 60 through `forward_batch` (per sample): 18.7 MFLOP
//!   a sample.
//!
//! The targets (issue 20) are fractions of the FMA peak measured in the same process: the
//! train step at ≥ 50 %, the folded batch at ≥ 60 %. With `BN_BENCH_PYTHON` naming a Python
//! that has torch, the same network runs in PyTorch (`tools/bench_pytorch_resnet.py`) at 1
//! and 2 threads after criterion's lines, and the table gains the ratios (target: the train
//! step ≥ 1.8× PyTorch's at 1 thread). `cargo bench --bench resnet`.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

use bn_paper::networks::ResNetBn;
use common::workload::Workload;
use common::Row;

/// Multiply-adds of one sample's forward, layer by layer (output channels × inputs per
/// output × output pixels): the stem, stage 1's two convs, stage 2's (stride 2, then 3×3,
/// then the 1×1 shortcut), stage 3's, the dense layer.
const FORWARD_MACS: f64 = (16 * 9 * 784
    + 2 * 16 * 144 * 784
    + (32 * 144 * 196 + 32 * 288 * 196 + 32 * 16 * 196)
    + (64 * 288 * 49 + 64 * 576 * 49 + 64 * 32 * 49)
    + 64 * 10) as f64;
/// Of one sample's input gradients (the stem needs none).
const INPUT_GRAD_MACS: f64 = FORWARD_MACS - (16 * 9 * 784) as f64;
/// FLOPs of one training step at batch 60: forward, weight gradients (as many as the
/// forward), input gradients.
const TRAIN_FLOPS: f64 = 2.0 * 60.0 * (2.0 * FORWARD_MACS + INPUT_GRAD_MACS);
/// FLOPs of one folded forward.
const FOLDED_FLOPS: f64 = 2.0 * FORWARD_MACS;

fn bench(c: &mut Criterion) {
    let mut w = Workload::<ResNetBn>::new(2016, 10);
    let mut g = c.benchmark_group("resnet");
    w.bench(&mut g, TRAIN_FLOPS, FOLDED_FLOPS);
    g.finish();

    let [train, one, batch] = w.times();
    // The targets as times: the fraction of this run's peak.
    let peak = common::peak_gflops() * 1e9;
    common::report(
        "ResNet (W5: 1×28×28 → stem 16 → blocks 16, 32, 64 → global_avgpool → 10)",
        &[
            Row { name: "resnet/train_step_b60", secs: train, flops: TRAIN_FLOPS, target: TRAIN_FLOPS / (0.5 * peak) },
            Row { name: "resnet/folded_one", secs: one, flops: FOLDED_FLOPS, target: f64::INFINITY },
            Row {
                name: "resnet/folded_batch60, /sample",
                secs: batch,
                flops: FOLDED_FLOPS,
                target: FOLDED_FLOPS / (0.6 * peak),
            },
        ],
    );
    common::pytorch::compare("bench_pytorch_resnet.py", &[train, one, batch], 1.8);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
