//! bn-core's layers make no heap allocation: a full training step, an eval forward and a
//! folded forward of the paper's MNIST network assembled by hand from the layers
//! (784-100-100-100-10, sigmoid, BN after each hidden dense layer; Ioffe & Szegedy 2015,
//! §4.1) at batch size 60. The same network declared with `network!` is checked on every
//! SIMD level by the workspace's `tests/zero_alloc_workloads.rs`.
//!
//! The allocations are counted by `allocation-counter`'s global allocator (see
//! `common/counting.rs`), on this test's thread only.

use std::hint::black_box;

use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U10, U100, U60, U784};
use bn_core::{
    boxed_zeroed, flat_mut, softmax_cross_entropy, Activation, Adam, Batch, BatchNormCache, Dense, Init, Optimizer,
    OptimizerState, Parameters, Rng, Sgd, Sigmoid, StateMut, Zeroable,
};

mod common;
#[path = "common/counting.rs"]
mod counting;
use common::paper::{Grads, Net};
use counting::count;

type B = U60;

/// The folded inference network: each dense → BN pair is one dense layer with bias.
#[repr(C)]
struct Folded {
    f1: Dense<U784, U100>,
    f2: Dense<U100, U100>,
    f3: Dense<U100, U100>,
    f4: Dense<U100, U10>,
}
// SAFETY: `repr(C)` struct of `Zeroable` fields only.
unsafe impl Zeroable for Folded {}

/// Every activation, cache and backward buffer of one batch.
#[repr(C)]
struct Work {
    x: Batch<B, U784>,
    labels: GenericArray<usize, B>,
    h1: Batch<B, U100>,
    z1: Batch<B, U100>,
    a1: Batch<B, U100>,
    c1: BatchNormCache<U100>,
    h2: Batch<B, U100>,
    z2: Batch<B, U100>,
    a2: Batch<B, U100>,
    c2: BatchNormCache<U100>,
    h3: Batch<B, U100>,
    z3: Batch<B, U100>,
    a3: Batch<B, U100>,
    c3: BatchNormCache<U100>,
    logits: Batch<B, U10>,
    dlogits: Batch<B, U10>,
    da3: Batch<B, U100>,
    dz3: Batch<B, U100>,
    dh3: Batch<B, U100>,
    da2: Batch<B, U100>,
    dz2: Batch<B, U100>,
    dh2: Batch<B, U100>,
    da1: Batch<B, U100>,
    dz1: Batch<B, U100>,
    dh1: Batch<B, U100>,
    // Eval (population statistics) and folded forwards.
    e1: Batch<B, U100>,
    e2: Batch<B, U100>,
    eval_logits: Batch<B, U10>,
    folded_logits: Batch<B, U10>,
}
// SAFETY: `repr(C)` struct of `Zeroable` fields only (arrays of floats and of `usize`).
unsafe impl Zeroable for Work {}

