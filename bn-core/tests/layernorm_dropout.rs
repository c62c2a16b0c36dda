//! Finite-difference gradient check of a stack with Layer Normalization and dropout (f64):
//!
//! ```text
//! dense(5 => 6, bias) → LayerNorm(6) → relu → dropout(p = 0.25) → dense(6 => 3, bias) → softmax cross-entropy
//! ```
//!
//! with respect to the input and every parameter, at batch sizes 4 and 1 (Layer
//! Normalization needs no second sample). The dropout mask is drawn once from a seed and
//! held fixed, so the loss is a deterministic function of the point; the mask is a
//! constant of the backward, as in training.

use bn_core::generic_array::sequence::GenericSequence;
use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::typenum::{U1, U3, U4, U5, U6};
use bn_core::{
    flat, flat_mut, softmax_cross_entropy, Activation, Batch, Dense, Dropout, Init, LayerNorm, LayerNormCache,
    LayerNormGrads, ReLU, Rng,
};

mod common;
use common::random::random_batch;

const P: f64 = 0.25;

/// Where the loss is evaluated: the input batch, every parameter, and the fixed mask.
#[derive(Clone)]
struct Point<B: ArrayLength> {
    x: Batch<B, U5, f64>,
    d1: Dense<U5, U6, f64, true>,
    ln: LayerNorm<U6, f64>,
    mask: Batch<B, U6, f64>,
    d2: Dense<U6, U3, f64, true>,
}

/// The analytic gradients.
struct Grads<B: ArrayLength> {
    x: Batch<B, U5, f64>,
    d1: Dense<U5, U6, f64, true>,
    ln: LayerNormGrads<U6, f64>,
    d2: Dense<U6, U3, f64, true>,
}

#[derive(Clone, Copy, Debug)]
enum Tensor {
    X,
    W1,
    B1,
    Gamma,
    Beta,
    W2,
    B2,
}

const TENSORS: [Tensor; 7] = [Tensor::X, Tensor::W1, Tensor::B1, Tensor::Gamma, Tensor::Beta, Tensor::W2, Tensor::B2];

fn slot<B: ArrayLength>(p: &mut Point<B>, t: Tensor) -> &mut [f64] {
    match t {
        Tensor::X => flat_mut(&mut p.x),
        Tensor::W1 => flat_mut(&mut p.d1.weight),
        Tensor::B1 => &mut p.d1.bias,
        Tensor::Gamma => &mut p.ln.gamma,
        Tensor::Beta => &mut p.ln.beta,
        Tensor::W2 => flat_mut(&mut p.d2.weight),
        Tensor::B2 => &mut p.d2.bias,
    }
}

fn grad<B: ArrayLength>(g: &Grads<B>, t: Tensor) -> &[f64] {
    match t {
        Tensor::X => flat(&g.x),
        Tensor::W1 => flat(&g.d1.weight),
        Tensor::B1 => &g.d1.bias,
        Tensor::Gamma => &g.ln.gamma,
        Tensor::Beta => &g.ln.beta,
        Tensor::W2 => flat(&g.d2.weight),
        Tensor::B2 => &g.d2.bias,
    }
}

/// Everything the forward computes, for the backward.
struct Forward<B: ArrayLength> {
    h: Batch<B, U6, f64>,
    z: Batch<B, U6, f64>,
    a: Batch<B, U6, f64>,
    r: Batch<B, U6, f64>,
    cache: LayerNormCache<B, f64>,
    dlogits: Batch<B, U3, f64>,
    loss: f64,
}

