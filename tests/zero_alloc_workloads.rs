//! The performance workloads of the benches (`benches/paper_mlp.rs`, `benches/tiny_mlp.rs`,
//! `benches/lenet.rs`) make no heap allocation, with the networks of `bn_paper::networks`
//! that the benches measure:
//!
//! - the paper MLP (`PaperBn`, 784 → 3 × [dense(100), batchnorm, sigmoid] → dense(10)): a
//!   training step at batch 60 (forward, softmax cross-entropy, backward, SGD); its folded
//!   model on one sample, and on a batch of 60 (`forward_batch`, and the batched
//!   layer-by-layer chain that the bench also measures);
//! - the tiny MLP (`TinyMlp`, 16 → 2 × [dense(32), batchnorm, sigmoid] → dense(4)): a training
//!   step at batch 32 and the folded model's one-sample forward;
//! - the LeNet (`LeNetBn`): a training step at batch 60, folding, the folded model on one
//!   sample and on a batch of 60.
//!
//! (Older issue texts call these workloads W1, W2a/W2b, W3 and W4.) They run on every
//! instruction set this CPU has (AVX-512, then AVX2, then the portable loops, lowered with
//! `bn_core::kernels::set_simd_level`: process-wide, which is why this binary has a single
//! `#[test]`), so the fallback paths are covered end to end. Nothing is run before the first
//! counted call, so the one-time detection of the SIMD level is counted too. The allocations
//! are counted by `allocation-counter`'s global allocator, on this test's thread only, through
//! the wrapper that bn-core's zero-allocation tests use.

use bn_core::typenum::{U10, U100, U16, U32, U60, U784};
use bn_core::{
    boxed_zeroed, flat_mut, AdamW, Batch, CosineAnnealingLr, GenericArray, LinearLr, MultiStepLr, Rng, Schedule, Sgd,
    SoftmaxCrossEntropy, Trainer,
};
use bn_paper::networks::{paper_bn_folded_chain, LeNetBn, LeNetBnFolded, PaperBn, PaperBnFolded, TinyMlp};

#[path = "../bn-core/tests/common/counting.rs"]
mod counting;
use counting::{assert_no_alloc, on_every_level};

#[test]
fn the_benchmark_workloads_do_not_allocate_on_any_level() {
    on_every_level(workloads);
}

