//! A tiny network (`bn_paper::networks::TinyMlp`: 16 → 2 × [dense(32), batchnorm, sigmoid]
//! → dense(4), f32, one thread):
//!
//! - `tiny_mlp/train_step_b32`: a training step at batch 32 (softmax cross-entropy, SGD);
//! - `tiny_mlp/folded_one`: the folded network's one-sample latency, model and input 64-byte
//!   aligned, and `tiny_mlp/folded_one_off16`, both 16 bytes off a cache line.
//!
//! (Older issue texts call this W3.) `cargo bench --bench tiny_mlp`; after criterion's lines,
//! a table with GFLOP/s and the fraction of the FMA peak measured in the same process.

mod common;

use std::hint::black_box;

use bn_core::typenum::{U16, U32};
use bn_core::{flat_mut, Batch, CacheAligned, GenericArray, Rng, Sgd, SoftmaxCrossEntropy, Trainer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use bn_paper::networks::{TinyMlp, TinyMlpFolded};
use common::Row;

/// FLOPs of one training step at batch 32: forward, `dW` of every layer, `dX` of layers 2–3.
const TRAIN_FLOPS: f64 = 2.0 * 32.0 * (1_664.0 + 1_664.0 + 1_152.0);
/// FLOPs of one folded forward.
const ONE_FLOPS: f64 = 2.0 * 1_664.0;

fn bench(c: &mut Criterion) {
    let mut rng = Rng::seed(7);
    let mut net = TinyMlp::new(3);
    let mut trainer = Trainer::<TinyMlp, U32>::new();
    let mut x = Batch::<U32, U16>::default();
    flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.uniform() as f32 * 2.0 - 1.0);
    let mut labels = GenericArray::<usize, U32>::default();
    labels.iter_mut().for_each(|l| *l = rng.below(4));
    let opt = Sgd::new(0.01f32);
    for _ in 0..5 {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    }
    // The folded model and the input each on a cache line of its own (as `forward`'s
    // temporaries are), and, for comparison, each 16 bytes past a line, where half of the
    // 32-byte loads straddle two lines (see `CacheAligned`).
    let aligned = Placed { folded: CacheAligned(net.fold()), x: CacheAligned(x[5]) };
    let (folded, x5) = (&aligned.folded.0, &aligned.x.0);
    let offset = CacheAligned(Off16 { _pad: [0; 16], x: x[5], folded: net.fold() });
    let (folded_off, x5_off) = (&offset.0.folded, &offset.0.x);
    let line = |p: *const u8| p as usize % 64;
    assert_eq!((line(folded as *const _ as _), line(x5 as *const _ as _)), (0, 0));
    assert_eq!((line(folded_off as *const _ as _), line(x5_off as *const _ as _)), (16, 16));

    let mut g = c.benchmark_group("tiny_mlp");
    g.throughput(Throughput::Elements(TRAIN_FLOPS as u64));
    g.bench_function("train_step_b32", |b| {
        b.iter(|| black_box(net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer)))
    });
    g.throughput(Throughput::Elements(ONE_FLOPS as u64));
    g.bench_function("folded_one", |b| b.iter(|| black_box(folded.forward(black_box(x5)))));
    g.bench_function("folded_one_off16", |b| b.iter(|| black_box(folded_off.forward(black_box(x5_off)))));
    g.finish();

    let train = common::time_per_call(|| {
        black_box(net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer));
    });
    let one = common::time_per_call(|| {
        black_box(folded.forward(black_box(x5)));
    });
    let one_off = common::time_per_call(|| {
        black_box(folded_off.forward(black_box(x5_off)));
    });
    common::report(
        "tiny network (16-32-32-4)",
        &[
            Row { name: "tiny_mlp/train_step_b32", secs: train, flops: TRAIN_FLOPS, target: 5e-6 },
            Row { name: "tiny_mlp/folded_one", secs: one, flops: ONE_FLOPS, target: 100e-9 },
            Row { name: "tiny_mlp/folded_one_off16", secs: one_off, flops: ONE_FLOPS, target: 100e-9 },
        ],
    );
}

/// A folded model and an input, each at the start of a cache line.
#[repr(C)]
struct Placed {
    folded: CacheAligned<TinyMlpFolded>,
    x: CacheAligned<bn_core::Vector<U16>>,
}

/// An input and a folded model, each 16 bytes past a cache line (in a `CacheAligned`: the
/// input fills 64 bytes, so the model starts 16 bytes past a line too).
#[repr(C)]
struct Off16 {
    _pad: [u8; 16],
    x: bn_core::Vector<U16>,
    folded: TinyMlpFolded,
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