fn forward<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>) -> Forward<B> {
    let mut f = Forward {
        h: Batch::default(),
        z: Batch::default(),
        a: Batch::default(),
        r: Batch::default(),
        cache: LayerNormCache::default(),
        dlogits: Batch::default(),
        loss: 0.0,
    };
    let mut logits = Batch::<B, U3, f64>::default();
    p.d1.forward(&p.x, &mut f.h);
    p.ln.forward_train(&f.h, &mut f.z, &mut f.cache);
    ReLU::forward(&f.z, &mut f.a);
    // The fixed mask: y = a ⊙ mask.
    for ((r, a), m) in flat_mut(&mut f.r).iter_mut().zip(flat(&f.a)).zip(flat(&p.mask)) {
        *r = a * m;
    }
    p.d2.forward(&f.r, &mut logits);
    f.loss = softmax_cross_entropy(&logits, labels, &mut f.dlogits);
    f
}

fn gradients<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>) -> Grads<B> {
    let f = forward(p, labels);
    let mut g =
        Grads { x: Batch::default(), d1: Dense::default(), ln: LayerNormGrads::default(), d2: Dense::default() };
    let (mut dr, mut da, mut dz, mut dh) = (Batch::default(), Batch::default(), Batch::default(), Batch::default());
    p.d2.backward(&f.r, &f.dlogits, Some(&mut dr), &mut g.d2);
    Dropout::backward(&p.mask, &dr, &mut da);
    ReLU::backward(&f.a, &da, &mut dz);
    p.ln.backward(&f.h, &f.cache, &dz, Some(&mut dh), &mut g.ln);
    p.d1.backward(&p.x, &dh, Some(&mut g.x), &mut g.d1);
    g
}

/// The wrong input gradient of a LayerNorm backward that treats μ and σ as constants:
/// `∂ℓ/∂h = ∂ℓ/∂z ⊙ γ/σ`. Used to show that the check tells it apart.
fn frozen_statistics_gradient<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>) -> Batch<B, U6, f64> {
    let f = forward(p, labels);
    let mut scratch = Dense::default();
    let (mut dr, mut da, mut dz) = (Batch::default(), Batch::default(), Batch::<B, U6, f64>::default());
    p.d2.backward(&f.r, &f.dlogits, Some(&mut dr), &mut scratch);
    Dropout::backward(&p.mask, &dr, &mut da);
    ReLU::backward(&f.a, &da, &mut dz);
    for (b, row) in dz.iter_mut().enumerate() {
        for (k, d) in row.iter_mut().enumerate() {
            *d *= p.ln.gamma[k] * f.cache.inv_std[b];
        }
    }
    dz
}

const H: f64 = 1e-6;

fn numeric<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>, t: Tensor) -> Vec<f64> {
    let n = slot(&mut p.clone(), t).len();
    (0..n)
        .map(|k| {
            let (mut plus, mut minus) = (p.clone(), p.clone());
            slot(&mut plus, t)[k] += H;
            slot(&mut minus, t)[k] -= H;
            (forward(&plus, labels).loss - forward(&minus, labels).loss) / (2.0 * H)
        })
        .collect()
}

fn mismatches(t: Tensor, analytic: &[f64], numeric: &[f64]) -> Vec<String> {
    assert_eq!(analytic.len(), numeric.len(), "{t:?}: lengths");
    analytic
        .iter()
        .zip(numeric)
        .enumerate()
        .filter(|(_, (g, n))| (*g - *n).abs() > 1e-6 * (1.0 + g.abs()))
        .map(|(k, (g, n))| format!("{t:?}[{k}]: analytic {g:e} vs finite difference {n:e}"))
        .collect()
}

fn random_point<B: ArrayLength>(rng: &mut Rng) -> Point<B> {
    let mut d1 = Dense::<U5, U6, f64, true>::new(Init::XavierNormal, rng);
    Init::Gaussian { std: 0.5 }.fill(&mut d1.bias, 1, 1, rng);
    let mut d2 = Dense::<U6, U3, f64, true>::new(Init::XavierNormal, rng);
    Init::Gaussian { std: 0.5 }.fill(&mut d2.bias, 1, 1, rng);
    let mut ln = LayerNorm::<U6, f64>::new();
    for g in ln.gamma.iter_mut() {
        *g = (0.5 + rng.uniform()) * if rng.uniform() < 0.3 { -1.0 } else { 1.0 };
    }
    Init::Gaussian { std: 0.5 }.fill(&mut ln.beta, 1, 1, rng);
    let x: Batch<B, U5, f64> = random_batch(rng);
    // The mask, drawn as in training (its values are 0 or 1/(1 − p)).
    let (mut ones, mut scratch, mut mask) = (Batch::<B, U6, f64>::default(), Batch::default(), Batch::default());
    flat_mut(&mut ones).fill(1.0);
    Dropout::forward_train(P, &ones, &mut scratch, &mut mask, rng);
    Point { x, d1, ln, mask, d2 }
}

