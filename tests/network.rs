//! End-to-end tests of `network!`-generated code: learning a nonlinear task, folding,
//! population statistics, and the generated backward against finite differences.

use approx::assert_relative_eq;
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U2, U32, U4, U5};
use bn_core::{Batch, Network, Rng, Sgd, SoftmaxCrossEntropy, Trainer, Vector};

bn_core::network! {
    /// Two moons classifier.
    pub struct Moons {
        input: 2,
        dense(16), batchnorm, relu,
        dense(16), batchnorm, relu,
        dense(2),
    }
}

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

bn_core::network! {
    /// Every layer kind and BN placement, in f64 for sharp finite differences.
    struct Everything {
        input: 4,
        scalar: f64,
        batchnorm,
        dense(5), batchnorm(eps = 1e-3), sigmoid,
        batchnorm(momentum = cumulative),
        dense(5, bias), tanh,
        batchnorm, batchnorm,
        dense(5 => 3), relu,
        batchnorm,
    }
}

#[test]
fn generated_backward_matches_finite_differences() {
    let mut net = Everything::new(3);
    let mut rng = Rng::seed(5);
    // Non-trivial γ, β and biases so that every term of the backward matters.
    macro_rules! perturb {
        ($($bn:ident),*) => {$(
            net.$bn.gamma.iter_mut().for_each(|v| *v = 0.5 + rng.uniform());
            net.$bn.beta.iter_mut().for_each(|v| *v = rng.normal() * 0.3);
        )*};
    }
    perturb!(batchnorm0, batchnorm2, batchnorm4, batchnorm7, batchnorm8);
    net.dense5.bias.iter_mut().for_each(|v| *v = rng.normal() * 0.3);
    net.batchnorm11.beta.iter_mut().for_each(|v| *v = 1.0 + rng.uniform()); // keep ReLU inputs alive
    let mut x = Batch::<U5, U4, f64>::default();
    x.iter_mut().flatten().for_each(|v| *v = rng.normal() * 2.0 + 1.0);
    let labels = GenericArray::<usize, U5>::from([0, 2, 1, 1, 0]);

    let loss = |net: &Everything| -> f64 {
        let mut net = net.clone();
        let mut ws = Box::new(bn_core::Zeroable::zeroed());
        let out = Network::forward_train(&mut net, &x, &mut *ws);
        let mut d = Batch::default();
        bn_core::softmax_cross_entropy(out, &labels, &mut d)
    };
    let mut trainer = Trainer::<Everything, U5>::new_boxed();
    let mut probe = net.clone();
    probe.forward_train(&x, &mut trainer.workspace);
    let (out, dout) = Everything::output_and_grad(&mut trainer.workspace);
    bn_core::softmax_cross_entropy(out, &labels, dout);
    probe.backward(&x, &mut trainer.workspace, &mut trainer.grads);
    let g = &trainer.grads;

    // Every parameter tensor, checked element by element.
    type Access = fn(&mut Everything) -> &mut [f64];
    type GradAccess = fn(&EverythingGrads) -> Vec<f64>;
    let tensors: Vec<(&str, Access, GradAccess)> = vec![
        ("dense1.weight", |n| bn_core::flat_mut(&mut n.dense1.weight), |g| bn_core::flat(&g.dense1.weight).to_vec()),
        ("dense5.weight", |n| bn_core::flat_mut(&mut n.dense5.weight), |g| bn_core::flat(&g.dense5.weight).to_vec()),
        ("dense5.bias", |n| &mut n.dense5.bias, |g| g.dense5.bias.to_vec()),
        ("dense9.weight", |n| bn_core::flat_mut(&mut n.dense9.weight), |g| bn_core::flat(&g.dense9.weight).to_vec()),
        ("dense9.bias", |n| &mut n.dense9.bias, |g| g.dense9.bias.to_vec()),
        ("batchnorm0.gamma", |n| &mut n.batchnorm0.gamma, |g| g.batchnorm0.gamma.to_vec()),
        ("batchnorm0.beta", |n| &mut n.batchnorm0.beta, |g| g.batchnorm0.beta.to_vec()),
        ("batchnorm2.gamma", |n| &mut n.batchnorm2.gamma, |g| g.batchnorm2.gamma.to_vec()),
        ("batchnorm4.beta", |n| &mut n.batchnorm4.beta, |g| g.batchnorm4.beta.to_vec()),
        ("batchnorm7.gamma", |n| &mut n.batchnorm7.gamma, |g| g.batchnorm7.gamma.to_vec()),
        ("batchnorm8.beta", |n| &mut n.batchnorm8.beta, |g| g.batchnorm8.beta.to_vec()),
        ("batchnorm11.gamma", |n| &mut n.batchnorm11.gamma, |g| g.batchnorm11.gamma.to_vec()),
        ("batchnorm11.beta", |n| &mut n.batchnorm11.beta, |g| g.batchnorm11.beta.to_vec()),
    ];
    let h = 1e-6;
    for (name, access, grad) in tensors {
        let analytic = grad(g);
        for (k, &a) in analytic.iter().enumerate() {
            let (mut plus, mut minus) = (net.clone(), net.clone());
            access(&mut plus)[k] += h;
            access(&mut minus)[k] -= h;
            let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
            assert!((a - numeric).abs() <= 1e-6 * (1.0 + a.abs()), "{name}[{k}]: analytic {a:e}, numeric {numeric:e}");
        }
    }
    // The input gradient (first layer is a BN, so `d0` exists).
    for k in 0..20 {
        let (mut xp, mut xm) = (x, x);
        bn_core::flat_mut(&mut xp)[k] += h;
        bn_core::flat_mut(&mut xm)[k] -= h;
        let f = |x: &Batch<U5, U4, f64>| {
            let mut n = net.clone();
            let mut ws = Box::new(bn_core::Zeroable::zeroed());
            let out = Network::forward_train(&mut n, x, &mut *ws);
            bn_core::softmax_cross_entropy(out, &labels, &mut Batch::default())
        };
        let numeric = (f(&xp) - f(&xm)) / (2.0 * h);
        let a = bn_core::flat(&trainer.workspace.dx)[k];
        assert!((a - numeric).abs() <= 1e-6 * (1.0 + a.abs()), "dx[{k}]: analytic {a:e}, numeric {numeric:e}");
    }
}

