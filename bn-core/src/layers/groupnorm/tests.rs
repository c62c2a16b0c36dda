//! [`GroupNorm`]'s unit tests: values by hand, the two special cases (LayerNorm at `G = 1`,
//! instance normalization at `G = C`), gradients against finite differences, `f32` against
//! `f64`, and its place in a folded model.

use super::*;
use crate::format::PlainData;
use crate::layers::testing::{check_gradient, random_batch};
use crate::layers::{LayerNorm, LayerNormCache, LayerNormGrads};
use crate::rng::{Init, Rng};
use crate::shape::{flat, flat_mut};
use alloc::vec::Vec;
use generic_array::arr;
use typenum::{U1, U12, U2, U3, U30, U4, U5, U6, U8};

fn bits<T: Float>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// A layer with random γ and β (with `AFFINE`).
fn random_layer<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool>(
    rng: &mut Rng,
) -> GroupNorm<C, G, T, AFFINE> {
    let mut gn = GroupNorm::new();
    if AFFINE {
        Init::Gaussian { std: 1.0 }.fill(&mut gn.gamma, 1, 1, rng);
        Init::Gaussian { std: 1.0 }.fill(&mut gn.beta, 1, 1, rng);
    }
    gn
}

#[test]
fn by_hand() {
    // 4 channels of 2 pixels in 2 groups. Group 0: [1, 2, 3, 4], μ = 2.5, σ² = 1.25.
    // Group 1: [0, 0, 2, 6], μ = 2, σ² = 6.
    let mut gn = GroupNorm::<U4, U2, f64>::new();
    gn.gamma = arr![1.0, 2.0, -1.0, 0.5];
    gn.beta = arr![0.0, 1.0, 0.0, -1.0];
    let x: Batch<U1, U8, f64> = arr![arr![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, 6.0]];
    let (mut y, mut cache) = (Batch::default(), GroupNormCache::default());
    gn.forward_train::<U2, _, _>(&x, &mut y, &mut cache);
    let (s0, s1) = (1.0 / (1.25f64 + 1e-5).sqrt(), 1.0 / (6.0f64 + 1e-5).sqrt());
    assert_eq!(cache, GroupNormCache { mean: arr![arr![2.5, 2.0]], inv_std: arr![arr![s0, s1]] });
    #[rustfmt::skip]
    let want = [
        -1.5 * s0, -0.5 * s0,                                  // channel 0: γ = 1, β = 0
        2.0 * (0.5 * s0) + 1.0, 2.0 * (1.5 * s0) + 1.0,        // channel 1: γ = 2, β = 1
        -(-2.0 * s1), -(-2.0 * s1),                            // channel 2: γ = −1, β = 0
        0.5 * (0.0 * s1) - 1.0, 0.5 * (4.0 * s1) - 1.0,        // channel 3: γ = 0.5, β = −1
    ];
    assert_eq!(y[0].as_slice(), &want);
    // Without AFFINE, γ and β are ignored.
    let mut raw = GroupNorm::<U4, U2, f64, false>::new();
    (raw.gamma, raw.beta) = (gn.gamma, gn.beta);
    let mut y1 = Vector::default();
    raw.forward_one::<U2, _>(&x[0], &mut y1);
    assert_eq!(y1, arr![-1.5 * s0, -0.5 * s0, 0.5 * s0, 1.5 * s0, -2.0 * s1, -2.0 * s1, 0.0, 4.0 * s1]);
    // The backward by hand: dy = 1 on pixel 0 of channel 3 only. ∂ℓ/∂β_3 = 1, ∂ℓ/∂γ_3 = x̂ = 0,
    // and, with g = γ_3·dy, ∂ℓ/∂x = s1·(g − mean(g) − x̂·mean(g·x̂)) on group 1, 0 on group 0.
    let dy: Batch<U1, U8, f64> = arr![arr![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]];
    let (mut dx, mut grads) = (Batch::default(), GroupNormGrads::default());
    gn.backward::<U2, _, _>(&x, &cache, &dy, Some(&mut dx), &mut grads);
    assert_eq!(grads, GroupNormGrads { gamma: arr![0.0, 0.0, 0.0, 0.0], beta: arr![0.0, 0.0, 0.0, 1.0] });
    let xh = [-2.0 * s1, -2.0 * s1, 0.0, 4.0 * s1];
    let (g, mg) = ([0.0, 0.0, 0.5, 0.0], 0.5 / 4.0);
    for k in 0..4 {
        let want = s1 * (g[k] - mg - xh[k] * 0.0);
        assert!((dx[0][4 + k] - want).abs() < 1e-15, "dx[{}] = {}, want {want}", 4 + k, dx[0][4 + k]);
        assert_eq!(dx[0][k], 0.0);
    }
    type Gn = GroupNorm<U4, U2>;
    assert_eq!((Gn::CHANNELS, Gn::GROUPS, Gn::PARAMS, GroupNorm::<U4, U2, f32, false>::PARAMS), (4, 2, 8, 0));
}

