use super::pool::PoolWindow;
use super::*;
use alloc::vec::Vec;
use typenum::{U1, U10, U100, U16, U17, U2, U3, U32, U33, U4, U5, U6, U60, U7, U784, U8, U9};

/// Every level this CPU can run (also used by `int8.rs`'s tests).
pub(super) fn levels() -> Vec<SimdLevel> {
    [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512]
        .into_iter()
        .filter(|&l| l <= detected_simd_level())
        .collect()
}

fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = crate::Rng::seed(seed);
    (0..n).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect()
}

/// `|got − exact| ≤ tol·Σ|terms|` for every element (f64 reference).
fn close(got: &[f32], exact: &[f64], scale: &[f64], what: &str) {
    for (i, ((&g, &e), &s)) in got.iter().zip(exact).zip(scale).enumerate() {
        assert!((f64::from(g) - e).abs() <= 4e-6 * (s + 1e-30), "{what}[{i}]: {g} vs {e}");
    }
}

fn check_shape<M: ArrayLength, N: ArrayLength, K: ArrayLength>() {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    let (a, b, bias, d) = (data(m * k, 1), data(n * k, 2), data(n, 3), data(m * n, 4));
    // f64 references: value and Σ|terms| (for the tolerance).
    let (mut y, mut ys) = (alloc::vec![0f64; m * n], alloc::vec![0f64; m * n]);
    let (mut g, mut gs) = (alloc::vec![0f64; n * k], alloc::vec![0f64; n * k]);
    let (mut dx, mut dxs) = (alloc::vec![0f64; m * k], alloc::vec![0f64; m * k]);
    for r in 0..m {
        for j in 0..n {
            let mut s = f64::from(bias[j]);
            let mut t = s.abs();
            for kk in 0..k {
                let p = f64::from(a[r * k + kk]) * f64::from(b[j * k + kk]);
                s += p;
                t += p.abs();
            }
            (y[r * n + j], ys[r * n + j]) = (s, t);
            for kk in 0..k {
                let p = f64::from(d[r * n + j]) * f64::from(a[r * k + kk]);
                g[j * k + kk] += p;
                gs[j * k + kk] += p.abs();
                let q = f64::from(d[r * n + j]) * f64::from(b[j * k + kk]);
                dx[r * k + kk] += q;
                dxs[r * k + kk] += q.abs();
            }
        }
    }
    let what = |op: &str, l: SimdLevel| alloc::format!("{op} {m}x{n}x{k} {}", l.name());
    for l in levels() {
        // Outputs start as NaN: the kernels must write every element (and nothing else:
        // the slices are exactly the shapes' sizes, so the asserts in the entry points and
        // the masked tails are what keeps them in bounds).
        let mut c = alloc::vec![f32::NAN; m * n];
        dispatch::nt::<M, N, K, false>(Supported::new(l), &a, &b, Some(&bias), &mut c);
        close(&c, &y, &ys, &what("nt", l));
        // One sample at a time: bit-identical to the batch.
        for r in 0..m {
            let mut c1 = alloc::vec![f32::NAN; n];
            dispatch::nt::<U1, N, K, false>(Supported::new(l), &a[r * k..(r + 1) * k], &b, Some(&bias), &mut c1);
            for j in 0..n {
                assert_eq!(c1[j].to_bits(), c[r * n + j].to_bits(), "{} row {r} col {j}", what("nt one", l));
            }
        }
        // The training forward (a small B transposed first): the same values up to rounding,
        // and exactly the one-sample order when B is not transposed.
        let mut ct = alloc::vec![f32::NAN; m * n];
        dispatch::nt::<M, N, K, true>(Supported::new(l), &a, &b, Some(&bias), &mut ct);
        close(&ct, &y, &ys, &what("nt any order", l));
        if m == 1 || n < 8 || n * k > 4096 || l == SimdLevel::Portable {
            assert_eq!(ct, c, "{}", what("nt any order, not transposed", l));
        } else {
            assert_ne!(ct, c, "{}: the broadcast product sums in another order", what("nt any order", l));
        }
        let mut ct0 = alloc::vec![f32::NAN; m * n];
        dispatch::nt::<M, N, K, true>(Supported::new(l), &a, &b, None, &mut ct0);
        // Without a bias.
        let mut c0 = alloc::vec![f32::NAN; m * n];
        dispatch::nt::<M, N, K, false>(Supported::new(l), &a, &b, None, &mut c0);
        let y0: Vec<f64> = (0..m * n).map(|i| y[i] - f64::from(bias[i % n])).collect();
        close(&c0, &y0, &ys, &what("nt no bias", l));
        close(&ct0, &y0, &ys, &what("nt any order, no bias", l));
        let mut gg = alloc::vec![f32::NAN; n * k];
        dispatch::tn::<M, N, K>(Supported::new(l), &d, &a, &mut gg);
        close(&gg, &g, &gs, &what("tn", l));
        let mut cc = alloc::vec![f32::NAN; m * k];
        dispatch::nn::<M, N, K>(Supported::new(l), &d, &b, &mut cc);
        close(&cc, &dx, &dxs, &what("nn", l));
    }
}

