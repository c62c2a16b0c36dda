use super::*;
use crate::layers::testing::{check_gradient, random_batch};
use crate::shape::flat;
use crate::{Init, Rng};
use alloc::vec::Vec;
use approx::assert_relative_eq;
use generic_array::arr;
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
    let mut state = BatchNormGrads::default();
    bn.step(&g, &mut state, &crate::Sgd::new(0.1));
    assert_eq!(bn.gamma, arr![0.9, 0.8]);
    assert_eq!(bn.beta, arr![0.1, -0.05]);
    assert_eq!(bn.running_var, arr![1.0, 1.0]);
}
