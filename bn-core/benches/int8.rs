//! The int8 kernels (`kernels/int8/`, through the public layers [`QDense::forward_q`] and
//! [`QConv2d::forward_q`]) at every SIMD level this CPU has, beside the `f32` layers they
//! quantize ([`Dense::forward_one`], [`Conv2d::forward_one`]), one sample each:
//!
//! - `dense_784x100`, `dense_100x100`: the paper MLP's first and hidden layers;
//! - `conv1_1x28x28_8`: LeNet's first convolution, 1 → 8 channels, 3×3, padding 1, 28×28;
//! - `conv2_8x14x14_16`: its second, 8 → 16 channels, 3×3, padding 1, 14×14;
//! - `conv1_pool_fused`, `conv2_pool_fused`: each convolution, its ReLU and the 2×2 max
//!   pool after it in one call ([`QConv2d::forward_q_max_pool`] beside
//!   [`Conv2d::forward_one_relu_max_pool`]);
//! - `conv1_pool_unfused`, `conv2_pool_unfused`: the same as two calls (the convolution,
//!   then [`MaxPool2d::forward_q`] / [`MaxPool2d::forward_one_relu`]).
//!
//! `cargo bench -p bn-core --bench int8`; after criterion's lines, a table of ns per call
//! (the fastest of several timed runs), the CPU model and whether it has AVX-512 VNNI (the
//! AVX-512 level's int8 kernels use it, or AVX2's kernels without it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bn_core::generic_array::ArrayLength;
use bn_core::kernels::{detected_simd_level, set_simd_level, SimdLevel};
use bn_core::quant::QuantParams;
use bn_core::typenum::{Prod, Sum, U0, U100, U1024, U128, U16, U3, U5, U544, U6, U64, U72, U784, U8, U9};
use bn_core::{Conv2d, Conv2dBuffers, Conv2dShape, Dense, Init, MaxPool2d, Pool2dShape, QConv2d, QDense, Rng, Vector};
use criterion::{criterion_group, criterion_main, Criterion};

/// LeNet's first convolution: 1×28×28 → 8×28×28 (`O` = 6272, `Padded` = 8·32·32 = 8192).
type Conv1 =
    Conv2dShape<U784, Sum<Prod<U6, U1024>, U128>, U8, U9, U784, U0, Prod<U8, U1024>, 1, 28, 28, 3, 3, 1, 1, 1, 1>;
/// LeNet's second convolution: 8×14×14 → 16×14×14 (`I` = 1568, `O` = 3136, `Padded` =
/// 16·18·18 = 5184).
type Conv2 = Conv2dShape<
    Sum<U1024, U544>,
    Sum<Prod<U3, U1024>, U64>,
    U16,
    U72,
    bn_core::typenum::U196,
    U0,
    Sum<Prod<U5, U1024>, U64>,
    8,
    14,
    14,
    3,
    3,
    1,
    1,
    1,
    1,
>;

/// LeNet's first max pool: 8×28×28 → 8×14×14.
type Pool1 = Pool2dShape<Sum<Prod<U6, U1024>, U128>, Sum<U1024, U544>, 8, 28, 28, 2, 2>;
/// LeNet's second max pool: 16×14×14 → 16×7×7.
type Pool2 = Pool2dShape<Sum<Prod<U3, U1024>, U64>, U784, 16, 14, 14, 2, 2>;

/// Every level this CPU has.
fn levels() -> Vec<SimdLevel> {
    [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512]
        .into_iter()
        .filter(|&l| l <= detected_simd_level())
        .collect()
}

/// The fastest mean time per call of `f` over several runs of ~20 ms.
fn time_per_call(mut f: impl FnMut()) -> f64 {
    let mut calls = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..calls {
            f();
        }
        if t.elapsed() > Duration::from_millis(20) {
            break;
        }
        calls *= 2;
    }
    (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_secs_f64() / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512vnni") && std::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The time to read `bytes` bytes already in cache (L2 for the dense layers' 78,400 bytes of
/// weights: more than L1 holds), with 64-byte loads: the floor of a one-sample dense layer.
/// `None` without AVX-512.
fn read_seconds(bytes: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        let buf = vec![1u8; bytes.div_ceil(512) * 512];
        // SAFETY: the CPU has AVX-512F (checked above); the kernel reads `buf` within its length.
        return Some(time_per_call(|| {
            black_box(unsafe { xor_avx512(black_box(&buf)) });
        }));
    }
    None
}

