//! Tests of the training modes: Batch Renormalization, frozen BN, no affine parameters.

use super::*;
use crate::float::Float;
use crate::layers::testing::{check_gradient, random_batch};
use crate::shape::{flat, Batch};
use crate::train::Freeze;
use crate::train::Parameters;
use crate::train::Sgd;
use crate::Rng;
use alloc::vec::Vec;
use approx::assert_relative_eq;
use generic_array::ArrayLength;
use typenum::{U15, U2, U3, U4, U5, U6};

fn bits<T: Float>(v: &[T]) -> Vec<u64> {
    v.iter().map(|f| f.to_f64().to_bits()).collect()
}

/// A BN with random γ, β and population statistics far from the batch's.
fn trained_bn<C: ArrayLength>(rng: &mut Rng) -> BatchNorm<C, f64> {
    let mut bn = BatchNorm::<C, f64>::new();
    for k in 0..C::USIZE {
        bn.gamma[k] = 1.0 + 0.5 * rng.normal();
        bn.beta[k] = 0.3 * rng.normal();
        bn.running_mean[k] = 2.0 * rng.normal();
        bn.running_var[k] = 0.2 + 4.0 * rng.uniform();
    }
    bn
}

/// Features with per-feature scales and offsets.
fn features<B: ArrayLength>(rng: &mut Rng) -> Batch<B, U4, f64> {
    let mut x: Batch<B, U4, f64> = random_batch(rng);
    for row in x.iter_mut() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = *v * (k as f64 + 0.5) + 1.5 * k as f64 - 1.0;
        }
    }
    x
}

/// Batch Renormalization written out from the paper's Algorithm 1, in f64, with `r` and `d`
/// passed in (so that finite differences treat them as constants): `y = γ·(x̂·r + d) + β`.
fn renorm_reference<B: ArrayLength>(
    bn: &BatchNorm<U4, f64>,
    x: &Batch<B, U4, f64>,
    r: &[f64],
    d: &[f64],
) -> Batch<B, U4, f64> {
    let m = B::USIZE as f64;
    let mut y = Batch::<B, U4, f64>::default();
    for k in 0..4 {
        let mu = x.iter().map(|row| row[k]).sum::<f64>() / m;
        let var = x.iter().map(|row| (row[k] - mu) * (row[k] - mu)).sum::<f64>() / m;
        for (yr, xr) in y.iter_mut().zip(x.iter()) {
            yr[k] = bn.gamma[k] * ((xr[k] - mu) / (var + bn.eps).sqrt() * r[k] + d[k]) + bn.beta[k];
        }
    }
    y
}

/// `r`, `d` and the moving averages after one batch, from the paper's equations.
fn renorm_factors_reference<B: ArrayLength>(
    bn: &BatchNorm<U4, f64>,
    x: &Batch<B, U4, f64>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (m, a) = (B::USIZE as f64, 0.1);
    let (mut r, mut d, mut mean, mut var) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for k in 0..4 {
        let mu_b = x.iter().map(|row| row[k]).sum::<f64>() / m;
        let sigma_b = (x.iter().map(|row| (row[k] - mu_b) * (row[k] - mu_b)).sum::<f64>() / m + bn.eps).sqrt();
        let (mu, sigma) = (bn.running_mean[k], (bn.running_var[k] + bn.eps).sqrt());
        r.push((sigma_b / sigma).clamp(1.0 / bn.rmax, bn.rmax));
        d.push(((mu_b - mu) / sigma).clamp(-bn.dmax, bn.dmax));
        mean.push(mu + a * (mu_b - mu));
        let s = sigma + a * (sigma_b - sigma);
        var.push(s * s - bn.eps);
    }
    (r, d, mean, var)
}

#[test]
fn renorm_follows_the_papers_equations_with_clipping_active_and_inactive() {
    for (rmax, dmax, clipped) in [(1.2, 0.3, true), (100.0, 100.0, false)] {
        let mut rng = Rng::seed(3);
        let mut bn = trained_bn::<U4>(&mut rng).with_renorm(rmax, dmax);
        let x = features::<U6>(&mut rng);
        let (r, d, mean, var) = renorm_factors_reference(&bn, &x);
        let any_clipped = r.iter().any(|&v| v == rmax || v == 1.0 / rmax) || d.iter().any(|&v| v.abs() == dmax);
        assert_eq!(any_clipped, clipped, "the case must (not) clip: r {r:?}, d {d:?}");
        let want = renorm_reference(&bn, &x, &r, &d);
        let (mut y, mut c) = (Batch::default(), BatchNormCache::default());
        bn.forward_train(&x, &mut y, &mut c);
        for k in 0..4 {
            assert_relative_eq!(c.r[k], r[k], max_relative = 1e-12);
            assert_relative_eq!(c.d[k], d[k], max_relative = 1e-12, epsilon = 1e-14);
            assert_relative_eq!(bn.running_mean[k], mean[k], max_relative = 1e-12);
            assert_relative_eq!(bn.running_var[k], var[k], max_relative = 1e-12);
        }
        for (a, b) in flat(&y).iter().zip(flat(&want)) {
            assert_relative_eq!(*a, *b, max_relative = 1e-11, epsilon = 1e-13);
        }
        assert_eq!(bn.num_batches_tracked, 1);
        // Inference uses σ exactly: √(running_var + ε) is the moving σ.
        let sigma = (var[0] + bn.eps).sqrt();
        assert_relative_eq!((bn.running_var[0] + bn.eps).sqrt(), sigma, max_relative = 1e-15);
    }
}

