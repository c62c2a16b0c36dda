use super::*;
use crate::float::Float;
use crate::layers::testing::{check_gradient, random_batch};
use crate::shape::{flat, TrainBatch};
use crate::shape::{flat_mut, Batch, Vector};
use crate::train::Parameters;
use crate::{Init, Rng};
use alloc::vec::Vec;
use approx::assert_relative_eq;
use generic_array::arr;
use generic_array::ArrayLength;
use typenum::{U1, U2, U3, U4, U5, U60};

/// Biased mean/variance of column `k`, straightforwardly in f64.
fn column_stats<B: ArrayLength, N: ArrayLength, T: Float>(x: &Batch<B, N, T>, k: usize) -> (f64, f64) {
    let col: Vec<f64> = x.iter().map(|r| r[k].to_f64()).collect();
    let m = col.len() as f64;
    let mean = col.iter().sum::<f64>() / m;
    (mean, col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m)
}

#[test]
fn forward_train_by_hand() {
    // Feature 0: [1, 2, 3] → μ = 2, σ² = 2/3. Feature 1: [0, 0, 6] → μ = 2, σ² = 8.
    let mut bn = BatchNorm::<U2, f64>::new().with_eps(0.0);
    bn.gamma = arr![2.0, 1.0];
    bn.beta = arr![0.5, -1.0];
    let x: Batch<U3, U2, f64> = arr![arr![1.0, 0.0], arr![2.0, 0.0], arr![3.0, 6.0]];
    let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
    bn.forward_train(&x, &mut y, &mut cache);
    assert_eq!(cache.mean, arr![2.0, 2.0]);
    assert_relative_eq!(cache.var[0], 2.0 / 3.0, max_relative = 1e-15);
    assert_relative_eq!(cache.var[1], 8.0, max_relative = 1e-15);
    let s0 = (1.5f64).sqrt(); // 1/√(2/3)
    let s1 = 1.0 / 8f64.sqrt();
    let want = [[0.5 - 2.0 * s0, -1.0 - 2.0 * s1], [0.5, -1.0 - 2.0 * s1], [0.5 + 2.0 * s0, -1.0 + 4.0 * s1]];
    for b in 0..3 {
        for k in 0..2 {
            assert_relative_eq!(y[b][k], want[b][k], max_relative = 1e-14);
        }
    }
    // Population statistics: 0.9·0 + 0.1·μ, 0.9·1 + 0.1·(3/2)σ².
    assert_relative_eq!(bn.running_mean[0], 0.2, max_relative = 1e-15);
    assert_relative_eq!(bn.running_var[0], 0.9 + 0.1 * 1.0, max_relative = 1e-15);
    assert_relative_eq!(bn.running_var[1], 0.9 + 0.1 * 12.0, max_relative = 1e-15);
    assert_eq!(bn.num_batches_tracked, 1);
}

#[test]
fn defaults_follow_the_paper_and_pytorch() {
    let bn = BatchNorm::<U3>::default();
    assert_eq!(bn.gamma, arr![1.0, 1.0, 1.0]);
    assert_eq!(bn.beta, arr![0.0, 0.0, 0.0]);
    assert_eq!(bn.running_mean, arr![0.0, 0.0, 0.0]);
    assert_eq!(bn.running_var, arr![1.0, 1.0, 1.0]);
    assert_eq!(bn.eps, 1e-5);
    assert_eq!(bn.momentum, Momentum::Exponential(0.1));
    assert_eq!(BatchNorm::<U3>::PARAMS, 6);
}

