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

use std::hint::black_box;

use bn_core::typenum::{U10, U60, U784};
use bn_core::{flat_mut, Batch, CacheAligned, GenericArray, Rng, Sgd, SoftmaxCrossEntropy, Trainer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use bn_paper::networks::{LeNetBn, LeNetBnFolded};
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

struct Setup {
    net: Box<LeNetBn>,
    trainer: Box<Trainer<LeNetBn, U60>>,
    x: Box<Batch<U60, U784>>,
    labels: GenericArray<usize, U60>,
    folded: Box<CacheAligned<LeNetBnFolded>>,
    y: Batch<U60, U10>,
}

fn setup() -> Setup {
    let mut rng = Rng::seed(1998);
    let mut net = LeNetBn::new_boxed(1);
    let mut x = bn_core::boxed_zeroed::<Batch<U60, U784>>();
    flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.uniform() as f32);
    let mut labels = GenericArray::<usize, U60>::default();
    labels.iter_mut().for_each(|l| *l = rng.below(10));
    let mut trainer = Trainer::<LeNetBn, U60>::new_boxed();
    // A few steps so that the population statistics and the folded weights are not trivial.
    for _ in 0..5 {
        net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    }
    let mut folded = bn_core::boxed_zeroed::<CacheAligned<LeNetBnFolded>>();
    net.fold_into(&mut folded.0);
    Setup { net, trainer, x, labels, folded, y: Batch::default() }
}

fn bench(c: &mut Criterion) {
    let mut s = setup();
    let opt = Sgd::new(0.01f32);
    let mut g = c.benchmark_group("lenet");
    g.throughput(Throughput::Elements(TRAIN_FLOPS as u64));
    g.bench_function("train_step_b60", |b| {
        b.iter(|| black_box(s.net.train_step(&*s.x, &s.labels, &SoftmaxCrossEntropy, &opt, &mut s.trainer)))
    });
    g.throughput(Throughput::Elements(FOLDED_FLOPS as u64));
    g.bench_function("folded_one", |b| b.iter(|| black_box(s.folded.0.forward(black_box(&s.x[7])))));
    g.throughput(Throughput::Elements(60 * FOLDED_FLOPS as u64));
    g.bench_function("folded_batch60", |b| {
        b.iter(|| {
            s.folded.0.forward_batch(black_box(&*s.x), &mut s.y);
            black_box(&s.y);
        })
    });
    g.finish();

    let train = common::time_per_call(|| {
        black_box(s.net.train_step(&*s.x, &s.labels, &SoftmaxCrossEntropy, &opt, &mut s.trainer));
    });
    let one = common::time_per_call(|| {
        black_box(s.folded.0.forward(black_box(&s.x[7])));
    });
    let batch = common::time_per_call(|| {
        s.folded.0.forward_batch(black_box(&*s.x), &mut s.y);
        black_box(&s.y);
    }) / 60.0;
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
