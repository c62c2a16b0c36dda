//! The folded model that `network!` generates computes what the eval path computes (folded
//! == eval, population statistics), for every placement of a BN: over features (on the
//! input, after a dense layer, after an activation, two in a row, last), next to a
//! convolution (after it, before one with and without padding, before `flatten`), across
//! dropout, with Batch Renormalization, without γ/β, and next to a LayerNorm that the folded
//! model keeps; and the plan of each folded type says what folded where. The folding of the
//! layers themselves is checked in `bn-core/tests/folding.rs`.

mod common;

use approx::assert_relative_eq;
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U4, U5};
use bn_core::{Batch, Rng, Sgd, SoftmaxCrossEntropy, Trainer, Vector};
use bn_paper::networks::{Everything, InputBnPadded, InputBnPaddedFolded};

use common::fold::{folded_equals_eval, plan_of};

/// Every BN placement over features (`Everything`, f64, trained a few steps): the folded
/// model equals the eval path to 1e-12, and its batched forward the one-sample forward.
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
    /// A BN on the input, before a conv without padding (folds in).
    pub struct InputBnValid {
        input: (2, 5, 5),
        batchnorm, conv2d(3, kernel = (3, 2), stride = (1, 2)), tanh, flatten, dense(4),
    }
}

/// Every place of a BN next to a convolution (f32, randomized, 3 000 samples), and the plan.
#[test]
fn folded_equals_eval_for_every_placement_next_to_a_convolution() {
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

/// BNs across dropout, renormalizing and affine-free BNs, and BNs next to a LayerNorm that the
/// folded model keeps (f32, randomized), and the plans.
#[test]
fn folded_equals_eval_across_dropout_renorm_affine_free_bn_and_layernorm() {
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

bn_core::network! {
    /// Every fold placement inside and around residual blocks on images: in the body a BN
    /// after a conv (folds in), before a conv without padding (folds in), before a padded
    /// conv and last after an activation (affine layers); a BN right before a block folds
    /// into the conv before it, one right after a block stays an affine layer (nothing folds
    /// across a block's boundary); the shortcut's BN folds into its conv; GroupNorm is kept;
    /// a BN over features after `global_avgpool` folds into the dense layer.
    pub struct FoldBlocks {
        input: (3, 8, 8),
        conv2d(4, kernel = 3, padding = 1), batchnorm,
        residual {
            conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
            batchnorm, conv2d(4, kernel = 1),
            relu, batchnorm, conv2d(4, kernel = 3, padding = 1),
            tanh, batchnorm,
        },
        batchnorm,
        relu,
        residual {
            conv2d(6, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(6, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(6, kernel = 1, stride = 2), batchnorm,
        },
        relu, maxpool(2),
        groupnorm(3),
        global_avgpool, batchnorm, dense(4),
    }
}

bn_core::network! {
    /// Blocks on features: a BN on the input before a block (an affine layer), a BN first in
    /// a body (folds into the dense layer after it), the shortcut's BN across a dropout, a
    /// LayerNorm kept inside a body, nested blocks, a BN right after a block.
    pub struct FoldBlocksFlat {
        input: 6,
        batchnorm,
        residual {
            batchnorm, dense(6), batchnorm, sigmoid, dense(6),
        } shortcut {
            dense(6), dropout(0.5), batchnorm,
        },
        batchnorm, tanh,
        residual { layernorm, dense(6), batchnorm, relu, residual { dense(6), batchnorm } },
        dense(3),
    }
}

/// Folded == eval for networks with residual blocks (every fold placement inside and around
/// the branches, f32, randomized), the plans, and the batched folded forward equal to the
/// one-sample forward bit for bit.
#[test]
fn folded_equals_eval_with_residual_blocks() {
    let mut worst = 0f64;
    for seed in 0..5 {
        worst = worst.max(folded_equals_eval::<FoldBlocks>(seed));
        worst = worst.max(folded_equals_eval::<FoldBlocksFlat>(seed));
        worst = worst.max(folded_equals_eval::<bn_paper::networks::ResNetTiny>(seed));
    }
    println!("folded vs eval with residual blocks, worst normwise relative error: {worst:.2e}");
    let plan = plan_of::<FoldBlocksFolded>();
    for part in [
        "FoldBlocksFolded: conv2d(3×8×8 => 4×8×8) with `batchnorm1` folded in -> residual(body: ",
        "body: conv2d(4×8×8 => 4×8×8) with `batchnorm1` folded in -> relu -> conv2d(4×8×8 => 4×8×8) with \
         `batchnorm3` folded in -> relu -> affine(4×8×8) from `batchnorm6` -> conv2d(4×8×8 => 4×8×8) -> tanh -> \
         affine(4×8×8) from `batchnorm9`; shortcut: identity) -> affine(4×8×8) from `batchnorm3` -> relu",
        "shortcut: conv2d(4×8×8 => 6×4×4) with `batchnorm1` folded in)",
        "groupnorm(3, 6×2×2) -> global_avgpool -> dense(6 => 4) with `batchnorm10` folded in",
    ] {
        assert!(plan.contains(part), "{part} in {plan}");
    }
    assert_eq!(
        plan_of::<FoldBlocksFlatFolded>(),
        "FoldBlocksFlatFolded: affine(6) from `batchnorm0` -> residual(body: dense(6 => 6) with `batchnorm0`, \
         `batchnorm2` folded in -> sigmoid -> dense(6 => 6); shortcut: dense(6 => 6) with `batchnorm2` folded in) \
         -> affine(6) from `batchnorm2` -> tanh -> residual(body: layernorm(6) -> dense(6 => 6) with `batchnorm2` \
         folded in -> relu -> residual(body: dense(6 => 6) with `batchnorm1` folded in; shortcut: identity); \
         shortcut: identity) -> dense(6 => 3)"
    );

    // The batched folded forward (blocks through temporaries of their own) gives exactly the
    // one-sample results, with a partial chunk at the end.
    let mut net = FoldBlocks::new_boxed(3);
    common::fold::randomize(&mut *net, 3);
    let folded = net.fold_boxed();
    let x = common::random::random_batch::<bn_core::typenum::U37, _, f32>(4);
    let mut y = Batch::default();
    folded.forward_batch(&x, &mut y);
    let mut z = Batch::default();
    net.eval_batch(&x, &mut z);
    for ((x, y), z) in x.iter().zip(y.iter()).zip(z.iter()) {
        assert_eq!(*y, folded.forward(x));
        assert_eq!(*z, net.eval(x));
    }
}
