//! Shared by the benches: the FMA-throughput reference kernel (the machine's measured f32
//! peak), a plain timing loop, and the report lines (time, GFLOP/s, fraction of the peak,
//! target).

#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;

pub mod pytorch;
pub mod workload;

/// Criterion settings for every workload: a short warm-up and 2.5 s of measurement. Also
/// applies `BN_SIMD=avx2|portable` (to benchmark bn-core's fallback paths).
pub fn criterion() -> Criterion {
    if let Ok(level) = std::env::var("BN_SIMD") {
        use bn_core::kernels::{set_simd_level, SimdLevel};
        let want = match level.as_str() {
            "portable" => SimdLevel::Portable,
            "avx2" => SimdLevel::Avx2,
            _ => SimdLevel::Avx512,
        };
        set_simd_level(want);
    }
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
        .configure_from_args()
}

/// Which FMA kernel runs: the instruction set of bn-core's kernels in this process (the best
/// the CPU has, capped by `BN_SIMD=avx2|portable`), so that every workload is measured
/// against the peak of the level it ran at.
pub fn isa() -> &'static str {
    use bn_core::kernels::{simd_level, SimdLevel};
    match simd_level() {
        SimdLevel::Avx512 => "avx512f",
        SimdLevel::Avx2 => "avx2+fma",
        SimdLevel::Portable => "portable",
    }
}

/// FLOPs of one call of [`fma_kernel`] with `iters` iterations.
pub fn fma_flops(iters: usize) -> f64 {
    let per_iter = match isa() {
        "avx512f" => 16 * 16 * 2,
        "avx2+fma" => 12 * 8 * 2,
        _ => 32 * 2,
    };
    (iters * per_iter) as f64
}

/// Independent chains of fused multiply-adds (enough of them to cover the FMA latency on
/// every pipe): the machine's f32 peak. Returns a value that depends on every chain.
pub fn fma_kernel(iters: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        match isa() {
            // SAFETY: the CPU has AVX-512F (bn-core detected it: `isa` follows `simd_level`, which only returns levels the CPU has); the kernel only touches registers.
            "avx512f" => return unsafe { x86::fma_avx512(iters) },
            // SAFETY: the CPU has AVX2 and FMA (bn-core detected them, as above); registers only.
            "avx2+fma" => return unsafe { x86::fma_avx2(iters) },
            _ => {}
        }
    }
    let (a, b) = (black_box(0.999_999f32), black_box(1e-7f32));
    let mut acc = [0f32; 32];
    for (j, v) in acc.iter_mut().enumerate() {
        *v = j as f32 * 1e-3;
    }
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = *v * a + b;
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn fma_avx512(iters: usize) -> f32 {
        let (a, b) = (_mm512_set1_ps(black_box(0.999_999)), _mm512_set1_ps(black_box(1e-7)));
        let mut acc: [__m512; 16] = core::array::from_fn(|j| _mm512_set1_ps(j as f32 * 1e-3));
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
    }

    /// # Safety
    /// The CPU must support AVX-512F; `b.len()` is a multiple of 128.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn sum_avx512(b: &[f32]) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 8];
        for c in b.chunks_exact(128) {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm512_add_ps(*a, _mm512_loadu_ps(c.as_ptr().add(16 * j)));
            }
        }
        let mut s = _mm512_setzero_ps();
        for a in acc {
            s = _mm512_add_ps(s, a);
        }
        _mm512_reduce_add_ps(s)
    }

    /// # Safety
    /// The CPU must support AVX2; `b.len()` is a multiple of 128.
    #[target_feature(enable = "avx2")]
    pub unsafe fn sum_avx2(b: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 8];
        for c in b.chunks_exact(64) {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm256_add_ps(*a, _mm256_loadu_ps(c.as_ptr().add(8 * j)));
            }
        }
        let mut s = _mm256_setzero_ps();
        for a in acc {
            s = _mm256_add_ps(s, a);
        }
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn fma_avx2(iters: usize) -> f32 {
        let (a, b) = (_mm256_set1_ps(black_box(0.999_999)), _mm256_set1_ps(black_box(1e-7)));
        let mut acc: [__m256; 12] = core::array::from_fn(|j| _mm256_set1_ps(j as f32 * 1e-3));
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }
}

