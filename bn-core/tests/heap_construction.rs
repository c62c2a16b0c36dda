//! The paper-sized model (784-100-100-100-10 with BN after each hidden dense layer, plus
//! its gradients and SGD momentum state: over a megabyte) is built on the heap with
//! `boxed_zeroed` and initialized in place, on a thread with a 2 MiB stack, the default
//! size of a spawned thread and of a test thread.
//!
//! Why not `Box::new(Model::default())`: in a debug build (no optimization, so no copy
//! elision) `Model::default()` builds the 1.2 MB value in its own stack frame, returns it by
//! value into a temporary of the caller's frame, and `Box::new` takes that by value again
//! into its own frame before moving it to the heap. That is two to three live stack copies
//! of 1.2 MB, at least 2.4 MB, which overflows the 2 MiB stack ("thread has overflowed its
//! stack", and the process aborts). `boxed_zeroed` asks the allocator for zeroed memory and
//! never has a `Model` on the stack; `Dense::init` and `BatchNorm::reset` then work through
//! `&mut self`.

use std::mem::size_of;
use std::thread;

use bn_core::generic_array::arr;
use bn_core::typenum::{U10, U100, U3, U4, U784};
use bn_core::{boxed_zeroed, flat, Batch, BatchNorm, BatchNormCache, Dense, Init, Momentum, Rng, Vector, Zeroable};

const STACK: usize = 2 * 1024 * 1024;

mod common;
use common::paper::{Grads, Net};

/// The network, its gradients and the optimizer's momentum buffers.
#[repr(C)]
struct Model {
    net: Net,
    grads: Grads,
    momentum: Grads,
}

// SAFETY: a `repr(C)` struct of `Zeroable` fields only (`Net`, `Grads`).
unsafe impl Zeroable for Model {}