#[test]
fn a_batch_of_one_and_the_one_sample_forward_agree_bit_for_bit() {
    // 6 channels of 5 pixels in 3 groups, f32.
    let mut rng = Rng::seed(11);
    let gn: GroupNorm<U6, U3, f32> = random_layer(&mut rng);
    let mut x = Batch::<U6, U30, f32>::default();
    Init::Gaussian { std: 3.0 }.fill(flat_mut(&mut x), 1, 1, &mut rng);
    let (mut y, mut y_eval, mut cache) = (Batch::default(), Batch::default(), GroupNormCache::default());
    gn.forward_train::<U5, _, _>(&x, &mut y, &mut cache);
    gn.forward::<U5, _, _>(&x, &mut y_eval);
    for b in 0..6 {
        let mut one = Vector::default();
        gn.forward_one::<U5, _>(&x[b], &mut one);
        assert_eq!(bits(&one), bits(&y[b]), "sample {b}");
        assert_eq!(bits(&one), bits(&y_eval[b]), "sample {b}");
        // A batch of 1, trained and evaluated.
        let x1: Batch<U1, U30, f32> = arr![x[b]];
        let (mut y1, mut c1, mut e1) = (Batch::default(), GroupNormCache::default(), Batch::default());
        gn.forward_train::<U5, _, _>(&x1, &mut y1, &mut c1);
        gn.forward::<U5, _, _>(&x1, &mut e1);
        assert_eq!(bits(&y1[0]), bits(&one));
        assert_eq!(bits(&e1[0]), bits(&one));
        assert_eq!((c1.mean[0], c1.inv_std[0]), (cache.mean[b], cache.inv_std[b]));
    }
    // With γ = 1 and β = 0, every group of every sample has mean 0 and variance 1 (up to ε).
    GroupNorm::<U6, U3, f32>::new().forward::<U5, _, _>(&x, &mut y);
    for group in flat(&y).chunks_exact(10) {
        let mean: f32 = group.iter().sum::<f32>() / 10.0;
        let var: f32 = group.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 10.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4, "mean {mean}, var {var}");
    }
}

/// Four samples of 4 channels × 3 pixels, each with its own offset and scale.
fn images(rng: &mut Rng) -> Batch<U4, U12, f64> {
    let mut x: Batch<U4, U12, f64> = random_batch(rng);
    for (b, row) in x.iter_mut().enumerate() {
        row.iter_mut().for_each(|v| *v = *v * (0.5 + b as f64) + 3.0 * b as f64 - 2.0);
    }
    x
}