/// Forward (training mode), loss, backward through every layer and an SGD step.
fn train_step<O: Optimizer<f32>>(
    net: &mut Net,
    g: &mut Grads,
    state: &mut OptimizerState<Grads>,
    w: &mut Work,
    opt: &O,
) -> f32 {
    net.d1.forward(&w.x, &mut w.h1);
    net.bn1.forward_train(&w.h1, &mut w.z1, &mut w.c1);
    Sigmoid::forward(&w.z1, &mut w.a1);
    net.d2.forward(&w.a1, &mut w.h2);
    net.bn2.forward_train(&w.h2, &mut w.z2, &mut w.c2);
    Sigmoid::forward(&w.z2, &mut w.a2);
    net.d3.forward(&w.a2, &mut w.h3);
    net.bn3.forward_train(&w.h3, &mut w.z3, &mut w.c3);
    Sigmoid::forward(&w.z3, &mut w.a3);
    net.d4.forward(&w.a3, &mut w.logits);
    let loss = softmax_cross_entropy(&w.logits, &w.labels, &mut w.dlogits);

    net.d4.backward(&w.a3, &w.dlogits, Some(&mut w.da3), &mut g.d4);
    Sigmoid::backward(&w.a3, &w.da3, &mut w.dz3);
    net.bn3.backward(&w.h3, &w.c3, &w.dz3, &mut w.dh3, &mut g.bn3);
    net.d3.backward(&w.a2, &w.dh3, Some(&mut w.da2), &mut g.d3);
    Sigmoid::backward(&w.a2, &w.da2, &mut w.dz2);
    net.bn2.backward(&w.h2, &w.c2, &w.dz2, &mut w.dh2, &mut g.bn2);
    net.d2.backward(&w.a1, &w.dh2, Some(&mut w.da1), &mut g.d2);
    Sigmoid::backward(&w.a1, &w.da1, &mut w.dz1);
    net.bn1.backward(&w.h1, &w.c1, &w.dz1, &mut w.dh1, &mut g.bn1);
    net.d1.backward(&w.x, &w.dh1, None, &mut g.d1);

    state.step += 1;
    let OptimizerState { step, m, v, v_max } = state;
    // Each layer's share of the state, as a generated network's `step` hands it out.
    macro_rules! slots {
        ($f:ident) => {
            StateMut { m: &mut m.$f, v: &mut v.$f, v_max: &mut v_max.$f, step: *step }
        };
    }
    net.d1.step(&g.d1, slots!(d1), opt);
    net.bn1.step(&g.bn1, slots!(bn1), opt);
    net.d2.step(&g.d2, slots!(d2), opt);
    net.bn2.step(&g.bn2, slots!(bn2), opt);
    net.d3.step(&g.d3, slots!(d3), opt);
    net.bn3.step(&g.bn3, slots!(bn3), opt);
    net.d4.step(&g.d4, slots!(d4), opt);
    loss
}

/// Inference with the population statistics, layer by layer.
fn eval_forward(net: &Net, w: &mut Work) {
    net.d1.forward(&w.x, &mut w.h1);
    net.bn1.forward_eval(&w.h1, &mut w.e1);
    Sigmoid::forward(&w.e1, &mut w.a1);
    net.d2.forward(&w.a1, &mut w.h2);
    net.bn2.forward_eval(&w.h2, &mut w.e2);
    Sigmoid::forward(&w.e2, &mut w.a2);
    net.d3.forward(&w.a2, &mut w.h3);
    net.bn3.forward_eval(&w.h3, &mut w.e1);
    Sigmoid::forward(&w.e1, &mut w.a3);
    net.d4.forward(&w.a3, &mut w.eval_logits);
}

/// Folds every BN into the dense layer before it.
fn fold(net: &Net, folded: &mut Folded) {
    folded.f1 = net.d1.fold_affine_after(&net.bn1.to_affine());
    folded.f2 = net.d2.fold_affine_after(&net.bn2.to_affine());
    folded.f3 = net.d3.fold_affine_after(&net.bn3.to_affine());
    folded.f4 = net.d4;
}

/// Inference with the folded network: dense → sigmoid three times, then the output layer.
fn folded_forward(folded: &Folded, w: &mut Work) {
    folded.f1.forward(&w.x, &mut w.e1);
    Sigmoid::forward(&w.e1, &mut w.a1);
    folded.f2.forward(&w.a1, &mut w.e2);
    Sigmoid::forward(&w.e2, &mut w.a2);
    folded.f3.forward(&w.a2, &mut w.e1);
    Sigmoid::forward(&w.e1, &mut w.a3);
    folded.f4.forward(&w.a3, &mut w.folded_logits);
}

