//! End-to-end tests of the normalization family declared with `network!` (issue 13):
//! `layernorm`, `dropout(p)`, `batchnorm(renorm(…))`, `batchnorm(affine = false)` and frozen
//! BN. The generated backward of whole stacks against f64 finite differences, LayerNorm at
//! batch size 1, frozen BN against the eval path, folded == eval for every foldable placement,
//! dropout's masks, Batch Renormalization with r = 1, d = 0 against plain BN and its moving σ,
//! and the weights files.

use std::cell::RefCell;

use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::typenum::{U1, U16, U32, U4, U6, U8};
use bn_core::{
    flat, flat_mut, softmax_cross_entropy, Batch, Freeze, Init, Network, Optimizer, Rng, Sgd, SoftmaxCrossEntropy,
    StateDict, TensorMut, TensorRef, Trainer,
};

/// The dropout seed of every forward of a gradient check: the finite-difference forwards
/// draw the same masks as the analytic one.
const DROPOUT_SEED: u64 = 0x5eed;

// ---- whole-stack gradient checks (f64) ----

bn_core::network! {
    /// Every new flat layer in one stack: LayerNorm, dropout, Batch Renormalization (clipping
    /// active, see `flat_stack_gradients_match_finite_differences`), BN without γ/β.
    pub struct FlatStack {
        input: 6,
        scalar: f64,
        dense(8), layernorm, tanh,
        dropout(0.3),
        dense(7), batchnorm(renorm(rmax = 1.5, dmax = 0.5)), sigmoid,
        dense(5), batchnorm(affine = false), tanh,
        dense(3),
    }
}

bn_core::network! {
    /// FlatStack with limits so wide that nothing is clipped (r, d depend on the batch).
    pub struct FlatUnclipped {
        input: 6,
        scalar: f64,
        dense(8), layernorm, tanh,
        dropout(0.3),
        dense(7), batchnorm(renorm(rmax = 100, dmax = 100)), sigmoid,
        dense(5), batchnorm(affine = false), tanh,
        dense(3),
    }
}

bn_core::network! {
    /// FlatUnclipped with a plain BN in place of the renormalizing one: with γ' = γ·r and
    /// β' = γ·d + β it computes the renormalizing network's training forward with r and d
    /// held fixed (Batch Renormalization's backward).
    pub struct FlatTwin {
        input: 6,
        scalar: f64,
        dense(8), layernorm, tanh,
        dropout(0.3),
        dense(7), batchnorm, sigmoid,
        dense(5), batchnorm(affine = false), tanh,
        dense(3),
    }
}

bn_core::network! {
    /// LayerNorm over an image, then ReLU, max pooling and dropout.
    pub struct ImageStack {
        input: (2, 6, 6),
        scalar: f64,
        conv2d(3, kernel = 3, padding = 1), layernorm, relu, maxpool(2), dropout(0.25), flatten, dense(4),
    }
}

/// An optimizer that changes nothing and records every gradient tensor it is handed, in
/// order: what `train_step` computed, tensor by tensor.
#[derive(Default)]
struct Recorder(RefCell<Vec<Vec<f64>>>);

impl Optimizer<f64> for Recorder {
    fn update(&self, _param: &mut [f64], grad: &[f64], _state: &mut [f64]) {
        self.0.borrow_mut().push(grad.to_vec());
    }
}

/// Whether a state-dict tensor is trainable (not a population statistic or the counter).
fn is_trainable(tensor: &str) -> bool {
    !matches!(tensor, "running_mean" | "running_var" | "num_batches_tracked")
}

/// Whether a visited tensor is one of the trainable ones (an affine-free BN visits no
/// `weight` or `bias`: see `affine_free_batchnorm_files_have_no_weight_or_bias`).
fn is_trained(name: bn_core::TensorName<'_>) -> bool {
    is_trainable(name.tensor)
}

/// The values of a tensor, mutably, whatever its shape.
fn values_mut<'a>(t: TensorMut<'a, f64>) -> Option<&'a mut [f64]> {
    match t {
        TensorMut::Vector(v) | TensorMut::Diagonal(v) => Some(v),
        TensorMut::Matrix { data, .. } | TensorMut::Tensor3 { data, .. } | TensorMut::Tensor4 { data, .. } => {
            Some(data)
        }
        TensorMut::Count(_) => None,
    }
}

/// The names and sizes of the trainable tensors, in the state-dict visitor's order.
fn trainable_tensors<N: StateDict<Scalar = f64>>(net: &mut N) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    net.visit_mut(&mut |name, t| {
        if is_trained(name) {
            let len = values_mut(t).expect("a trainable tensor has values").len();
            out.push((name.to_string(), len));
        }
    });
    out
}

/// Adds `h` to value `k` of trainable tensor `i` (visitor order).
fn perturb<N: StateDict<Scalar = f64>>(net: &mut N, i: usize, k: usize, h: f64) {
    let mut seen = 0;
    net.visit_mut(&mut |name, t| {
        if is_trained(name) {
            if seen == i {
                values_mut(t).unwrap()[k] += h;
            }
            seen += 1;
        }
    });
}

/// The mean cross-entropy of a training forward of a copy of `net` (so every forward starts
/// from the same population statistics, which renorm's r and d read), with the dropout
/// state reset to `DROPOUT_SEED` (so every forward draws the same masks).
fn loss<N, B>(net: &N, x: &Batch<B, N::Input, f64>, labels: &GenericArray<usize, B>) -> f64
where
    N: Network<Scalar = f64> + Clone,
    B: ArrayLength,
{
    let mut net = net.clone();
    let mut trainer = Trainer::<N, B>::new_boxed();
    trainer.seed(DROPOUT_SEED);
    let out = net.forward_train(x, &mut trainer.workspace);
    let mut grad = Batch::default();
    softmax_cross_entropy(out, labels, &mut grad)
}

/// The gradients that the generated `train_step` hands the optimizer (a copy of `net`,
/// dropout state `DROPOUT_SEED`), one per trainable tensor, and the trainer after the step.
#[allow(clippy::type_complexity)]
fn analytic<N, B>(
    net: &N,
    x: &Batch<B, N::Input, f64>,
    labels: &GenericArray<usize, B>,
) -> (Vec<Vec<f64>>, Box<Trainer<N, B>>)
where
    N: Network<Scalar = f64> + StateDict<Scalar = f64> + Clone,
    B: ArrayLength,
{
    let mut net = net.clone();
    let mut trainer = Trainer::<N, B>::new_boxed();
    trainer.seed(DROPOUT_SEED);
    let recorder = Recorder::default();
    net.train_step(x, labels, &SoftmaxCrossEntropy, &recorder, &mut trainer);
    (recorder.0.into_inner(), trainer)
}

