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

use bn_core::typenum::{U10, U100, U60, U784};
use bn_core::{
    flat_mut, Activation, Batch, CacheAligned, GenericArray, Rng, Sgd, Sigmoid, SoftmaxCrossEntropy, Trainer,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use bn_paper::networks::{PaperBn, PaperBnFolded};
use common::Row;

/// FLOPs of one training step at batch 60: forward, `dW` of every layer, `dX` of layers 2–4.
const TRAIN_FLOPS: f64 = 2.0 * 60.0 * (99_400.0 + 99_400.0 + 21_000.0);
/// FLOPs of one folded forward.
const FOLDED_FLOPS: f64 = 2.0 * 99_400.0;

struct Setup {
    net: Box<PaperBn>,
    trainer: Box<Trainer<PaperBn, U60>>,
    x: Box<Batch<U60, U784>>,
    labels: GenericArray<usize, U60>,
    folded: Box<CacheAligned<PaperBnFolded>>,
    y: Batch<U60, U10>,
    h: Box<[Batch<U60, U100>; 2]>,
}

/// The folded model on a whole batch, layer by layer (one matrix product per layer, the
/// sigmoid in place); equal bit for bit to `forward_batch`.
fn folded_batch_chain(f: &PaperBnFolded, x: &Batch<U60, U784>, h: &mut [Batch<U60, U100>; 2], y: &mut Batch<U60, U10>) {
    let [h0, h1] = h;
    f.dense0.forward(x, h0);
    Sigmoid::apply(flat_mut(h0));
    f.dense3.forward(h0, h1);
    Sigmoid::apply(flat_mut(h1));
    f.dense6.forward(h1, h0);
    Sigmoid::apply(flat_mut(h0));
    f.dense9.forward(h0, y);
}

fn setup() -> Setup {
    let mut rng = Rng::seed(2015);
    let net = PaperBn::new_boxed(1);
    let mut x = bn_core::boxed_zeroed::<Batch<U60, U784>>();
    flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.uniform() as f32);
    let mut labels = GenericArray::<usize, U60>::default();
    labels.iter_mut().for_each(|l| *l = rng.below(10));
    let mut trainer = Trainer::<PaperBn, U60>::new_boxed();
    let mut net = net;
    // A few steps so that the population statistics and the folded weights are not trivial.
    for _ in 0..5 {
        net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    }
    // On a cache line (as the floor below is measured): `fold_boxed` gets whatever offset the
    // allocator gives (16 bytes past a line here).
    let mut folded = bn_core::boxed_zeroed::<CacheAligned<PaperBnFolded>>();
    net.fold_into(&mut folded.0);
    Setup { net, trainer, x, labels, folded, y: Batch::default(), h: bn_core::boxed_zeroed() }
}

fn bench(c: &mut Criterion) {
    let mut s = setup();
    let opt = Sgd::new(0.01f32);
    let mut g = c.benchmark_group("paper_mlp");
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
    g.bench_function("folded_batch60_chain", |b| {
        b.iter(|| {
            folded_batch_chain(&s.folded.0, black_box(&s.x), &mut s.h, &mut s.y);
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
    let batch_chain = common::time_per_call(|| {
        folded_batch_chain(&s.folded.0, black_box(&s.x), &mut s.h, &mut s.y);
        black_box(&s.y);
    }) / 60.0;
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