#[test]
fn training_eval_and_folded_inference_do_not_allocate() {
    // The counter counts: a `Vec` made while armed is seen (so a zero below means zero).
    let (_, allocs, deallocs) = count(|| {
        let v: Vec<u8> = Vec::with_capacity(10);
        drop(black_box(v));
    });
    assert!(allocs >= 1, "the counting allocator missed a Vec allocation");
    assert!(deallocs >= 1, "the counting allocator missed a Vec deallocation");
    let (_, allocs, _) = count(|| black_box(Box::new(black_box(7u64))));
    assert_eq!(allocs, 1, "the counting allocator missed a Box allocation");

    // With `BN_SIMD` set, the first kernel call reads it (a copy of its value, allocated
    // once, when the level is detected): detect before counting.
    if std::env::var_os("BN_SIMD").is_some() {
        bn_core::kernels::detected_simd_level();
    }

    // Everything on the heap, zeroed, then initialized in place.
    let (mut net, mut grads, mut state, mut work, mut folded) = (
        boxed_zeroed::<Net>(),
        boxed_zeroed::<Grads>(),
        boxed_zeroed::<OptimizerState<Grads>>(),
        boxed_zeroed::<Work>(),
        boxed_zeroed::<Folded>(),
    );
    let mut rng = Rng::seed(2015);
    net.d1.init(Init::XavierNormal, &mut rng);
    net.d2.init(Init::XavierNormal, &mut rng);
    net.d3.init(Init::XavierNormal, &mut rng);
    net.d4.init(Init::XavierNormal, &mut rng);
    net.bn1.reset();
    net.bn2.reset();
    net.bn3.reset();
    // Inputs in [0, 1) like MNIST pixels; labels 0..10.
    flat_mut(&mut work.x).iter_mut().for_each(|p| *p = rng.uniform() as f32);
    work.labels.iter_mut().for_each(|l| *l = rng.below(10));
    let opt = Sgd::new(0.1f32).with_momentum(0.9).with_weight_decay(1e-4);
    let w1_before = net.d1.weight[0][0];

    let (losses, allocs, deallocs) = count(|| {
        let mut losses = [0.0f32; 3];
        for l in losses.iter_mut() {
            *l = train_step(&mut net, &mut grads, &mut state, &mut work, &opt);
        }
        losses
    });
    assert_eq!((allocs, deallocs), (0, 0), "training steps allocated {allocs} times, freed {deallocs} times");

    // Adam (amsgrad: all three slots) from the SGD-trained state, likewise.
    let adam = Adam::new(1e-3).with_weight_decay(1e-4).with_amsgrad().excluding_norm_and_bias_from_decay();
    let mut adam_state = boxed_zeroed::<OptimizerState<Grads>>();
    let w1_sgd = net.d1.weight[0][0];
    let (adam_losses, allocs, deallocs) = count(|| {
        let mut losses = [0.0f32; 2];
        for l in losses.iter_mut() {
            *l = train_step(&mut net, &mut grads, &mut adam_state, &mut work, &adam);
        }
        losses
    });
    assert_eq!((allocs, deallocs), (0, 0), "Adam steps allocated {allocs} times, freed {deallocs} times");
    assert!(adam_losses.iter().all(|l| l.is_finite()), "Adam losses {adam_losses:?}");
    assert_ne!(net.d1.weight[0][0], w1_sgd, "Adam did not update the first layer");
    assert_eq!(adam_state.step, 2);
    assert!(adam_state.v_max.bn1.gamma.iter().any(|&v| v > 0.0), "no second moment was kept");

    let (_, allocs, deallocs) = count(|| eval_forward(&net, &mut work));
    assert_eq!((allocs, deallocs), (0, 0), "the eval forward allocated {allocs} times, freed {deallocs} times");

    let (_, allocs, deallocs) = count(|| {
        fold(&net, &mut folded);
        folded_forward(&folded, &mut work);
    });
    assert_eq!((allocs, deallocs), (0, 0), "folding and the folded forward allocated {allocs} times, freed {deallocs}");

    // The measured code did real work.
    // A 10-class softmax of an untrained network starts near ln 10 ≈ 2.30.
    assert!((1.5..3.5).contains(&losses[0]), "first loss {}", losses[0]);
    assert!(losses.iter().all(|l| l.is_finite()), "losses {losses:?}");
    assert_ne!(net.d1.weight[0][0], w1_before, "SGD did not update the first layer");
    assert!(state.m.d1.weight.iter().flatten().any(|&v| v != 0.0), "no momentum was accumulated");
    assert!(grads.bn2.gamma.iter().any(|&v| v != 0.0), "no gradient reached γ₂");
    assert_eq!(net.bn1.num_batches_tracked, 5);
    assert!(net.bn3.running_mean.iter().any(|&m| m != 0.0), "the population statistics were not updated");
    // Folding changes nothing: the folded logits equal the eval logits.
    for (e, f) in work.eval_logits.iter().flatten().zip(work.folded_logits.iter().flatten()) {
        assert!(e.is_finite() && (e - f).abs() <= 1e-4 * (1.0 + e.abs()), "eval {e} vs folded {f}");
    }
}