/// Central finite differences of the loss for every value of every trainable tensor of
/// `net` (perturbed through the state-dict visitor, so no tensor is forgotten).
fn numeric<N, B>(net: &N, x: &Batch<B, N::Input, f64>, labels: &GenericArray<usize, B>) -> Vec<Vec<f64>>
where
    N: Network<Scalar = f64> + StateDict<Scalar = f64> + Clone,
    B: ArrayLength,
{
    let h = 1e-6;
    let tensors = trainable_tensors(&mut net.clone());
    tensors
        .iter()
        .enumerate()
        .map(|(i, (_, len))| {
            (0..*len)
                .map(|k| {
                    let (mut plus, mut minus) = (net.clone(), net.clone());
                    perturb(&mut plus, i, k, h);
                    perturb(&mut minus, i, k, -h);
                    (loss(&plus, x, labels) - loss(&minus, x, labels)) / (2.0 * h)
                })
                .collect()
        })
        .collect()
}

/// Asserts `analytic` == `numeric` tensor by tensor (names from `net`); returns the number
/// of scalars compared.
fn assert_gradients_match<N: StateDict<Scalar = f64>>(
    net: &mut N,
    analytic: &[Vec<f64>],
    numeric: &[Vec<f64>],
) -> usize {
    let tensors = trainable_tensors(net);
    assert_eq!(analytic.len(), tensors.len(), "one gradient per trainable tensor: {tensors:?}");
    assert_eq!(numeric.len(), tensors.len());
    let mut checked = 0;
    for (((name, len), a), n) in tensors.iter().zip(analytic).zip(numeric) {
        assert_eq!((a.len(), n.len()), (*len, *len), "{name}");
        for (k, (&a, &n)) in a.iter().zip(n).enumerate() {
            let tol = 1e-6 * (1.0 + a.abs().max(n.abs()));
            assert!((a - n).abs() <= tol, "{name}[{k}]: analytic {a:e}, finite difference {n:e}");
            checked += 1;
        }
    }
    checked
}

/// Every trainable value a random non-trivial value: γ around 1, β and biases around 0.
fn randomize_trainable<N: StateDict<Scalar = f64>>(net: &mut N, seed: u64) {
    let mut rng = Rng::seed(seed);
    net.visit_mut(&mut |name, t| {
        if !is_trained(name) {
            return;
        }
        let is_vector = matches!(t, TensorMut::Vector(_) | TensorMut::Tensor3 { .. });
        let v = values_mut(t).unwrap();
        if is_vector {
            Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng);
            if name.tensor == "weight" {
                v.iter_mut().for_each(|g| *g += 1.0);
            }
        } else {
            let std = (1.0 / v.len() as f64).sqrt() * 2.0;
            Init::Gaussian { std }.fill(v, 1, 1, &mut rng);
        }
    });
}

fn random_batch<B: ArrayLength, N: ArrayLength>(seed: u64) -> Batch<B, N, f64> {
    let mut x = Batch::<B, N, f64>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut Rng::seed(seed));
    x
}

/// The generated backward of a flat stack with LayerNorm, dropout, Batch Renormalization and
/// an affine-free BN against central finite differences of the loss, for every trainable
/// scalar.
///
/// Batch Renormalization's backward treats r and d as constants, while finite differences of
/// the full forward also see how r and d move with the batch. Here the moving statistics are
/// set far from the batch's, so that every r and d is clipped (r = 1/r_max, d = −d_max,
/// asserted below): at the limits r and d do not depend on the batch, so the full forward's
/// finite differences are the exact reference. The unclipped case is
/// `renorm_gradients_hold_r_and_d_fixed_when_not_clipped`.
#[test]
fn flat_stack_gradients_match_finite_differences() {
    let mut net = FlatStack::new(3);
    randomize_trainable(&mut net, 4);
    // Moving μ = 5, σ = √(50 + ε) ≈ 7: the batch's σ_B ≈ 1 gives σ_B/σ < 1/1.5 and its μ_B ≈ 0
    // gives (μ_B − μ)/σ < −0.5.
    net.batchnorm5.running_mean.iter_mut().for_each(|m| *m = 5.0);
    net.batchnorm5.running_var.iter_mut().for_each(|v| *v = 50.0);
    let x = random_batch::<U6, _>(5);
    let labels: GenericArray<usize, U6> = GenericArray::from([0, 1, 2, 1, 0, 2]);

    let (grads, trainer) = analytic(&net, &x, &labels);
    let c = &trainer.workspace.c5;
    for k in 0..7 {
        assert_eq!(c.r[k], 1.0 / 1.5, "r[{k}] is clipped at 1/r_max");
        assert_eq!(c.d[k], -0.5, "d[{k}] is clipped at −d_max");
    }
    // The dropout layer dropped some values and kept others.
    let mask = flat(&trainer.workspace.m3);
    assert!(mask.contains(&0.0) && mask.iter().any(|&m| m != 0.0), "{mask:?}");
    let numeric = numeric(&net, &x, &labels);
    let checked = assert_gradients_match(&mut net.clone(), &grads, &numeric);
    assert_eq!(checked, FlatStack::PARAMS);
    assert_eq!(FlatStack::PARAMS, (6 * 8 + 8) + 2 * 8 + 8 * 7 + 2 * 7 + 7 * 5 + (5 * 3 + 3));
}