fn gradient_check_at<B: TrainBatch>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let mut bn = BatchNorm::<U4, f64>::new();
    Init::Gaussian { std: 1.0 }.fill(&mut bn.gamma, 1, 1, &mut rng);
    Init::Gaussian { std: 1.0 }.fill(&mut bn.beta, 1, 1, &mut rng);
    let mut x: Batch<B, U4, f64> = random_batch(&mut rng);
    // Different scales and offsets per feature.
    for row in x.iter_mut() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = *v * (k as f64 + 0.5) + 3.0 * k as f64;
        }
    }
    check_gradient(
        &x,
        &bn,
        8,
        |bn, k| {
            if k < 4 {
                &mut bn.gamma[k]
            } else {
                &mut bn.beta[k - 4]
            }
        },
        |bn, x| {
            let (mut bn, mut y, mut c) = (*bn, Batch::default(), BatchNormCache::default());
            bn.forward_train(x, &mut y, &mut c);
            y
        },
        |bn, x, dy| {
            let (mut bn2, mut y, mut c) = (*bn, Batch::default(), BatchNormCache::default());
            bn2.forward_train(x, &mut y, &mut c);
            let (mut dx, mut g) = (Batch::default(), BatchNormGrads::default());
            bn.backward(x, &c, dy, &mut dx, &mut g);
            (dx, [&g.gamma[..], &g.beta[..]].concat())
        },
    );
}

#[test]
fn gradients_match_finite_differences() {
    gradient_check_at::<U2>(1);
    gradient_check_at::<U5>(2);
}

#[test]
fn input_gradient_is_orthogonal_to_one_and_to_xhat() {
    // With ε = 0, ∂ℓ/∂x is orthogonal to 1 and to x̂ in every feature: the batch mean and
    // variance are removed from the upstream gradient.
    let mut rng = Rng::seed(11);
    let mut bn = BatchNorm::<U3, f64>::new().with_eps(0.0);
    let x: Batch<U5, U3, f64> = random_batch(&mut rng);
    let dy: Batch<U5, U3, f64> = random_batch(&mut rng);
    let (mut y, mut c, mut dx, mut g) =
        (Batch::default(), BatchNormCache::default(), Batch::default(), BatchNormGrads::default());
    bn.forward_train(&x, &mut y, &mut c);
    bn.backward(&x, &c, &dy, &mut dx, &mut g);
    for k in 0..3 {
        let s: f64 = dx.iter().map(|r| r[k]).sum();
        let sx: f64 = dx.iter().zip(x.iter()).map(|(d, x)| d[k] * (x[k] - c.mean[k]) * c.inv_std[k]).sum();
        assert!(s.abs() < 1e-12 && sx.abs() < 1e-12, "feature {k}: {s} {sx}");
        // ∂ℓ/∂β = Σ dy, ∂ℓ/∂γ = Σ dy·x̂ (x̂ = y when γ = 1, β = 0).
        assert_relative_eq!(g.beta[k], dy.iter().map(|r| r[k]).sum::<f64>(), max_relative = 1e-14);
        assert_relative_eq!(
            g.gamma[k],
            dy.iter().zip(y.iter()).map(|(d, y)| d[k] * y[k]).sum::<f64>(),
            max_relative = 1e-12
        );
    }
}

#[test]
fn large_mean_tiny_spread_normalizes_in_f32() {
    // Mean 1e4, std 1e-2: E[x²] − E[x]² would cancel catastrophically in f32.
    let mut rng = Rng::seed(7);
    let mut x = Batch::<U60, U3, f32>::default();
    for row in x.iter_mut() {
        for v in row.iter_mut() {
            *v = (1e4 + 1e-2 * rng.normal()) as f32;
        }
    }
    let mut bn = BatchNorm::<U3>::new().with_eps(0.0);
    let (mut y, mut c) = (Batch::default(), BatchNormCache::default());
    bn.forward_train(&x, &mut y, &mut c);
    for k in 0..3 {
        let (mean, var) = column_stats(&x, k);
        assert_relative_eq!(c.mean[k] as f64, mean, max_relative = 1e-7);
        assert_relative_eq!(c.var[k] as f64, var, max_relative = 1e-3);
        let (ym, yv) = column_stats(&y, k);
        assert!(ym.abs() < 1e-3, "normalized mean {ym}");
        assert!((yv - 1.0).abs() < 1e-3, "normalized variance {yv}");
    }
}

