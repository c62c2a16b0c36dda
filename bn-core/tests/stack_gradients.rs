//! Finite-difference gradient check of a whole stack (f64):
//!
//! ```text
//! dense(5 => 4, no bias) → BatchNorm(4) → activation → dense(4 => 3, bias) → softmax cross-entropy
//! ```
//!
//! at batch size 6, with respect to the input, the first dense's weight, γ, β, and the
//! second dense's weight and bias. The loss is the mean cross-entropy of the batch, so every
//! sample's input gradient also flows through the batch statistics μ_B and σ²_B.

use bn_core::generic_array::sequence::GenericSequence;
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U3, U4, U5, U6};
use bn_core::{
    flat, flat_mut, softmax_cross_entropy, Activation, Batch, BatchNorm, BatchNormCache, BatchNormGrads, Dense, Init,
    ReLU, Rng, Sigmoid, Tanh,
};

mod common;
use common::random::random_batch;

/// The batch size.
type B = U6;
type Input = Batch<B, U5, f64>;
type Labels = GenericArray<usize, B>;

/// Where the loss is evaluated: the input batch and every parameter.
#[derive(Clone)]
struct Point {
    x: Input,
    d1: Dense<U5, U4, f64, false>,
    bn: BatchNorm<U4, f64>,
    d2: Dense<U4, U3, f64, true>,
}

/// The analytic gradients, shaped like [`Point`].
struct Grads {
    x: Input,
    d1: Dense<U5, U4, f64, false>,
    bn: BatchNormGrads<U4, f64>,
    d2: Dense<U4, U3, f64, true>,
}

/// The tensors whose gradients are checked.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tensor {
    X,
    W1,
    Gamma,
    Beta,
    W2,
    B2,
}

const TENSORS: [Tensor; 6] = [Tensor::X, Tensor::W1, Tensor::Gamma, Tensor::Beta, Tensor::W2, Tensor::B2];

fn slot(p: &mut Point, t: Tensor) -> &mut [f64] {
    match t {
        Tensor::X => flat_mut(&mut p.x),
        Tensor::W1 => flat_mut(&mut p.d1.weight),
        Tensor::Gamma => &mut p.bn.gamma,
        Tensor::Beta => &mut p.bn.beta,
        Tensor::W2 => flat_mut(&mut p.d2.weight),
        Tensor::B2 => &mut p.d2.bias,
    }
}

fn grad(g: &Grads, t: Tensor) -> &[f64] {
    match t {
        Tensor::X => flat(&g.x),
        Tensor::W1 => flat(&g.d1.weight),
        Tensor::Gamma => &g.bn.gamma,
        Tensor::Beta => &g.bn.beta,
        Tensor::W2 => flat(&g.d2.weight),
        Tensor::B2 => &g.d2.bias,
    }
}

/// Everything the forward computes, for the backward.
struct Forward {
    h: Batch<B, U4, f64>,
    z: Batch<B, U4, f64>,
    a: Batch<B, U4, f64>,
    cache: BatchNormCache<U4, f64>,
    dlogits: Batch<B, U3, f64>,
    loss: f64,
}

fn forward<A: Activation>(p: &Point, labels: &Labels) -> Forward {
    // `forward_train` updates the population statistics, which the loss does not depend
    // on: run it on a copy so `p` stays the point of evaluation.
    let mut bn = p.bn;
    let mut f = Forward {
        h: Batch::default(),
        z: Batch::default(),
        a: Batch::default(),
        cache: BatchNormCache::default(),
        dlogits: Batch::default(),
        loss: 0.0,
    };
    let mut logits = Batch::<B, U3, f64>::default();
    p.d1.forward(&p.x, &mut f.h);
    bn.forward_train(&f.h, &mut f.z, &mut f.cache);
    A::forward(&f.z, &mut f.a);
    p.d2.forward(&f.a, &mut logits);
    f.loss = softmax_cross_entropy(&logits, labels, &mut f.dlogits);
    f
}

fn loss<A: Activation>(p: &Point, labels: &Labels) -> f64 {
    forward::<A>(p, labels).loss
}

/// Backward through the whole stack. Also returns `∂ℓ/∂h`, the gradient at the BN input.
fn gradients<A: Activation>(p: &Point, labels: &Labels) -> (Grads, Batch<B, U4, f64>) {
    let f = forward::<A>(p, labels);
    let mut g =
        Grads { x: Batch::default(), d1: Dense::default(), bn: BatchNormGrads::default(), d2: Dense::default() };
    let (mut da, mut dz, mut dh) = (Batch::default(), Batch::default(), Batch::default());
    p.d2.backward(&f.a, &f.dlogits, Some(&mut da), &mut g.d2);
    A::backward(&f.a, &da, &mut dz);
    p.bn.backward(&f.h, &f.cache, &dz, &mut dh, &mut g.bn);
    p.d1.backward(&p.x, &dh, Some(&mut g.x), &mut g.d1);
    (g, dh)
}

/// The wrong gradient a backward gets by treating μ_B and σ²_B as constants:
/// `∂ℓ/∂x = (∂ℓ/∂z · γ/√(σ²_B + ε))·W₁`. Used to show the check tells it apart.
fn frozen_statistics_input_gradient<A: Activation>(p: &Point, labels: &Labels) -> Input {
    let f = forward::<A>(p, labels);
    let mut scratch = Dense::default();
    let (mut da, mut dz, mut dx) = (Batch::default(), Batch::<B, U4, f64>::default(), Batch::default());
    p.d2.backward(&f.a, &f.dlogits, Some(&mut da), &mut scratch);
    A::backward(&f.a, &da, &mut dz);
    for row in dz.iter_mut() {
        for (k, d) in row.iter_mut().enumerate() {
            *d *= p.bn.gamma[k] * f.cache.inv_std[k];
        }
    }
    let mut scratch = Dense::default();
    p.d1.backward(&p.x, &dz, Some(&mut dx), &mut scratch);
    dx
}

