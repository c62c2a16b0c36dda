//! End-to-end tests of convolutional networks declared with `network!`: the generated
//! backward of a whole stack (conv → BN → activation → pool → conv → … → flatten → dense →
//! cross-entropy, with padding and strides) against finite differences in f64, folded ==
//! eval for every placement of a BN next to a convolution, and the weights files.

use bn_core::generic_array::GenericArray;
use bn_core::typenum::U6;
use bn_core::{flat, flat_mut, Batch, Init, Network, Rng, Sgd, SoftmaxCrossEntropy, StateDict, TensorMut, Trainer};

bn_core::network! {
    /// Every image layer with padding and strides, in f64, for the gradient check.
    pub struct Stack {
        input: (2, 9, 10),
        scalar: f64,
        conv2d(3, kernel = 3, stride = 2, padding = 1), batchnorm, tanh, maxpool(2, stride = 1),
        conv2d(3 => 4, kernel = (2, 3), padding = (1, 0)), batchnorm(eps = 1e-3), sigmoid, avgpool(2, stride = 1),
        relu,
        conv2d(4, kernel = 1), relu,
        flatten, batchnorm, dense(3),
    }
}

/// The mean cross-entropy of a training forward (batch statistics) of `net` on `x`.
fn loss(net: &Stack, x: &Batch<U6, bn_core::typenum::U180, f64>, labels: &GenericArray<usize, U6>) -> f64 {
    let mut net = net.clone();
    let mut trainer = Trainer::<Stack, U6>::new_boxed();
    let out = Network::forward_train(&mut net, x, &mut trainer.workspace);
    let mut grad = Batch::default();
    bn_core::softmax_cross_entropy(out, labels, &mut grad)
}

/// The generated backward of the whole stack against central finite differences of the
/// loss, for every weight, bias, γ and β (perturbed through the state-dict visitor, so no
/// tensor is forgotten).
#[test]
fn stack_gradients_match_finite_differences() {
    let mut rng = Rng::seed(11);
    let mut net = Stack::new(3);
    // γ and β away from 1 and 0, biases away from 0.
    net.visit_mut(&mut |name, t| {
        if let TensorMut::Vector(v) = t {
            if name.tensor != "running_mean" && name.tensor != "running_var" {
                Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng);
                if name.tensor == "weight" {
                    v.iter_mut().for_each(|g| *g += 1.0);
                }
            }
        }
    });
    let mut x = Batch::<U6, bn_core::typenum::U180, f64>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut rng);
    let labels: GenericArray<usize, U6> = GenericArray::from([0, 1, 2, 1, 0, 2]);

    let mut trainer = Trainer::<Stack, U6>::new_boxed();
    let mut analytic_net = net.clone();
    analytic_net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.0), &mut trainer);
    let g = &trainer.grads;
    // The analytic gradients in the visitor's order (the grads have the network's layout).
    let analytic: Vec<(String, Vec<f64>)> = vec![
        ("conv0.weight".into(), flat(&g.conv2d0.weight).to_vec()),
        ("bn1.gamma".into(), g.batchnorm1.gamma.to_vec()),
        ("bn1.beta".into(), g.batchnorm1.beta.to_vec()),
        ("conv4.weight".into(), flat(&g.conv2d4.weight).to_vec()),
        ("bn5.gamma".into(), g.batchnorm5.gamma.to_vec()),
        ("bn5.beta".into(), g.batchnorm5.beta.to_vec()),
        ("conv9.weight".into(), flat(&g.conv2d9.weight).to_vec()),
        ("conv9.bias".into(), g.conv2d9.bias.to_vec()),
        ("bn12.gamma".into(), g.batchnorm12.gamma.to_vec()),
        ("bn12.beta".into(), g.batchnorm12.beta.to_vec()),
        ("dense13.weight".into(), flat(&g.dense13.weight).to_vec()),
        ("dense13.bias".into(), g.dense13.bias.to_vec()),
    ];
    // The same tensors of the network, to perturb.
    let params: Vec<fn(&mut Stack) -> &mut [f64]> = vec![
        |n| flat_mut(&mut n.conv2d0.weight),
        |n| &mut n.batchnorm1.gamma,
        |n| &mut n.batchnorm1.beta,
        |n| flat_mut(&mut n.conv2d4.weight),
        |n| &mut n.batchnorm5.gamma,
        |n| &mut n.batchnorm5.beta,
        |n| flat_mut(&mut n.conv2d9.weight),
        |n| &mut n.conv2d9.bias,
        |n| &mut n.batchnorm12.gamma,
        |n| &mut n.batchnorm12.beta,
        |n| flat_mut(&mut n.dense13.weight),
        |n| &mut n.dense13.bias,
    ];
    let h = 1e-6;
    let mut checked = 0;
    for ((name, grad), param) in analytic.iter().zip(&params) {
        assert_eq!(grad.len(), param(&mut net.clone()).len(), "{name}");
        for (k, &a) in grad.iter().enumerate() {
            let (mut plus, mut minus) = (net.clone(), net.clone());
            param(&mut plus)[k] += h;
            param(&mut minus)[k] -= h;
            let numeric = (loss(&plus, &x, &labels) - loss(&minus, &x, &labels)) / (2.0 * h);
            let tol = 1e-6 * (1.0 + a.abs().max(numeric.abs()));
            assert!((a - numeric).abs() <= tol, "{name}[{k}]: analytic {a:e}, finite difference {numeric:e}");
            checked += 1;
        }
    }
    // Every trainable scalar was checked.
    assert_eq!(checked, Stack::PARAMS);
    // 2×9×10 → conv (stride 2, padding 1) 3×5×5 → maxpool 3×4×4 → conv (2×3, padding (1, 0))
    // 4×5×2 → avgpool 4×4×1 → conv 1×1 → flatten 16 → dense 3.
    for shape in ["2×9×10 -> 3×5×5", "3×4×4 -> 4×5×2", "4×5×2 -> 4×4×1", "4×4×1 -> 16", "16 -> 3"] {
        assert!(Stack::SUMMARY.contains(shape), "{shape} in\n{}", Stack::SUMMARY);
    }
}

