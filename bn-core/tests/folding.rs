//! Folded == unfolded eval, in `f32`, for the three folding cases of an inference-mode
//! Batch Normalization, with random parameters and population statistics:
//!
//! - (a) dense → BN: `dense.fold_affine_after(&bn.to_affine())`, with and without a bias;
//! - (b) activation → BN → dense: `dense.fold_affine_before(&bn.to_affine())`;
//! - (c) a BN with no dense neighbour stays an [`Affine`], and BN → BN composes with
//!   [`Affine::then`].
//!
//! Widths 37 → 23 are not multiples of the kernels' 8 lanes, so the remainder paths of the
//! dot products run too.
//!
//! **Error measure.** For one sample, with `got` the folded output and `want` the unfolded
//! one (both `f32`, compared in `f64`), the error is the normwise relative error in the
//! max-norm,
//!
//! ```text
//! err = max_k |got_k − want_k| / max(max_k |want_k|, FLOOR),    FLOOR = 1e-3
//! ```
//!
//! A componentwise relative error would be unsound: a BN output is centred, so single
//! components near 0 are common, and there the rounding of the (much larger) terms that
//! cancel to produce them dominates — e.g. `a·x + (β − a·E[x])` versus `a·(x − E[x]) + β`
//! round differently by ~`u·|a·E[x]|` however small the result is (`u ≈ 6e-8`, the `f32`
//! unit roundoff). Relative to the output vector's magnitude, both orders of evaluation
//! agree to a modest multiple of `u` (dot products of length 37 add up to ~37 roundings,
//! and `|E[x]|` a few times the spread costs a few more): over a sweep of several hundred
//! seeds of these very tests, the worst sample was 3e-6. `FLOOR` only guards against
//! dividing by an output vector that is all ≈ 0, which random data does not produce. The
//! tests assert `err ≤ 1e-5` for every one of 200 random samples.

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U23, U37};
use bn_core::{Activation, Affine, BatchNorm, Dense, Init, Momentum, ReLU, Rng, Sigmoid, Tanh, Vector};

const SAMPLES: usize = 200;
const TOLERANCE: f64 = 1e-5;
const FLOOR: f64 = 1e-3;

/// The normwise relative error defined in the module documentation.
fn relative_error<N: ArrayLength>(got: &Vector<N>, want: &Vector<N>) -> f64 {
    let diff = got.iter().zip(want.iter()).map(|(&g, &w)| (g as f64 - w as f64).abs()).fold(0.0, f64::max);
    let scale = want.iter().map(|&w| (w as f64).abs()).fold(0.0, f64::max);
    diff / scale.max(FLOOR)
}

/// Tracks the worst error over many samples and asserts it at the end.
struct Worst {
    what: String,
    err: f64,
    sample: usize,
    count: usize,
}

impl Worst {
    fn new(what: String) -> Self {
        Worst { what, err: 0.0, sample: 0, count: 0 }
    }

    fn record<N: ArrayLength>(&mut self, got: &Vector<N>, want: &Vector<N>) {
        // (`f64::max` would skip a NaN in the error measure, so non-finite outputs fail here.)
        assert!(want.iter().all(|w| w.is_finite()), "{}: non-finite unfolded output {want:?}", self.what);
        assert!(got.iter().all(|g| g.is_finite()), "{}: non-finite folded output {got:?}", self.what);
        let err = relative_error(got, want);
        if err > self.err {
            self.err = err;
            self.sample = self.count;
        }
        self.count += 1;
    }

    fn check(&self) {
        assert_eq!(self.count, SAMPLES, "{}: number of samples", self.what);
        assert!(
            self.err <= TOLERANCE,
            "{}: folded vs unfolded relative error {:e} at sample {} (tolerance {TOLERANCE:e})",
            self.what,
            self.err,
            self.sample
        );
    }
}

/// `exp(U(ln lo, ln hi))`: spread evenly over orders of magnitude.
fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    libm::exp(libm::log(lo) + rng.uniform() * (libm::log(hi) - libm::log(lo)))
}

fn random_vector<N: ArrayLength>(rng: &mut Rng, mean: f64, std: f64) -> Vector<N> {
    let mut v = Vector::<N>::default();
    v.iter_mut().for_each(|x| *x = (mean + std * rng.normal()) as f32);
    v
}

/// A BN with random parameters and population statistics: γ of both signs with
/// |γ| ∈ 0.1..3, β ~ N(0, 1), E[x] ~ N(mean, 1), Var[x] ∈ 0.01..10 and ε ∈ 1e-6..1e-2
/// (|γ|, Var[x] and ε log-uniform).
fn random_bn<N: ArrayLength>(rng: &mut Rng, mean: f64) -> BatchNorm<N> {
    let mut bn = BatchNorm::<N>::new().with_momentum(Momentum::Cumulative);
    for g in bn.gamma.iter_mut() {
        let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
        *g = (sign * log_uniform(rng, 0.1, 3.0)) as f32;
    }
    bn.beta = random_vector(rng, 0.0, 1.0);
    bn.running_mean = random_vector(rng, mean, 1.0);
    bn.running_var.iter_mut().for_each(|v| *v = log_uniform(rng, 0.01, 10.0) as f32);
    bn.eps = log_uniform(rng, 1e-6, 1e-2) as f32;
    bn.num_batches_tracked = 1 + rng.below(1000) as u64;
    bn
}

