//! The normalization family makes no heap allocation: training steps, the eval
//! forward, folding and the folded forward of networks with `layernorm` (over features and
//! over images), `dropout`, Batch Renormalization (clipping active), affine-free and frozen
//! BN (also a frozen `conv2d, batchnorm, relu, maxpool` block), and a network without BN at
//! batch size 1.
//!
//! The allocations are counted by `allocation-counter`'s global allocator (see
//! `common/counting.rs`), on this test's thread only.

use std::hint::black_box;

use bn_core::typenum::{U1, U16, U8};
use bn_core::{
    boxed_zeroed, flat, flat_mut, Adam, Batch, Freeze, GenericArray, Rng, Sgd, SoftmaxCrossEntropy, Trainer,
};

#[path = "common/counting.rs"]
mod counting;
use counting::{assert_no_alloc, count};

bn_core::network! {
    /// Every new flat layer and BN mode.
    struct Flat {
        input: 32,
        dense(24), layernorm, tanh, dropout(0.3),
        dense(24), batchnorm(renorm(rmax = 1.5, dmax = 0.5)), relu,
        dense(16), batchnorm(affine = false), sigmoid,
        dense(16), batchnorm, tanh, layernorm(affine = false),
        dense(4),
    }
}

bn_core::network! {
    /// LayerNorm over an image, dropout over an image, a ConvBlock and a renormalizing BN
    /// over channels.
    struct Image {
        input: (2, 8, 8),
        conv2d(4, kernel = 3, padding = 1), layernorm, relu, maxpool(2), dropout(0.2),
        conv2d(4, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(4, kernel = 1), batchnorm(renorm), relu,
        flatten, dense(3),
    }
}

bn_core::network! {
    /// No BN: trains at batch size 1.
    struct NoBn {
        input: 32,
        dense(16), layernorm, relu, dropout(0.5), dense(4),
    }
}

#[test]
fn the_normalization_family_does_not_allocate() {
    // The counter counts (so a zero below means zero).
    let ((), a, d) = count(|| drop(black_box(Box::new(black_box(7u64)))));
    assert!(a >= 1 && d >= 1, "{a} allocations, {d} deallocations");
    // With `BN_SIMD` set, detecting the level reads it (a copy of its value, allocated once):
    // detect before counting (zero_alloc_layers.rs checks detection itself).
    bn_core::kernels::detected_simd_level();

    let mut rng = Rng::seed(5);
    let opt = Sgd::new(0.05f32).with_momentum(0.9);
    let mut labels = GenericArray::<usize, U16>::default();
    labels.iter_mut().for_each(|l| *l = rng.below(3));

    // Flat: training (clipped renorm: moving statistics far from the batch's), frozen
    // training, eval, fold, folded forward.
    let mut net = Flat::new_boxed(1);
    net.batchnorm5.running_mean.iter_mut().for_each(|m| *m = 5.0);
    net.batchnorm5.running_var.iter_mut().for_each(|v| *v = 50.0);
    let mut trainer = Trainer::<Flat, U16>::new_boxed();
    trainer.seed(9);
    let mut x = boxed_zeroed::<Batch<U16, bn_core::typenum::U32>>();
    flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.uniform() as f32 * 2.0 - 1.0);
    let losses = assert_no_alloc("Flat: training steps", || {
        let mut losses = [0f32; 3];
        for l in losses.iter_mut() {
            *l = net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
        }
        losses
    });
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(trainer.workspace.c5.r.iter().any(|&r| r != 1.0), "renorm corrected the batch statistics");
    assert!(flat(&trainer.workspace.m3).contains(&0.0), "dropout dropped values");
    assert_no_alloc("Flat: renorm limits and freezing", || {
        net.set_renorm_limits(2.0, 1.0);
        net.freeze_batchnorm(Freeze::Statistics);
        net.batchnorm11.freeze = Freeze::All;
    });
    let tracked = net.batchnorm8.num_batches_tracked;
    let frozen_loss = assert_no_alloc("Flat: frozen training step", || {
        net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer)
    });
    assert!(frozen_loss.is_finite());
    assert_eq!(net.batchnorm8.num_batches_tracked, tracked, "frozen: nothing tracked");
    // Adam with L2 decay and amsgrad, the gradients clipped (LayerNorm's and BN's γ and β
    // among them).
    let adam = Adam::new(1e-3).with_weight_decay(1e-4).with_amsgrad();
    trainer.reset_state(); // SGD's momentum is no first moment
    assert_eq!(trainer.state.step, 0);
    let (adam_loss, norm) = assert_no_alloc("Flat: Adam step with clipping", || {
        net.train_step_clipped(&*x, &labels, &SoftmaxCrossEntropy, &adam, 1.0, &mut trainer)
    });
    assert!(adam_loss.is_finite() && norm.is_finite() && norm > 0.0);
    let eval = assert_no_alloc("Flat: eval", || net.eval(&x[2]));
    let mut folded = boxed_zeroed::<FlatFolded>();
    assert_no_alloc("Flat: fold", || net.fold_into(&mut folded));
    let one = assert_no_alloc("Flat: folded forward", || folded.forward(&x[2]));
    for (e, f) in eval.iter().zip(one.iter()) {
        assert!((e - f).abs() <= 1e-4 * (1.0 + e.abs()), "eval {e} vs folded {f}");
    }

    // Image: training, a frozen ConvBlock, eval, fold, folded forward.
    let mut image = Image::new_boxed(2);
    let mut image_trainer = Trainer::<Image, U8>::new_boxed();
    let mut xi = boxed_zeroed::<Batch<U8, bn_core::typenum::U128>>();
    flat_mut(&mut xi).iter_mut().for_each(|p| *p = rng.uniform() as f32);
    let li = GenericArray::<usize, U8>::from_iter((0..8).map(|i| i % 3));
    let l = assert_no_alloc("Image: training steps", || {
        let mut l = 0.0;
        for _ in 0..2 {
            l = image.train_step(&*xi, &li, &SoftmaxCrossEntropy, &opt, &mut image_trainer);
        }
        l
    });
    assert!(l.is_finite());
    image.batchnorm6.freeze = Freeze::Statistics;
    let l = assert_no_alloc("Image: training step, frozen ConvBlock", || {
        image.train_step(&*xi, &li, &SoftmaxCrossEntropy, &opt, &mut image_trainer)
    });
    assert!(l.is_finite());
    let eval = assert_no_alloc("Image: eval", || image.eval(&xi[1]));
    let mut image_folded = boxed_zeroed::<ImageFolded>();
    assert_no_alloc("Image: fold", || image.fold_into(&mut image_folded));
    let one = assert_no_alloc("Image: folded forward", || image_folded.forward(&xi[1]));
    for (e, f) in eval.iter().zip(one.iter()) {
        assert!((e - f).abs() <= 1e-4 * (1.0 + e.abs()), "eval {e} vs folded {f}");
    }

    // No BN at batch size 1.
    let mut nobn = NoBn::new_boxed(3);
    let mut one_trainer = Trainer::<NoBn, U1>::new_boxed();
    let x1 = Batch::<U1, bn_core::typenum::U32>::from_array([x[0]]);
    let l1 = GenericArray::<usize, U1>::from([2]);
    let l = assert_no_alloc("NoBn: training steps at batch 1", || {
        let mut l = 0.0;
        for _ in 0..3 {
            l = nobn.train_step(&x1, &l1, &SoftmaxCrossEntropy, &opt, &mut one_trainer);
        }
        l
    });
    assert!(l.is_finite());
    let folded = assert_no_alloc("NoBn: fold", || nobn.fold());
    assert_no_alloc("NoBn: folded forward", || black_box(folded.forward(&x[0])));
}
