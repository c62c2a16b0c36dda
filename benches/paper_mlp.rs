//! The paper's MNIST network (`bn_paper::networks::PaperBn`: 784 → 3 × [dense(100),
//! batchnorm, sigmoid] → dense(10), f32, one thread):
//!
//! - `paper_mlp/train_step_b60`: one training step at batch 60 (forward, softmax
//!   cross-entropy, backward, SGD);
//! - `paper_mlp/folded_one`: the folded network, one sample (bound by reading the weights
//!   from L2: the table is followed by that floor, measured in the same process);
//! - `paper_mlp/folded_batch60`: the folded network, a batch of 60, time per sample: the
//!   generated `forward_batch` (chunks of 32 + 16 + 8 + 4 samples through one matrix product
//!   per layer), and, as a reference, `paper_mlp/folded_batch60_chain`, the same chain
//!   written by hand on the whole batch of 60.
//!
//! (Older issue texts call these W1, W2a and W2b.) `cargo bench --bench paper_mlp`; after
//! criterion's lines, a table with GFLOP/s and the fraction of the FMA peak measured in the
//! same process.

mod common;

use std::hint::black_box;

use bn_core::typenum::{U100, U60};
use bn_core::Batch;
use criterion::{criterion_group, criterion_main, Criterion};

use bn_paper::networks::{paper_bn_folded_chain, PaperBn, PaperBnFolded};
use common::workload::{Workload, BATCH};
use common::Row;

/// FLOPs of one training step at batch 60: forward, `dW` of every layer, `dX` of layers 2–4.
const TRAIN_FLOPS: f64 = 2.0 * 60.0 * (99_400.0 + 99_400.0 + 21_000.0);
/// FLOPs of one folded forward.
const FOLDED_FLOPS: f64 = 2.0 * 99_400.0;

fn bench(c: &mut Criterion) {
    let mut w = Workload::<PaperBn>::new(2015, 10);
    // The hidden layers' outputs of the hand-written chain.
    let mut h: Box<[Batch<U60, U100>; 2]> = bn_core::boxed_zeroed();
    let mut g = c.benchmark_group("paper_mlp");
    w.bench(&mut g, TRAIN_FLOPS, FOLDED_FLOPS);
    let mut chain = |w: &mut Workload<PaperBn>| {
        paper_bn_folded_chain(&w.folded.0, black_box(&w.x), &mut h, &mut w.y);
        black_box(&w.y);
    };
    g.bench_function("folded_batch60_chain", |b| b.iter(|| chain(&mut w)));
    g.finish();

    let [train, one, batch] = w.times();
    let batch_chain = common::time_per_call(|| chain(&mut w)) / BATCH as f64;
    // folded_one streams every folded weight once per sample: more bytes than L1 holds, so the time
    // to read that many bytes from L2 (measured now) is its floor.
    let bytes = std::mem::size_of::<PaperBnFolded>();
    let floor = common::read_seconds(bytes);
    common::report(
        "paper network (784-100-100-100-10)",
        &[
            Row { name: "paper_mlp/train_step_b60", secs: train, flops: TRAIN_FLOPS, target: 275e-6 },
            Row { name: "paper_mlp/folded_one", secs: one, flops: FOLDED_FLOPS, target: 3e-6 },
            Row { name: "paper_mlp/folded_batch60, /sample", secs: batch, flops: FOLDED_FLOPS, target: 2e-6 },
            Row {
                name: "paper_mlp/folded_batch60_chain, /sample",
                secs: batch_chain,
                flops: FOLDED_FLOPS,
                target: 2e-6,
            },
        ],
    );
    println!(
        "  folded_one reads the folded weights ({bytes} bytes: more than L1, within L2) once per sample; reading\n  \
         that many bytes takes {} here ({:.0} GB/s), the floor of folded_one: it runs at {:.0}% of that bound \
         (the {} target needs {:.0} GB/s).\n",
        common::fmt_time(floor),
        bytes as f64 / floor / 1e9,
        100.0 * floor / one,
        common::fmt_time(3e-6),
        bytes as f64 / 3e-6 / 1e9,
    );
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