/// The XOR of the 64-bit words of `b` (a multiple of 512 bytes), 8 loads in flight.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn xor_avx512(b: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_si512(); 8];
    for block in b.chunks_exact(512) {
        for (i, a) in acc.iter_mut().enumerate() {
            *a = _mm512_xor_si512(*a, _mm512_loadu_si512(block.as_ptr().add(64 * i).cast()));
        }
    }
    let all = acc.iter().fold(_mm512_setzero_si512(), |x, &a| _mm512_xor_si512(x, a));
    _mm512_reduce_or_epi64(all) as u64
}

/// A random `f32` image or vector in `[−1, 1)` and its int8 quantization by `q`.
fn input<N: ArrayLength>(rng: &mut Rng, q: QuantParams) -> (Vector<N, f32>, Vector<N, i8>) {
    let x: Vector<N, f32> = (0..N::USIZE).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
    let xq = x.iter().map(|&v| q.quantize(v)).collect();
    (x, xq)
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng::seed(22);
    let (qin, qout) = (QuantParams::asymmetric(-1.0, 1.0), QuantParams::asymmetric(-4.0, 4.0));

    let mut d1 = Box::new(Dense::<U784, U100, f32, true>::default());
    Init::Gaussian { std: 0.05 }.fill(bn_core::flat_mut(&mut d1.weight), 1, 1, &mut rng);
    let mut d2 = Box::new(Dense::<U100, U100, f32, true>::default());
    Init::Gaussian { std: 0.1 }.fill(bn_core::flat_mut(&mut d2.weight), 1, 1, &mut rng);
    let q1 = Box::new(QDense::quantize(&d1, qin, qout, false).unwrap());
    let q2 = Box::new(QDense::quantize(&d2, qin, qout, false).unwrap());

    let mut c1 = Box::new(Conv2d::<Conv1>::default());
    Init::Gaussian { std: 0.3 }.fill(bn_core::flat_mut(&mut c1.weight), 1, 1, &mut rng);
    let mut c2 = Box::new(Conv2d::<Conv2>::default());
    Init::Gaussian { std: 0.1 }.fill(bn_core::flat_mut(&mut c2.weight), 1, 1, &mut rng);
    let qc1 = Box::new(QConv2d::quantize(&c1, qin, qout, true).unwrap());
    let qc2 = Box::new(QConv2d::quantize(&c2, qin, qout, true).unwrap());
    let mut b1: Box<Conv2dBuffers<Conv1>> = Box::default();
    let mut b2: Box<Conv2dBuffers<Conv2>> = Box::default();

    let (x784, x784q) = input::<U784>(&mut rng, qin);
    let (x100, x100q) = input::<U100>(&mut rng, qin);
    let (xc2, xc2q) = input::<Sum<U1024, U544>>(&mut rng, qin);
    let (mut y1, mut y1q, mut y2, mut y2q) =
        (Default::default(), Default::default(), Default::default(), Default::default());
    let (mut yc1, mut yc1q) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, i8>>::default());
    let (mut yc2, mut yc2q) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, i8>>::default());

    // The convolutions then ReLU and the 2×2 max pool: fused (one call) and unfused.
    let (mut p1, mut p1q) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, i8>>::default());
    let (mut p2, mut p2q) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, i8>>::default());
    let (mut s1, mut s2) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, f32>>::default());
    let (mut fb1, mut fb2): (Box<Conv2dBuffers<Conv1>>, Box<Conv2dBuffers<Conv2>>) = (Box::default(), Box::default());
    let (mut ub1, mut ub2): (Box<Conv2dBuffers<Conv1>>, Box<Conv2dBuffers<Conv2>>) = (Box::default(), Box::default());
    let (mut u1, mut u2) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, f32>>::default());
    let (mut pu1, mut pu2) = (Box::<Vector<_, f32>>::default(), Box::<Vector<_, f32>>::default());
    let (mut u1q, mut u2q) = (Box::<Vector<_, i8>>::default(), Box::<Vector<_, i8>>::default());
    let (mut pu1q, mut pu2q) = (Box::<Vector<_, i8>>::default(), Box::<Vector<_, i8>>::default());

    let names = [
        "dense_784x100",
        "dense_100x100",
        "conv1_1x28x28_8",
        "conv2_8x14x14_16",
        "conv1_pool_fused",
        "conv2_pool_fused",
        "conv1_pool_unfused",
        "conv2_pool_unfused",
    ];
    // [level][workload][int8, f32] in seconds.
    let mut table = Vec::new();
    let mut g = c.benchmark_group("int8");
    for level in levels() {
        let l = set_simd_level(level).name();
        let mut run: [Box<dyn FnMut() + '_>; 16] = [
            Box::new(|| q1.forward_q(black_box(&x784q), black_box(&mut y1q))),
            Box::new(|| d1.forward_one(black_box(&x784), black_box(&mut y1))),
            Box::new(|| q2.forward_q(black_box(&x100q), black_box(&mut y2q))),
            Box::new(|| d2.forward_one(black_box(&x100), black_box(&mut y2))),
            Box::new(|| qc1.forward_q(black_box(&x784q), black_box(&mut yc1q))),
            Box::new(|| c1.forward_one(black_box(&x784), black_box(&mut yc1), &mut b1)),
            Box::new(|| qc2.forward_q(black_box(&xc2q), black_box(&mut yc2q))),
            Box::new(|| c2.forward_one(black_box(&xc2), black_box(&mut yc2), &mut b2)),
            Box::new(|| qc1.forward_q_max_pool::<Pool1>(black_box(&x784q), black_box(&mut p1q))),
            Box::new(|| c1.forward_one_relu_max_pool::<Pool1>(black_box(&x784), black_box(&mut p1), &mut s1, &mut fb1)),
            Box::new(|| qc2.forward_q_max_pool::<Pool2>(black_box(&xc2q), black_box(&mut p2q))),
            Box::new(|| c2.forward_one_relu_max_pool::<Pool2>(black_box(&xc2), black_box(&mut p2), &mut s2, &mut fb2)),
            Box::new(|| {
                qc1.forward_q(black_box(&x784q), &mut u1q);
                MaxPool2d::<Pool1>::forward_q(&u1q, black_box(&mut pu1q), -128);
            }),
            Box::new(|| {
                c1.forward_one(black_box(&x784), &mut u1, &mut ub1);
                MaxPool2d::<Pool1>::forward_one_relu(&u1, black_box(&mut pu1));
            }),
            Box::new(|| {
                qc2.forward_q(black_box(&xc2q), &mut u2q);
                MaxPool2d::<Pool2>::forward_q(&u2q, black_box(&mut pu2q), -128);
            }),
            Box::new(|| {
                c2.forward_one(black_box(&xc2), &mut u2, &mut ub2);
                MaxPool2d::<Pool2>::forward_one_relu(&u2, black_box(&mut pu2));
            }),
        ];
        let mut row = Vec::new();
        for (i, f) in run.iter_mut().enumerate() {
            let kind = if i % 2 == 0 { "i8" } else { "f32" };
            g.bench_function(format!("{}_{kind}/{l}", names[i / 2]), |b| b.iter(&mut *f));
            row.push(time_per_call(&mut *f));
        }
        table.push((l, row));
    }
    g.finish();

    println!("\nint8 kernels vs f32, one sample, ns per call ({}; AVX-512 VNNI: {})", cpu_model(), vnni());
    println!("  {:<18} {:>10} {:>12} {:>12} {:>8}", "workload", "level", "int8", "f32", "f32/int8");
    for (w, name) in names.iter().enumerate() {
        for (l, row) in &table {
            let (q, f) = (row[2 * w], row[2 * w + 1]);
            println!("  {name:<18} {l:>10} {:>12.1} {:>12.1} {:>8.2}", q * 1e9, f * 1e9, f / q);
        }
    }
    if let (Some(floor), Some((_, best))) = (read_seconds(784 * 100), table.last()) {
        println!(
            "  reading dense_784x100's 78,400 weight bytes (more than L1, within L2) takes {:.1} ns here ({:.0} GB/s);\n  \
             the best level's int8 dense_784x100 runs at {:.0}% of that floor.",
            floor * 1e9,
            78_400.0 / floor / 1e9,
            100.0 * floor / best[0],
        );
    }
    println!();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000))
        .sample_size(30)
        .configure_from_args();
    targets = bench
}
criterion_main!(benches);