#[test]
fn products_match_f64_on_every_level_and_shape() {
    check_shape::<U1, U1, U1>();
    check_shape::<U2, U3, U5>();
    check_shape::<U3, U17, U33>();
    check_shape::<U5, U10, U100>();
    check_shape::<U7, U9, U16>();
    check_shape::<U6, U4, U32>();
    check_shape::<U9, U33, U17>();
    check_shape::<U4, U16, U1>();
    check_shape::<U60, U100, U100>();
    // Transposed in the training forward: whole 8 × 8 blocks, and edges in both dimensions.
    check_shape::<U32, U32, U16>();
    check_shape::<U7, U16, U8>();
    check_shape::<U5, U33, U17>();
    check_shape::<U60, U60, U60>();
}

#[test]
fn paper_layer_shapes() {
    check_shape::<U3, U100, U784>();
    check_shape::<U60, U10, U100>();
}

#[test]
fn sigmoid_is_accurate_on_every_level() {
    let mut xs: Vec<f32> = Vec::new();
    let mut x = -120.0f32;
    while x < 120.0 {
        xs.push(x);
        x += 0.013;
    }
    xs.extend([
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        17.0,
        17.5,
        -87.9,
        -88.0,
        -88.1,
        -87.5,
        -88.3,
        -88.6,
        -88.7,
        -88.8,
        88.5,
        89.5,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ]);
    for l in levels() {
        let mut y = alloc::vec![f32::NAN; xs.len()];
        dispatch::sigmoid(Supported::new(l), &xs, &mut y);
        let mut worst = 0f64;
        for (&x, &s) in xs.iter().zip(&y) {
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            let abs = (f64::from(s) - exact).abs();
            if x < -88.0 {
                // AVX2 flushes to 0 below −88; the portable path and AVX-512 give the subnormal
                // value until 1 + e^(−x) overflows (x ≈ −88.72), then 0.
                let ok = match l {
                    SimdLevel::Avx2 => s == 0.0,
                    _ if x > -88.7 => abs < 1e-44,
                    _ => s == 0.0 || abs < 1e-44,
                };
                assert!(ok, "{}: σ({x}) = {s} vs {exact}", l.name());
                continue;
            }
            let rel = abs / exact;
            worst = worst.max(rel);
            // Subnormal results (x ≳ −87.3 … −88) are within a fraction of a subnormal ulp.
            assert!(
                rel <= 2.5e-7 || exact < 1.2e-38 && abs < 1e-44,
                "{}: σ({x}) = {s} vs {exact} (rel {rel:e})",
                l.name()
            );
        }
        assert!(worst < 2.5e-7, "{}: worst relative error {worst:e}", l.name());
        // Short rows (AVX-512: 8 lanes at a time) give the values of long ones bit for bit.
        for chunk in [1, 7, 8, 13, 16, 37, 64, 127] {
            for (i, xc) in xs.chunks(chunk).enumerate() {
                let mut yc = alloc::vec![f32::NAN; xc.len()];
                dispatch::sigmoid(Supported::new(l), xc, &mut yc);
                let want = &y[i * chunk..i * chunk + xc.len()];
                let same = yc.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan());
                assert!(same, "{}: rows of {chunk}, chunk {i}: {yc:?} vs {want:?}", l.name());
            }
        }
        let mut nan = [f32::NAN; 3];
        dispatch::sigmoid(Supported::new(l), &[f32::NAN, 1.0, f32::NAN], &mut nan);
        assert!(nan[0].is_nan() && nan[2].is_nan() && (nan[1] - 0.731_058_6).abs() < 1e-7, "{}: {nan:?}", l.name());
    }
}