#[test]
fn constant_feature_gives_beta_not_nan() {
    let mut bn = BatchNorm::<U1>::new();
    bn.beta = arr![0.25];
    let x: Batch<U3, U1> = arr![arr![5.0], arr![5.0], arr![5.0]];
    let (mut y, mut c) = (Batch::default(), BatchNormCache::default());
    bn.forward_train(&x, &mut y, &mut c);
    assert!(y.iter().all(|r| r[0] == 0.25));
    assert_eq!(c.var[0], 0.0);
}

/// Batches of 4 samples whose per-feature means and variances differ from batch to batch.
fn batches(n: usize) -> Vec<Batch<U4, U2, f64>> {
    let mut rng = Rng::seed(21);
    (0..n)
        .map(|i| {
            let mut b: Batch<U4, U2, f64> = random_batch(&mut rng);
            for row in b.iter_mut() {
                row[0] = row[0] * (1.0 + i as f64) + i as f64;
                row[1] = row[1] * 0.5 - 2.0;
            }
            b
        })
        .collect()
}

#[test]
fn exponential_running_statistics_after_several_batches() {
    let data = batches(5);
    let mut bn = BatchNorm::<U2, f64>::new().with_momentum(Momentum::Exponential(0.3));
    let (mut rm, mut rv) = ([0.0; 2], [1.0; 2]);
    for x in &data {
        let (mut y, mut c) = (Batch::default(), BatchNormCache::default());
        bn.forward_train(x, &mut y, &mut c);
        for k in 0..2 {
            let (mean, var) = column_stats(x, k);
            rm[k] = 0.7 * rm[k] + 0.3 * mean;
            rv[k] = 0.7 * rv[k] + 0.3 * var * 4.0 / 3.0; // unbiased
        }
    }
    for k in 0..2 {
        assert_relative_eq!(bn.running_mean[k], rm[k], max_relative = 1e-12);
        assert_relative_eq!(bn.running_var[k], rv[k], max_relative = 1e-12);
    }
    assert_eq!(bn.num_batches_tracked, 5);
}

#[test]
fn cumulative_statistics_are_the_papers_population_statistics() {
    let data = batches(6);
    let mut bn = BatchNorm::<U2, f64>::new().with_momentum(Momentum::Cumulative);
    for x in &data {
        let (mut y, mut c) = (Batch::default(), BatchNormCache::default());
        bn.forward_train(x, &mut y, &mut c);
    }
    for k in 0..2 {
        // E[x] = E_B[μ_B], Var[x] = m/(m−1)·E_B[σ²_B] with m = 4.
        let e_mean = data.iter().map(|x| column_stats(x, k).0).sum::<f64>() / 6.0;
        let e_var = data.iter().map(|x| column_stats(x, k).1).sum::<f64>() / 6.0;
        assert_relative_eq!(bn.running_mean[k], e_mean, max_relative = 1e-12);
        assert_relative_eq!(bn.running_var[k], 4.0 / 3.0 * e_var, max_relative = 1e-12);
    }
    // Recomputing over the same batches from an EMA-trained layer gives the same values
    // and leaves the momentum setting alone.
    let mut ema = BatchNorm::<U2, f64>::new();
    for x in &data[..2] {
        let (mut y, mut c) = (Batch::default(), BatchNormCache::default());
        ema.forward_train(x, &mut y, &mut c);
    }
    ema.recompute_population_statistics(&data);
    assert_eq!(ema.momentum, Momentum::Exponential(0.1));
    assert_eq!(ema.num_batches_tracked, 6);
    for k in 0..2 {
        assert_relative_eq!(ema.running_mean[k], bn.running_mean[k], max_relative = 1e-12);
        assert_relative_eq!(ema.running_var[k], bn.running_var[k], max_relative = 1e-12);
    }
}

