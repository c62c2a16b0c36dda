//! Networks with residual blocks make no heap allocation: the small ResNet of
//! `bn_paper::networks` (identity and projection blocks, BNs in both branches, ReLUs fused
//! with the blocks' sums, global average pooling) in a training step, the eval forward (one
//! sample and into a workspace), folding, and its folded model on one sample and on a batch;
//! and a network without BN (GroupNorm, LayerNorm and dropout in a block) training at batch
//! size 1. On every instruction set this CPU has, as `tests/zero_alloc_workloads.rs` does (one
//! `#[test]`: the level is process-wide), counted by the same wrapper of
//! `allocation-counter`.

use bn_core::typenum::{U1, U3, U8};
use bn_core::{boxed_zeroed, flat_mut, Batch, GenericArray, Rng, Sgd, SoftmaxCrossEntropy, Trainer};
use bn_paper::networks::{ResNetTiny, ResNetTinyFolded};

#[path = "../bn-core/tests/common/counting.rs"]
mod counting;
use counting::{assert_no_alloc, on_every_level};

bn_core::network! {
    /// No BN: GroupNorm, LayerNorm and dropout inside a projection block.
    pub struct NoBnBlocks {
        input: (2, 4, 4),
        conv2d(4, kernel = 3, padding = 1), groupnorm(2), relu,
        residual { conv2d(4, kernel = 3, padding = 1), groupnorm(4), relu, dropout(0.2) }
            shortcut { layernorm, conv2d(4, kernel = 1) },
        relu, global_avgpool, dense(3),
    }
}

#[test]
fn residual_networks_do_not_allocate_on_any_level() {
    on_every_level(workloads);
}

/// Every workload on the current level: no allocation, and consistent results.
fn workloads(level: &str) {
    let mut rng = Rng::seed(5);
    let mut net = ResNetTiny::new_boxed(1);
    let mut trainer = Trainer::<ResNetTiny, U8>::new_boxed();
    let mut x = boxed_zeroed::<Batch<U8, bn_core::typenum::U128>>();
    flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.normal() as f32);
    let labels = GenericArray::<usize, U8>::from_iter((0..8).map(|i| i % 3));
    let opt = Sgd::new(0.1f32).with_momentum(0.9);
    let losses = assert_no_alloc(&format!("{level}: resnet train_step"), || {
        let mut losses = [0.0f32; 3];
        for l in losses.iter_mut() {
            *l = net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
        }
        losses
    });
    assert!(losses.iter().all(|l| l.is_finite()), "{level}: {losses:?}");
    let eval = assert_no_alloc(&format!("{level}: resnet eval"), || net.eval(&x[2]));
    let ws_out =
        assert_no_alloc(&format!("{level}: resnet forward_eval"), || net.forward_eval(&*x, &mut trainer.workspace)[2]);
    assert_eq!(eval, ws_out, "{level}: the workspace's eval forward is the one-sample one");
    let mut folded = boxed_zeroed::<ResNetTinyFolded>();
    assert_no_alloc(&format!("{level}: resnet fold"), || net.fold_into(&mut folded));
    let one = assert_no_alloc(&format!("{level}: resnet folded one"), || folded.forward(&x[2]));
    let mut y = boxed_zeroed::<Batch<U8, U3>>();
    assert_no_alloc(&format!("{level}: resnet folded batch"), || folded.forward_batch(&*x, &mut y));
    assert_eq!(y[2], one, "{level}: forward_batch == forward");
    for (e, f) in eval.iter().zip(one.iter()) {
        assert!((e - f).abs() <= 1e-4 * (1.0 + e.abs()), "{level}: eval {e} vs folded {f}");
    }

    let mut small = NoBnBlocks::new_boxed(2);
    let mut small_trainer = Trainer::<NoBnBlocks, U1>::new_boxed();
    let xs = Batch::<U1, bn_core::typenum::U32>::from_array([x[0][..32].iter().copied().collect()]);
    let loss = assert_no_alloc(&format!("{level}: groupnorm blocks train_step at batch 1"), || {
        small.train_step(&xs, &GenericArray::from([1]), &SoftmaxCrossEntropy, &opt, &mut small_trainer)
    });
    assert!(loss.is_finite(), "{level}: {loss}");
}