/// Unclipped Batch Renormalization: r and d depend on the batch, and the backward holds them
/// fixed (Ioffe 2017, Algorithm 1). Reference: finite differences of `FlatTwin`, whose plain
/// BN has γ' = γ·r, β' = γ·d + β with the r and d of the analytic forward, i.e. the same
/// training forward with r and d held fixed. Its gradients are the renormalizing network's,
/// except ∂ℓ/∂γ = r·∂ℓ/∂γ' + d·∂ℓ/∂β' and ∂ℓ/∂β = ∂ℓ/∂β'.
#[test]
fn renorm_gradients_hold_r_and_d_fixed_when_not_clipped() {
    let mut net = FlatUnclipped::new(3);
    randomize_trainable(&mut net, 4);
    net.batchnorm5.running_mean.iter_mut().for_each(|m| *m = 0.3);
    net.batchnorm5.running_var.iter_mut().for_each(|v| *v = 2.0);
    let x = random_batch::<U6, _>(5);
    let labels: GenericArray<usize, U6> = GenericArray::from([0, 1, 2, 1, 0, 2]);
    let (mut grads, trainer) = analytic(&net, &x, &labels);
    let (r, d) = (trainer.workspace.c5.r, trainer.workspace.c5.d);
    for k in 0..7 {
        assert!((r[k] - 1.0).abs() > 1e-3 && r[k] < 100.0 && r[k] > 0.01, "r[{k}] = {} is not clipped", r[k]);
        assert!(d[k].abs() > 1e-3 && d[k].abs() < 100.0, "d[{k}] = {} is not clipped", d[k]);
    }

    // The twin: the same tensors (a renormalizing BN saves as a plain one), then γ', β'.
    let mut twin = FlatTwin::load_safetensors(&net.save_safetensors()).unwrap();
    for k in 0..7 {
        let (g, b) = (net.batchnorm5.gamma[k], net.batchnorm5.beta[k]);
        twin.batchnorm5.gamma[k] = g * r[k];
        twin.batchnorm5.beta[k] = g * d[k] + b;
    }
    let twin_numeric = numeric(&*twin, &x, &labels);
    // The renormalizing layer's γ and β are tensors 5 and 6 (dense0 ×2, layernorm1 ×2,
    // dense4 weight): map the twin's back.
    let names = trainable_tensors(&mut net.clone());
    assert_eq!((names[5].0.as_str(), names[6].0.as_str()), ("5.weight", "5.bias"));
    let mut reference = twin_numeric.clone();
    for k in 0..7 {
        reference[5][k] = r[k] * twin_numeric[5][k] + d[k] * twin_numeric[6][k];
    }
    let checked = assert_gradients_match(&mut net.clone(), &grads, &reference);
    assert_eq!(checked, FlatUnclipped::PARAMS);

    // Finite differences of the full forward (r and d moving with the batch) do not match
    // the backward somewhere upstream of the BN: the reference above is needed.
    let full = numeric(&net, &x, &labels);
    grads.truncate(5);
    let differs =
        grads.iter().flatten().zip(full.iter().flatten()).any(|(a, n)| (a - n).abs() > 1e-4 * (1.0 + a.abs()));
    assert!(differs, "unclipped r, d should make the full-forward finite differences differ");
}

/// The generated backward of `conv2d, layernorm, relu, maxpool, dropout, flatten, dense`
/// against central finite differences, every trainable scalar (LayerNorm's γ, β over
/// [C, H, W] included).
#[test]
fn image_stack_gradients_match_finite_differences() {
    let mut net = ImageStack::new(7);
    randomize_trainable(&mut net, 8);
    let x = random_batch::<U4, _>(9);
    let labels: GenericArray<usize, U4> = GenericArray::from([3, 1, 0, 2]);
    let (grads, trainer) = analytic(&net, &x, &labels);
    let mask = flat(&trainer.workspace.m4);
    assert!(mask.contains(&0.0) && mask.iter().any(|&m| m != 0.0), "{mask:?}");
    let numeric = numeric(&net, &x, &labels);
    let checked = assert_gradients_match(&mut net.clone(), &grads, &numeric);
    assert_eq!(checked, ImageStack::PARAMS);
    assert_eq!(ImageStack::PARAMS, (3 * 2 * 9 + 3) + 2 * 3 * 6 * 6 + (27 * 4 + 4));
}

// ---- LayerNorm at batch size 1 ----

bn_core::network! {
    /// No BN: trains one sample at a time.
    pub struct LnOnly {
        input: 4,
        dense(16), layernorm, tanh, dense(16), layernorm(affine = false), relu, dense(3),
    }
}

/// A network without BN trains at batch size 1 (`Trainer::<_, U1>`): the loss of a tiny
/// problem falls.
#[test]
fn layernorm_network_trains_at_batch_size_one() {
    let mut net = LnOnly::new(1);
    let mut trainer = Trainer::<LnOnly, U1>::new_boxed();
    let samples: [([f32; 4], usize); 3] =
        [([1.0, 0.5, -0.3, 0.2], 0), ([-0.7, 0.1, 0.9, -0.4], 1), ([0.2, -1.0, 0.3, 0.8], 2)];
    let opt = Sgd::new(0.05f32).with_momentum(0.9);
    let epoch = |net: &mut LnOnly, trainer: &mut Trainer<LnOnly, U1>| -> f32 {
        let mut total = 0.0;
        for (x, label) in &samples {
            let batch = Batch::<U1, U4>::from_array([(*x).into()]);
            let labels = GenericArray::from([*label]);
            total += net.train_step(&batch, &labels, &SoftmaxCrossEntropy, &opt, trainer);
        }
        total / 3.0
    };
    let first = epoch(&mut net, &mut trainer);
    let mut last = first;
    for _ in 0..60 {
        last = epoch(&mut net, &mut trainer);
    }
    assert!(last < 0.1 * first, "loss {first} -> {last}");
    for (x, label) in &samples {
        assert_eq!(net.classify(x), *label);
    }
}

// ---- frozen BN ----

bn_core::network! {
    /// Two BNs over features (fields `batchnorm1`, `batchnorm3`).
    pub struct FrozenFlat {
        input: 6,
        dense(5), batchnorm, tanh, batchnorm, dense(3),
    }
}

bn_core::network! {
    /// A `conv2d, batchnorm, relu, maxpool` block (trained through bn-core's ConvBlock), then
    /// a BN over features.
    pub struct FrozenConv {
        input: (1, 6, 6),
        conv2d(3, kernel = 3), batchnorm, relu, maxpool(2), flatten, dense(4), batchnorm, dense(3),
    }
}

/// Population statistics, γ and β away from their initial values, as after training.
fn set_population_statistics<N: StateDict<Scalar = f32>>(net: &mut N, seed: u64) {
    let mut rng = Rng::seed(seed);
    net.visit_mut(&mut |name, t| match (name.tensor, t) {
        // Every BN's γ and β, and the biases (vectors).
        ("weight", TensorMut::Vector(v)) => v.iter_mut().for_each(|x| *x = (0.5 + rng.uniform()) as f32),
        ("bias", TensorMut::Vector(v)) => Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng),
        ("running_mean", TensorMut::Vector(v)) => Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng),
        ("running_var", TensorMut::Vector(v)) => v.iter_mut().for_each(|x| *x = (0.2 + 2.0 * rng.uniform()) as f32),
        ("num_batches_tracked", TensorMut::Count(c)) => *c = 17,
        _ => {}
    });
}