fn check<B: ArrayLength>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let p = random_point::<B>(&mut rng);
    let labels: GenericArray<usize, B> = GenericArray::generate(|_| rng.below(3));
    let f = forward(&p, &labels);
    assert!(f.loss.is_finite() && f.loss > 0.0, "seed {seed}: loss {}", f.loss);
    // No ReLU kink within reach of the perturbations.
    let closest = f.z.iter().flatten().fold(f64::INFINITY, |m, z| m.min(z.abs()));
    assert!(closest > 1e-3, "seed {seed}: a pre-activation is {closest:e} from 0; pick another seed");
    let dropped = flat(&p.mask).iter().filter(|&&m| m == 0.0).count();
    assert!(flat(&p.mask).iter().all(|&m| m == 0.0 || m == 1.0 / (1.0 - P)));

    let g = gradients(&p, &labels);
    let mut failures = Vec::new();
    for t in TENSORS {
        let analytic = grad(&g, t);
        let largest = analytic.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(largest > 1e-4, "seed {seed}: ∂ℓ/∂{t:?} is ~0 (max {largest:e})");
        failures.extend(mismatches(t, analytic, &numeric(&p, &labels, t)));
    }
    assert!(failures.is_empty(), "seed {seed} ({dropped} dropped):\n{}", failures.join("\n"));

    // LayerNorm makes the loss invariant to adding a constant to a sample's LN input, so
    // each sample's gradient at the LN input sums to zero; a backward that ignores the
    // dependence of μ and σ on the input breaks that and is rejected.
    let wrong = frozen_statistics_gradient(&p, &labels);
    let mut right = Batch::<B, U6, f64>::default();
    {
        let (mut dr, mut da, mut dz) = (Batch::default(), Batch::default(), Batch::default());
        p.d2.backward(&f.r, &f.dlogits, Some(&mut dr), &mut Dense::default());
        Dropout::backward(&p.mask, &dr, &mut da);
        ReLU::backward(&f.a, &da, &mut dz);
        p.ln.backward(&f.h, &f.cache, &dz, Some(&mut right), &mut LayerNormGrads::default());
    }
    for (b, row) in right.iter().enumerate() {
        let s: f64 = row.iter().sum();
        assert!(s.abs() < 1e-12, "seed {seed}: Σ_k ∂ℓ/∂h[{b}][k] = {s:e}");
    }
    let worst = flat(&wrong).iter().zip(flat(&right)).fold(0.0f64, |m, (w, r)| m.max((w - r).abs()));
    assert!(worst > 1e-3, "seed {seed}: the frozen-statistics gradient is indistinguishable ({worst:e})");
}

#[test]
fn stack_gradients_match_finite_differences_at_batch_four() {
    for seed in [1, 2, 3] {
        check::<U4>(seed);
    }
}

#[test]
fn stack_gradients_match_finite_differences_at_batch_one() {
    for seed in [4, 5, 6] {
        check::<U1>(seed);
    }
}

#[test]
fn the_masks_drop_some_units_and_keep_others() {
    // The check covers dropped and kept units alike.
    let dropped: usize = [1u64, 2, 3]
        .iter()
        .map(|&s| flat(&random_point::<U4>(&mut Rng::seed(s)).mask).iter().filter(|&&m| m == 0.0).count())
        .sum();
    assert!(dropped > 0 && dropped < 3 * 24, "{dropped} of 72 dropped");
}
