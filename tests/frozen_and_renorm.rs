//! Batch Normalization in fine-tuning modes: frozen to its population statistics (a training
//! forward is the eval forward bit for bit and tracks nothing; `Freeze::All` also fixes γ and
//! β; per layer through its field; over features, over images, fused with ReLU and in the
//! `conv2d, batchnorm, relu, maxpool` block), and Batch Renormalization (with r = 1, d = 0 it
//! is BN exactly, and its moving σ follows Ioffe 2017, saved as PyTorch's `running_var`). Its
//! gradients are checked in `tests/gradients.rs`.

mod common;

use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::typenum::{U16, U4, U8};
use bn_core::{
    flat, Batch, Freeze, Init, Network, Rng, Sgd, SoftmaxCrossEntropy, StateDict, TensorMut, TensorRef, Trainer,
};

use common::fold::relative_error;
use common::random::{bits, random_batch};

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
    let x = random_batch::<U8, _, f32>(1);
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
    let x = random_batch::<U8, _, f32>(1);
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
    let x = random_batch::<U4, _, f32>(5);
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
    let x = random_batch::<U4, _, f32>(5);
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
    let x = random_batch::<U4, _, f32>(5);
    for seed in 0..4 {
        let mut net = FrozenConv::new(seed);
        set_population_statistics(&mut net, seed + 10);
        net.freeze_batchnorm(Freeze::Statistics);
        assert_frozen_forward_is_eval(&mut net, &x);
    }
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

/// Every trainable tensor (not the population statistics), as `name [values]`.
fn parameters<N: StateDict<Scalar = f32>>(net: &N) -> Vec<String> {
    let mut out = Vec::new();
    net.visit(&mut |n, t| {
        if !matches!(n.tensor, "running_mean" | "running_var" | "num_batches_tracked") {
            out.push(format!("{n} {t:?}"))
        }
    });
    out
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
        let x = random_batch::<U16, _, f32>(step);
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
        assert_eq!(parameters(&renorm), parameters(&*plain), "step {step}: parameters");
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
    let x = random_batch::<U8, _, f64>(3);
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

bn_core::network! {
    /// Renormalizing BNs inside both branches of a block, beside plain ones.
    pub struct RenormBlock {
        input: 6,
        dense(6), batchnorm, relu,
        residual { dense(6), batchnorm(renorm), tanh, dense(6), batchnorm } shortcut { dense(6), batchnorm(renorm(rmax = 2, dmax = 1)) },
        dense(3),
    }
}

/// `freeze_batchnorm` reaches the BNs inside residual blocks (the fused BN-ReLU path, the
/// last BN of a body, the shortcut's BN): frozen, a training forward of the small ResNet is
/// its eval forward bit for bit and tracks nothing; `Freeze::All` fixes every γ and β; one BN
/// inside a block freezes through its field alone. `set_renorm_limits` reaches the
/// renormalizing BNs of both branches.
#[test]
fn frozen_and_renorm_batchnorms_inside_blocks() {
    use bn_paper::networks::ResNetTiny;
    let x = random_batch::<U4, _, f32>(5);
    let labels: GenericArray<usize, U4> = GenericArray::from([0, 1, 2, 1]);
    let opt = Sgd::new(0.1f32);

    let mut net = ResNetTiny::new_boxed(2);
    set_population_statistics(&mut *net, 3);
    net.freeze_batchnorm(Freeze::Statistics);
    assert_frozen_forward_is_eval(&mut *net, &x);
    net.freeze_batchnorm(Freeze::All);
    let before = net.clone();
    let mut trainer = Trainer::<ResNetTiny, U4>::new_boxed();
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    assert_eq!(statistics(&*net), statistics(&*before));
    let (got, was) = (&net.residual5, &before.residual5);
    assert_eq!(
        (got.shortcut.batchnorm1.gamma, got.body.batchnorm4.beta),
        (was.shortcut.batchnorm1.gamma, was.body.batchnorm4.beta)
    );
    assert_ne!(got.shortcut.conv2d0, was.shortcut.conv2d0, "the convolutions still learn");

    // One BN inside a block, frozen through its field.
    let mut net = ResNetTiny::new_boxed(2);
    set_population_statistics(&mut *net, 3);
    net.residual3.body.batchnorm4.freeze = Freeze::All;
    let before = net.clone();
    net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    let (got, was) = (&net.residual3.body, &before.residual3.body);
    assert_eq!(
        (got.batchnorm4.running_mean, got.batchnorm4.gamma),
        (was.batchnorm4.running_mean, was.batchnorm4.gamma)
    );
    assert_eq!(got.batchnorm4.num_batches_tracked, 17);
    assert_eq!(got.batchnorm1.num_batches_tracked, 18);
    assert_ne!(got.batchnorm1.gamma, was.batchnorm1.gamma);

    let mut net = RenormBlock::new(4);
    assert_eq!((net.residual3.body.batchnorm1.rmax, net.residual3.shortcut.batchnorm1.dmax), (3.0, 1.0));
    net.set_renorm_limits(1.5, 0.25);
    let (body, shortcut) = (&net.residual3.body, &net.residual3.shortcut);
    assert_eq!((body.batchnorm1.rmax, body.batchnorm1.dmax), (1.5, 0.25));
    assert_eq!((shortcut.batchnorm1.rmax, shortcut.batchnorm1.dmax), (1.5, 0.25));
    assert!(body.batchnorm1.renorm && !body.batchnorm4.renorm);
}