#[test]
fn eval_uses_population_statistics_and_equals_the_affine_map() {
    let mut bn = BatchNorm::<U2, f64>::new().with_eps(1e-3);
    bn.gamma = arr![1.5, -0.5];
    bn.beta = arr![0.1, 0.2];
    bn.running_mean = arr![2.0, -1.0];
    bn.running_var = arr![4.0, 0.25];
    let x = arr![3.0, 0.0];
    let mut y = Vector::default();
    bn.forward_eval_one(&x, &mut y);
    assert_relative_eq!(y[0], 1.5 * 1.0 / (4.001f64).sqrt() + 0.1, max_relative = 1e-15);
    assert_relative_eq!(y[1], -0.5 * 1.0 / (0.251f64).sqrt() + 0.2, max_relative = 1e-15);
    let mut y2 = Vector::default();
    bn.to_affine().forward_one(&x, &mut y2);
    assert_relative_eq!(y2[0], y[0], max_relative = 1e-14);
    assert_relative_eq!(y2[1], y[1], max_relative = 1e-14);
    let xs: Batch<U2, U2, f64> = arr![x, arr![-1.0, 1.0]];
    let mut ys = Batch::default();
    bn.forward_eval(&xs, &mut ys);
    assert_eq!(ys[0], y);
    let _ = flat(&ys);
}

#[test]
fn sgd_updates_gamma_and_beta() {
    let mut bn = BatchNorm::<U2, f64>::new();
    let g = BatchNormGrads { gamma: arr![1.0, 2.0], beta: arr![-1.0, 0.5] };
    let mut state = crate::OptimizerState::<BatchNormGrads<U2, f64>>::default();
    bn.step(&g, (&mut state).into(), &crate::Sgd::new(0.1));
    assert_eq!(bn.gamma, arr![0.9, 0.8]);
    assert_eq!(bn.beta, arr![0.1, -0.05]);
    assert_eq!(bn.running_var, arr![1.0, 1.0]);
}

// ---- over the channels of images (BatchNorm2d) ----

/// A batch of `B` images of 3 channels of 5 pixels (`X = 15`), each channel with its own
/// scale and offset.
fn images<B: ArrayLength>(rng: &mut Rng) -> Batch<B, typenum::U15, f64> {
    let mut x: Batch<B, typenum::U15, f64> = random_batch(rng);
    for row in x.iter_mut() {
        for (i, v) in row.iter_mut().enumerate() {
            let c = (i / 5) as f64;
            *v = *v * (c + 0.5) + 3.0 * c - 1.0;
        }
    }
    x
}

#[test]
fn channel_statistics_are_over_the_batch_and_every_pixel() {
    use typenum::{U15, U3, U4};
    let mut rng = Rng::seed(21);
    let x = images::<U4>(&mut rng);
    let mut bn = BatchNorm::<U3, f64>::new();
    let (mut y, mut c) = (Batch::<U4, U15, f64>::default(), BatchNormCache::default());
    bn.forward_train_channels::<U5, _, _>(&x, &mut y, &mut c, Fused::Nothing);
    for ch in 0..3 {
        // The channel's m' = 4·5 = 20 values, straightforwardly in f64.
        let values: Vec<f64> = x.iter().flat_map(|r| r[ch * 5..ch * 5 + 5].to_vec()).collect();
        let mean = values.iter().sum::<f64>() / 20.0;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 20.0;
        assert_relative_eq!(c.mean[ch], mean, max_relative = 1e-13);
        assert_relative_eq!(c.var[ch], var, max_relative = 1e-12);
        for (row_x, row_y) in x.iter().zip(y.iter()) {
            for s in 0..5 {
                let want = (row_x[ch * 5 + s] - mean) / (var + 1e-5).sqrt();
                assert_relative_eq!(row_y[ch * 5 + s], want, max_relative = 1e-11, epsilon = 1e-13);
            }
        }
        // Population statistics: momentum 0.1, the unbiased factor m'/(m'−1) = 20/19.
        assert_relative_eq!(bn.running_mean[ch], 0.1 * mean, max_relative = 1e-13);
        assert_relative_eq!(bn.running_var[ch], 0.9 + 0.1 * var * 20.0 / 19.0, max_relative = 1e-13);
    }
}