/// Every workload on the current level: no allocation, and consistent results.
fn workloads(level: &str) {
    // Set-up on the heap (not measured).
    let mut rng = Rng::seed(5);
    let mut net = PaperBn::new_boxed(1);
    let mut trainer = Trainer::<PaperBn, U60>::new_boxed();
    let mut x = boxed_zeroed::<Batch<U60, U784>>();
    flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.uniform() as f32);
    let mut labels = GenericArray::<usize, U60>::default();
    labels.iter_mut().for_each(|l| *l = rng.below(10));
    let opt = Sgd::new(0.1f32);
    let mut folded = boxed_zeroed::<PaperBnFolded>();
    let mut y = boxed_zeroed::<Batch<U60, U10>>();
    let mut y_chain = boxed_zeroed::<Batch<U60, U10>>();
    let mut h = boxed_zeroed::<[Batch<U60, U100>; 2]>();

    // paper_mlp/train_step_b60: training steps (the first kernel call also detects the SIMD level).
    let losses = assert_no_alloc(&format!("{level}: paper_mlp/train_step_b60"), || {
        let mut losses = [0.0f32; 3];
        for l in losses.iter_mut() {
            *l = net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
        }
        losses
    });
    assert!(losses.iter().all(|l| l.is_finite()) && (1.0..4.0).contains(&losses[0]), "{level}: losses {losses:?}");
    assert!(losses[2] < losses[0], "{level}: the same batch three times: the loss goes down ({losses:?})");

    // The same network with AdamW (amsgrad: every slot of the state), a warm-up + cosine
    // schedule (`MultiStepLr` over a slice too) and gradient clipping, from a fresh trainer.
    let mut adamw = AdamW::new(1e-3).with_amsgrad().excluding_norm_and_bias_from_decay();
    let schedule =
        LinearLr::warmup(0.1, 1).then(CosineAnnealingLr::new(10, 0.0), 1).then(MultiStepLr::new(&[5u64][..], 0.5), 2);
    let mut adam_trainer = Trainer::<PaperBn, U60>::new_boxed();
    let steps = assert_no_alloc(&format!("{level}: paper_mlp, AdamW, a schedule and clip_grad_norm"), || {
        let mut steps = [(0.0f32, 0.0f32); 3];
        for (t, s) in steps.iter_mut().enumerate() {
            schedule.apply(&mut adamw, 1e-3, t as u64);
            *s = net.train_step_clipped(&*x, &labels, &SoftmaxCrossEntropy, &adamw, 0.5, &mut adam_trainer);
        }
        steps
    });
    assert_eq!(adamw.lr, 1e-3, "the schedule's step 2 is MultiStepLr's step 0");
    assert!(steps.iter().all(|(l, n)| l.is_finite() && n.is_finite() && *n > 0.0), "{level}: {steps:?}");
    assert_eq!(adam_trainer.state.step, 3);

    // paper_mlp/folded_one, paper_mlp/folded_batch60: the folded model.
    net.fold_into(&mut folded);
    let one = assert_no_alloc(&format!("{level}: paper_mlp/folded_one"), || folded.forward(&x[3]));
    assert_no_alloc(&format!("{level}: paper_mlp/folded_batch60, forward_batch"), || folded.forward_batch(&*x, &mut y));
    assert_no_alloc(&format!("{level}: paper_mlp/folded_batch60, batched chain"), || {
        paper_bn_folded_chain(&folded, &x, &mut h, &mut y_chain)
    });
    // One sample, a batch and the batched chain agree bit for bit; the eval path closely.
    assert_eq!(one, y[3]);
    assert_eq!(*y, *y_chain);
    let eval = net.eval(&x[3]);
    for (e, f) in eval.iter().zip(one.iter()) {
        assert!((e - f).abs() <= 1e-4 * (1.0 + e.abs()), "{level}: eval {e} vs folded {f}");
    }

    // tiny_mlp: the tiny network, everything on the stack.
    let mut tiny = TinyMlp::new(3);
    let mut tiny_trainer = Trainer::<TinyMlp, U32>::new();
    let mut xt = Batch::<U32, U16>::default();
    flat_mut(&mut xt).iter_mut().for_each(|p| *p = rng.uniform() as f32 * 2.0 - 1.0);
    let mut lt = GenericArray::<usize, U32>::default();
    lt.iter_mut().for_each(|l| *l = rng.below(4));
    let tl = assert_no_alloc(&format!("{level}: tiny_mlp/train_step_b32"), || {
        let mut l = 0.0;
        for _ in 0..3 {
            l = tiny.train_step(&xt, &lt, &SoftmaxCrossEntropy, &opt, &mut tiny_trainer);
        }
        l
    });
    assert!(tl.is_finite(), "{level}: tiny_mlp loss {tl}");
    let tiny_folded = tiny.fold();
    let out = assert_no_alloc(&format!("{level}: tiny_mlp/folded_one"), || tiny_folded.forward(&xt[0]));
    assert!(out.iter().all(|v| v.is_finite()));
    assert_eq!(out, tiny.fold().forward(&xt[0]));

    // lenet: a training step at batch 60, folding, the folded model on one sample and a
    // batch (the convolutions' buffers live in the workspace and on the stack).
    let mut lenet = LeNetBn::new_boxed(4);
    let mut lenet_trainer = Trainer::<LeNetBn, U60>::new_boxed();
    let lenet_loss = assert_no_alloc(&format!("{level}: lenet/train_step_b60"), || {
        lenet.train_step(&*x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.05), &mut lenet_trainer)
    });
    assert!(lenet_loss.is_finite(), "{level}: lenet loss {lenet_loss}");
    let mut lenet_folded = boxed_zeroed::<LeNetBnFolded>();
    assert_no_alloc(&format!("{level}: lenet fold"), || lenet.fold_into(&mut lenet_folded));
    let one = assert_no_alloc(&format!("{level}: lenet/folded_one"), || lenet_folded.forward(&x[7]));
    let mut ys = boxed_zeroed::<Batch<U60, U10>>();
    assert_no_alloc(&format!("{level}: lenet/folded_batch60"), || lenet_folded.forward_batch(&*x, &mut ys));
    assert_eq!(ys[7], one, "{level}: lenet forward_batch == forward");
}