#[test]
fn renorm_gradients_treat_r_and_d_as_constants() {
    for (rmax, dmax) in [(1.2, 0.3), (100.0, 100.0)] {
        let mut rng = Rng::seed(4);
        let bn = trained_bn::<U4>(&mut rng).with_renorm(rmax, dmax);
        let x = features::<U5>(&mut rng);
        let (r, d, _, _) = renorm_factors_reference(&bn, &x);
        check_gradient(
            &x,
            &bn,
            8,
            |bn, k| if k < 4 { &mut bn.gamma[k] } else { &mut bn.beta[k - 4] },
            |bn, x| renorm_reference(bn, x, &r, &d),
            |bn, x, dy| {
                let (mut bn2, mut y, mut c) = (*bn, Batch::default(), BatchNormCache::default());
                bn2.forward_train(x, &mut y, &mut c);
                let (mut dx, mut g) = (Batch::default(), BatchNormGrads::default());
                bn.backward(x, &c, dy, &mut dx, &mut g);
                (dx, [&g.gamma[..], &g.beta[..]].concat())
            },
        );
    }
}

/// With `r_max = 1`, `d_max = 0` (r = 1, d = 0), Batch Renormalization is BN, bit for bit:
/// over features, over images, and fused with a ReLU.
#[test]
fn renorm_with_r_one_and_d_zero_is_batchnorm_exactly() {
    let mut rng = Rng::seed(5);
    let plain = trained_bn::<U3>(&mut rng);
    let mut renorm = plain.with_renorm(1.0, 0.0);
    let mut plain = plain;
    let x: Batch<U4, U15, f64> = random_batch(&mut rng);
    let dy: Batch<U4, U15, f64> = random_batch(&mut rng);
    for fused in [Fused::Nothing, Fused::ReLU] {
        let (mut y1, mut c1, mut y2, mut c2) =
            (Batch::<U4, U15, f64>::default(), BatchNormCache::default(), Batch::default(), BatchNormCache::default());
        let (mut dx1, mut g1, mut dx2, mut g2) =
            (Batch::<U4, U15, f64>::default(), BatchNormGrads::default(), Batch::default(), BatchNormGrads::default());
        plain.forward_train_channels::<U5, _, _>(&x, &mut y1, &mut c1, fused);
        renorm.forward_train_channels::<U5, _, _>(&x, &mut y2, &mut c2, fused);
        plain.backward_channels::<U5, _, _>(&x, &c1, &dy, &mut dx1, &mut g1, fused);
        renorm.backward_channels::<U5, _, _>(&x, &c2, &dy, &mut dx2, &mut g2, fused);
        assert_eq!(bits(flat(&y1)), bits(flat(&y2)));
        assert_eq!(bits(flat(&dx1)), bits(flat(&dx2)));
        assert_eq!(bits(&g1.gamma), bits(&g2.gamma));
        assert_eq!(bits(&g1.beta), bits(&g2.beta));
    }
    // And over features, in f32.
    let mut plain = BatchNorm::<U4, f32>::new();
    let mut renorm = BatchNorm::<U4, f32>::new().with_renorm(1.0, 0.0);
    let x: Batch<U6, U4, f64> = features(&mut rng);
    let x: Batch<U6, U4, f32> = x.iter().map(|r| r.iter().map(|&v| v as f32).collect()).collect();
    let (mut y1, mut c1, mut y2, mut c2) =
        (Batch::default(), BatchNormCache::default(), Batch::default(), BatchNormCache::default());
    plain.forward_train(&x, &mut y1, &mut c1);
    renorm.forward_train(&x, &mut y2, &mut c2);
    assert_eq!(bits(flat(&y1)), bits(flat(&y2)));
    let (mut dx1, mut g1, mut dx2, mut g2) =
        (Batch::default(), BatchNormGrads::default(), Batch::default(), BatchNormGrads::default());
    plain.backward(&x, &c1, &y1, &mut dx1, &mut g1);
    renorm.backward(&x, &c2, &y2, &mut dx2, &mut g2);
    assert_eq!(bits(flat(&dx1)), bits(flat(&dx2)));
    assert_eq!(bits(&g1.gamma), bits(&g2.gamma));
}

