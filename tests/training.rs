//! Networks declared with `network!` learn, and their population statistics are the
//! paper's: a two-moons classifier with BN reaches 95% test accuracy (and folds exactly), the
//! LeNet with BN over channels fits a batch (and folds, one sample or a batch at a time), a
//! LayerNorm network trains at batch size 1 (and a residual GroupNorm network), a small
//! ResNet fits a batch (and folds), and `recompute_population_statistics` gives the cumulative
//! averages of Algorithm 2, for BNs inside residual blocks too. The MNIST experiments are tested in `tests/paper.rs`,
//! `tests/cnn_experiment.rs` and `tests/claims.rs`.

mod common;

use approx::assert_relative_eq;
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U1, U16, U2, U32, U4};
use bn_core::{flat_mut, Batch, Init, Rng, Sgd, SoftmaxCrossEntropy, Trainer, Vector};
use bn_paper::networks::{LeNetBn, Moons, ResNetTiny};

use common::fold::relative_error;

/// Two interleaving half circles with Gaussian noise; label = which moon.
fn two_moons(n: usize, rng: &mut Rng) -> (Vec<Vector<U2>>, Vec<usize>) {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..n {
        let t = std::f64::consts::PI * rng.uniform();
        let label = i % 2;
        let (x, y) = if label == 0 { (t.cos(), t.sin()) } else { (1.0 - t.cos(), 0.5 - t.sin()) };
        let noise = 0.1;
        xs.push(GenericArray::from([(x + noise * rng.normal()) as f32, (y + noise * rng.normal()) as f32]));
        ys.push(label);
    }
    (xs, ys)
}

#[test]
fn learns_two_moons_and_folds_exactly() {
    let mut rng = Rng::seed(42);
    let (train_x, train_y) = two_moons(2000, &mut rng);
    let (test_x, test_y) = two_moons(1000, &mut rng);
    let mut net = Moons::new(7);
    let mut trainer = Trainer::<Moons, U32>::new_boxed();
    let opt = Sgd::new(0.1).with_momentum(0.9);
    let mut order: Vec<usize> = (0..train_x.len()).collect();
    let (mut x, mut labels) = (Batch::<U32, U2>::default(), GenericArray::<usize, U32>::default());
    let mut first_loss = None;
    let mut last_loss = 0.0;
    for step in 0..600 {
        if step % (train_x.len() / 32) == 0 {
            rng.shuffle(&mut order);
        }
        let start = (step * 32) % (train_x.len() - 32);
        for b in 0..32 {
            x[b] = train_x[order[start + b]];
            labels[b] = train_y[order[start + b]];
        }
        last_loss = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
        first_loss.get_or_insert(last_loss);
    }
    assert!(last_loss < 0.2 * first_loss.unwrap(), "loss {first_loss:?} -> {last_loss}");
    let acc = bn_core::accuracy(&net, &test_x, &test_y);
    assert!(acc >= 0.95, "test accuracy {acc}");

    // The folded model computes what the eval path computes.
    let folded = net.fold();
    assert_eq!(bn_core::accuracy(&folded, &test_x, &test_y), acc);
    for x in &test_x[..200] {
        let (e, f) = (net.eval(x), folded.forward(x));
        for k in 0..2 {
            assert_relative_eq!(e[k], f[k], max_relative = 1e-5, epsilon = 1e-5);
        }
        assert_eq!(net.classify(x), folded.classify(x));
    }
}

