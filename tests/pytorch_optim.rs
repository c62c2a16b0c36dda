//! Parity with PyTorch for the optimizers (Adam, AdamW, amsgrad, L2 and decoupled weight
//! decay, decay on weights only as PyTorch's parameter groups, SGD with momentum), for
//! gradient clipping (`clip_grad_norm_`) and for the learning-rate schedules in training
//! (`torch.optim.lr_scheduler` stepped after every `opt.step()`; here
//! `schedule.apply(&mut opt, base_lr, t)` before step `t`, which also sets the momentum or β₁
//! that `OneCycleLR` cycles), over 20 steps of a small network with BN.
//!
//! `tools/pytorch_optim.py` ran every run of [`table`] in PyTorch from the same weights
//! (`optim_init.safetensors`), in float32 and in float64, and saved each step's gradients,
//! the clipping norms, the losses and the final parameters (`optim_runs.safetensors`).
//! Here:
//!
//! - **the optimizer alone, f32**: PyTorch's gradients of each step are handed to bn-core's
//!   clipping and optimizer (in `Network::visit_grads` order, which is PyTorch's
//!   `model.parameters()` order); the norms and the final parameters match PyTorch's within
//!   [`REPLAY_REL`]. (The forward and backward are out of the comparison: in float32 they
//!   round differently from PyTorch's, and over 20 steps that alone moves the parameters
//!   further than the optimizer's arithmetic, as the script's float32 vs float64 runs show.)
//! - **whole training steps, f64**: `train_step` / `train_step_clipped` from the float64
//!   weights; losses, norms and final parameters match PyTorch's float64 run within
//!   [`F64_REL`].
//! - **whole training steps, f32**: the same in float32 against PyTorch's float32 run, within
//!   [`F32_RUN_REL`] (the rounding of the forward and backward, amplified by 20 steps).
//!
//! All differences are relative with the floor 1e-3 of the other parity tests.

mod common;

use std::collections::BTreeMap;

use bn_core::typenum::U8;
use bn_core::{
    Adam, AdamW, Batch, CosineAnnealingLr, Float, GenericArray, LinearLr, MultiStepLr, Network, OneCycleLr, Optimizer,
    Schedule, Scheduled, SequentialLr, Sgd, SoftmaxCrossEntropy, StepLr, Trainer,
};

use common::files::{tensors, Tensor};
use common::pytorch::{fixture, max_rel, read, FLOOR};

bn_core::network! {
    /// `training_model()` of `tools/pytorch_optim.py`.
    pub struct OptimNet {
        input: 4,
        dense(5), batchnorm, relu,
        dense(4), tanh,
        dense(3),
    }
}

bn_core::network! {
    /// [`OptimNet`] in f64.
    pub struct OptimNet64 {
        input: 4,
        scalar: f64,
        dense(5), batchnorm, relu,
        dense(4), tanh,
        dense(3),
    }
}

/// Final parameters (per tensor: the largest difference relative to the tensor's largest
/// value) and clipping norms of the optimizer replayed on PyTorch's f32 gradients.
const REPLAY_REL: f32 = 1e-6;
/// The same final parameters element by element (relative, floor 1e-3). A parameter that
/// ends near 0 after updates of about 1e-2 carries their rounding (a few ulps of 1e-2, a
/// few 1e-9) and PyTorch's per-element arithmetic is not bn-core's to the last bit: its
/// float32 `sqrt` (MKL's vectorized one) differs from the correctly rounded square root in
/// about a fifth of the elements, and its `lerp` and `add(alpha=…)` use fused multiply-adds.
const REPLAY_ELEMENT_REL: f32 = 1e-5;
/// Losses, norms and final parameters of whole f64 training steps.
const F64_REL: f64 = 1e-12;
/// Final parameters of whole f32 training steps (forward and backward included).
const F32_RUN_REL: f32 = 3e-4;
/// `MAX_NORM` of the script.
const MAX_NORM: f64 = 0.5;
const STEPS: usize = 20;
/// The trainable tensors, in `model.parameters()` order.
const PARAMS: [&str; 7] = ["0.weight", "1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"];