/// Every population statistic and counter of `net`, as bits.
fn statistics<N: StateDict<Scalar = f32>>(net: &N) -> Vec<u64> {
    let mut out = Vec::new();
    net.visit(&mut |name, t| match (name.tensor, t) {
        ("running_mean" | "running_var", TensorRef::Vector(v)) => out.extend(v.iter().map(|x| u64::from(x.to_bits()))),
        (_, TensorRef::Count(c)) => out.push(c),
        _ => {}
    });
    out
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn random_batch_f32<B: ArrayLength, N: ArrayLength>(seed: u64) -> Batch<B, N, f32> {
    let mut x = Batch::<B, N, f32>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut Rng::seed(seed));
    x
}

/// The outputs of a training forward and of the eval forward of a frozen `net`; asserts that
/// the training forward left the statistics and counters alone.
fn frozen_forward_and_eval<N, B>(net: &mut N, x: &Batch<B, N::Input, f32>) -> (Vec<f32>, Vec<f32>)
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32>,
    B: ArrayLength,
{
    let before = statistics(net);
    let mut eval_ws = Trainer::<N, B>::new_boxed();
    let eval = flat(net.forward_eval(x, &mut eval_ws.workspace)).to_vec();
    let mut trainer = Trainer::<N, B>::new_boxed();
    let train = flat(net.forward_train(x, &mut trainer.workspace)).to_vec();
    assert_eq!(statistics(net), before, "frozen: the statistics and counters are unchanged");
    (train, eval)
}

/// Frozen to its statistics, a training forward is the eval forward bit for bit and leaves
/// the statistics and counters alone.
fn assert_frozen_forward_is_eval<N, B>(net: &mut N, x: &Batch<B, N::Input, f32>)
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32>,
    B: ArrayLength,
{
    let (train, eval) = frozen_forward_and_eval(net, x);
    assert_eq!(bits(&train), bits(&eval), "a frozen training forward is the eval forward");
}

#[test]
fn frozen_statistics_train_like_eval_and_track_nothing() {
    let x = random_batch_f32::<U8, _>(1);
    let labels: GenericArray<usize, U8> = GenericArray::from_iter((0..8).map(|i| i % 3));
    let opt = Sgd::new(0.1f32);

    let mut net = FrozenFlat::new(2);
    set_population_statistics(&mut net, 3);
    net.freeze_batchnorm(Freeze::Statistics);
    assert_frozen_forward_is_eval(&mut net, &x);
    // A whole step: statistics unchanged; γ, β and the dense weights learn.
    let (stats, before) = (statistics(&net), net.clone());
    let mut trainer = Trainer::<FrozenFlat, U8>::new_boxed();
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    assert_eq!(statistics(&net), stats);
    assert_ne!(net.batchnorm1.gamma, before.batchnorm1.gamma, "Statistics: γ learns");
    assert_ne!(net.batchnorm3.beta, before.batchnorm3.beta, "Statistics: β learns");
    assert_ne!(net.dense0.weight, before.dense0.weight);

    // Freeze::All: γ and β are fixed too, the dense layers still learn.
    let mut net = FrozenFlat::new(2);
    set_population_statistics(&mut net, 3);
    net.freeze_batchnorm(Freeze::All);
    assert_frozen_forward_is_eval(&mut net, &x);
    let before = net.clone();
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    assert_eq!(statistics(&net), statistics(&before));
    for (got, want) in [(&net.batchnorm1, &before.batchnorm1), (&net.batchnorm3, &before.batchnorm3)] {
        assert_eq!((got.gamma, got.beta), (want.gamma, want.beta), "All: γ and β are fixed");
    }
    assert_ne!(net.dense0.weight, before.dense0.weight);
    assert_ne!(net.dense4.weight, before.dense4.weight);

    // Unfrozen again: a training step tracks statistics.
    net.freeze_batchnorm(Freeze::No);
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    assert_eq!(net.batchnorm1.num_batches_tracked, 18);
}

/// The per-layer field freezes one layer alone.
#[test]
fn one_layer_frozen_through_its_field() {
    let x = random_batch_f32::<U8, _>(1);
    let labels: GenericArray<usize, U8> = GenericArray::from_iter((0..8).map(|i| i % 3));
    let mut net = FrozenFlat::new(2);
    set_population_statistics(&mut net, 3);
    net.batchnorm3.freeze = Freeze::All;
    let before = net.clone();
    let mut trainer = Trainer::<FrozenFlat, U8>::new_boxed();
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1f32), &mut trainer);
    // batchnorm3: frozen (statistics, γ, β unchanged).
    let (b3, was) = (&net.batchnorm3, &before.batchnorm3);
    assert_eq!((b3.running_mean, b3.running_var, b3.num_batches_tracked), (was.running_mean, was.running_var, 17));
    assert_eq!((b3.gamma, b3.beta), (was.gamma, was.beta));
    // batchnorm1: trains as usual.
    let (b1, was) = (&net.batchnorm1, &before.batchnorm1);
    assert_eq!(b1.num_batches_tracked, 18);
    assert_ne!(b1.running_mean, was.running_mean);
    assert_ne!(b1.gamma, was.gamma);
    // The frozen layer normalized with its population statistics: its output in the
    // workspace is the eval map of its input.
    let (ws, was) = (&trainer.workspace, &before.batchnorm3);
    for b in 0..8 {
        for k in 0..5 {
            let (input, output) = (ws.a2[b][k], ws.a3[b][k]);
            let want =
                was.gamma[k] * (input - was.running_mean[k]) / (was.running_var[k] + was.eps).sqrt() + was.beta[k];
            assert!((output - want).abs() <= 1e-5 * (1.0 + want.abs()), "[{b}][{k}]: {output} vs {want}");
        }
    }
}

bn_core::network! {
    /// BNs over images outside a ConvBlock: fused with the ReLU after it, and alone.
    pub struct FrozenImage {
        input: (1, 6, 6),
        conv2d(3, kernel = 3), batchnorm, relu, avgpool(2), batchnorm, tanh, flatten, dense(3),
    }
}

/// Frozen BNs over images (the fused BN-ReLU path and the plain one) train like eval, bit for
/// bit.
#[test]
fn frozen_image_batchnorm_trains_like_eval() {
    let x = random_batch_f32::<U4, _>(5);
    let mut net = FrozenImage::new(6);
    set_population_statistics(&mut net, 7);
    net.freeze_batchnorm(Freeze::Statistics);
    assert_frozen_forward_is_eval(&mut net, &x);
}