bn_core::network! {
    /// Every place a BN can sit next to a convolution: after it (folds in), before one
    /// without padding (folds in), before one with padding (kept, an affine layer over
    /// channels), before `flatten` and a dense layer (folds into it), and 1-d BNs after.
    pub struct Placements {
        input: (3, 8, 8),
        conv2d(4, kernel = 3, padding = 1), batchnorm,
        relu, batchnorm, conv2d(4, kernel = 3),
        tanh, batchnorm, conv2d(5, kernel = 3, padding = 1),
        relu, maxpool(2), batchnorm,
        flatten, dense(6), batchnorm,
        sigmoid, batchnorm,
    }
}

bn_core::network! {
    /// A BN on the input, before a padded conv (kept), and one after a pool at the end (kept).
    pub struct InputBnPadded {
        input: (2, 5, 5),
        batchnorm, conv2d(3, kernel = 3, padding = 1), relu, avgpool(2), batchnorm,
    }
}

bn_core::network! {
    /// A BN on the input, before a conv without padding (folds in).
    pub struct InputBnValid {
        input: (2, 5, 5),
        batchnorm, conv2d(3, kernel = (3, 2), stride = (1, 2)), tanh, flatten, dense(4),
    }
}

/// Random weights and BN parameters and population statistics, as after training.
fn randomize<N: StateDict<Scalar = f32>>(net: &mut N, seed: u64) {
    let mut rng = Rng::seed(seed);
    net.visit_mut(&mut |name, t| match t {
        TensorMut::Vector(v) if name.tensor == "running_var" => {
            v.iter_mut().for_each(|x| *x = (0.05 + 3.0 * rng.uniform()) as f32)
        }
        TensorMut::Vector(v) if name.tensor == "running_mean" => {
            Init::Gaussian { std: 2.0 }.fill(v, 1, 1, &mut rng);
        }
        TensorMut::Vector(v) if name.tensor == "weight" => {
            // γ: either sign, away from zero.
            v.iter_mut()
                .for_each(|x| *x = ((0.3 + rng.uniform()) * if rng.uniform() < 0.3 { -1.0 } else { 1.0 }) as f32)
        }
        TensorMut::Vector(v) => Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng),
        TensorMut::Matrix { data, cols, .. } => {
            Init::Gaussian { std: (1.0 / cols as f64).sqrt() }.fill(data, 1, 1, &mut rng)
        }
        TensorMut::Tensor4 { data, dims } => {
            Init::Gaussian { std: (1.0 / (dims[1] * dims[2] * dims[3]) as f64).sqrt() }.fill(data, 1, 1, &mut rng)
        }
        _ => {}
    });
}

/// The normwise relative error of `got` against `want` (max-norm, floor 1e-3), as in
/// bn-core's folding tests.
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
    randomize(&mut net, seed);
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
    assert!(worst <= 1e-5, "folded vs eval: {worst:e}");
    worst
}