/// Seconds per call of `f`: the median of 21 samples of about 10 ms each, after a warm-up.
pub fn time_per_call(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_millis(200) {
        f();
        calls += 1;
    }
    let per_sample = ((calls as f64 * 0.010 / start.elapsed().as_secs_f64()) as u64).max(1);
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_sample {
                f();
            }
            t.elapsed().as_secs_f64() / per_sample as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The measured single-core f32 FMA peak in GFLOP/s (best of 7 runs of ~30 ms).
pub fn peak_gflops() -> f64 {
    const ITERS: usize = 1 << 20;
    black_box(fma_kernel(ITERS / 16));
    (0..7)
        .map(|_| {
            let t = Instant::now();
            black_box(fma_kernel(black_box(ITERS)));
            fma_flops(ITERS) / t.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

/// Seconds to read `bytes` of `f32` once from the cache level that holds them (they are
/// read before timing), with the widest loads, from cache-line-aligned memory: the floor of a
/// workload that streams that many bytes of weights per call. Timed like the workloads
/// ([`time_per_call`], the median).
pub fn read_seconds(bytes: usize) -> f64 {
    // On cache lines (no load straddles two), a multiple of 128 floats.
    let lines: Vec<bn_core::CacheAligned<[f32; 16]>> =
        (0..bytes.div_ceil(512) * 8).map(|i| bn_core::CacheAligned([(i % 7) as f32; 16])).collect();
    // SAFETY: `CacheAligned<[f32; 16]>` is `repr(C, align(64))` around 64 bytes of floats: the
    // vector is `16·len` contiguous, initialized `f32`s.
    let buf = unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<f32>(), lines.len() * 16) };
    time_per_call(|| {
        black_box(read_kernel(black_box(buf)));
    })
}

/// The sum of `b` (a multiple of 128 elements) with independent accumulators, so that the
/// loads, not the adds, limit it.
fn read_kernel(b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        match isa() {
            // SAFETY: the CPU has AVX-512F (bn-core detected it, see `isa`); the kernel reads `b` within its length.
            "avx512f" => return unsafe { x86::sum_avx512(b) },
            // SAFETY: the CPU has AVX2 (bn-core detected it); reads within `b`.
            "avx2+fma" => return unsafe { x86::sum_avx2(b) },
            _ => {}
        }
    }
    let mut acc = [0f32; 16];
    for c in b.chunks_exact(16) {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum()
}

/// One measured workload.
pub struct Row {
    pub name: &'static str,
    /// Seconds per unit (per step, per sample).
    pub secs: f64,
    /// FLOPs per unit.
    pub flops: f64,
    /// Target seconds per unit (infinite: no target).
    pub target: f64,
}

/// Prints the table: time, GFLOP/s, fraction of the peak measured in this process, target.
pub fn report(title: &str, rows: &[Row]) {
    let peak = peak_gflops();
    println!();
    println!(
        "{title}: f32 peak measured now {peak:.1} GFLOP/s ({}), bn-core kernels: {}",
        isa(),
        bn_core::kernels::simd_level().name()
    );
    println!("  {:<40} {:>12} {:>10} {:>8} {:>12}  met", "workload", "time", "GFLOP/s", "% peak", "target");
    for r in rows {
        let gflops = r.flops / r.secs / 1e9;
        println!(
            "  {:<40} {:>12} {:>10.1} {:>7.1}% {:>12}  {}",
            r.name,
            fmt_time(r.secs),
            gflops,
            100.0 * gflops / peak,
            if r.target.is_finite() { fmt_time(r.target) } else { "none".into() },
            if !r.target.is_finite() {
                ""
            } else if r.secs <= r.target {
                "yes"
            } else {
                "NO"
            }
        );
    }
    println!();
}

/// `1.23 µs`, `456 ns`, `1.2 ms`.
pub fn fmt_time(s: f64) -> String {
    if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.2} µs", s * 1e6)
    } else {
        format!("{:.1} ns", s * 1e9)
    }
}