#[test]
fn one_group_is_layer_norm_with_per_channel_parameters() {
    let mut rng = Rng::seed(21);
    let gn: GroupNorm<U4, U1, f64> = random_layer(&mut rng);
    // LayerNorm over [C, H, W] with each channel's γ and β repeated over its 3 pixels.
    let mut ln = LayerNorm::<U12, f64>::new();
    for k in 0..12 {
        (ln.gamma[k], ln.beta[k]) = (gn.gamma[k / 3], gn.beta[k / 3]);
    }
    let x = images(&mut rng);
    let dy: Batch<U4, U12, f64> = random_batch(&mut rng);
    let (mut y, mut cache, mut ly, mut lcache) =
        (Batch::default(), GroupNormCache::default(), Batch::default(), LayerNormCache::default());
    gn.forward_train::<U3, _, _>(&x, &mut y, &mut cache);
    ln.forward_train(&x, &mut ly, &mut lcache);
    assert_eq!(bits(flat(&y)), bits(flat(&ly)));
    assert_eq!(bits(flat(&cache.mean)), bits(&lcache.mean));
    assert_eq!(bits(flat(&cache.inv_std)), bits(&lcache.inv_std));
    let (mut dx, mut grads, mut ldx, mut lgrads) =
        (Batch::default(), GroupNormGrads::default(), Batch::default(), LayerNormGrads::default());
    gn.backward::<U3, _, _>(&x, &cache, &dy, Some(&mut dx), &mut grads);
    ln.backward(&x, &lcache, &dy, Some(&mut ldx), &mut lgrads);
    assert_eq!(bits(flat(&dx)), bits(flat(&ldx)));
    // A channel's γ gradient is the sum of LayerNorm's over its pixels (another order).
    for c in 0..4 {
        let (dg, db): (f64, f64) =
            (lgrads.gamma[3 * c..3 * c + 3].iter().sum(), lgrads.beta[3 * c..3 * c + 3].iter().sum());
        assert!((grads.gamma[c] - dg).abs() < 1e-12 && (grads.beta[c] - db).abs() < 1e-12, "channel {c}");
    }
}

#[test]
fn one_channel_per_group_is_instance_normalization() {
    let mut rng = Rng::seed(22);
    let gn: GroupNorm<U4, U4, f64> = random_layer(&mut rng);
    let x = images(&mut rng);
    let dy: Batch<U4, U12, f64> = random_batch(&mut rng);
    let (mut y, mut cache, mut dx, mut grads) =
        (Batch::default(), GroupNormCache::default(), Batch::default(), GroupNormGrads::default());
    gn.forward_train::<U3, _, _>(&x, &mut y, &mut cache);
    gn.backward::<U3, _, _>(&x, &cache, &dy, Some(&mut dx), &mut grads);
    // Each channel of each sample alone through a LayerNorm of its 3 pixels.
    for b in 0..4 {
        for c in 0..4 {
            let mut ln = LayerNorm::<U3, f64>::new();
            ln.gamma.iter_mut().for_each(|g| *g = gn.gamma[c]);
            ln.beta.iter_mut().for_each(|v| *v = gn.beta[c]);
            let at = 3 * c..3 * c + 3;
            let xc: Batch<U1, U3, f64> = arr![*Vector::from_slice(&x[b][at.clone()])];
            let dyc: Batch<U1, U3, f64> = arr![*Vector::from_slice(&dy[b][at.clone()])];
            let (mut ly, mut lcache, mut ldx) = (Batch::default(), LayerNormCache::default(), Batch::default());
            ln.forward_train(&xc, &mut ly, &mut lcache);
            ln.backward(&xc, &lcache, &dyc, Some(&mut ldx), &mut LayerNormGrads::default());
            assert_eq!(bits(&y[b][at.clone()]), bits(&ly[0]), "sample {b}, channel {c}");
            assert_eq!(bits(&dx[b][at]), bits(&ldx[0]), "sample {b}, channel {c}");
            assert_eq!((cache.mean[b][c], cache.inv_std[b][c]), (lcache.mean[0], lcache.inv_std[0]));
        }
    }
}