#[test]
fn recompute_gives_the_cumulative_population_statistics() {
    let mut rng = Rng::seed(8);
    let batches: Vec<Batch<U32, U2>> = (0..5)
        .map(|_| {
            let mut b = Batch::<U32, U2>::default();
            b.iter_mut().flatten().for_each(|v| *v = (rng.normal() * 2.0 + 0.5) as f32);
            b
        })
        .collect();
    let net = Moons::new(1);
    let mut trainer = Trainer::<Moons, U32>::new_boxed();
    // Reference: cumulative averaging by hand, from the layer inputs of each batch.
    let mut reference = net.clone();
    reference.batchnorm1.momentum = bn_core::Momentum::Cumulative;
    reference.batchnorm4.momentum = bn_core::Momentum::Cumulative;
    for b in &batches {
        reference.forward_train(b, &mut trainer.workspace);
    }
    let mut recomputed = net.clone();
    // Some EMA history first: recompute must discard it.
    recomputed.forward_train(&batches[0], &mut trainer.workspace);
    recomputed.recompute_population_statistics(&batches, &mut trainer.workspace);
    assert_eq!(recomputed.batchnorm1.momentum, bn_core::Momentum::Exponential(0.1));
    assert_eq!(recomputed.batchnorm1.num_batches_tracked, 5);
    for k in 0..16 {
        assert_relative_eq!(
            recomputed.batchnorm1.running_mean[k],
            reference.batchnorm1.running_mean[k],
            max_relative = 1e-6
        );
        assert_relative_eq!(
            recomputed.batchnorm4.running_var[k],
            reference.batchnorm4.running_var[k],
            max_relative = 1e-6
        );
    }
    // Parameters are frozen.
    assert_eq!(recomputed.dense0, net.dense0);
    assert_eq!(recomputed.batchnorm1.gamma, net.batchnorm1.gamma);
}

/// The LeNet trains (the loss of a fixed batch falls), its folded model agrees with the eval
/// path on every sample, one sample at a time and in a batch, and the nested image array is
/// an input.
#[test]
fn lenet_trains_and_folds() {
    use bn_core::typenum::{U10, U16, U784};
    assert_eq!(LeNetBn::PARAMS, 8 * 9 + 2 * 8 + 16 * 72 + 2 * 16 + 784 * 10 + 10);
    let mut net = LeNetBn::new_boxed(5);
    let mut trainer = Trainer::<LeNetBn, U16>::new_boxed();
    let mut rng = Rng::seed(9);
    let mut x = Batch::<U16, U784>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut rng);
    let labels: GenericArray<usize, U16> = GenericArray::from_iter((0..16).map(|i| i % 10));
    let opt = Sgd::new(0.05f32).with_momentum(0.9);
    let first = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    let mut last = first;
    for _ in 0..40 {
        last = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    }
    assert!(last < 0.2 * first, "loss {first} -> {last}");
    let folded = net.fold_boxed();
    let mut batch = Batch::<U16, U10>::default();
    folded.forward_batch(&x, &mut batch);
    for (b, xb) in x.iter().enumerate() {
        let (want, got) = (net.eval(xb), folded.forward(xb));
        assert!(relative_error(&got, &want) <= 1e-5, "sample {b}");
        assert_eq!(batch[b], got, "forward_batch agrees with forward bit for bit");
        assert_eq!(folded.classify(xb), net.classify(xb));
    }
    let mut image = [[[0f32; 28]; 28]; 1];
    image[0][3][5] = 1.0;
    let mut flat_image = [0f32; 784];
    flat_image[3 * 28 + 5] = 1.0;
    assert_eq!(folded.forward(&image), folded.forward(&flat_image));
}

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

bn_core::network! {
    /// No BN: GroupNorm in residual blocks, trains one sample at a time.
    pub struct GnResidual {
        input: (2, 4, 4),
        conv2d(4, kernel = 3, padding = 1), groupnorm(2), relu,
        residual { conv2d(4, kernel = 3, padding = 1), groupnorm(2), relu, conv2d(4, kernel = 1), groupnorm(4) },
        relu,
        residual { layernorm, conv2d(6, kernel = 3, stride = 2, padding = 1) } shortcut { conv2d(6, kernel = 1, stride = 2) },
        global_avgpool, dense(3),
    }
}