fn gradient_check_channels<B: TrainBatch>(seed: u64) {
    use typenum::U3;
    let mut rng = Rng::seed(seed);
    let mut bn = BatchNorm::<U3, f64>::new();
    Init::Gaussian { std: 1.0 }.fill(&mut bn.gamma, 1, 1, &mut rng);
    Init::Gaussian { std: 1.0 }.fill(&mut bn.beta, 1, 1, &mut rng);
    let x = images::<B>(&mut rng);
    check_gradient(
        &x,
        &bn,
        6,
        |bn, k| if k < 3 { &mut bn.gamma[k] } else { &mut bn.beta[k - 3] },
        |bn, x| {
            let (mut bn, mut y, mut c) = (*bn, Batch::default(), BatchNormCache::default());
            bn.forward_train_channels::<U5, _, _>(x, &mut y, &mut c, Fused::Nothing);
            y
        },
        |bn, x, dy| {
            let (mut bn2, mut y, mut c) = (*bn, Batch::default(), BatchNormCache::default());
            bn2.forward_train_channels::<U5, _, _>(x, &mut y, &mut c, Fused::Nothing);
            let (mut dx, mut g) = (Batch::default(), BatchNormGrads::default());
            bn.backward_channels::<U5, _, _>(x, &c, dy, &mut dx, &mut g, Fused::Nothing);
            (dx, [&g.gamma[..], &g.beta[..]].concat())
        },
    );
}

#[test]
fn channel_gradients_match_finite_differences() {
    gradient_check_channels::<U2>(3);
    gradient_check_channels::<U5>(4);
}

/// With one pixel per channel, BN over channels is BN over features (to rounding: the sums
/// are taken in another order).
#[test]
fn one_pixel_images_are_features() {
    let mut rng = Rng::seed(5);
    let x: Batch<U5, U4, f64> = random_batch(&mut rng);
    let dy: Batch<U5, U4, f64> = random_batch(&mut rng);
    let (mut a, mut b) = (BatchNorm::<U4, f64>::new(), BatchNorm::<U4, f64>::new());
    let (mut ya, mut yb, mut ca, mut cb) =
        (Batch::default(), Batch::default(), BatchNormCache::default(), BatchNormCache::default());
    a.forward_train(&x, &mut ya, &mut ca);
    b.forward_train_channels::<U1, _, _>(&x, &mut yb, &mut cb, Fused::Nothing);
    let (mut da, mut db, mut ga, mut gb) =
        (Batch::default(), Batch::default(), BatchNormGrads::default(), BatchNormGrads::default());
    a.backward(&x, &ca, &dy, &mut da, &mut ga);
    b.backward_channels::<U1, _, _>(&x, &cb, &dy, &mut db, &mut gb, Fused::Nothing);
    for (p, q) in flat(&ya).iter().zip(flat(&yb)).chain(flat(&da).iter().zip(flat(&db))) {
        assert_relative_eq!(p, q, max_relative = 1e-12, epsilon = 1e-14);
    }
    assert_relative_eq!(a.running_var[2], b.running_var[2], max_relative = 1e-14);
}