/// Frozen: the training forward is the eval forward (bit for bit), the statistics stay, and
/// the backward is the affine map's: `dx = dy·γ/σ`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
#[test]
fn frozen_forward_is_eval_and_backward_is_the_affine_maps() {
    let mut rng = Rng::seed(6);
    let mut bn = trained_bn::<U4>(&mut rng);
    bn.freeze = Freeze::Statistics;
    let before = bn;
    let x = features::<U5>(&mut rng);
    let dy: Batch<U5, U4, f64> = random_batch(&mut rng);
    let (mut y, mut c, mut want) = (Batch::default(), BatchNormCache::default(), Batch::default());
    bn.forward_train(&x, &mut y, &mut c);
    bn.forward_eval(&x, &mut want);
    assert_eq!(bits(flat(&y)), bits(flat(&want)));
    assert!(bn == before, "a frozen BN tracks nothing");
    let (mut dx, mut g) = (Batch::default(), BatchNormGrads::default());
    bn.backward(&x, &c, &dy, &mut dx, &mut g);
    for k in 0..4 {
        let inv = 1.0 / (bn.running_var[k] + bn.eps).sqrt();
        let (mut sg, mut sgx) = (0.0, 0.0);
        for b in 0..5 {
            assert_relative_eq!(dx[b][k], dy[b][k] * bn.gamma[k] * inv, max_relative = 1e-14);
            sg += dy[b][k];
            sgx += dy[b][k] * (x[b][k] - bn.running_mean[k]) * inv;
        }
        assert_relative_eq!(g.beta[k], sg, max_relative = 1e-13);
        assert_relative_eq!(g.gamma[k], sgx, max_relative = 1e-13);
    }
    // And a finite-difference check against the eval forward.
    check_gradient(
        &x,
        &bn,
        8,
        |bn, k| if k < 4 { &mut bn.gamma[k] } else { &mut bn.beta[k - 4] },
        |bn, x| {
            let mut y = Batch::default();
            bn.forward_eval(x, &mut y);
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

/// Frozen over images, fused with a ReLU: the eval forward then the ReLU, and its gradient.
#[test]
fn frozen_images_with_relu_match_eval_and_finite_differences() {
    let mut rng = Rng::seed(7);
    let mut bn = trained_bn::<U3>(&mut rng);
    bn.freeze = Freeze::All;
    let x: Batch<U2, U15, f64> = random_batch(&mut rng);
    let (mut y, mut c, mut want) = (Batch::<U2, U15, f64>::default(), BatchNormCache::default(), Batch::default());
    bn.forward_train_channels::<U5, _, _>(&x, &mut y, &mut c, Fused::ReLU);
    bn.forward_eval_channels::<U5, _, _>(&x, &mut want);
    want.iter_mut().flatten().for_each(|v| *v = v.max(0.0));
    assert_eq!(bits(flat(&y)), bits(flat(&want)));
    assert_eq!(bn.num_batches_tracked, 0);
    check_gradient(
        &x,
        &bn,
        6,
        |bn, k| if k < 3 { &mut bn.gamma[k] } else { &mut bn.beta[k - 3] },
        |bn, x| {
            let mut y = Batch::default();
            bn.forward_eval_channels::<U5, _, _>(x, &mut y);
            y.iter_mut().flatten().for_each(|v| *v = v.max(0.0));
            y
        },
        |bn, x, dy| {
            let (mut bn2, mut y, mut c) = (*bn, Batch::default(), BatchNormCache::default());
            bn2.forward_train_channels::<U5, _, _>(x, &mut y, &mut c, Fused::ReLU);
            let (mut dx, mut g) = (Batch::default(), BatchNormGrads::default());
            bn.backward_channels::<U5, _, _>(x, &c, dy, &mut dx, &mut g, Fused::ReLU);
            (dx, [&g.gamma[..], &g.beta[..]].concat())
        },
    );
}

/// Whether γ and β learn: yes by default and when only the statistics are frozen; no
/// without affine parameters or when all is frozen.
#[test]
fn the_optimizer_leaves_fixed_gamma_and_beta_alone() {
    let grads = BatchNormGrads::<U2, f64> { gamma: [1.0, 2.0].into(), beta: [3.0, 4.0].into() };
    let opt = Sgd::new(0.5);
    for (affine, freeze, learns) in [
        (true, Freeze::No, true),
        (true, Freeze::Statistics, true),
        (true, Freeze::All, false),
        (false, Freeze::No, false),
    ] {
        let mut bn = BatchNorm::<U2, f64>::new();
        if !affine {
            bn = bn.without_affine();
        }
        bn.freeze = freeze;
        let mut state = crate::OptimizerState::<BatchNormGrads<U2, f64>>::default();
        Parameters::step(&mut bn, &grads, (&mut state).into(), &opt);
        assert_eq!(bn.gamma[0] != 1.0, learns, "affine {affine}, {freeze:?}");
        assert_eq!(bn.beta[1] != 0.0, learns, "affine {affine}, {freeze:?}");
    }
}