fn check<G: ArrayLength, B: ArrayLength, const AFFINE: bool>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let gn: GroupNorm<U4, G, f64, AFFINE> = random_layer(&mut rng);
    let x: Batch<B, U12, f64> = {
        let all = images(&mut rng);
        let mut x = Batch::default();
        x.iter_mut().zip(all.iter()).for_each(|(a, b)| *a = *b);
        x
    };
    check_gradient(
        &x,
        &gn,
        GroupNorm::<U4, G, f64, AFFINE>::PARAMS,
        |l, k| if k < 4 { &mut l.gamma[k] } else { &mut l.beta[k - 4] },
        |l, x| {
            let mut y = Batch::<B, U12, f64>::default();
            l.forward_train::<U3, _, _>(x, &mut y, &mut GroupNormCache::default());
            y
        },
        |l, x, dy| {
            let (mut y, mut cache) = (Batch::default(), GroupNormCache::default());
            l.forward_train::<U3, _, _>(x, &mut y, &mut cache);
            let (mut dx, mut g) = (Batch::default(), GroupNormGrads::default());
            l.backward::<U3, _, _>(x, &cache, dy, Some(&mut dx), &mut g);
            // Without the input gradient, the same parameter gradients.
            let mut g2 = GroupNormGrads::default();
            l.backward::<U3, _, _>(x, &cache, dy, None, &mut g2);
            assert_eq!(g2, g);
            if AFFINE {
                (dx, [&g.gamma[..], &g.beta[..]].concat())
            } else {
                assert_eq!(g, GroupNormGrads::default());
                (dx, Vec::new())
            }
        },
    );
}

#[test]
fn gradients_match_finite_differences() {
    check::<U1, U3, true>(5);
    check::<U2, U3, true>(6);
    check::<U4, U3, true>(7);
    check::<U1, U3, false>(8);
    check::<U2, U3, false>(9);
    check::<U4, U3, false>(10);
    // A batch of 1.
    check::<U2, U1, true>(11);
    check::<U2, U1, false>(12);
}

#[test]
fn f32_agrees_with_f64_and_a_large_mean_normalizes() {
    let mut rng = Rng::seed(9);
    let mut x64 = images(&mut rng);
    // Sample 2, group 1 (channels 2 and 3): mean 1e4, spread 1e-2 (a naive E[x²] − E[x]² in
    // f32 gives garbage).
    for v in x64[2][6..].iter_mut() {
        *v = 1e4 + 1e-2 * *v;
    }
    let mut x32 = Batch::<U4, U12, f32>::default();
    for (a, &b) in flat_mut(&mut x32).iter_mut().zip(flat(&x64)) {
        *a = b as f32;
    }
    // The reference: f64 on the same (f32-rounded) inputs and parameters, ε = 0 so that the
    // tiny spread is not swamped.
    let mut x_ref = Batch::<U4, U12, f64>::default();
    for (a, &b) in flat_mut(&mut x_ref).iter_mut().zip(flat(&x32)) {
        *a = f64::from(b);
    }
    let l32 = random_layer::<U4, U2, f32, true>(&mut rng).with_eps(0.0);
    let mut l64 = GroupNorm::<U4, U2, f64>::new().with_eps(0.0);
    for c in 0..4 {
        (l64.gamma[c], l64.beta[c]) = (f64::from(l32.gamma[c]), f64::from(l32.beta[c]));
    }
    let mut dy64: Batch<U4, U12, f64> = random_batch(&mut rng);
    let mut dy32 = Batch::<U4, U12, f32>::default();
    for (a, b) in flat_mut(&mut dy32).iter_mut().zip(flat_mut(&mut dy64)) {
        *a = *b as f32;
        *b = f64::from(*a);
    }
    let (mut y32, mut y64) = (Batch::default(), Batch::default());
    let (mut c32, mut c64) = (GroupNormCache::default(), GroupNormCache::default());
    l32.forward_train::<U3, _, _>(&x32, &mut y32, &mut c32);
    l64.forward_train::<U3, _, _>(&x_ref, &mut y64, &mut c64);
    for (b, (r32, r64)) in y32.iter().zip(y64.iter()).enumerate() {
        for (&a, &e) in r32.iter().zip(r64.iter()) {
            assert!((f64::from(a) - e).abs() < 1e-5 * (1.0 + e.abs()), "sample {b}: f32 {a} vs f64 {e}");
        }
    }
    let (mut dx32, mut dx64) = (Batch::default(), Batch::default());
    let (mut g32, mut g64) = (GroupNormGrads::default(), GroupNormGrads::default());
    l32.backward::<U3, _, _>(&x32, &c32, &dy32, Some(&mut dx32), &mut g32);
    l64.backward::<U3, _, _>(&x_ref, &c64, &dy64, Some(&mut dx64), &mut g64);
    for (b, (r32, r64)) in dx32.iter().zip(dx64.iter()).enumerate() {
        for (k, (&a, &e)) in r32.iter().zip(r64.iter()).enumerate() {
            // The input gradient scales with 1/σ (about 100 for the large-mean group).
            let scale = f64::from(c32.inv_std[b][k / 6]);
            assert!((f64::from(a) - e).abs() < 1e-5 * scale, "dx of sample {b}: f32 {a} vs f64 {e}");
        }
    }
    for (&a, &e) in g32.gamma.iter().chain(g32.beta.iter()).zip(g64.gamma.iter().chain(g64.beta.iter())) {
        assert!((f64::from(a) - e).abs() < 1e-5 * (1.0 + e.abs()), "dγ, dβ: f32 {a} vs f64 {e}");
    }
}