/// The eval forward over channels is the per-channel affine map, and a large mean with a tiny
/// spread still normalizes in f32 (the shifted statistics).
#[test]
fn channel_eval_is_the_affine_map_and_f32_is_accurate() {
    use typenum::{U15, U3};
    let mut rng = Rng::seed(6);
    let mut bn = BatchNorm::<U3, f64>::new();
    for k in 0..3 {
        (bn.gamma[k], bn.beta[k], bn.running_mean[k], bn.running_var[k]) =
            (rng.normal(), rng.normal(), rng.normal(), rng.uniform() + 0.1);
    }
    let x: Batch<U2, U15, f64> = random_batch(&mut rng);
    let (mut y, mut z) = (Batch::<U2, U15, f64>::default(), Batch::<U2, U15, f64>::default());
    bn.forward_eval_channels::<U5, _, _>(&x, &mut y);
    bn.to_affine().forward_channels::<U5, _, _>(&x, &mut z);
    for (p, q) in flat(&y).iter().zip(flat(&z)) {
        assert_relative_eq!(p, q, max_relative = 1e-12, epsilon = 1e-14);
    }
    let mut bn32 = BatchNorm::<U3, f32>::new().with_eps(1e-10);
    let mut x32 = Batch::<U60, U15, f32>::default();
    for (i, v) in flat_mut(&mut x32).iter_mut().enumerate() {
        *v = 1e4 + 1e-2 * (rng.normal() as f32) + (i % 15 / 5) as f32;
    }
    let (mut y32, mut c32) = (Batch::<U60, U15, f32>::default(), BatchNormCache::default());
    bn32.forward_train_channels::<U5, _, _>(&x32, &mut y32, &mut c32, Fused::Nothing);
    for ch in 0..3 {
        let values: Vec<f64> = y32.iter().flat_map(|r| r[ch * 5..ch * 5 + 5].iter().map(|&v| f64::from(v))).collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 1e-3 && (var - 1.0).abs() < 2e-3, "channel {ch}: mean {mean}, var {var}");
    }
}

/// The fused BN + ReLU equals the two layers one after the other, bit for bit, in the
/// forward and the backward, in f64 and in f32 (the vectorized path).
fn fused_relu_equals_separate<T: Float>(seed: u64) {
    use crate::{Activation, ReLU};
    let mut rng = Rng::seed(seed);
    let mut x = Batch::<U60, typenum::U15, T>::default();
    // Around 0, so that the ReLU cuts about half.
    x.iter_mut().flatten().for_each(|v| *v = T::from_f64(rng.normal() * 2.0 + 0.5));
    let mut dy = Batch::<U60, typenum::U15, T>::default();
    dy.iter_mut().flatten().for_each(|v| *v = T::from_f64(rng.normal()));
    let mut bn = BatchNorm::<U3, T>::new();
    for (g, b) in bn.gamma.iter_mut().zip(bn.beta.iter_mut()) {
        *g = T::from_f64(rng.normal());
        *b = T::from_f64(rng.normal() * 0.3);
    }
    let mut sep = bn;
    // Separate: BN, then ReLU; backward ReLU, then BN.
    let (mut z, mut y1, mut c1) = (Batch::default(), Batch::default(), BatchNormCache::default());
    sep.forward_train_channels::<U5, _, _>(&x, &mut z, &mut c1, Fused::Nothing);
    ReLU::forward(&z, &mut y1);
    let (mut dz, mut dx1, mut g1) = (Batch::default(), Batch::default(), BatchNormGrads::default());
    ReLU::backward(&y1, &dy, &mut dz);
    sep.backward_channels::<U5, _, _>(&x, &c1, &dz, &mut dx1, &mut g1, Fused::Nothing);
    // Fused.
    let (mut y2, mut c2) = (Batch::default(), BatchNormCache::default());
    bn.forward_train_channels::<U5, _, _>(&x, &mut y2, &mut c2, Fused::ReLU);
    let (mut dx2, mut g2) = (Batch::default(), BatchNormGrads::default());
    bn.backward_channels::<U5, _, _>(&x, &c2, &dy, &mut dx2, &mut g2, Fused::ReLU);
    let bits = |v: &[T]| v.iter().map(|f| f.to_f64().to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(flat(&y1)), bits(flat(&y2)), "forward");
    assert_eq!(bits(flat(&dx1)), bits(flat(&dx2)), "dx");
    assert_eq!(bits(&g1.gamma), bits(&g2.gamma), "dγ");
    assert_eq!(bits(&g1.beta), bits(&g2.beta), "dβ");
    assert_eq!((bn.running_mean, bn.running_var), (sep.running_mean, sep.running_var));
    // The ReLU cut some outputs, and their gradient did not flow.
    let cut = flat(&y2).iter().filter(|v| **v == T::ZERO).count();
    assert!((200..700).contains(&cut), "{cut} of 900 cut");
}