/// A run: name, whether it clips, the optimizer, and the schedule with its base learning
/// rate (PyTorch's `initial_lr`, the optimizer's `lr` as created), applied before every step.
type Run<T> = (&'static str, bool, Opt<T>, Option<(Sched, f64)>);

/// The runs of the script (`RUNS`, then `SCHEDULED_RUNS`).
fn table<T: Float>() -> Vec<Run<T>> {
    let t = T::from_f64;
    let runs = vec![
        ("adam", false, Opt::Adam(Adam::new(0.01))),
        ("adam_l2", false, Opt::Adam(Adam::new(0.01).with_weight_decay(0.1))),
        ("adamw", false, Opt::AdamW(AdamW::new(0.01).with_weight_decay(0.1))),
        (
            "adamw_amsgrad",
            false,
            Opt::AdamW(AdamW::new(0.01).with_weight_decay(0.1).with_amsgrad().with_betas(0.9, 0.9)),
        ),
        (
            "adamw_groups",
            false,
            Opt::AdamW(AdamW::new(0.01).with_weight_decay(0.1).excluding_norm_and_bias_from_decay()),
        ),
        (
            "adam_l2_groups_amsgrad",
            false,
            Opt::Adam(
                Adam::new(0.01)
                    .with_weight_decay(0.1)
                    .excluding_norm_and_bias_from_decay()
                    .with_amsgrad()
                    .with_betas(0.8, 0.99)
                    .with_eps(1e-6),
            ),
        ),
        ("adamw_clipped", true, Opt::AdamW(AdamW::new(0.01).with_weight_decay(0.1))),
        (
            "sgd_groups_clipped",
            true,
            Opt::Sgd(
                Sgd::new(t(0.05)).with_momentum(t(0.9)).with_weight_decay(t(0.01)).excluding_norm_and_bias_from_decay(),
            ),
        ),
    ];
    let scheduled = vec![
        ("sgd_step", Opt::Sgd(Sgd::new(t(0.1)).with_momentum(t(0.9))), Sched::Step(StepLr::new(5, 0.5)), 0.1),
        ("sgd_multistep", Opt::Sgd(Sgd::new(t(0.1))), Sched::MultiStep(MultiStepLr::new([4, 9, 15], 0.3)), 0.1),
        (
            "adamw_warmup_cosine",
            Opt::AdamW(AdamW::new(0.01).with_weight_decay(0.1)),
            Sched::WarmupCosine(LinearLr::new(0.1, 1.0, 5).then(CosineAnnealingLr::new(15, 1e-4), 5)),
            0.01,
        ),
        ("adam_linear", Opt::Adam(Adam::new(0.01)), Sched::Linear(LinearLr::new(0.25, 1.0, 10)), 0.01),
        (
            "sgd_onecycle",
            Opt::Sgd(Sgd::new(t(0.1)).with_momentum(t(0.9))),
            Sched::OneCycle(OneCycleLr::new(0.2, STEPS as u64)),
            0.1,
        ),
        (
            "adamw_onecycle",
            Opt::AdamW(AdamW::new(0.01)),
            Sched::OneCycle(OneCycleLr::new(0.02, STEPS as u64).with_three_phase()),
            0.01,
        ),
    ];
    let runs = runs.into_iter().map(|(name, clip, opt)| (name, clip, opt, None));
    runs.chain(scheduled.into_iter().map(|(name, opt, s, base_lr)| (name, false, opt, Some((s, base_lr))))).collect()
}

/// One of the schedules, for a table of runs.
enum Sched {
    Step(StepLr),
    MultiStep(MultiStepLr<[u64; 3]>),
    WarmupCosine(SequentialLr<LinearLr, CosineAnnealingLr>),
    Linear(LinearLr),
    OneCycle(OneCycleLr),
}

impl Schedule for Sched {
    fn lr(&self, base_lr: f64, t: u64) -> f64 {
        match self {
            Sched::Step(s) => s.lr(base_lr, t),
            Sched::MultiStep(s) => s.lr(base_lr, t),
            Sched::WarmupCosine(s) => s.lr(base_lr, t),
            Sched::Linear(s) => s.lr(base_lr, t),
            Sched::OneCycle(s) => s.lr(base_lr, t),
        }
    }
    fn momentum(&self, t: u64) -> Option<f64> {
        match self {
            Sched::Step(s) => s.momentum(t),
            Sched::MultiStep(s) => s.momentum(t),
            Sched::WarmupCosine(s) => s.momentum(t),
            Sched::Linear(s) => s.momentum(t),
            Sched::OneCycle(s) => s.momentum(t),
        }
    }
}

/// Sets `opt`'s learning rate (and momentum) for step `step` of a scheduled run.
fn schedule<T: Float>(schedule: &Option<(Sched, f64)>, opt: &mut Opt<T>, step: usize) {
    if let Some((s, base_lr)) = schedule {
        s.apply(opt, *base_lr, step as u64);
    }
}

/// One of the optimizers, for a table of runs.
enum Opt<T> {
    Adam(Adam),
    AdamW(AdamW),
    Sgd(Sgd<T>),
}

impl<T: Float> Optimizer<T> for Opt<T> {
    fn update(&self, param: &mut [T], grad: &[T], state: bn_core::Slots<'_, T>, kind: bn_core::ParamKind) {
        match self {
            Opt::Adam(o) => o.update(param, grad, state, kind),
            Opt::AdamW(o) => o.update(param, grad, state, kind),
            Opt::Sgd(o) => o.update(param, grad, state, kind),
        }
    }
}

impl<T: Float> Scheduled for Opt<T> {
    fn lr(&self) -> f64 {
        match self {
            Opt::Adam(o) => o.lr(),
            Opt::AdamW(o) => o.lr(),
            Opt::Sgd(o) => o.lr(),
        }
    }
    fn set_lr(&mut self, lr: f64) {
        match self {
            Opt::Adam(o) => o.set_lr(lr),
            Opt::AdamW(o) => o.set_lr(lr),
            Opt::Sgd(o) => o.set_lr(lr),
        }
    }
    fn set_momentum(&mut self, momentum: f64) {
        match self {
            Opt::Adam(o) => o.set_momentum(momentum),
            Opt::AdamW(o) => o.set_momentum(momentum),
            Opt::Sgd(o) => o.set_momentum(momentum),
        }
    }
}

struct Runs(BTreeMap<String, Tensor>);

impl Runs {
    fn load() -> Self {
        Runs(tensors(&read(&fixture("optim_runs.safetensors"))))
    }
    fn get(&self, name: &str) -> &Tensor {
        self.0.get(name).unwrap_or_else(|| panic!("{name} in optim_runs.safetensors"))
    }
    /// Batch `step` of the inputs, and its labels `(b + step) % 3`.
    fn batch<T: Float>(&self, step: usize) -> (Batch<U8, bn_core::typenum::U4, T>, GenericArray<usize, U8>) {
        let inputs = self.get("inputs").f32s();
        let mut x = Batch::<U8, bn_core::typenum::U4, T>::default();
        for (b, row) in x.iter_mut().enumerate() {
            for (i, v) in row.iter_mut().enumerate() {
                *v = T::from_f64(inputs[(step * 8 + b) * 4 + i] as f64);
            }
        }
        (x, GenericArray::from_iter((0..8).map(|b| (b + step) % 3)))
    }
}

/// The largest difference of two tensors relative to the largest magnitude of `want`.
fn max_rel_normwise(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, w| m.max(w.abs())).max(FLOOR);
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() / scale)
        .map(|e| if e.is_nan() { f32::INFINITY } else { e })
        .fold(0.0, f32::max)
}