/// A frozen `conv2d, batchnorm, relu, maxpool` block (bn-core's ConvBlock) trains like eval
/// (to rounding: see `frozen_conv_block_forward_is_eval_bit_for_bit`), tracks nothing, and
/// learns γ, β unless `Freeze::All`.
#[test]
fn frozen_conv_block_trains_like_eval() {
    let x = random_batch_f32::<U4, _>(5);
    let labels: GenericArray<usize, U4> = GenericArray::from([0, 1, 2, 1]);
    for freeze in [Freeze::Statistics, Freeze::All] {
        let mut net = FrozenConv::new(6);
        set_population_statistics(&mut net, 7);
        net.freeze_batchnorm(freeze);
        let (train, eval) = frozen_forward_and_eval(&mut net, &x);
        assert!(relative_error(&train, &eval) < 1e-6, "{freeze:?}: {train:?} vs {eval:?}");
        let before = net.clone();
        let mut trainer = Trainer::<FrozenConv, U4>::new_boxed();
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1f32), &mut trainer);
        assert_eq!(statistics(&net), statistics(&before), "{freeze:?}");
        assert_ne!(net.conv2d0.weight, before.conv2d0.weight, "{freeze:?}: the conv learns");
        let fixed = net.batchnorm1.gamma == before.batchnorm1.gamma && net.batchnorm1.beta == before.batchnorm1.beta;
        assert_eq!(fixed, freeze == Freeze::All, "{freeze:?}");
        let fixed = net.batchnorm6.gamma == before.batchnorm6.gamma && net.batchnorm6.beta == before.batchnorm6.beta;
        assert_eq!(fixed, freeze == Freeze::All, "{freeze:?}");
    }
}

/// Bit for bit, as every other frozen BN (`frozen_image_batchnorm_trains_like_eval`) and as
/// the ConvBlock promises ("the same bits as the four layers").
#[test]
fn frozen_conv_block_forward_is_eval_bit_for_bit() {
    let x = random_batch_f32::<U4, _>(5);
    for seed in 0..4 {
        let mut net = FrozenConv::new(seed);
        set_population_statistics(&mut net, seed + 10);
        net.freeze_batchnorm(Freeze::Statistics);
        assert_frozen_forward_is_eval(&mut net, &x);
    }
}

// ---- folded == eval ----

bn_core::network! {
    /// BNs across dropout layers: after a dense layer with a dropout between (folds into it),
    /// before a dense layer with a dropout between (folds into it).
    pub struct FoldDropout {
        input: 8,
        dense(6), dropout(0.5), batchnorm, tanh,
        batchnorm, dropout(0.2), dense(4), dropout(0.1),
    }
}

bn_core::network! {
    /// Renormalizing and affine-free BNs in every placement: after a dense layer, before one,
    /// kept as an affine layer (between activations).
    pub struct FoldModes {
        input: 5,
        dense(6), batchnorm(renorm(rmax = 2, dmax = 1)), sigmoid,
        batchnorm(affine = false), dense(6), relu,
        batchnorm(renorm), tanh,
        dense(4), batchnorm(affine = false),
    }
}

bn_core::network! {
    /// LayerNorm kept in the folded type, with BNs next to it: before (folds into the dense
    /// layer before), after (kept as an affine layer: it does not cross the LayerNorm).
    pub struct FoldLnFlat {
        input: 6,
        dense(7), batchnorm, layernorm, batchnorm, relu, dense(3), layernorm(eps = 1e-3, affine = false),
    }
}

bn_core::network! {
    /// LayerNorm over an image kept, a BN before it folds into the conv, one after the pool
    /// folds across `flatten` into the dense layer.
    pub struct FoldLnImage {
        input: (2, 6, 6),
        conv2d(3, kernel = 3, padding = 1), batchnorm, layernorm, relu, maxpool(2), dropout(0.3),
        batchnorm, flatten, dense(4),
    }
}

/// Random weights, γ (either sign), β, and population statistics, as after training.
fn randomize_f32<N: StateDict<Scalar = f32>>(net: &mut N, seed: u64) {
    let mut rng = Rng::seed(seed);
    net.visit_mut(&mut |name, t| match t {
        TensorMut::Vector(v) if name.tensor == "running_var" => {
            v.iter_mut().for_each(|x| *x = (0.05 + 3.0 * rng.uniform()) as f32)
        }
        TensorMut::Vector(v) if name.tensor == "running_mean" => Init::Gaussian { std: 2.0 }.fill(v, 1, 1, &mut rng),
        TensorMut::Vector(v) | TensorMut::Tensor3 { data: v, .. } if name.tensor == "weight" => v
            .iter_mut()
            .for_each(|x| *x = ((0.3 + rng.uniform()) * if rng.uniform() < 0.3 { -1.0 } else { 1.0 }) as f32),
        TensorMut::Vector(v) | TensorMut::Tensor3 { data: v, .. } => {
            Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng)
        }
        TensorMut::Matrix { data, cols, .. } => {
            Init::Gaussian { std: (1.0 / cols as f64).sqrt() }.fill(data, 1, 1, &mut rng)
        }
        TensorMut::Tensor4 { data, dims } => {
            Init::Gaussian { std: (1.0 / (dims[1] * dims[2] * dims[3]) as f64).sqrt() }.fill(data, 1, 1, &mut rng)
        }
        _ => {}
    });
}

/// The normwise relative error of `got` against `want` (max-norm, floor 1e-3).
fn relative_error(got: &[f32], want: &[f32]) -> f64 {
    let scale = want.iter().fold(0f64, |m, &w| m.max(f64::from(w).abs())).max(1e-3);
    got.iter().zip(want).fold(0f64, |m, (&g, &w)| m.max((f64::from(g) - f64::from(w)).abs())) / scale
}

/// Folded == eval (population statistics) within 1e-5 on random inputs, f32.
fn folded_equals_eval<N>(seed: u64) -> f64
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32> + Clone,
{
    let mut net = N::zeroed();
    net.init_with(None, &mut Rng::seed(seed));
    randomize_f32(&mut net, seed);
    let folded = net.fold_boxed();
    let mut rng = Rng::seed(seed + 100);
    let mut worst = 0f64;
    for _ in 0..200 {
        let mut x = bn_core::Vector::<N::Input, f32>::default();
        Init::Gaussian { std: 1.5 }.fill(&mut x, 1, 1, &mut rng);
        let (mut want, mut got) =
            (bn_core::Vector::<N::Output, f32>::default(), bn_core::Vector::<N::Output, f32>::default());
        net.forward_one(&x, &mut want);
        bn_core::Inference::forward_one(&*folded, &x, &mut got);
        worst = worst.max(relative_error(&got, &want));
    }
    assert!(worst <= 1e-5, "{}: folded vs eval: {worst:e}", std::any::type_name::<N>());
    worst
}