/// A dense layer with Xavier weights and, with a bias, a N(0, 1) bias. Without one, the
/// (unused) bias field holds garbage, which neither the forward nor the folding may read.
fn random_dense<I: ArrayLength, O: ArrayLength, const BIAS: bool>(rng: &mut Rng) -> Dense<I, O, f32, BIAS> {
    let mut d = Dense::<I, O, f32, BIAS>::new(Init::XavierNormal, rng);
    d.bias = if BIAS { random_vector(rng, 0.0, 1.0) } else { random_vector(rng, 100.0, 0.0) };
    d
}

/// The BN's affine map in f64, from its f32 parameters: `a = γ/√(Var+ε)`, `c = β − a·E[x]`.
fn affine_f64<N: ArrayLength>(bn: &BatchNorm<N>, k: usize) -> (f64, f64) {
    let a = bn.gamma[k] as f64 / (bn.running_var[k] as f64 + bn.eps as f64).sqrt();
    (a, bn.beta[k] as f64 - a * bn.running_mean[k] as f64)
}

/// Asserts `got` (f32) equals `want` (f64) up to `1e-6·scale`: a few f32 roundings of
/// terms whose magnitudes sum to at most `scale`.
fn assert_formula(what: &str, got: f32, want: f64, scale: f64) {
    assert!((got as f64 - want).abs() <= 1e-6 * scale, "{what}: folded {got:e} vs formula {want:e} (scale {scale:e})");
}

/// Case (a): dense(37 → 23) → BN(23), folded into one dense layer with a bias.
fn dense_then_bn<const BIAS: bool>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let dense = random_dense::<U37, U23, BIAS>(&mut rng);
    let bn = random_bn::<U23>(&mut rng, 0.0);
    let folded: Dense<U37, U23, f32, true> = dense.fold_affine_after(&bn.to_affine());

    // W' = diag(a)·W, b' = a·(b − E[x]) + β (b = 0 without a bias), in f64.
    for o in 0..23 {
        let (a, _) = affine_f64(&bn, o);
        for i in 0..37 {
            let want = a * dense.weight[o][i] as f64;
            assert_formula(&format!("W'[{o}][{i}]"), folded.weight[o][i], want, want.abs());
        }
        let b = if BIAS { dense.bias[o] as f64 } else { 0.0 };
        let (mean, beta) = (bn.running_mean[o] as f64, bn.beta[o] as f64);
        let want = a * (b - mean) + beta;
        assert_formula(&format!("b'[{o}]"), folded.bias[o], want, a.abs() * (b.abs() + mean.abs()) + beta.abs());
    }

    let mut worst = Worst::new(format!("dense (bias: {BIAS}) → BN, seed {seed}"));
    for _ in 0..SAMPLES {
        let x = random_vector::<U37>(&mut rng, 0.0, 1.0);
        let (mut h, mut want, mut got) = (Vector::default(), Vector::default(), Vector::default());
        dense.forward_one(&x, &mut h);
        bn.forward_eval_one(&h, &mut want);
        folded.forward_one(&x, &mut got);
        worst.record(&got, &want);
    }
    worst.check();
}

/// Case (b): activation → BN(37) → dense(37 → 23), the BN folded into the dense after it.
fn activation_bn_dense<A: Activation, const BIAS: bool>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let dense = random_dense::<U37, U23, BIAS>(&mut rng);
    // Statistics around the activation's typical outputs (0.5 for sigmoid, 0 for tanh,
    // 0.4 for a ReLU of N(0, 1)), still off by N(0, 1).
    let center = match A::NAME {
        "sigmoid" => 0.5,
        "relu" => 0.4,
        _ => 0.0,
    };
    let bn = random_bn::<U37>(&mut rng, center);
    let affine = bn.to_affine();
    let folded: Dense<U37, U23, f32, true> = dense.fold_affine_before(&affine);

    // W'' = W·diag(a), b'' = W·c + b, in f64.
    for o in 0..23 {
        let (mut want_b, mut scale_b) = (if BIAS { dense.bias[o] as f64 } else { 0.0 }, 0.0);
        scale_b += want_b.abs();
        for i in 0..37 {
            let (a, c) = affine_f64(&bn, i);
            let w = dense.weight[o][i] as f64;
            assert_formula(&format!("W''[{o}][{i}]"), folded.weight[o][i], w * a, (w * a).abs());
            want_b += w * c;
            let (mean, beta) = (bn.running_mean[i] as f64, bn.beta[i] as f64);
            scale_b += w.abs() * (a.abs() * mean.abs() + beta.abs());
        }
        assert_formula(&format!("b''[{o}]"), folded.bias[o], want_b, scale_b);
    }

    let mut worst = Worst::new(format!("{} → BN → dense (bias: {BIAS}), seed {seed}", A::NAME));
    for _ in 0..SAMPLES {
        let x = random_vector::<U37>(&mut rng, 0.0, 1.0);
        let (mut s, mut n) = (Vector::default(), Vector::default());
        let (mut want, mut got) = (Vector::<U23>::default(), Vector::default());
        A::forward_one(&x, &mut s);
        bn.forward_eval_one(&s, &mut n);
        dense.forward_one(&n, &mut want);
        folded.forward_one(&s, &mut got);
        worst.record(&got, &want);
    }
    worst.check();
}