#[test]
fn fused_relu_equals_the_separate_layers() {
    fused_relu_equals_separate::<f64>(1);
    fused_relu_equals_separate::<f32>(2);
}

/// The deprecated `_2d` names forward to the `_channels` methods with the right [`Fused`].
#[test]
#[allow(deprecated)]
fn deprecated_2d_names_forward_to_channels() {
    let mut rng = Rng::seed(7);
    let x: Batch<U4, typenum::U15, f64> = random_batch(&mut rng);
    let dy: Batch<U4, typenum::U15, f64> = random_batch(&mut rng);
    for fused in [Fused::Nothing, Fused::ReLU] {
        let (mut new, mut old) = (BatchNorm::<U3, f64>::new(), BatchNorm::<U3, f64>::new());
        let (mut y1, mut c1, mut y2, mut c2) =
            (Batch::default(), BatchNormCache::default(), Batch::default(), BatchNormCache::default());
        new.forward_train_channels::<U5, _, _>(&x, &mut y1, &mut c1, fused);
        let (mut dx1, mut g1, mut dx2, mut g2) =
            (Batch::default(), BatchNormGrads::default(), Batch::default(), BatchNormGrads::default());
        new.backward_channels::<U5, _, _>(&x, &c1, &dy, &mut dx1, &mut g1, fused);
        if fused == Fused::ReLU {
            old.forward_train_2d_relu::<U5, _, _>(&x, &mut y2, &mut c2);
            old.backward_2d_relu::<U5, _, _>(&x, &c2, &dy, &mut dx2, &mut g2);
        } else {
            old.forward_train_2d::<U5, _, _>(&x, &mut y2, &mut c2);
            old.backward_2d::<U5, _, _>(&x, &c2, &dy, &mut dx2, &mut g2);
        }
        assert_eq!((y1, dx1, g1.gamma, g1.beta), (y2, dx2, g2.gamma, g2.beta), "{fused:?}");
        let (mut e1, mut e2) = (Batch::<U4, typenum::U15, f64>::default(), Batch::default());
        new.forward_eval_channels::<U5, _, _>(&x, &mut e1);
        old.forward_eval_2d::<U5, _, _>(&x, &mut e2);
        let (mut o1, mut o2) = (Vector::<typenum::U15, f64>::default(), Vector::default());
        new.forward_eval_one_channels::<U5, _>(&x[0], &mut o1);
        old.forward_eval_one_2d::<U5, _>(&x[0], &mut o2);
        assert_eq!((e1, o1), (e2, o2));
        let (affine, mut f1, mut f2) = (new.to_affine(), Batch::<U4, typenum::U15, f64>::default(), Batch::default());
        affine.forward_channels::<U5, _, _>(&x, &mut f1);
        affine.forward_2d::<U5, _, _>(&x, &mut f2);
        let (mut v1, mut v2) = (Vector::<typenum::U15, f64>::default(), Vector::default());
        affine.forward_one_channels::<U5, _>(&x[0], &mut v1);
        affine.forward_one_2d::<U5, _>(&x[0], &mut v2);
        assert_eq!((f1, v1), (f2, v2));
    }
}