/// The BN forward's outputs: `y` and the statistics (mean, var, inv_std, shift, delta).
struct BnOut {
    y: Vec<f32>,
    stats: [Vec<f32>; 5],
}

impl BnOut {
    fn new(rows: usize, n: usize) -> Self {
        BnOut { y: alloc::vec![f32::NAN; rows * n], stats: core::array::from_fn(|_| alloc::vec![f32::NAN; n]) }
    }
    fn args<'a>(&'a mut self, x: &'a [f32], gamma: &'a [f32], beta: &'a [f32]) -> BnTrain<'a, f32> {
        let [mean, var, inv_std, shift, delta] = &mut self.stats;
        BnTrain { eps: 1e-5, x, gamma, beta, y: &mut self.y, stats: BnStats { mean, var, inv_std, shift, delta } }
    }
}

/// The BN backward's outputs: `dx`, `dγ`, `dβ`.
struct BnGrads {
    dx: Vec<f32>,
    dgamma: Vec<f32>,
    dbeta: Vec<f32>,
}

impl BnGrads {
    fn new(rows: usize, n: usize) -> Self {
        BnGrads {
            dx: alloc::vec![f32::NAN; rows * n],
            dgamma: alloc::vec![f32::NAN; n],
            dbeta: alloc::vec![f32::NAN; n],
        }
    }
    fn args<'a>(&'a mut self, x: &'a [f32], dy: &'a [f32], gamma: &'a [f32], fwd: &'a BnOut) -> BnBackward<'a, f32> {
        let [_, _, inv_std, shift, delta] = &fwd.stats;
        BnBackward {
            x,
            dy,
            gamma,
            inv_std,
            shift,
            delta,
            dx: &mut self.dx,
            dgamma: &mut self.dgamma,
            dbeta: &mut self.dbeta,
        }
    }
}

fn check_batchnorm<B: ArrayLength, N: ArrayLength>() {
    let (rows, n) = (B::USIZE, N::USIZE);
    let mut rng = crate::Rng::seed(11);
    // A large mean and a small spread (the shifted statistics matter), and a constant
    // feature (variance 0).
    let x: Vec<f32> = (0..rows * n).map(|i| if i % n == 1 { 3.0 } else { 1e3 + rng.uniform() as f32 }).collect();
    let dy: Vec<f32> = (0..rows * n).map(|_| rng.uniform() as f32 - 0.5).collect();
    let gamma: Vec<f32> = (0..n).map(|k| 0.5 + k as f32 * 0.1).collect();
    let beta: Vec<f32> = (0..n).map(|k| k as f32 * -0.01).collect();
    let (mut out0, mut grads0) = (BnOut::new(rows, n), BnGrads::new(rows, n));
    portable::bn_forward_train::<f32, B, N>(out0.args(&x, &gamma, &beta));
    portable::bn_backward::<f32, B, N>(grads0.args(&x, &dy, &gamma, &out0));
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for l in levels() {
        let (mut out, mut grads) = (BnOut::new(rows, n), BnGrads::new(rows, n));
        if !dispatch::bn_forward_train::<B, N>(Supported::new(l), out.args(&x, &gamma, &beta)) {
            assert_eq!(l, SimdLevel::Portable);
            continue;
        }
        assert!(dispatch::bn_backward::<B, N>(Supported::new(l), grads.args(&x, &dy, &gamma, &out)));
        let what = alloc::format!("{} {rows}x{n}", l.name());
        assert_eq!(bits(&out.y), bits(&out0.y), "{what}: y");
        for (a, b) in out.stats.iter().zip(&out0.stats) {
            assert_eq!(bits(a), bits(b), "{what}: statistics");
        }
        assert_eq!(bits(&grads.dx), bits(&grads0.dx), "{what}: dx");
        assert_eq!(bits(&grads.dgamma), bits(&grads0.dgamma), "{what}: dγ");
        assert_eq!(bits(&grads.dbeta), bits(&grads0.dbeta), "{what}: dβ");
    }
}

