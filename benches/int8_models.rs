//! The int8 models against their folded `f32` models, one thread, in the same process: the
//! paper's MNIST network (`PaperBn`, 784-100-100-100-10, sigmoid tables) and the LeNet
//! (`LeNetBn`, two 3×3 convolutions, ReLU clamps, max pooling):
//!
//! - `int8/{mlp,lenet}_f32_one`, `…_int8_one`: one sample (`classify`: the int8 model
//!   quantizes the input, runs integers only, and dequantizes the logits);
//! - `int8/{mlp,lenet}_f32_batch60`, `…_int8_batch60`: `forward_batch` on 60 samples.
//!
//! Each network is trained five steps on a random batch (as the other benches) and quantized
//! with that batch as calibration. After criterion's lines, a table of the int8/f32 ratios
//! against the targets (MLP one sample ≤ 40 %, LeNet ≤ 60 %), and the time to read the int8
//! MLP's bytes from L2 (its one-sample floor). `cargo bench --bench int8_models`; `BN_SIMD=avx2`
//! runs the AVX2 level.

mod common;

use std::hint::black_box;

use bn_core::quant::{Int8Inference, Quantize};
use bn_core::typenum::U10;
use bn_core::{Batch, CacheAligned, Inference, Network, PlainData, Vector};
use criterion::{criterion_group, criterion_main, Criterion};

use bn_paper::networks::{LeNetBn, PaperBn};
use common::workload::{Workload, BATCH};

/// One network's timings: f32 one, int8 one, f32 batch per sample, int8 batch per sample,
/// and int8 `forward_q` (int8 in and out: the integer part alone).
struct Times {
    name: &'static str,
    secs: [f64; 5],
    target: f64,
    int8_bytes: usize,
    f32_bytes: usize,
}

fn network<N>(c: &mut Criterion, name: &'static str, target: f64) -> Times
where
    N: Network<Scalar = f32, Output = U10>,
    N::Folded: Quantize,
{
    let mut w = Workload::<N>::new(2015, 10);
    let calibration: Vec<Vector<N::Input>> = w.x.iter().cloned().collect();
    let q = w.folded.0.quantize(&calibration).expect("a finite calibration");
    let mut q_aligned = bn_core::boxed_zeroed::<CacheAligned<<N::Folded as Quantize>::Quantized>>();
    q_aligned.0 = *q;
    let q = &q_aligned.0;
    let mut y = Batch::<bn_core::typenum::U60, U10>::default();
    let x7 = w.x[7].clone();
    let (mut xq, mut yq) = (Vector::<N::Input, i8>::default(), Vector::<U10, i8>::default());
    q.quantize_input(&x7, &mut xq);
    let mut g = c.benchmark_group("int8");
    let f32_one = |w: &Workload<N>| black_box(w.folded.0.classify(black_box(&x7)));
    let int8_one = || black_box(q.classify(black_box(&x7)));
    g.bench_function(format!("{name}_f32_one"), |b| b.iter(|| f32_one(&w)));
    g.bench_function(format!("{name}_int8_one"), |b| b.iter(int8_one));
    g.bench_function(format!("{name}_f32_batch60"), |b| b.iter(|| w.folded_batch()));
    g.bench_function(format!("{name}_int8_batch60"), |b| {
        b.iter(|| {
            q.forward_batch(black_box(&*w.x), &mut y);
            black_box(&y);
        })
    });
    g.finish();
    let secs = [
        common::time_per_call(|| {
            f32_one(&w);
        }),
        common::time_per_call(|| {
            int8_one();
        }),
        common::time_per_call(|| w.folded_batch()) / BATCH as f64,
        common::time_per_call(|| {
            q.forward_batch(black_box(&*w.x), &mut y);
            black_box(&y);
        }) / BATCH as f64,
        common::time_per_call(|| {
            q.forward_q(black_box(&xq), &mut yq);
            black_box(&yq);
        }),
    ];
    Times {
        name,
        secs,
        target,
        int8_bytes: <<N::Folded as Quantize>::Quantized as PlainData>::BYTE_LEN,
        f32_bytes: std::mem::size_of::<N::Folded>(),
    }
}

fn bench(c: &mut Criterion) {
    let rows = [network::<PaperBn>(c, "mlp", 0.40), network::<LeNetBn>(c, "lenet", 0.60)];
    println!(
        "\nint8 models against their folded f32 models (bn-core kernels: {}; CPU SIMD: {}), one thread:",
        bn_core::kernels::simd_level().name(),
        common::isa()
    );
    println!(
        "  {:<6} {:>9} {:>9} {:>9} {:>8}  {:>10} {:>9}  {:>12} {:>12} {:>9}  {:>9} {:>9}",
        "model",
        "f32 one",
        "int8 one",
        "int8/f32",
        "target",
        "forward_q",
        "/f32",
        "f32 batch",
        "int8 batch",
        "int8/f32",
        "f32 B",
        "int8 B"
    );
    for t in &rows {
        let [f1, q1, fb, qb, fq] = t.secs;
        println!(
            "  {:<6} {:>9} {:>9} {:>8.1}% {:>7.0}%{} {:>10} {:>8.1}%  {:>12} {:>12} {:>8.0}%  {:>9} {:>9}",
            t.name,
            common::fmt_time(f1),
            common::fmt_time(q1),
            100.0 * q1 / f1,
            100.0 * t.target,
            if q1 / f1 <= t.target { " " } else { "!" },
            common::fmt_time(fq),
            100.0 * fq / f1,
            common::fmt_time(fb),
            common::fmt_time(qb),
            100.0 * qb / fb,
            t.f32_bytes,
            t.int8_bytes
        );
    }
    let floor = common::read_seconds(rows[0].int8_bytes);
    println!(
        "  (! = target not met.) The int8 MLP reads {} bytes per sample; reading them from L2 takes {} here: \
         {:.0}% of its one-sample time.\n",
        rows[0].int8_bytes,
        common::fmt_time(floor),
        100.0 * floor / rows[0].secs[1]
    );
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