/// Runs `f` on a new thread with a 2 MiB stack, re-raising its panic.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let handle = thread::Builder::new().stack_size(STACK).spawn(f).expect("spawn");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Mean and (population) variance.
fn moments(xs: &[f32]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// Asserts the weights of a layer `fan_in → fan_out` have Xavier-normal moments, within
/// `rel` of the variance `2/(fan_in + fan_out)`.
fn assert_xavier(name: &str, w: &[f32], fan_in: usize, fan_out: usize, rel: f64) {
    assert_eq!(w.len(), fan_in * fan_out, "{name}: size");
    let want = 2.0 / (fan_in + fan_out) as f64;
    let (mean, var) = moments(w);
    // The sample mean has standard error √(want/n); allow 5 of them.
    assert!(mean.abs() < 5.0 * (want / w.len() as f64).sqrt(), "{name}: mean {mean:e}");
    assert!((var / want - 1.0).abs() < rel, "{name}: variance {var:e}, Xavier {want:e}");
}

fn assert_reset(name: &str, bn: &BatchNorm<U100>) {
    assert!(bn.gamma.iter().all(|&g| g == 1.0), "{name}: γ not all 1");
    assert!(bn.beta.iter().all(|&b| b == 0.0), "{name}: β not all 0");
    assert!(bn.running_mean.iter().all(|&m| m == 0.0), "{name}: running mean not all 0");
    assert!(bn.running_var.iter().all(|&v| v == 1.0), "{name}: running var not all 1");
    assert_eq!(bn.eps, 1e-5, "{name}: ε");
    assert_eq!(bn.momentum, Momentum::Exponential(0.1), "{name}: momentum");
    assert_eq!(bn.num_batches_tracked, 0, "{name}: batches tracked");
}

#[test]
fn paper_sized_model_is_built_in_place_on_a_2_mib_thread() {
    // 784·100 + 2·100·100 + 100·10 weights (+ 10 biases, 3 BNs) three times over, in f32.
    let size = size_of::<Model>();
    assert!(size > STACK / 2, "the model is only {size} bytes");
    assert!(size >= 1_200_000, "the model is only {size} bytes");

    on_small_stack(|| {
        let mut m: Box<Model> = boxed_zeroed();
        // Zeroed, not yet initialized: γ = 0, and the zero tag is `Momentum::Cumulative`.
        assert!(m.net.bn2.gamma.iter().all(|&g| g == 0.0));
        assert_eq!(m.net.bn2.momentum, Momentum::Cumulative);
        assert!(flat(&m.net.d1.weight).iter().all(|&w| w == 0.0));

        let mut rng = Rng::seed(2015);
        m.net.d1.init(Init::XavierNormal, &mut rng);
        m.net.d2.init(Init::XavierNormal, &mut rng);
        m.net.d3.init(Init::XavierNormal, &mut rng);
        m.net.d4.init(Init::XavierNormal, &mut rng);
        m.net.bn1.reset();
        m.net.bn2.reset();
        m.net.bn3.reset();

        let net = &m.net;
        assert_reset("bn1", &net.bn1);
        assert_reset("bn2", &net.bn2);
        assert_reset("bn3", &net.bn3);
        // 78 400 samples: the variance's relative standard error is 0.5 %; 10 000: 1.4 %;
        // 1 000: 4.5 %.
        assert_xavier("d1", flat(&net.d1.weight), 784, 100, 0.03);
        assert_xavier("d2", flat(&net.d2.weight), 100, 100, 0.08);
        assert_xavier("d3", flat(&net.d3.weight), 100, 100, 0.08);
        assert_xavier("d4", flat(&net.d4.weight), 100, 10, 0.25);
        assert_ne!(net.d2.weight, net.d3.weight, "two layers drew the same weights");
        assert!(net.d4.bias.iter().all(|&b| b == 0.0));
        // Gradients and momentum buffers start at zero.
        for g in [&m.grads, &m.momentum] {
            assert!(flat(&g.d1.weight).iter().chain(flat(&g.d3.weight)).all(|&v| v == 0.0));
            assert!(g.bn1.gamma.iter().chain(g.bn3.beta.iter()).chain(g.d4.bias.iter()).all(|&v| v == 0.0));
        }

        // The model built in place computes: one sample through dense → BN (eval) → output.
        // With the reset population statistics (0, 1), eval BN is x/√(1 + ε).
        let mut x = Vector::<U784>::default();
        x.iter_mut().for_each(|p| *p = rng.uniform() as f32);
        let (mut h, mut z) = (Vector::<U100>::default(), Vector::<U100>::default());
        net.d1.forward_one(&x, &mut h);
        net.bn1.forward_eval_one(&h, &mut z);
        assert!(h.iter().any(|&v| v.abs() > 0.1), "the first layer's output is ~0");
        let scale = 1.0 / (1.0f64 + 1e-5).sqrt();
        for (&h, &z) in h.iter().zip(z.iter()) {
            assert!((z as f64 - h as f64 * scale).abs() <= 1e-6 * (1.0 + h.abs() as f64), "BN eval {h} → {z}");
        }
        let mut logits = Vector::<U10>::default();
        net.d4.forward_one(&z, &mut logits);
        assert!(logits.iter().all(|l| l.is_finite()) && logits.iter().any(|&l| l != 0.0));
    });
}

#[test]
fn small_model_works_on_the_stack() {
    on_small_stack(|| {
        let mut rng = Rng::seed(4);
        let dense = Dense::<U4, U3>::new(Init::XavierNormal, &mut rng);
        let mut bn = BatchNorm::<U3>::new();
        assert!(flat(&dense.weight).iter().all(|&w| w != 0.0));
        assert_eq!(dense.bias, arr![0.0, 0.0, 0.0]);
        assert_eq!((bn.gamma, bn.running_var), (arr![1.0, 1.0, 1.0], arr![1.0, 1.0, 1.0]));

        let x: Batch<U4, U4> = arr![
            arr![1.0, 0.0, -1.0, 2.0],
            arr![0.5, 1.5, 0.0, -1.0],
            arr![-2.0, 1.0, 1.0, 0.0],
            arr![0.0, -0.5, 2.0, 1.0]
        ];
        let (mut h, mut y, mut cache) = (Batch::<U4, U3>::default(), Batch::default(), BatchNormCache::default());
        dense.forward(&x, &mut h);
        // h = W·x by hand.
        for (xb, hb) in x.iter().zip(h.iter()) {
            for (w, &hv) in dense.weight.iter().zip(hb.iter()) {
                let want: f32 = w.iter().zip(xb.iter()).map(|(a, b)| a * b).sum();
                assert!((hv - want).abs() < 1e-6, "{hv} vs {want}");
            }
        }
        bn.forward_train(&h, &mut y, &mut cache);
        // Every feature is normalized over the batch: mean 0, biased variance 1 (up to ε).
        for k in 0..3 {
            let col: Vec<f32> = y.iter().map(|r| r[k]).collect();
            let (mean, var) = moments(&col);
            assert!(mean.abs() < 1e-6, "feature {k}: mean {mean}");
            let want = cache.var[k] as f64 / (cache.var[k] as f64 + 1e-5);
            assert!((var - want).abs() < 1e-5, "feature {k}: variance {var} vs {want}");
        }
        assert_eq!(bn.num_batches_tracked, 1);
    });
}