fn max_rel64(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() / b.abs().max(FLOOR as f64))
        .map(|e| if e.is_nan() { f64::INFINITY } else { e })
        .fold(0.0, f64::max)
}

/// The trainable tensors of a saved network by name.
fn params(file: &[u8]) -> BTreeMap<String, Tensor> {
    let mut all = tensors(file);
    all.retain(|k, _| PARAMS.contains(&k.as_str()));
    assert_eq!(all.len(), PARAMS.len());
    all
}

#[test]
fn optimizers_and_clipping_on_pytorch_gradients_match_pytorch_f32() {
    let reference = Runs::load();
    let mut worst = (0f32, 0f32);
    for (name, clip, mut opt, sched) in table::<f32>() {
        let mut net = OptimNet::load_safetensors(&read(&fixture("optim_init.safetensors"))).unwrap();
        let mut trainer = Trainer::<OptimNet, U8>::new_boxed();
        let grads = reference.get(&format!("{name}.grads"));
        let p = grads.shape[1];
        assert_eq!((grads.shape[0], p), (STEPS, OptimNet::PARAMS));
        let grads = grads.f32s();
        let (mut norms, mut clipped) = (Vec::new(), 0);
        for step in 0..STEPS {
            let mut theirs = grads[step * p..(step + 1) * p].iter();
            net.visit_grads(&mut trainer.grads, &mut |t, _| t.iter_mut().for_each(|g| *g = *theirs.next().unwrap()));
            assert!(theirs.next().is_none(), "visit_grads hands out every gradient once");
            if clip {
                let before = trainer.grads.dense5.bias[0];
                norms.push(net.clip_grad_norm(&mut trainer.grads, MAX_NORM as f32));
                clipped += usize::from(trainer.grads.dense5.bias[0] != before);
            }
            schedule(&sched, &mut opt, step);
            net.step(&trainer.grads, &mut trainer.state, &opt);
        }
        assert_eq!(trainer.state.step, STEPS as u64);
        let mut err = 0f32;
        if clip {
            let want = reference.get(&format!("{name}.norms")).f32s();
            err = max_rel(&norms, &want);
            let want_clipped = want.iter().filter(|&&n| n > MAX_NORM as f32).count();
            assert_eq!(clipped, want_clipped, "{name}: the steps that clip");
            assert!(0 < clipped && clipped < STEPS);
        }
        let ours = params(&net.save_safetensors());
        let (mut normwise, mut elementwise) = (err, err);
        for (k, t) in &ours {
            let (got, want) = (t.f32s(), reference.get(&format!("{name}.{k}")).f32s());
            normwise = normwise.max(max_rel_normwise(&got, &want));
            elementwise = elementwise.max(max_rel(&got, &want));
        }
        println!(
            "{name}: optimizer on PyTorch's gradients, f32: max relative difference {normwise:.1e} per tensor, \
             {elementwise:.1e} per element (norms {err:.1e})"
        );
        assert!(normwise <= REPLAY_REL, "{name}: {normwise} > {REPLAY_REL}");
        assert!(elementwise <= REPLAY_ELEMENT_REL, "{name}: {elementwise} > {REPLAY_ELEMENT_REL}");
        worst = (worst.0.max(normwise), worst.1.max(elementwise));
    }
    println!(
        "worst: {:.1e} per tensor (tolerance {REPLAY_REL:.0e}), {:.1e} per element (tolerance {REPLAY_ELEMENT_REL:.0e})",
        worst.0, worst.1
    );
}