/// A residual network with GroupNorm and LayerNorm, no BN, trains at batch size 1: the loss
/// of a tiny problem falls, and the folded model (GroupNorm kept) agrees with the eval path.
#[test]
fn groupnorm_residual_network_trains_at_batch_size_one() {
    let mut net = GnResidual::new(2);
    let mut trainer = Trainer::<GnResidual, U1>::new_boxed();
    let mut rng = Rng::seed(3);
    let samples: Vec<(Batch<U1, bn_core::typenum::U32>, usize)> = (0..3)
        .map(|label| {
            let mut x = Batch::default();
            Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut rng);
            (x, label)
        })
        .collect();
    let opt = Sgd::new(0.05f32).with_momentum(0.9);
    let mut epoch = |net: &mut GnResidual| -> f32 {
        let mut total = 0.0;
        for (x, label) in &samples {
            total += net.train_step(x, &GenericArray::from([*label]), &SoftmaxCrossEntropy, &opt, &mut trainer);
        }
        total / 3.0
    };
    let first = epoch(&mut net);
    let mut last = first;
    for _ in 0..60 {
        last = epoch(&mut net);
    }
    assert!(last < 0.1 * first, "loss {first} -> {last}");
    let folded = net.fold_boxed();
    for (x, label) in &samples {
        assert_eq!(net.classify(&x[0]), *label);
        assert!(relative_error(&folded.forward(&x[0]), &net.eval(&x[0])) <= 1e-5);
    }
}

/// The small ResNet fits a batch (the loss falls), and its folded model agrees with the eval
/// path on every sample.
#[test]
fn resnet_trains_and_folds() {
    let mut net = ResNetTiny::new_boxed(5);
    let mut trainer = Trainer::<ResNetTiny, U16>::new_boxed();
    let mut rng = Rng::seed(6);
    let mut x = Batch::<U16, bn_core::typenum::U128>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut rng);
    let labels: GenericArray<usize, U16> = GenericArray::from_iter((0..16).map(|i| i % 3));
    let opt = Sgd::new(0.1f32).with_momentum(0.9);
    let first = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    let mut last = first;
    for _ in 0..60 {
        last = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    }
    assert!(last < 0.2 * first, "loss {first} -> {last}");
    let folded = net.fold_boxed();
    for xb in x.iter() {
        assert!(relative_error(&folded.forward(xb), &net.eval(xb)) <= 1e-5);
    }
}

/// `recompute_population_statistics` reaches the BNs inside residual blocks: each gets the
/// cumulative averages of its batches, its momentum back, and the parameters stay.
#[test]
fn recompute_reaches_the_batchnorms_in_blocks() {
    let mut rng = Rng::seed(10);
    let batches: Vec<Batch<U4, bn_core::typenum::U128>> = (0..4)
        .map(|_| {
            let mut b = Batch::default();
            Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut b), 1, 1, &mut rng);
            b
        })
        .collect();
    let net = ResNetTiny::new(1);
    let mut trainer = Trainer::<ResNetTiny, U4>::new_boxed();
    let mut reference = net.clone();
    let cumulative = bn_core::Momentum::Cumulative;
    for bn in
        [&mut reference.batchnorm1, &mut reference.residual3.body.batchnorm1, &mut reference.residual3.body.batchnorm4]
    {
        bn.momentum = cumulative;
    }
    let stage2 = &mut reference.residual5;
    for bn in [&mut stage2.body.batchnorm1, &mut stage2.body.batchnorm4, &mut stage2.shortcut.batchnorm1] {
        bn.momentum = cumulative;
    }
    for b in &batches {
        reference.forward_train(b, &mut trainer.workspace);
    }
    let mut recomputed = net.clone();
    recomputed.forward_train(&batches[0], &mut trainer.workspace);
    recomputed.recompute_population_statistics(&batches, &mut trainer.workspace);
    fn same<C: bn_core::generic_array::ArrayLength>(got: &bn_core::BatchNorm<C>, want: &bn_core::BatchNorm<C>) {
        assert_eq!(got.momentum, bn_core::Momentum::Exponential(0.1));
        assert_eq!(got.num_batches_tracked, 4);
        assert_eq!(got.gamma, want.gamma);
        for k in 0..C::USIZE {
            assert_relative_eq!(got.running_mean[k], want.running_mean[k], max_relative = 1e-6, epsilon = 1e-7);
            assert_relative_eq!(got.running_var[k], want.running_var[k], max_relative = 1e-6);
        }
    }
    same(&recomputed.residual3.body.batchnorm4, &reference.residual3.body.batchnorm4);
    same(&recomputed.residual5.shortcut.batchnorm1, &reference.residual5.shortcut.batchnorm1);
    assert_eq!(recomputed.residual5.body.conv2d0, net.residual5.body.conv2d0);
}