const H: f64 = 1e-6;

/// Central differences `(ℓ(p + h·e_k) − ℓ(p − h·e_k)) / 2h` for every scalar of `t`.
fn numeric_gradient<A: Activation>(p: &Point, labels: &Labels, t: Tensor) -> Vec<f64> {
    let n = slot(&mut p.clone(), t).len();
    (0..n)
        .map(|k| {
            let (mut plus, mut minus) = (p.clone(), p.clone());
            slot(&mut plus, t)[k] += H;
            slot(&mut minus, t)[k] -= H;
            (loss::<A>(&plus, labels) - loss::<A>(&minus, labels)) / (2.0 * H)
        })
        .collect()
}

/// The mismatches of `analytic` against `numeric`, with tolerance `1e-6·(1 + |g|)`.
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

/// A random point: Xavier weights, a random second bias, γ of both signs and magnitudes
/// 0.5..2, random β, and inputs with a different scale and offset per feature.
fn random_point(rng: &mut Rng) -> Point {
    let d1 = Dense::<U5, U4, f64, false>::new(Init::XavierNormal, rng);
    let mut d2 = Dense::<U4, U3, f64, true>::new(Init::XavierNormal, rng);
    Init::Gaussian { std: 0.5 }.fill(&mut d2.bias, 1, 1, rng);
    let mut bn = BatchNorm::<U4, f64>::new();
    for g in bn.gamma.iter_mut() {
        let sign = if rng.uniform() < 0.3 { -1.0 } else { 1.0 };
        *g = sign * (0.5 + 1.5 * rng.uniform());
    }
    Init::Gaussian { std: 1.0 }.fill(&mut bn.beta, 1, 1, rng);
    let mut x: Input = random_batch(rng);
    for row in x.iter_mut() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = *v * (0.5 + 0.4 * k as f64) + (k as f64 - 2.0);
        }
    }
    Point { x, d1, bn, d2 }
}

/// Checks every gradient of the stack with activation `A` at a random point.
fn check_stack<A: Activation>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let p = random_point(&mut rng);
    let labels: Labels = GenericArray::generate(|_| rng.below(3));
    let f = forward::<A>(&p, &labels);
    assert!(f.loss.is_finite() && f.loss > 0.0, "{}: loss {}", A::NAME, f.loss);
    // A kink of ReLU within reach of the ±h perturbations would make the central
    // difference meaningless; random data keeps every pre-activation far from 0.
    let closest = f.z.iter().flatten().fold(f64::INFINITY, |m, z| m.min(z.abs()));
    assert!(closest > 1e-3, "{}: a pre-activation is {closest:e} from 0; pick another seed", A::NAME);

    let (g, dh) = gradients::<A>(&p, &labels);
    let mut failures = Vec::new();
    for t in TENSORS {
        let analytic = grad(&g, t);
        // Every gradient is really exercised (none is identically zero).
        let largest = analytic.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(largest > 1e-4, "{} seed {seed}: ∂ℓ/∂{t:?} is ~0 (max {largest:e})", A::NAME);
        failures.extend(mismatches(t, analytic, &numeric_gradient::<A>(&p, &labels, t)));
    }
    assert!(failures.is_empty(), "{} seed {seed}:\n{}", A::NAME, failures.join("\n"));

    // BN makes the loss invariant to a per-feature shift of its input, so the gradient at
    // the BN input sums to zero over the batch, and (the first dense being linear without a
    // bias) so does the gradient at the stack's input.
    for k in 0..4 {
        let s: f64 = dh.iter().map(|r| r[k]).sum();
        assert!(s.abs() < 1e-12, "{} seed {seed}: Σ_b ∂ℓ/∂h[b][{k}] = {s:e}", A::NAME);
    }
    for i in 0..5 {
        let s: f64 = g.x.iter().map(|r| r[i]).sum();
        assert!(s.abs() < 1e-12, "{} seed {seed}: Σ_b ∂ℓ/∂x[b][{i}] = {s:e}", A::NAME);
    }

    // The check has teeth: a backward that ignores the dependence of μ_B and σ²_B on the
    // input is rejected.
    let wrong = frozen_statistics_input_gradient::<A>(&p, &labels);
    let numeric = numeric_gradient::<A>(&p, &labels, Tensor::X);
    assert!(
        !mismatches(Tensor::X, flat(&wrong), &numeric).is_empty(),
        "{} seed {seed}: the frozen-statistics gradient passed the check",
        A::NAME
    );
}

#[test]
fn sigmoid_stack_gradients_match_finite_differences() {
    for seed in [1, 2, 3] {
        check_stack::<Sigmoid>(seed);
    }
}

#[test]
fn relu_and_tanh_stack_gradients_match_finite_differences() {
    for seed in [4, 5, 6] {
        check_stack::<ReLU>(seed);
        check_stack::<Tanh>(seed);
    }
}

#[test]
fn relu_stack_check_masks_some_units() {
    // The ReLU check is only meaningful if some units are cut off and some pass.
    for seed in [4, 5, 6] {
        let mut rng = Rng::seed(seed);
        let p = random_point(&mut rng);
        let labels: Labels = GenericArray::generate(|_| rng.below(3));
        let f = forward::<ReLU>(&p, &labels);
        let negative = f.z.iter().flatten().filter(|&&z| z < 0.0).count();
        assert!(negative > 0 && negative < 24, "seed {seed}: {negative} of 24 pre-activations are negative");
    }
}