#[test]
fn whole_training_steps_match_pytorch_f64() {
    let reference = Runs::load();
    let mut worst = 0f64;
    for (name, clip, mut opt, sched) in table::<f64>() {
        let mut net = OptimNet64::load_safetensors(&read(&fixture("optim_init64.safetensors"))).unwrap();
        let mut trainer = Trainer::<OptimNet64, U8>::new_boxed();
        let (mut losses, mut norms) = (Vec::new(), Vec::new());
        for step in 0..STEPS {
            let (x, labels) = reference.batch::<f64>(step);
            schedule(&sched, &mut opt, step);
            if clip {
                let (loss, norm) =
                    net.train_step_clipped(&x, &labels, &SoftmaxCrossEntropy, &opt, MAX_NORM, &mut trainer);
                losses.push(loss);
                norms.push(norm);
            } else {
                losses.push(net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer));
            }
        }
        let mut err = max_rel64(&losses, &reference.get(&format!("{name}.f64.losses")).f64s());
        if clip {
            err = err.max(max_rel64(&norms, &reference.get(&format!("{name}.f64.norms")).f64s()));
        }
        for (k, t) in &params(&net.save_safetensors()) {
            err = err.max(max_rel64(&t.f64s(), &reference.get(&format!("{name}.f64.{k}")).f64s()));
        }
        println!("{name}: 20 training steps, f64: max relative difference {err:.1e}");
        assert!(err <= F64_REL, "{name}: {err} > {F64_REL}");
        worst = worst.max(err);
    }
    println!("worst: {worst:.1e} (tolerance {F64_REL:.0e})");
}

#[test]
fn whole_training_steps_follow_pytorch_f32() {
    let reference = Runs::load();
    let mut worst = 0f32;
    for (name, clip, mut opt, sched) in table::<f32>() {
        let mut net = OptimNet::load_safetensors(&read(&fixture("optim_init.safetensors"))).unwrap();
        let mut trainer = Trainer::<OptimNet, U8>::new_boxed();
        let mut losses = Vec::new();
        for step in 0..STEPS {
            let (x, labels) = reference.batch::<f32>(step);
            schedule(&sched, &mut opt, step);
            losses.push(if clip {
                net.train_step_clipped(&x, &labels, &SoftmaxCrossEntropy, &opt, MAX_NORM as f32, &mut trainer).0
            } else {
                net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer)
            });
        }
        let mut err = max_rel(&losses, &reference.get(&format!("{name}.losses")).f32s());
        for (k, t) in &params(&net.save_safetensors()) {
            err = err.max(max_rel(&t.f32s(), &reference.get(&format!("{name}.{k}")).f32s()));
        }
        println!("{name}: 20 training steps, f32: max relative difference {err:.1e}");
        assert!(err <= F32_RUN_REL, "{name}: {err} > {F32_RUN_REL}");
        worst = worst.max(err);
    }
    println!("worst: {worst:.1e} (tolerance {F32_RUN_REL:.0e})");
}