#[test]
fn trains_gamma_and_beta_only_when_affine() {
    let g = GroupNormGrads::<U4, f64> { gamma: arr![1.0, 2.0, 3.0, 4.0], beta: arr![-1.0, 0.0, 1.0, 2.0] };
    let sgd = crate::Sgd::new(0.5);
    let mut gn = GroupNorm::<U4, U2, f64>::new();
    gn.step(&g, (&mut crate::OptimizerState::default()).into(), &sgd);
    assert_eq!((gn.gamma, gn.beta), (arr![0.5, 0.0, -0.5, -1.0], arr![0.5, 0.0, -0.5, -1.0]));
    let mut raw = GroupNorm::<U4, U2, f64, false>::new();
    raw.step(&g, (&mut crate::OptimizerState::default()).into(), &sgd);
    assert_eq!(raw, GroupNorm::new());
    gn.reset();
    assert_eq!(gn, GroupNorm::new().with_eps(1e-5));
    assert_eq!(
        alloc::format!("{:?}", GroupNorm::<U2, U1, f32, false>::new()),
        "GroupNorm { gamma: [1.0, 1.0], beta: [0.0, 0.0], eps: 1e-5, groups: 1, affine: false }"
    );
}

/// A folded model may hold a GroupNorm: `#[repr(C)]` scalars, `Copy`, `Zeroable`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Folded<T: crate::Float> {
    d: crate::Dense<U3, U4, T, true>,
    gn: GroupNorm<U4, U2, T>,
    raw: GroupNorm<U3, U3, T, false>,
}
// SAFETY: `#[repr(C)]` of `#[repr(C)]` layers made of `T`s: all-zero is valid.
unsafe impl<T: crate::Float> Zeroable for Folded<T> {}
// SAFETY: `#[repr(C)]` over 12 + 4 + (4 + 4 + 1) + (3 + 3 + 1) scalars without padding
// (asserted by every method).
unsafe impl<T: crate::PlainScalar> PlainData for Folded<T> {
    type Scalar = T;
    const LEN: usize = 32;
}

#[test]
fn is_plain_data_inside_a_folded_model() {
    assert_eq!(core::mem::size_of::<GroupNorm<U4, U2, f32>>(), 9 * 4);
    assert_eq!(core::mem::size_of::<GroupNorm<U3, U3, f64, false>>(), 7 * 8);
    let mut m = Folded::<f32>::zeroed();
    m.gn = GroupNorm::new().with_eps(1e-3);
    m.gn.gamma[2] = -2.0;
    m.raw = GroupNorm::new();
    let bytes = m.to_bytes();
    assert_eq!(bytes.len(), 32 * 4);
    // γ of `gn` starts after the dense layer's 16 scalars; its ε is scalar 24.
    assert_eq!(&bytes[18 * 4..19 * 4], &(-2.0f32).to_le_bytes());
    assert_eq!(&bytes[24 * 4..25 * 4], &1e-3f32.to_le_bytes());
    assert_eq!(Folded::<f32>::from_bytes(&bytes), Ok(m));
}