#[test]
fn batchnorm_kernels_equal_the_portable_code_bit_for_bit() {
    check_batchnorm::<U2, U1>();
    check_batchnorm::<U3, U17>();
    check_batchnorm::<U32, U32>();
    check_batchnorm::<U60, U100>();
    check_batchnorm::<U5, U33>();
}

#[test]
fn the_level_can_only_be_lowered() {
    let best = detected_simd_level();
    assert!(simd_level() <= best);
    // `BN_SIMD` caps the detected level; a value it does not know is a mistake in the
    // command that runs the tests (it would silently test the best level). Empty is unset.
    #[cfg(feature = "std")]
    if let Some(value) = std::env::var_os(level::ENV).filter(|v| !v.is_empty()) {
        let value = value.to_string_lossy();
        let Some(ceiling) = level::ceiling(&value) else {
            panic!("BN_SIMD={value:?}: expected avx512, avx2 or portable");
        };
        assert!(best <= ceiling, "BN_SIMD={value}, detected {best:?}");
    }
    assert_eq!(SimdLevel::Avx512.lanes(), 16);
    assert_eq!(SimdLevel::Portable.name(), "portable");
}

/// The 2×2 max pool of the SIMD levels equals the portable kernel bit for bit, values and
/// indices, with ties, NaNs and −∞ in the data and rows whose windows are not a multiple of 8;
/// and so does its backward.
#[test]
fn max_pool_2x2_equals_the_portable_kernel_on_every_level() {
    let mut rng = crate::Rng::seed(12);
    for (c, h, w) in [(3, 7, 21), (2, 28, 28), (1, 4, 34), (2, 3, 3)] {
        let g = PoolWindow { c, h, w, size: 2, stride: 2, oh: h / 2, ow: w / 2 };
        let specials = [f32::NAN, f32::NEG_INFINITY, 0.0, 1.0, -0.0];
        let x: Vec<f32> = (0..c * h * w)
            .map(|_| match rng.below(10) {
                0 => specials[rng.below(specials.len())],
                1..=4 => rng.below(3) as f32, // ties
                _ => rng.normal() as f32,
            })
            .collect();
        let out = c * g.oh * g.ow;
        let dy: Vec<f32> = (0..out).map(|k| k as f32 + 1.0).collect();
        let (mut y0, mut a0, mut dx0) =
            (alloc::vec![0f32; out], alloc::vec![0f32; out], alloc::vec![f32::NAN; c * h * w]);
        pool::max_pool_indexed(&g, &x, &mut y0, &mut a0);
        pool::max_pool_backward(&a0, &dy, &mut dx0);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for l in levels() {
            let (mut y, mut a, mut dx) =
                (alloc::vec![f32::NAN; out], alloc::vec![f32::NAN; out], alloc::vec![f32::NAN; c * h * w]);
            if !dispatch::max_pool_indexed(Supported::new(l), &g, &x, &mut y, &mut a) {
                assert_eq!(l, SimdLevel::Portable);
                continue;
            }
            assert!(dispatch::max_pool_backward(Supported::new(l), &g, &a, &dy, &mut dx));
            // The values-only kernel (inference) gives the same values.
            let mut yv = alloc::vec![f32::NAN; out];
            assert!(dispatch::max_pool(Supported::new(l), &g, &x, &mut yv));
            assert_eq!(bits(&yv), bits(&y), "{} {c}×{h}×{w}: values only", l.name());
            // A ReLU then the pool, fused: the pool of the ReLU's output, bit for bit.
            let relu: Vec<f32> = x.iter().map(|&v| if v > 0.0 { v } else { 0.0 }).collect();
            let (mut want, mut got) = (alloc::vec![f32::NAN; out], alloc::vec![f32::NAN; out]);
            pool::max_pool(&g, &relu, &mut want);
            if !dispatch::max_pool_relu(Supported::new(l), &g, &x, &mut got) {
                pool::max_pool_map(&g, &x, &mut got, |v| if v > 0.0 { v } else { 0.0 });
            }
            assert_eq!(bits(&got), bits(&want), "{} {c}×{h}×{w}: ReLU then pool", l.name());
            let what = alloc::format!("{} {c}×{h}×{w}", l.name());
            // Values: the same, NaN where NaN (a NaN's payload may differ).
            for (k, (p, q)) in y.iter().zip(&y0).enumerate() {
                assert!(p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()), "{what}: y[{k}] {p} vs {q}");
            }
            assert_eq!(bits(&a), bits(&a0), "{what}: argmax");
            assert_eq!(bits(&dx), bits(&dx0), "{what}: dx");
        }
    }
}

