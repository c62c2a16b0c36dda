//! The backward that `network!` generates matches central finite differences of the loss
//! (f64, [`bn_core::gradcheck`]) for every trainable scalar of whole networks: every BN
//! placement over features (and the input gradient), a convolutional stack with padding,
//! strides and both pools, a flat stack with LayerNorm, dropout, Batch Renormalization
//! (clipped, and unclipped against a twin that holds r and d fixed) and an affine-free BN,
//! and LayerNorm over an image; residual blocks (identity and projection, with a stride, on
//! images and on features, nested, with every normalization option inside a branch, the
//! sum at the fork and the ReLU fused after a block), GroupNorm alone (at batch 1) and inside
//! a block, and global average pooling. The stacks assembled by hand from bn-core's layers
//! are checked in `bn-core/tests/gradients.rs`, each layer in its unit tests.

mod common;

use bn_core::generic_array::GenericArray;
use bn_core::gradcheck::{self, Tensor};
use bn_core::typenum::{U1, U3, U4, U5, U6};
use bn_core::{flat, flat_mut, Batch, Init, Rng, SoftmaxCrossEntropy, StateDict, TensorMut};
use bn_paper::networks::Everything;

use common::random::random_batch;

/// The generated backward of a network with every BN placement over features (on the input,
/// after a dense layer, after an activation, two in a row, last; `Everything`) against
/// central finite differences: every weight, bias, γ and β, and the input gradient (the
/// first layer is a BN, so the workspace keeps `d0`).
#[test]
fn every_bn_placement_gradients_match_finite_differences() {
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

    // Every parameter tensor, checked element by element.
    let (report, trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    report.assert_passed();
    assert_eq!(report.checked, Everything::PARAMS);
    // The input gradient (first layer is a BN, so `d0` exists).
    let input = [Tensor::new("dx", flat(&trainer.workspace.dx), |x: &mut Batch<U5, U4, f64>| flat_mut(x))];
    let report = gradcheck::check(&x, &input, |x| gradcheck::network_loss(&net, x, &labels, &SoftmaxCrossEntropy));
    report.assert_passed();
    assert_eq!(report.checked, 20);
}

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

/// The generated backward of a whole convolutional stack (conv → BN → activation → pool →
/// conv → … → flatten → dense → cross-entropy, with padding and strides) against central
/// finite differences of the loss, for every weight, bias, γ and β.
#[test]
fn conv_stack_gradients_match_finite_differences() {
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

    let (report, _) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    report.assert_passed();
    // Every trainable scalar was checked.
    assert_eq!(report.checked, Stack::PARAMS);
    // 2×9×10 → conv (stride 2, padding 1) 3×5×5 → maxpool 3×4×4 → conv (2×3, padding (1, 0))
    // 4×5×2 → avgpool 4×4×1 → conv 1×1 → flatten 16 → dense 3.
    for shape in ["2×9×10 -> 3×5×5", "3×4×4 -> 4×5×2", "4×5×2 -> 4×4×1", "4×4×1 -> 16", "16 -> 3"] {
        assert!(Stack::SUMMARY.contains(shape), "{shape} in\n{}", Stack::SUMMARY);
    }
}

bn_core::network! {
    /// Every flat normalization layer in one stack: LayerNorm, dropout, Batch Renormalization
    /// (clipping active, see `flat_stack_gradients_match_finite_differences`), BN without γ/β.
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

/// Every trainable value a random non-trivial value: γ around 1, β and biases around 0.
fn randomize_trainable<N: StateDict<Scalar = f64>>(net: &mut N, seed: u64) {
    let mut rng = Rng::seed(seed);
    net.visit_mut(&mut |name, t| {
        if !gradcheck::is_trainable(name) {
            return;
        }
        match t {
            TensorMut::Vector(v) | TensorMut::Tensor3 { data: v, .. } => {
                Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng);
                if name.tensor == "weight" {
                    v.iter_mut().for_each(|g| *g += 1.0);
                }
            }
            TensorMut::Matrix { data: v, .. } | TensorMut::Tensor4 { data: v, .. } | TensorMut::Diagonal(v) => {
                let std = (1.0 / v.len() as f64).sqrt() * 2.0;
                Init::Gaussian { std }.fill(v, 1, 1, &mut rng);
            }
            TensorMut::Count(_) => {}
        }
    });
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
    let x = random_batch::<U6, _, f64>(5);
    let labels: GenericArray<usize, U6> = GenericArray::from([0, 1, 2, 1, 0, 2]);

    let (report, trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    let c = &trainer.workspace.c5;
    for k in 0..7 {
        assert_eq!(c.r[k], 1.0 / 1.5, "r[{k}] is clipped at 1/r_max");
        assert_eq!(c.d[k], -0.5, "d[{k}] is clipped at −d_max");
    }
    // The dropout layer dropped some values and kept others.
    let mask = flat(&trainer.workspace.m3);
    assert!(mask.contains(&0.0) && mask.iter().any(|&m| m != 0.0), "{mask:?}");
    report.assert_passed();
    assert_eq!(report.checked, FlatStack::PARAMS);
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
    let x = random_batch::<U6, _, f64>(5);
    let labels: GenericArray<usize, U6> = GenericArray::from([0, 1, 2, 1, 0, 2]);
    let (mut grads, trainer) = gradcheck::analytic_gradients(&net, &x, &labels, &SoftmaxCrossEntropy);
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
    let twin_numeric = gradcheck::numeric_gradients(&*twin, &x, &labels, &SoftmaxCrossEntropy);
    // The renormalizing layer's γ and β are tensors 5 and 6 (dense0 ×2, layernorm1 ×2,
    // dense4 weight): map the twin's back.
    assert_eq!((grads[5].name.as_str(), grads[6].name.as_str()), ("5.weight", "5.bias"));
    let mut reference = twin_numeric.clone();
    for k in 0..7 {
        reference[5].values[k] = r[k] * twin_numeric[5].values[k] + d[k] * twin_numeric[6].values[k];
    }
    let report = gradcheck::compare_gradients(&grads, &reference);
    report.assert_passed();
    assert_eq!(report.checked, FlatUnclipped::PARAMS);

    // Finite differences of the full forward (r and d moving with the batch) do not match
    // the backward somewhere upstream of the BN: the reference above is needed.
    let full = gradcheck::numeric_gradients(&net, &x, &labels, &SoftmaxCrossEntropy);
    grads.truncate(5);
    let differs = grads
        .iter()
        .flat_map(|g| &g.values)
        .zip(full.iter().flat_map(|g| &g.values))
        .any(|(a, n)| (a - n).abs() > 1e-4 * (1.0 + a.abs()));
    assert!(differs, "unclipped r, d should make the full-forward finite differences differ");
}

/// The generated backward of `conv2d, layernorm, relu, maxpool, dropout, flatten, dense`
/// against central finite differences, every trainable scalar (LayerNorm's γ, β over
/// [C, H, W] included).
#[test]
fn image_stack_gradients_match_finite_differences() {
    let mut net = ImageStack::new(7);
    randomize_trainable(&mut net, 8);
    let x = random_batch::<U4, _, f64>(9);
    let labels: GenericArray<usize, U4> = GenericArray::from([3, 1, 0, 2]);
    let (report, trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    let mask = flat(&trainer.workspace.m4);
    assert!(mask.contains(&0.0) && mask.iter().any(|&m| m != 0.0), "{mask:?}");
    report.assert_passed();
    assert_eq!(report.checked, ImageStack::PARAMS);
    assert_eq!(ImageStack::PARAMS, (3 * 2 * 9 + 3) + 2 * 3 * 6 * 6 + (27 * 4 + 4));
}

bn_core::network! {
    /// Residual blocks on images: a stem, an identity block (a ReLU inside, BN last, the ReLU
    /// after the block fused with it), a projection block with a stride of 2 (a 1×1 conv and
    /// a BN in the shortcut), global average pooling.
    pub struct ResImage {
        input: (2, 6, 6),
        scalar: f64,
        conv2d(3, kernel = 3, padding = 1), batchnorm, relu,
        residual {
            conv2d(3, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(3, kernel = 3, padding = 1), batchnorm,
        },
        relu,
        residual {
            conv2d(4, kernel = 3, stride = 2, padding = 1), batchnorm, tanh,
            conv2d(4, kernel = 3, padding = 1),
        } shortcut {
            conv2d(4, kernel = 1, stride = 2), batchnorm,
        },
        tanh,
        global_avgpool,
        dense(3),
    }
}

/// Identity and projection blocks on images (stride 2, a BN in both branches, a ReLU fused
/// after a block, global average pooling) against central finite differences, every
/// trainable scalar.
#[test]
fn residual_image_blocks_gradients_match_finite_differences() {
    let mut net = ResImage::new(3);
    randomize_trainable(&mut net, 4);
    let x = random_batch::<U4, _, f64>(5);
    let labels: GenericArray<usize, U4> = GenericArray::from([0, 2, 1, 1]);
    let (report, trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    report.assert_passed();
    assert_eq!(report.checked, ResImage::PARAMS);
    // The fused ReLU after the identity block: the block's sum is not stored, its gradient is.
    let block = &trainer.workspace.residual3;
    assert!(flat(&trainer.workspace.a4).iter().all(|&v| v >= 0.0));
    assert!(flat(&trainer.workspace.d3).contains(&0.0), "the ReLU's zeros reach the block's gradient");
    assert!(flat(&block.body.a4).iter().any(|&v| v < 0.0), "the body's output, before the sum and the ReLU");
    assert_eq!(
        ResImage::PARAMS,
        (3 * 2 * 9 + 2 * 3)
            + 2 * (3 * 3 * 9 + 2 * 3)
            + (4 * 3 * 9 + 2 * 4 + 4 * 4 * 9 + 4 + 4 * 3 + 2 * 4)
            + (4 * 3 + 3)
    );
}

bn_core::network! {
    /// Residual blocks on features, after a BN on the input (so the input gradient flows
    /// through both): an identity block, a projection block (a dense layer and a BN in the
    /// shortcut).
    pub struct ResFeatures {
        input: 5,
        scalar: f64,
        batchnorm,
        residual { dense(5), batchnorm, relu, dense(5), batchnorm },
        relu,
        residual { dense(6), batchnorm, tanh, dense(6) } shortcut { dense(6), batchnorm },
        tanh,
        dense(3),
    }
}

/// Identity and projection blocks on features against central finite differences: every
/// trainable scalar, and the input gradient (the sum at each fork: the body's, plus the
/// identity's or the shortcut's).
#[test]
fn residual_feature_blocks_gradients_match_finite_differences() {
    let mut net = ResFeatures::new(6);
    randomize_trainable(&mut net, 7);
    let x = random_batch::<U6, _, f64>(8);
    let labels: GenericArray<usize, U6> = GenericArray::from([0, 1, 2, 2, 1, 0]);
    let (report, trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    report.assert_passed();
    assert_eq!(report.checked, ResFeatures::PARAMS);
    let input = [Tensor::new("dx", flat(&trainer.workspace.dx), |x: &mut Batch<U6, U5, f64>| flat_mut(x))];
    let report = gradcheck::check(&x, &input, |x| gradcheck::network_loss(&net, x, &labels, &SoftmaxCrossEntropy));
    report.assert_passed();
    assert_eq!(report.checked, 30);
}

bn_core::network! {
    /// Blocks inside blocks: a projection block in the middle of a body, an identity block
    /// that is a whole body (its gradient is the outer block's).
    pub struct ResNested {
        input: 4,
        scalar: f64,
        dense(6), tanh,
        residual {
            dense(6), batchnorm, relu,
            residual { dense(6), tanh } shortcut { dense(6, no_bias), batchnorm },
            dense(6), batchnorm,
        },
        relu,
        residual { residual { dense(6), sigmoid } },
        dense(3),
    }
}

/// Nested blocks against central finite differences, every trainable scalar.
#[test]
fn nested_residual_blocks_gradients_match_finite_differences() {
    let mut net = ResNested::new(9);
    randomize_trainable(&mut net, 10);
    let x = random_batch::<U5, _, f64>(11);
    let labels: GenericArray<usize, U5> = GenericArray::from([2, 0, 1, 2, 0]);
    let (report, _) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    report.assert_passed();
    assert_eq!(report.checked, ResNested::PARAMS);
    let _ = &net.residual2.body.residual3.shortcut.batchnorm1;
    let _ = &net.residual4.body.residual0.body.dense0;
}

bn_core::network! {
    /// GroupNorm without any BN (so it trains at batch 1): affine, and without γ/β; global
    /// average pooling.
    pub struct GroupNormStack {
        input: (4, 5, 5),
        scalar: f64,
        conv2d(4, kernel = 3, padding = 1), groupnorm(2), relu,
        conv2d(6, kernel = 3), groupnorm(3, eps = 1e-3, affine = false), tanh,
        global_avgpool, dense(3),
    }
}

/// GroupNorm (per sample: here a batch of one) against central finite differences, every
/// trainable scalar.
#[test]
fn groupnorm_gradients_match_finite_differences_at_batch_one() {
    let mut net = GroupNormStack::new(12);
    randomize_trainable(&mut net, 13);
    let x = random_batch::<U1, _, f64>(14);
    let labels: GenericArray<usize, U1> = GenericArray::from([1]);
    let (report, _) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    report.assert_passed();
    assert_eq!(report.checked, GroupNormStack::PARAMS);
    assert_eq!(GroupNormStack::PARAMS, (4 * 4 * 9 + 4) + 2 * 4 + (6 * 4 * 9 + 6) + (6 * 3 + 3));
}

bn_core::network! {
    /// Every normalization option inside a branch: Batch Renormalization (clipped), a BN
    /// without γ/β, LayerNorm over an image in the body; GroupNorm and dropout in the
    /// shortcut; then on features a block with LayerNorm without γ/β, dropout, and a BN
    /// ending the body.
    pub struct BranchNorms {
        input: (2, 6, 6),
        scalar: f64,
        conv2d(4, kernel = 3, padding = 1), relu,
        residual {
            conv2d(4, kernel = 3, padding = 1), batchnorm(renorm(rmax = 1.5, dmax = 0.5)), relu,
            conv2d(4, kernel = 3, padding = 1), batchnorm(affine = false), layernorm,
        } shortcut {
            groupnorm(2), dropout(0.3),
        },
        tanh,
        flatten, dense(6),
        residual { dense(6), layernorm(affine = false), tanh, dropout(0.2), dense(6), batchnorm },
        sigmoid,
        dense(3),
    }
}

/// Every normalization option inside a branch against central finite differences, every
/// trainable scalar (Batch Renormalization clipped, as in
/// `flat_stack_gradients_match_finite_differences`).
#[test]
fn normalization_options_inside_branches_gradients_match_finite_differences() {
    let mut net = BranchNorms::new(15);
    randomize_trainable(&mut net, 16);
    let renorm = &mut net.residual2.body.batchnorm1;
    renorm.running_mean.iter_mut().for_each(|m| *m = 5.0);
    renorm.running_var.iter_mut().for_each(|v| *v = 50.0);
    let x = random_batch::<U3, _, f64>(17);
    let labels: GenericArray<usize, U3> = GenericArray::from([2, 0, 1]);
    let (report, trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
    let ws = &trainer.workspace;
    let c = &ws.residual2.body.c1;
    for k in 0..4 {
        assert_eq!(c.r[k], 1.0 / 1.5, "r[{k}] is clipped at 1/r_max");
        assert_eq!(c.d[k], -0.5, "d[{k}] is clipped at −d_max");
    }
    for mask in [flat(&ws.residual2.shortcut.m1), flat(&ws.residual6.body.m3)] {
        assert!(mask.contains(&0.0) && mask.iter().any(|&m| m != 0.0), "{mask:?}");
    }
    report.assert_passed();
    assert_eq!(report.checked, BranchNorms::PARAMS);
}