#[test]
fn dense_then_bn_folds_into_the_dense() {
    for seed in [1, 2, 3] {
        dense_then_bn::<true>(seed);
        dense_then_bn::<false>(seed + 100);
    }
}

#[test]
fn bn_after_an_activation_folds_into_the_next_dense() {
    for seed in [4, 5] {
        activation_bn_dense::<Sigmoid, true>(seed);
        activation_bn_dense::<Sigmoid, false>(seed + 100);
        activation_bn_dense::<ReLU, true>(seed + 200);
        activation_bn_dense::<Tanh, false>(seed + 300);
    }
}

#[test]
fn bn_without_a_dense_neighbour_stays_an_affine() {
    for seed in [6, 7, 8] {
        let mut rng = Rng::seed(seed);
        let bn = random_bn::<U23>(&mut rng, 0.0);
        let affine = bn.to_affine();
        // The map's coefficients: a = γ/√(Var+ε), b = β − a·E[x].
        for k in 0..23 {
            let (a, c) = affine_f64(&bn, k);
            assert_formula(&format!("a[{k}]"), affine.scale[k], a, a.abs());
            let scale = a.abs() * (bn.running_mean[k] as f64).abs() + (bn.beta[k] as f64).abs();
            assert_formula(&format!("b[{k}]"), affine.shift[k], c, scale);
        }
        let mut worst = Worst::new(format!("BN as an Affine, seed {seed}"));
        for _ in 0..SAMPLES {
            // Inputs drawn around the population statistics, as at inference time.
            let mut x = Vector::<U23>::default();
            for (k, v) in x.iter_mut().enumerate() {
                let std = (bn.running_var[k] as f64).sqrt();
                *v = (bn.running_mean[k] as f64 + 1.5 * std * rng.normal()) as f32;
            }
            let (mut want, mut got, mut in_place) = (Vector::default(), Vector::default(), x);
            bn.forward_eval_one(&x, &mut want);
            affine.forward_one(&x, &mut got);
            affine.apply(&mut in_place);
            assert_eq!(got, in_place, "seed {seed}: Affine::apply and Affine::forward_one differ");
            worst.record(&got, &want);
        }
        worst.check();
    }
}

#[test]
fn bn_then_bn_composes_into_one_affine() {
    for seed in [9, 10, 11] {
        let mut rng = Rng::seed(seed);
        let first = random_bn::<U23>(&mut rng, 0.0);
        let second = random_bn::<U23>(&mut rng, 0.0);
        let composed: Affine<U23> = first.to_affine().then(&second.to_affine());
        let mut worst = Worst::new(format!("BN → BN as one Affine, seed {seed}"));
        for _ in 0..SAMPLES {
            let x = random_vector::<U23>(&mut rng, 0.0, 2.0);
            let (mut mid, mut want, mut got) = (Vector::default(), Vector::default(), Vector::default());
            first.forward_eval_one(&x, &mut mid);
            second.forward_eval_one(&mid, &mut want);
            composed.forward_one(&x, &mut got);
            worst.record(&got, &want);
        }
        worst.check();
    }
}

#[test]
fn the_error_measure_rejects_a_wrong_fold() {
    // Folding with ε left out (a plausible bug) is caught at this tolerance.
    let mut rng = Rng::seed(12);
    let dense = random_dense::<U37, U23, true>(&mut rng);
    let mut bn = random_bn::<U23>(&mut rng, 0.0);
    bn.eps = 1e-3;
    let wrong = dense.fold_affine_after(&bn.with_eps(0.0).to_affine());
    let mut worst = Worst::new(String::from("fold without ε"));
    for _ in 0..SAMPLES {
        let x = random_vector::<U37>(&mut rng, 0.0, 1.0);
        let (mut h, mut want, mut got) = (Vector::default(), Vector::default(), Vector::default());
        dense.forward_one(&x, &mut h);
        bn.forward_eval_one(&h, &mut want);
        wrong.forward_one(&x, &mut got);
        worst.record(&got, &want);
    }
    assert!(worst.err > 10.0 * TOLERANCE, "a fold without ε passed: worst error {:e}", worst.err);
    // And the measure itself: identical vectors have error 0, and the floor applies to an
    // all-zero reference.
    let v = random_vector::<U23>(&mut rng, 0.0, 1.0);
    assert_eq!(relative_error(&v, &v), 0.0);
    let (zero, mut tiny) = (Vector::<U23>::default(), Vector::<U23>::default());
    tiny[3] = 1e-6;
    assert!((relative_error(&tiny, &zero) - 1e-3).abs() < 1e-9);
}