/// The direct convolution sums and weight gradients of every level agree with an f64
/// reference (and the two SIMD levels with each other bit for bit: each output sums its
/// terms in the same order whatever the tile), over row widths that leave partial vectors
/// and several strips, channel counts that leave partial tiles, and the input-gradient
/// geometry (an offset window).
#[test]
fn direct_convolution_matches_f64_on_every_level() {
    let windows = [
        // (c, h, w, kernel, padding, co)
        (1, 28, 28, (3, 3), (1, 1), 8),
        (8, 14, 14, (3, 3), (1, 1), 16),
        (3, 5, 1, (1, 1), (0, 0), 7),
        (2, 6, 33, (3, 2), (1, 0), 13),
        (1, 4, 100, (2, 5), (0, 2), 17),
        (5, 7, 9, (5, 5), (2, 2), 3),
        (4, 3, 8, (1, 3), (0, 1), 1),
    ];
    for (c, h, w, kernel, padding, co) in windows {
        let g = Window {
            c,
            h,
            w,
            kernel,
            stride: (1, 1),
            padding,
            oh: h + 2 * padding.0 - kernel.0 + 1,
            ow: w + 2 * padding.1 - kernel.1 + 1,
        };
        for d in [Direct::forward(&g, co), Direct::input_gradient(&g, co)] {
            let (patch, plane) = (d.patch(), d.oh * d.ow);
            let (wt, x, bias, dy) =
                (data(d.co * patch, 5), data(d.image_len(), 6), data(d.co, 7), data(d.out_len(), 8));
            let (mut y, mut ys) = (alloc::vec![0f64; d.out_len()], alloc::vec![0f64; d.out_len()]);
            let (mut dw, mut dws) = (alloc::vec![0f64; d.co * patch], alloc::vec![0f64; d.co * patch]);
            for o in 0..d.co {
                for i in 0..d.oh {
                    for j in 0..d.ow {
                        let mut s = f64::from(bias[o]);
                        let mut t = s.abs();
                        for p in 0..patch {
                            let xv = f64::from(x[d.offset(p) + i * d.wp + j]);
                            let q = f64::from(wt[o * patch + p]) * xv;
                            s += q;
                            t += q.abs();
                            let r = f64::from(dy[o * plane + i * d.ow + j]) * xv;
                            dw[o * patch + p] += r;
                            dws[o * patch + p] += r.abs();
                        }
                        (y[o * plane + i * d.ow + j], ys[o * plane + i * d.ow + j]) = (s, t);
                    }
                }
            }
            let mut simd: Option<(Vec<f32>, Vec<f32>)> = None;
            for l in levels() {
                let what = alloc::format!("{d:?} {}", l.name());
                let mut got = alloc::vec![f32::NAN; d.out_len()];
                dispatch::conv_sum(Supported::new(l), &d, &wt, &x, Some(&bias), &mut got);
                close(&got, &y, &ys, &alloc::format!("sum {what}"));
                // The gradient is added onto what `dw` holds.
                let mut gw = alloc::vec![1f32; d.co * patch];
                dispatch::conv_weight_gradient(Supported::new(l), &d, &dy, &x, &mut gw);
                let shifted: Vec<f64> = dw.iter().map(|v| v + 1.0).collect();
                let scale: Vec<f64> = dws.iter().map(|v| v + 1.0).collect();
                close(&gw, &shifted, &scale, &alloc::format!("weight gradient {what}"));
                if l != SimdLevel::Portable {
                    match &simd {
                        None => simd = Some((got, gw)),
                        Some((y0, g0)) => {
                            assert!(y0.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "{what}: sum");
                            assert!(g0.iter().zip(&gw).all(|(a, b)| a.to_bits() == b.to_bits()), "{what}: dw");
                        }
                    }
                }
            }
        }
    }
}