#[test]
fn fold_equals_eval_with_every_bn_placement() {
    let mut net = Everything::new(11);
    let mut rng = Rng::seed(12);
    let mut trainer = Trainer::<Everything, U5>::new_boxed();
    // Train a few steps so population statistics and γ/β are far from their defaults.
    for _ in 0..20 {
        let mut x = Batch::<U5, U4, f64>::default();
        x.iter_mut().flatten().for_each(|v| *v = rng.normal() * 3.0 - 1.0);
        let labels = GenericArray::<usize, U5>::from([0, 1, 2, 0, 1]);
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.05), &mut trainer);
    }
    let folded = net.fold();
    // The leading BN has no dense before it and folds into the dense after it; the BN
    // after `sigmoid` and the pair after `tanh` fold forward too; the last BN (after relu)
    // stays an affine layer.
    let text = folded.to_string();
    assert!(text.contains("affine(3) from `batchnorm11`"), "{text}");
    assert!(text.contains("dense(4 => 5) with `batchnorm0`, `batchnorm2` folded in"), "{text}");
    // Batched folded forward == one sample at a time (here the last layer is an affine).
    let mut xs = Batch::<bn_core::typenum::U70, U4, f64>::default();
    xs.iter_mut().flatten().for_each(|v| *v = rng.normal());
    let mut ys = Batch::default();
    folded.forward_batch(&xs, &mut ys);
    for (x, y) in xs.iter().zip(ys.iter()) {
        assert_eq!(*y, folded.forward(x));
    }
    for _ in 0..100 {
        let x: Vector<U4, f64> = GenericArray::from([rng.normal(), rng.normal(), rng.normal(), rng.normal()]);
        let (e, f) = (net.eval(&x), folded.forward(&x));
        for k in 0..3 {
            assert_relative_eq!(e[k], f[k], max_relative = 1e-12, epsilon = 1e-12);
        }
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

#[test]
fn constants_summary_and_heap_construction() {
    assert_eq!(Moons::INPUT, 2);
    assert_eq!(Moons::OUTPUT, 2);
    // 2·16 + 2·16 + 16·16 + 2·16 + 16·2 + 2
    assert_eq!(Moons::PARAMS, 32 + 32 + 256 + 32 + 32 + 2);
    assert_eq!(<Moons as Network>::PARAMS, Moons::PARAMS);
    let net = Moons::new_boxed(3);
    assert_eq!(*net, Moons::new(3));
    let text = net.to_string();
    assert!(text.starts_with("Moons: 2 -> 2, f32, 386 parameters"), "{text}");
    assert!(text.contains("dense0      dense, no bias"), "{text}");
    // Dense layers before BN have no bias; the output layer has one.
    assert!(net.dense0.bias().is_none() && net.dense6.bias().is_some());
    // Input arrays and generic arrays are both accepted.
    assert_eq!(net.eval(&[0.5f32, -0.5]), net.eval(&GenericArray::from([0.5f32, -0.5])));
    let x = Batch::<U4, U2>::default();
    let mut y = Batch::default();
    net.eval_batch(&x, &mut y);
    assert_eq!(y[0], net.eval(&x[0]));
    // The eval forward into a workspace keeps every layer's output.
    let mut trainer = Trainer::<Moons, U4>::new_boxed();
    let out = *net.forward_eval(&x, &mut trainer.workspace);
    assert_eq!(out, y);
    let mut h = Vector::<bn_core::typenum::U16>::default();
    net.dense0.forward_one(&x[1], &mut h);
    assert_eq!(trainer.workspace.a0[1], h);
}

#[test]
fn folded_type_is_plain_data() {
    fn plain_data<T: Copy + Send + Sync + 'static>() {}
    plain_data::<MoonsFolded>();
    plain_data::<EverythingFolded>();
    // `#[repr(C)]` of f32 only: no padding, the size is the parameter count.
    // dense(2=>16) + dense(16=>16) + dense(16=>2), each with its bias.
    assert_eq!(std::mem::size_of::<MoonsFolded>(), 4 * (2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2));
    let folded = Moons::new(1).fold();
    // The batched forward (chunks of samples through one matrix product per layer) gives
    // exactly the one-sample results, for a batch with a partial chunk at the end.
    let mut rng = Rng::seed(31);
    let mut xs = Batch::<bn_core::typenum::U77, U2>::default();
    xs.iter_mut().flatten().for_each(|v| *v = rng.normal() as f32);
    let mut ys = Batch::default();
    folded.forward_batch(&xs, &mut ys);
    for (x, y) in xs.iter().zip(ys.iter()) {
        assert_eq!(*y, folded.forward(x));
    }
    let copy = folded; // Copy: `folded` stays usable
    assert_eq!(copy, folded);
    // Its scalars, in declaration order: dense0.weight, dense0.bias, dense3..., dense6...
    use bn_core::PlainData;
    let s = folded.as_scalars();
    assert_eq!(s.len(), <MoonsFolded as PlainData>::LEN);
    assert_eq!(s[0], folded.dense0.weight[0][0]);
    assert_eq!(s[2 * 16], folded.dense0.bias[0]);
    assert_eq!(s[s.len() - 1], folded.dense6.bias[1]);
}