/// A folded type's one-line summary (its `Display`): the layers of its plan, without the
/// parameter count at the end.
fn plan_of<F: bn_core::Zeroable + std::fmt::Display>() -> String {
    let line = F::zeroed().to_string();
    line.rsplit_once(" (").expect("ends with the parameter count").0.to_string()
}

#[test]
fn folded_equals_eval_for_every_foldable_placement() {
    let mut worst = 0f64;
    for seed in 0..5 {
        worst = worst.max(folded_equals_eval::<FoldDropout>(seed));
        worst = worst.max(folded_equals_eval::<FoldModes>(seed));
        worst = worst.max(folded_equals_eval::<FoldLnFlat>(seed));
        worst = worst.max(folded_equals_eval::<FoldLnImage>(seed));
    }
    println!("folded vs eval, worst normwise relative error: {worst:.2e}");
    assert_eq!(
        plan_of::<FoldDropoutFolded>(),
        "FoldDropoutFolded: dense(8 => 6) with `batchnorm2` folded in -> tanh -> dense(6 => 4) with `batchnorm4` folded in"
    );
    assert_eq!(
        plan_of::<FoldModesFolded>(),
        "FoldModesFolded: dense(5 => 6) with `batchnorm1` folded in -> sigmoid -> dense(6 => 6) with `batchnorm3` \
         folded in -> relu -> affine(6) from `batchnorm6` -> tanh -> dense(6 => 4) with `batchnorm9` folded in"
    );
    assert_eq!(
        plan_of::<FoldLnFlatFolded>(),
        "FoldLnFlatFolded: dense(6 => 7) with `batchnorm1` folded in -> layernorm(7) -> affine(7) from `batchnorm3` \
         -> relu -> dense(7 => 3) -> layernorm(3)"
    );
    assert_eq!(
        plan_of::<FoldLnImageFolded>(),
        "FoldLnImageFolded: conv2d(2×6×6 => 3×6×6) with `batchnorm1` folded in -> layernorm(3×6×6) -> relu -> \
         maxpool -> flatten -> dense(27 => 4) with `batchnorm6` folded in"
    );
}

// ---- dropout ----

bn_core::network! {
    /// Dropout alone: the output is the dropout's.
    pub struct DropoutOnly {
        input: 64,
        dropout(p = 0.4),
    }
}

#[test]
fn dropout_is_the_identity_in_eval_and_seeded_in_training() {
    let mut x = Batch::<U32, bn_core::typenum::U64, f32>::default();
    let mut rng = Rng::seed(1);
    flat_mut(&mut x).iter_mut().for_each(|v| *v = (1.0 + rng.uniform()) as f32);
    let mut net = DropoutOnly::new(0);
    assert_eq!(DropoutOnly::PARAMS, 0);

    // Eval: the identity, bit for bit, batched and one sample at a time.
    let mut trainer = Trainer::<DropoutOnly, U32>::new_boxed();
    assert_eq!(bits(flat(net.forward_eval(&x, &mut trainer.workspace))), bits(flat(&x)));
    assert_eq!(net.eval(&x[3]), x[3]);
    assert_eq!(net.fold().forward(&x[5]), x[5]);

    // Training: the same seed gives the same output, another seed another one, and the
    // state moves on between forwards.
    let mut forward = |seed: Option<u64>| {
        if let Some(s) = seed {
            trainer.seed(s);
        }
        *net.forward_train(&x, &mut trainer.workspace)
    };
    let a = forward(Some(11));
    let b = forward(Some(11));
    let c = forward(Some(12));
    let next = forward(None);
    assert_eq!(bits(flat(&a)), bits(flat(&b)), "the same seed, the same masks");
    assert_ne!(a, c, "another seed, other masks");
    assert_ne!(c, next, "the state advances after a forward");
    // Inverted dropout: zeros near p = 0.4, every kept value x/(1 − p).
    let mut zeros = 0;
    for (&y, &x) in flat(&a).iter().zip(flat(&x)) {
        if y == 0.0 {
            zeros += 1;
        } else {
            assert_eq!(y, x * (1.0 / (1.0 - 0.4f32)));
        }
    }
    let n = 32.0 * 64.0;
    let sd = (n * 0.4 * 0.6f64).sqrt();
    assert!((f64::from(zeros) - 0.4 * n).abs() < 5.0 * sd, "{zeros} zeros of {n}");

    // Trainers start from state 0: two fresh trainers draw the same masks.
    let (mut t1, mut t2) = (Trainer::<DropoutOnly, U32>::new_boxed(), Trainer::<DropoutOnly, U32>::new_boxed());
    let y1 = *net.forward_train(&x, &mut t1.workspace);
    let y2 = *net.forward_train(&x, &mut t2.workspace);
    assert_eq!(y1, y2);
}

// ---- Batch Renormalization ----

bn_core::network! {
    pub struct Renorm {
        input: 5,
        dense(6), batchnorm(renorm(rmax = 2, dmax = 1)), relu, dense(6), batchnorm(renorm), tanh, dense(3),
    }
}

bn_core::network! {
    /// `Renorm` without renormalization.
    pub struct Plain {
        input: 5,
        dense(6), batchnorm, relu, dense(6), batchnorm, tanh, dense(3),
    }
}

