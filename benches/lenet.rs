//! The LeNet of the CNN experiment (`bn_paper::networks::LeNetBn`: `conv2d(8, 3×3, padding
//! 1), batchnorm, relu, maxpool(2), conv2d(8 => 16, …), batchnorm, relu, maxpool(2), flatten,
//! dense(10)`, f32, one thread):
//!
//! - `lenet/train_step_b60`: a training step at batch 60 (forward, softmax cross-entropy,
//!   backward, SGD): 97.6 MFLOP (forward 34.8 M, weight gradients 34.8 M, input gradients
//!   28.0 M);
//! - `lenet/folded_one`: the folded model, one sample (`forward`), and
//!   `lenet/folded_batch60`: a batch of 60 through `forward_batch` (per sample): 0.58 MFLOP a
//!   sample.
//!
//! (Older issue texts call these W4.) `cargo bench --bench lenet`; after criterion's lines, a
//! table with GFLOP/s and the fraction of the FMA peak measured in the same process.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

use bn_paper::networks::LeNetBn;
use common::workload::Workload;
use common::Row;

/// Multiply-adds of one sample's forward: conv 1→8 (3×3 over 28×28), conv 8→16 (3×3 over
/// 14×14), dense 784→10.
const FORWARD_MACS: f64 = (8 * 9 * 784 + 16 * 72 * 196 + 784 * 10) as f64;
/// Of one sample's input gradients (the first conv needs none).
const INPUT_GRAD_MACS: f64 = (16 * 72 * 196 + 784 * 10) as f64;
/// FLOPs of one training step at batch 60: forward, weight gradients (as many as the
/// forward), input gradients.
const TRAIN_FLOPS: f64 = 2.0 * 60.0 * (2.0 * FORWARD_MACS + INPUT_GRAD_MACS);
/// FLOPs of one folded forward.
const FOLDED_FLOPS: f64 = 2.0 * FORWARD_MACS;

fn bench(c: &mut Criterion) {
    let mut w = Workload::<LeNetBn>::new(1998, 10);
    let mut g = c.benchmark_group("lenet");
    w.bench(&mut g, TRAIN_FLOPS, FOLDED_FLOPS);
    g.finish();

    let [train, one, batch] = w.times();
    common::report(
        "LeNet (1×28×28 → conv 8 → pool → conv 16 → pool → 10)",
        &[
            Row { name: "lenet/train_step_b60", secs: train, flops: TRAIN_FLOPS, target: 2e-3 },
            Row { name: "lenet/folded_one", secs: one, flops: FOLDED_FLOPS, target: 15e-6 },
            Row { name: "lenet/folded_batch60, /sample", secs: batch, flops: FOLDED_FLOPS, target: 8e-6 },
        ],
    );
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