/// The fused direct convolution, ReLU and 2×2 max pool equals the three steps bit for bit
/// (where the level has the fused kernel), over odd and even output sizes, rows that leave
/// partial vectors and several strips, and channel counts that leave partial tiles.
#[test]
fn fused_convolution_relu_pool_equals_the_three_steps() {
    for (c, h, w, kernel, padding, co) in [
        (1, 28, 28, (3, 3), (1, 1), 8),
        (8, 14, 14, (3, 3), (1, 1), 16),
        (2, 7, 9, (3, 3), (1, 1), 5),
        (3, 6, 70, (2, 3), (0, 1), 13),
        (1, 5, 33, (1, 1), (0, 0), 3),
        (2, 3, 3, (2, 2), (0, 0), 1),
    ] {
        let g = Window {
            c,
            h,
            w,
            kernel,
            stride: (1, 1),
            padding,
            oh: h + 2 * padding.0 - kernel.0 + 1,
            ow: w + 2 * padding.1 - kernel.1 + 1,
        };
        let d = Direct::forward(&g, co);
        let (wt, bias) = (data(co * d.patch(), 9), data(co, 10));
        let x = data(d.image_len(), 11);
        let pooled = co * (d.oh / 2) * (d.ow / 2);
        for l in levels() {
            let mut sum = alloc::vec![f32::NAN; d.out_len()];
            dispatch::conv_sum(Supported::new(l), &d, &wt, &x, Some(&bias), &mut sum);
            let relu: Vec<f32> = sum.iter().map(|&v| if v > 0.0 { v } else { 0.0 }).collect();
            let pw = PoolWindow { c: co, h: d.oh, w: d.ow, size: 2, stride: 2, oh: d.oh / 2, ow: d.ow / 2 };
            let mut want = alloc::vec![f32::NAN; pooled];
            pool::max_pool(&pw, &relu, &mut want);
            let mut got = alloc::vec![f32::NAN; pooled];
            if dispatch::conv_sum_relu_pool(Supported::new(l), &d, &wt, &x, Some(&bias), &mut got) {
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{d:?} {}", l.name());
            } else {
                assert_ne!(l, SimdLevel::Avx512, "AVX-512 has the fused kernel");
            }
        }
    }
}