/// With `set_renorm_limits(1, 0)` (r = 1, d = 0), Batch Renormalization is BN: the same
/// outputs, gradients and parameters after each step, bit for bit, although the moving
/// statistics are far from the batch's (so that r and d would not be 1 and 0 otherwise).
/// The moving statistics differ by design (BN tracks the unbiased variance, renorm σ).
#[test]
fn renorm_with_limits_one_and_zero_is_batchnorm() {
    let mut renorm = Renorm::new(4);
    renorm.set_renorm_limits(1.0, 0.0);
    for bn in [&mut renorm.batchnorm1, &mut renorm.batchnorm4] {
        bn.running_mean.iter_mut().for_each(|m| *m = 3.0);
        bn.running_var.iter_mut().for_each(|v| *v = 9.0);
    }
    let mut plain = Plain::load_safetensors(&renorm.save_safetensors()).unwrap();
    assert!(renorm.batchnorm1.renorm && !plain.batchnorm1.renorm);
    assert_eq!((renorm.batchnorm4.rmax, renorm.batchnorm4.dmax), (1.0, 0.0));
    let (mut tr, mut tp) = (Trainer::<Renorm, U16>::new_boxed(), Trainer::<Plain, U16>::new_boxed());
    let opt = Sgd::new(0.1f32).with_momentum(0.9);
    let labels: GenericArray<usize, U16> = GenericArray::from_iter((0..16).map(|i| i % 3));
    for step in 0..3 {
        let x = random_batch_f32::<U16, _>(step);
        let lr = renorm.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut tr);
        let lp = plain.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut tp);
        assert_eq!(lr.to_bits(), lp.to_bits(), "step {step}: loss");
        let (out_r, out_p) =
            (*Renorm::output_and_grad(&mut tr.workspace).0, *Plain::output_and_grad(&mut tp.workspace).0);
        assert_eq!(bits(flat(&out_r)), bits(flat(&out_p)), "step {step}: outputs");
        let (gr, gp) = (&tr.grads, &tp.grads);
        assert_eq!(bits(flat(&gr.dense0.weight)), bits(flat(&gp.dense0.weight)), "step {step}");
        assert_eq!(bits(flat(&gr.dense3.weight)), bits(flat(&gp.dense3.weight)), "step {step}");
        assert_eq!(bits(flat(&gr.dense6.weight)), bits(flat(&gp.dense6.weight)), "step {step}");
        for (a, b) in [(&gr.batchnorm1, &gp.batchnorm1), (&gr.batchnorm4, &gp.batchnorm4)] {
            assert_eq!((bits(&a.gamma), bits(&a.beta)), (bits(&b.gamma), bits(&b.beta)), "step {step}");
        }
        let (mut wr, mut wp) = (Vec::new(), Vec::new());
        renorm.visit(&mut |n, t| {
            if is_trainable(n.tensor) {
                wr.push(format!("{n} {t:?}"))
            }
        });
        plain.visit(&mut |n, t| {
            if is_trainable(n.tensor) {
                wp.push(format!("{n} {t:?}"))
            }
        });
        assert_eq!(wr, wp, "step {step}: parameters");
    }
    assert_ne!(
        renorm.batchnorm1.running_var, plain.batchnorm1.running_var,
        "renorm tracks σ, BN the unbiased variance"
    );
}

bn_core::network! {
    pub struct Renorm64 {
        input: 3,
        scalar: f64,
        dense(4), batchnorm(eps = 1e-3, momentum = 0.2, renorm(rmax = 2, dmax = 1)), dense(2),
    }
}

/// The moving statistics follow Algorithm 1 of Ioffe 2017: `μ ← μ + α(μ_B − μ)`,
/// `σ ← σ + α(σ_B − σ)` with σ_B = √(σ²_B + ε) (σ²_B biased), and the file's `running_var`
/// is σ² − ε (so that PyTorch's `√(running_var + ε)` is σ).
#[test]
fn renorm_tracks_the_moving_sigma_as_running_var() {
    let mut net = Renorm64::new(2);
    net.batchnorm1.running_mean = GenericArray::from([0.5, -0.2, 1.0, 0.0]);
    net.batchnorm1.running_var = GenericArray::from([0.7, 1.5, 3.0, 0.2]);
    let (eps, alpha) = (1e-3, 0.2);
    let (mu0, var0) = (net.batchnorm1.running_mean, net.batchnorm1.running_var);
    let x = random_batch::<U8, _>(3);
    let labels: GenericArray<usize, U8> = GenericArray::from_iter((0..8).map(|i| i % 2));
    let mut trainer = Trainer::<Renorm64, U8>::new_boxed();
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.0), &mut trainer);
    // The BN's input: dense0's output (no bias before a BN), recomputed here.
    let file = Renorm64::load_safetensors(&net.save_safetensors()).unwrap();
    let mut seen = Vec::new();
    file.visit(&mut |name, t| {
        if let ("1", "running_var", TensorRef::Vector(v)) = (name.layer, name.tensor, t) {
            seen = v.to_vec();
        }
    });
    assert_eq!(seen.len(), 4);
    for k in 0..4 {
        let h: Vec<f64> = x.iter().map(|xb| (0..3).map(|j| net.dense0.weight[k][j] * xb[j]).sum()).collect();
        let mean = h.iter().sum::<f64>() / 8.0;
        let var = h.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 8.0;
        let (sigma, sigma_b) = ((var0[k] + eps).sqrt(), (var + eps).sqrt());
        let sigma = sigma + alpha * (sigma_b - sigma);
        let want_mu = mu0[k] + alpha * (mean - mu0[k]);
        let want_var = sigma * sigma - eps;
        assert!((seen[k] - want_var).abs() < 1e-12, "running_var[{k}]: {} vs {want_var}", seen[k]);
        assert!((file.batchnorm1.running_mean[k] - want_mu).abs() < 1e-12, "running_mean[{k}]");
        // Not BN's update with the unbiased variance.
        let bn = (1.0 - alpha) * var0[k] + alpha * var * 8.0 / 7.0;
        assert!((seen[k] - bn).abs() > 1e-6, "running_var[{k}] is σ² − ε, not BN's");
    }
    assert_eq!(file.batchnorm1.num_batches_tracked, 1);
}

// ---- weights files ----

bn_core::network! {
    /// LayerNorm over an image (first: no input gradient), over features, and without γ/β.
    pub struct Files {
        input: (2, 3, 3),
        layernorm, conv2d(2, kernel = 2), batchnorm, relu,
        flatten, dense(4), layernorm, dropout(0.5), dense(2), layernorm(affine = false),
    }
}

bn_core::network! {
    /// An affine-free BN.
    pub struct NoAffine { input: 3, dense(2), batchnorm(affine = false) }
}

bn_core::network! {
    pub struct WithAffine { input: 3, dense(2), batchnorm }
}

