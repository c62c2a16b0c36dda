//! The reference for every other bench: the single-core f32 FMA peak of this machine,
//! measured with independent chains of fused multiply-adds (AVX-512F, else AVX2 + FMA, else
//! plain Rust), the same kernel the workload benches measure their fraction of peak against.
//!
//! `cargo bench --bench peak`.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    const ITERS: usize = 10_000;
    let mut g = c.benchmark_group("peak");
    g.throughput(Throughput::Elements(common::fma_flops(ITERS) as u64));
    g.bench_function(format!("fma chains ({})", common::isa()), |b| {
        b.iter(|| black_box(common::fma_kernel(black_box(ITERS))))
    });
    g.finish();
    let secs = common::time_per_call(|| {
        black_box(common::fma_kernel(black_box(ITERS)));
    });
    println!();
    println!(
        "f32 FMA peak ({}): {:.1} GFLOP/s (timed loop), {:.1} GFLOP/s (best of 7)",
        common::isa(),
        common::fma_flops(ITERS) / secs / 1e9,
        common::peak_gflops()
    );
    println!();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bench
}
criterion_main!(benches);