/// A folded type's one-line summary (its `Display`): the layers of its plan.
fn plan_of<F: bn_core::Zeroable + std::fmt::Display>() -> String {
    F::zeroed().to_string()
}

#[test]
fn folded_equals_eval_for_every_placement() {
    let mut worst = 0f64;
    for seed in 0..5 {
        worst = worst.max(folded_equals_eval::<Placements>(seed));
        worst = worst.max(folded_equals_eval::<InputBnPadded>(seed));
        worst = worst.max(folded_equals_eval::<InputBnValid>(seed));
    }
    println!("folded vs eval, worst normwise relative error over 3 000 samples: {worst:.2e}");
    // The plan: what folded where.
    let plan = plan_of::<PlacementsFolded>();
    for part in [
        "conv2d(3×8×8 => 4×8×8) with `batchnorm1` folded in",
        "conv2d(4×8×8 => 4×6×6) with `batchnorm3` folded in",
        "affine(4×6×6) from `batchnorm6`",
        "dense(45 => 6) with `batchnorm10`, `batchnorm13` folded in",
        "affine(6) from `batchnorm15`",
    ] {
        assert!(plan.contains(part), "{part} in {plan}");
    }
    let plan = plan_of::<InputBnPaddedFolded>();
    assert!(plan.starts_with("InputBnPaddedFolded: affine(2×5×5) from `batchnorm0` -> conv2d"), "{plan}");
    assert!(plan.contains("avgpool -> affine(3×2×2) from `batchnorm4`"), "{plan}");
    let plan = plan_of::<InputBnValidFolded>();
    assert!(plan.contains("conv2d(2×5×5 => 3×3×2) with `batchnorm0` folded in"), "{plan}");
}

/// The tensors of a CNN are PyTorch's: `Conv2d.weight` `[out, in, kh, kw]`, BatchNorm2d's
/// five tensors; the folded type keeps an unfolded BN over channels as a depthwise 1×1
/// `Conv2d` (`weight` `[c, 1, 1, 1]`). Both round-trip through safetensors files, and a
/// wrong 4-d shape is an error that names the tensor.
#[test]
fn weights_files_have_pytorch_names_and_shapes() {
    let mut net = InputBnPadded::new(1);
    randomize(&mut net, 1);
    let mut names = Vec::new();
    net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        [
            "0.weight [2]",
            "0.bias [2]",
            "0.running_mean [2]",
            "0.running_var [2]",
            "0.num_batches_tracked []",
            "1.weight [3, 2, 3, 3]",
            "1.bias [3]",
            "4.weight [3]",
            "4.bias [3]",
            "4.running_mean [3]",
            "4.running_var [3]",
            "4.num_batches_tracked []",
        ]
    );
    let back = InputBnPadded::load_safetensors(&net.save_safetensors()).unwrap();
    assert_eq!(*back, net);

    let folded = net.fold_boxed();
    let mut names = Vec::new();
    folded.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
    assert_eq!(
        names,
        [
            "0.weight [2, 1, 1, 1]",
            "0.bias [2]",
            "1.weight [3, 2, 3, 3]",
            "1.bias [3]",
            "4.weight [3, 1, 1, 1]",
            "4.bias [3]"
        ]
    );
    let folded_back = InputBnPaddedFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    assert_eq!(*folded_back, *folded);

    // A file of another geometry: the 4-d shapes differ.
    bn_core::network! { struct Wider { input: (2, 5, 5), batchnorm, conv2d(3, kernel = 5, padding = 2), relu, avgpool(2), batchnorm } }
    let err = InputBnPadded::load_safetensors(&Wider::new(1).save_safetensors()).unwrap_err();
    assert_eq!(err.to_string(), "tensor `1.weight` has shape [3, 2, 5, 5], but the model expects [3, 2, 3, 3]");
}

bn_core::network! {
    /// The LeNet of the issue.
    pub struct LeNet {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        flatten,
        dense(10),
    }
}

/// The LeNet trains (the loss of a fixed batch falls), its folded model agrees with the eval
/// path on every sample, one sample at a time and in a batch, and the nested image array is
/// an input.
#[test]
fn lenet_trains_and_folds() {
    use bn_core::typenum::{U10, U16, U784};
    assert_eq!(LeNet::PARAMS, 8 * 9 + 2 * 8 + 16 * 72 + 2 * 16 + 784 * 10 + 10);
    let mut net = LeNet::new_boxed(5);
    let mut trainer = Trainer::<LeNet, U16>::new_boxed();
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