/// A safetensors file of `tensors` (name, dtype, shape, little-endian bytes).
fn safetensors_file(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let (mut header, mut data) = (Vec::new(), Vec::new());
    for (name, dtype, shape, bytes) in tensors {
        let (start, end) = (data.len(), data.len() + bytes.len());
        header
            .push(format!("\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{start},{end}]}}"));
        data.extend_from_slice(bytes);
    }
    let mut header = format!("{{{}}}", header.join(","));
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// LayerNorm's tensors are `nn.LayerNorm`'s: `weight`/`bias` of shape [C, H, W] over an
/// image, [N] over features, none without `affine`; dropout has none. The training type
/// round-trips exactly, and the folded type keeps the LayerNorm tensors.
#[test]
fn layernorm_weights_files() {
    let mut net = Files::new(1);
    randomize_f32(&mut net, 2);
    let mut names = Vec::new();
    net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        [
            "0.weight [2, 3, 3]",
            "0.bias [2, 3, 3]",
            "1.weight [2, 2, 2, 2]",
            "2.weight [2]",
            "2.bias [2]",
            "2.running_mean [2]",
            "2.running_var [2]",
            "2.num_batches_tracked []",
            "5.weight [4, 8]",
            "5.bias [4]",
            "6.weight [4]",
            "6.bias [4]",
            "8.weight [2, 4]",
            "8.bias [2]",
        ]
    );
    let back = Files::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);
    // A LayerNorm over [C, H, W] does not load a file of [C·H·W] (or another shape).
    let good = net.save_safetensors();
    let flat_shape = {
        let (n, rest) = good.split_at(8);
        let len = u64::from_le_bytes(n.try_into().unwrap()) as usize;
        let header = String::from_utf8(rest[..len].to_vec()).unwrap();
        let at = header.find("\"0.weight\":").unwrap();
        let (head, tail) = header.split_at(at);
        let changed = format!("{head}{}", tail.replacen("\"shape\":[2,3,3]", "\"shape\":[18]   ", 1));
        assert_ne!(changed, header);
        let mut out = good[..8].to_vec();
        out.extend_from_slice(changed.as_bytes());
        out.extend_from_slice(&rest[len..]);
        out
    };
    let err = Files::load_safetensors(&flat_shape).unwrap_err().to_string();
    assert_eq!(err, "tensor `0.weight` has shape [18], but the model expects [2, 3, 3]");

    let folded = net.fold_boxed();
    let mut names = Vec::new();
    folded.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        // The folded Sequential: LayerNorm, conv (BN folded in), ReLU, Flatten, Linear,
        // LayerNorm, Linear, LayerNorm (no tensors); no Dropout.
        [
            "0.weight [2, 3, 3]",
            "0.bias [2, 3, 3]",
            "1.weight [2, 2, 2, 2]",
            "1.bias [2]",
            "4.weight [4, 8]",
            "4.bias [4]",
            "5.weight [4]",
            "5.bias [4]",
            "6.weight [2, 4]",
            "6.bias [2]",
        ]
    );
}

/// A folded model with LayerNorm layers loaded from its own file is the same model.
#[test]
fn folded_layernorm_round_trips_through_safetensors() {
    let mut net = Files::new(1);
    randomize_f32(&mut net, 2);
    let folded = net.fold_boxed();
    let back = FilesFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    // A constant sample: LayerNorm's variance is 0, ε alone keeps it finite.
    let x = [0.5f32; 18];
    assert_eq!(folded.forward(&x), net.eval(&x));
    assert_eq!(back.forward(&x), folded.forward(&x), "the loaded model computes what the saved one did");
    assert_eq!(*back, *folded);
}

/// A BN file without `num_batches_tracked` (an older checkpoint; PyTorch loads it) loads
/// with the counter 0.
#[test]
fn a_file_without_num_batches_tracked_loads_with_counter_zero() {
    let file = safetensors_file(&[
        ("0.weight", "F32", vec![2, 3], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("1.weight", "F32", vec![2], f32_bytes(&[1.5, -1.0])),
        ("1.bias", "F32", vec![2], f32_bytes(&[0.25, 0.0])),
        ("1.running_mean", "F32", vec![2], f32_bytes(&[0.5, -0.5])),
        ("1.running_var", "F32", vec![2], f32_bytes(&[2.0, 3.0])),
    ]);
    let mut loaded = WithAffine::new(0);
    loaded.batchnorm1.num_batches_tracked = 5;
    loaded.load_safetensors_into(&file).unwrap();
    assert_eq!(loaded.batchnorm1.num_batches_tracked, 0);
    assert_eq!(loaded.batchnorm1.running_var, GenericArray::from([2.0, 3.0]));
    assert_eq!(loaded.batchnorm1.gamma, GenericArray::from([1.5, -1.0]));
    assert_eq!(loaded.dense0.weight[1], GenericArray::from([4.0, 5.0, 6.0]));
    let back = WithAffine::load_safetensors(&loaded.save_safetensors()).unwrap();
    assert_eq!(*back, loaded);
}

/// `batchnorm(affine = false)` is PyTorch's `affine=False`: no `weight` or `bias` in the
/// `state_dict` (a file with them is refused, as PyTorch's strict load does), and a file
/// without `num_batches_tracked` loads with the counter 0.
#[test]
fn affine_free_batchnorm_files_have_no_weight_or_bias() {
    let mut net = NoAffine::new(1);
    net.batchnorm1.running_mean = GenericArray::from([0.5, -0.5]);
    let mut names = Vec::new();
    net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(names, ["0.weight [2, 3]", "1.running_mean [2]", "1.running_var [2]", "1.num_batches_tracked []"]);
    let back = NoAffine::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);

    let file = safetensors_file(&[
        ("0.weight", "F32", vec![2, 3], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("1.running_mean", "F32", vec![2], f32_bytes(&[0.5, -0.5])),
        ("1.running_var", "F32", vec![2], f32_bytes(&[2.0, 3.0])),
    ]);
    let mut loaded = NoAffine::new(0);
    loaded.batchnorm1.num_batches_tracked = 5;
    loaded.load_safetensors_into(&file).unwrap();
    assert_eq!(loaded.batchnorm1.num_batches_tracked, 0);
    assert_eq!(loaded.batchnorm1.running_var, GenericArray::from([2.0, 3.0]));
    // γ and β stay 1 and 0 whatever a file says: a file with them is refused.
    let with_affine = safetensors_file(&[
        ("0.weight", "F32", vec![2, 3], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("1.weight", "F32", vec![2], f32_bytes(&[3.0, 3.0])),
        ("1.bias", "F32", vec![2], f32_bytes(&[1.0, 1.0])),
        ("1.running_mean", "F32", vec![2], f32_bytes(&[0.5, -0.5])),
        ("1.running_var", "F32", vec![2], f32_bytes(&[2.0, 3.0])),
    ]);
    let err = NoAffine::load_safetensors(&with_affine).unwrap_err().to_string();
    assert_eq!(err, "unexpected tensor `1.weight`: the model has no such tensor");
}
