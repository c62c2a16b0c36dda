//! Learning-rate schedules with PyTorch's definitions (see [`Schedule`]).

use super::adam::{Adam, AdamW};
use super::optim::Sgd;
use crate::float::Float;

/// A learning-rate schedule, with the definitions of PyTorch's `torch.optim.lr_scheduler`:
/// [`StepLr`], [`MultiStepLr`], [`CosineAnnealingLr`], [`LinearLr`] (the usual warm-up) and
/// [`OneCycleLr`], composed one after another with [`Schedule::then`] (PyTorch's
/// `SequentialLR`).
///
/// A schedule is a pure function of the step: [`Schedule::lr`] is the learning rate after
/// `t` calls of PyTorch's `scheduler.step()` (so `t = 0` before the first call), for an
/// optimizer created with the learning rate `base_lr`. Nothing is stored but the settings, so
/// a resumed run needs only `t` (what a checkpoint keeps) and gets the same values. Whether
/// `t` counts optimizer steps or epochs is the caller's choice, as in PyTorch (where it is
/// where `scheduler.step()` is called).
///
/// PyTorch computes most of these recursively from the previous step's value; the values
/// here are the closed forms of the same definitions (PyTorch's `_get_closed_form_lr`),
/// equal up to rounding in the last bits of an `f64` (the parity test,
/// `tests/pytorch_schedules.rs`, checks 1e-12 relative).
///
/// ```
/// use bn_core::{CosineAnnealingLr, LinearLr, Schedule, Sgd};
/// // Five steps of linear warm-up from lr/10, then cosine annealing to 0 over 95 steps.
/// let schedule = LinearLr::new(0.1, 1.0, 5).then(CosineAnnealingLr::new(95, 0.0), 5);
/// let base_lr = 0.5;
/// let mut opt = Sgd::new(base_lr as f32).with_momentum(0.9);
/// for t in 0..100 {
///     schedule.apply(&mut opt, base_lr, t); // sets opt.lr (and the momentum, for OneCycleLR)
///     // net.train_step(&x, &labels, &loss, &opt, &mut trainer);
/// }
/// assert_eq!(schedule.lr(base_lr, 0), 0.05);
/// assert_eq!(schedule.lr(base_lr, 5), 0.5);
/// assert!(schedule.lr(base_lr, 99) < 1e-3);
/// ```
pub trait Schedule {
    /// The learning rate after `t` steps of the schedule, for an optimizer whose initial
    /// learning rate is `base_lr` (PyTorch's `initial_lr`).
    fn lr(&self, base_lr: f64, t: u64) -> f64;

    /// The momentum the schedule sets after `t` steps (SGD's momentum, Adam's β₁), if it
    /// cycles the momentum ([`OneCycleLr`] does by default); `None` leaves it alone.
    fn momentum(&self, t: u64) -> Option<f64> {
        let _ = t;
        None
    }

    /// Sets `opt`'s learning rate (and momentum, if this schedule sets one) for step `t`.
    fn apply<O: Scheduled + ?Sized>(&self, opt: &mut O, base_lr: f64, t: u64) {
        opt.set_lr(self.lr(base_lr, t));
        if let Some(m) = self.momentum(t) {
            opt.set_momentum(m);
        }
    }

    /// This schedule for the steps before `milestone`, then `next` from its own step 0:
    /// PyTorch's `SequentialLR([self, next], milestones=[milestone])`. Chain more by calling
    /// `then` again (milestones counted from the start).
    fn then<S: Schedule>(self, next: S, milestone: u64) -> SequentialLr<Self, S>
    where
        Self: Sized,
    {
        SequentialLr { first: self, next, milestone }
    }
}

/// An optimizer whose learning rate (and momentum) a [`Schedule`] sets.
pub trait Scheduled {
    /// The learning rate (what a schedule's `base_lr` usually is).
    fn lr(&self) -> f64;
    /// Sets the learning rate.
    fn set_lr(&mut self, lr: f64);
    /// Sets the momentum (SGD's momentum, Adam's β₁), as PyTorch's `OneCycleLR` does.
    fn set_momentum(&mut self, momentum: f64);
}

impl<T: Float> Scheduled for Sgd<T> {
    fn lr(&self) -> f64 {
        self.lr.to_f64()
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = T::from_f64(lr);
    }
    fn set_momentum(&mut self, momentum: f64) {
        self.momentum = T::from_f64(momentum);
    }
}

impl Scheduled for Adam {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    /// Sets β₁, as PyTorch's `OneCycleLR` does for Adam.
    fn set_momentum(&mut self, momentum: f64) {
        self.betas.0 = momentum;
    }
}

impl Scheduled for AdamW {
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    /// Sets β₁, as PyTorch's `OneCycleLR` does for AdamW.
    fn set_momentum(&mut self, momentum: f64) {
        self.betas.0 = momentum;
    }
}

/// A constant learning rate: `base_lr` at every step (no schedule).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FixedLr;

impl Schedule for FixedLr {
    fn lr(&self, base_lr: f64, _t: u64) -> f64 {
        base_lr
    }
}

/// PyTorch's `StepLR`: `base_lr · γ^⌊t / step_size⌋`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    /// Steps between two decays (at least 1).
    pub step_size: u64,
    /// The factor of each decay.
    pub gamma: f64,
}

impl StepLr {
    /// Multiplies the learning rate by `gamma` every `step_size` steps (PyTorch's default
    /// `gamma` is 0.1). Panics if `step_size` is 0.
    pub fn new(step_size: u64, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLr: step_size must be at least 1");
        StepLr { step_size, gamma }
    }
}

impl Schedule for StepLr {
    fn lr(&self, base_lr: f64, t: u64) -> f64 {
        base_lr * powi(self.gamma, t / self.step_size)
    }
}

/// PyTorch's `MultiStepLR`: `base_lr · γ^k`, where `k` is the number of milestones `≤ t`.
///
/// The milestones are any list of steps (`[u64; N]`, `Vec<u64>`, `&[u64]`); they need not be
/// sorted, and a milestone given twice decays twice, as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiStepLr<M = &'static [u64]> {
    /// The steps at which the learning rate is multiplied by `gamma`.
    pub milestones: M,
    /// The factor of each decay.
    pub gamma: f64,
}

impl<M: AsRef<[u64]>> MultiStepLr<M> {
    /// Multiplies the learning rate by `gamma` at each milestone.
    pub fn new(milestones: M, gamma: f64) -> Self {
        MultiStepLr { milestones, gamma }
    }
}

impl<M: AsRef<[u64]>> Schedule for MultiStepLr<M> {
    fn lr(&self, base_lr: f64, t: u64) -> f64 {
        let passed = self.milestones.as_ref().iter().filter(|&&m| m <= t).count();
        base_lr * powi(self.gamma, passed as u64)
    }
}

/// PyTorch's `CosineAnnealingLR`:
/// `η_min + (base_lr − η_min) · (1 + cos(π · t / T_max)) / 2`.
///
/// From `base_lr` at step 0 to `η_min` at `T_max`; past `T_max` the cosine goes on (back up
/// at `2·T_max`), as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingLr {
    /// The half period, in steps (at least 1).
    pub t_max: u64,
    /// The minimum learning rate.
    pub eta_min: f64,
}

impl CosineAnnealingLr {
    /// Anneals to `eta_min` over `t_max` steps. Panics if `t_max` is 0.
    pub fn new(t_max: u64, eta_min: f64) -> Self {
        assert!(t_max > 0, "CosineAnnealingLr: t_max must be at least 1");
        CosineAnnealingLr { t_max, eta_min }
    }
}

impl Schedule for CosineAnnealingLr {
    fn lr(&self, base_lr: f64, t: u64) -> f64 {
        let cos = libm::cos(core::f64::consts::PI * t as f64 / self.t_max as f64);
        self.eta_min + (base_lr - self.eta_min) * (1.0 + cos) / 2.0
    }
}

/// PyTorch's `LinearLR`, the usual warm-up: the factor of `base_lr` goes linearly from
/// `start_factor` to `end_factor` over `total_iters` steps, then stays:
/// `base_lr · (start + (end − start) · min(t, total_iters) / total_iters)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearLr {
    /// The factor at step 0 (PyTorch's default 1/3).
    pub start_factor: f64,
    /// The factor from step `total_iters` on (PyTorch's default 1).
    pub end_factor: f64,
    /// Steps of the ramp (PyTorch's default 5; at least 1).
    pub total_iters: u64,
}

impl LinearLr {
    /// A ramp of the factor from `start_factor` to `end_factor` over `total_iters` steps.
    /// Panics if `total_iters` is 0.
    pub fn new(start_factor: f64, end_factor: f64, total_iters: u64) -> Self {
        assert!(total_iters > 0, "LinearLr: total_iters must be at least 1");
        LinearLr { start_factor, end_factor, total_iters }
    }

    /// A warm-up from `base_lr · start_factor` to `base_lr` over `steps` steps.
    pub fn warmup(start_factor: f64, steps: u64) -> Self {
        Self::new(start_factor, 1.0, steps)
    }
}

impl Schedule for LinearLr {
    fn lr(&self, base_lr: f64, t: u64) -> f64 {
        let done = t.min(self.total_iters) as f64 / self.total_iters as f64;
        base_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)
    }
}

/// How [`OneCycleLr`] moves between two values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anneal {
    /// `end + (start − end) / 2 · (1 + cos(π · pct))` (PyTorch's `'cos'`, the default).
    Cos,
    /// `start + (end − start) · pct` (PyTorch's `'linear'`).
    Linear,
}

impl Anneal {
    fn between(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * (libm::cos(core::f64::consts::PI * pct) + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// PyTorch's `OneCycleLR` (Smith & Topin 2017, "Super-Convergence"): from
/// `max_lr / div_factor` up to `max_lr` over the first `pct_start` of `total_steps`, then down
/// to `max_lr / div_factor / final_div_factor` at step `total_steps − 1`; with
/// `three_phase`, back to the initial value at `2 · pct_start` and down to the minimum after.
/// The momentum moves the opposite way, from `max_momentum` to `base_momentum` and back,
/// unless disabled with [`without_momentum`](Self::without_momentum).
///
/// It ignores the optimizer's own learning rate (`base_lr`), as PyTorch's does. PyTorch
/// raises an error past `total_steps`; here the value of step `total_steps` holds from then
/// on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycleLr {
    /// The peak learning rate.
    pub max_lr: f64,
    /// The length of the cycle, in steps (at least 2).
    pub total_steps: u64,
    /// The fraction of the cycle spent increasing the learning rate (default 0.3).
    pub pct_start: f64,
    /// How values move (default [`Anneal::Cos`]).
    pub anneal: Anneal,
    /// `(base_momentum, max_momentum)` (default `(0.85, 0.95)`), or `None` to leave the
    /// momentum alone (PyTorch's `cycle_momentum=False`).
    pub momentum: Option<(f64, f64)>,
    /// The initial learning rate is `max_lr / div_factor` (default 25).
    pub div_factor: f64,
    /// The final learning rate is the initial one divided by this (default 1e4).
    pub final_div_factor: f64,
    /// The three-phase variant (default false).
    pub three_phase: bool,
}

impl OneCycleLr {
    /// One cycle of `total_steps` steps peaking at `max_lr`, with PyTorch's defaults.
    /// Panics if `total_steps` is below 2.
    pub fn new(max_lr: f64, total_steps: u64) -> Self {
        assert!(total_steps >= 2, "OneCycleLr: total_steps must be at least 2");
        OneCycleLr {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            momentum: Some((0.85, 0.95)),
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
    /// Sets the fraction of the cycle spent increasing the learning rate.
    pub fn with_pct_start(self, pct_start: f64) -> Self {
        OneCycleLr { pct_start, ..self }
    }
    /// Sets the annealing strategy.
    pub fn with_anneal(self, anneal: Anneal) -> Self {
        OneCycleLr { anneal, ..self }
    }
    /// Sets the momentum range `(base_momentum, max_momentum)`.
    pub fn with_momentum(self, base_momentum: f64, max_momentum: f64) -> Self {
        OneCycleLr { momentum: Some((base_momentum, max_momentum)), ..self }
    }
    /// Leaves the momentum alone (PyTorch's `cycle_momentum=False`).
    pub fn without_momentum(self) -> Self {
        OneCycleLr { momentum: None, ..self }
    }
    /// Sets `div_factor` and `final_div_factor`.
    pub fn with_div_factors(self, div_factor: f64, final_div_factor: f64) -> Self {
        OneCycleLr { div_factor, final_div_factor, ..self }
    }
    /// The three-phase variant.
    pub fn with_three_phase(self) -> Self {
        OneCycleLr { three_phase: true, ..self }
    }

    /// The phase of step `t`, PyTorch's `_schedule_phases`: `(pct, lr from, lr to, momentum
    /// from, momentum to)`, momenta as indices 0 = base, 1 = max.
    fn phase(&self, t: u64) -> (f64, [f64; 2], [usize; 2]) {
        let step = t.min(self.total_steps) as f64;
        let total = self.total_steps as f64;
        let initial = self.max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let (base, max) = (0, 1);
        let mut phases = [(0.0, [0.0; 2], [0; 2]); 3];
        let n = if self.three_phase {
            phases[0] = (self.pct_start * total - 1.0, [initial, self.max_lr], [max, base]);
            phases[1] = (2.0 * self.pct_start * total - 2.0, [self.max_lr, initial], [base, max]);
            phases[2] = (total - 1.0, [initial, min], [max, max]);
            3
        } else {
            phases[0] = (self.pct_start * total - 1.0, [initial, self.max_lr], [max, base]);
            phases[1] = (total - 1.0, [self.max_lr, min], [base, max]);
            2
        };
        let mut start = 0.0;
        for (i, &(end, lrs, moms)) in phases[..n].iter().enumerate() {
            if step <= end || i == n - 1 {
                return ((step - start) / (end - start), lrs, moms);
            }
            start = end;
        }
        unreachable!("the last phase always matches")
    }
}

impl Schedule for OneCycleLr {
    fn lr(&self, _base_lr: f64, t: u64) -> f64 {
        let (pct, [from, to], _) = self.phase(t);
        self.anneal.between(from, to, pct)
    }

    fn momentum(&self, t: u64) -> Option<f64> {
        let (base, max) = self.momentum?;
        let (pct, _, [from, to]) = self.phase(t);
        let value = |i: usize| if i == 0 { base } else { max };
        Some(self.anneal.between(value(from), value(to), pct))
    }
}

/// Two schedules one after the other (PyTorch's `SequentialLR`): `first` before
/// `milestone`, then `next` at `t − milestone`. Made by [`Schedule::then`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequentialLr<A, B> {
    /// The schedule of the steps before `milestone`.
    pub first: A,
    /// The schedule from `milestone` on, started at its own step 0.
    pub next: B,
    /// The step at which `next` takes over.
    pub milestone: u64,
}

impl<A: Schedule, B: Schedule> Schedule for SequentialLr<A, B> {
    fn lr(&self, base_lr: f64, t: u64) -> f64 {
        if t < self.milestone {
            self.first.lr(base_lr, t)
        } else {
            self.next.lr(base_lr, t - self.milestone)
        }
    }

    fn momentum(&self, t: u64) -> Option<f64> {
        if t < self.milestone {
            self.first.momentum(t)
        } else {
            self.next.momentum(t - self.milestone)
        }
    }
}

/// `x^n` by the exponent's bits (PyTorch uses Python's `float ** int`, C's `pow`; both are
/// within an ulp or two for the small exponents of a schedule).
fn powi(x: f64, n: u64) -> f64 {
    libm::pow(x, n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_multistep_follow_their_definitions() {
        let s = StepLr::new(3, 0.5);
        let lrs: [f64; 7] = core::array::from_fn(|t| s.lr(1.0, t as u64));
        assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
        let m = MultiStepLr::new([4, 2], 0.1);
        assert_eq!(m.lr(2.0, 1), 2.0);
        assert_eq!(m.lr(2.0, 2), 2.0 * 0.1);
        approx::assert_relative_eq!(m.lr(2.0, 9), 2.0 * 0.01, max_relative = 1e-15);
    }

    #[test]
    fn cosine_reaches_eta_min_and_comes_back() {
        let c = CosineAnnealingLr::new(10, 0.01);
        assert_eq!(c.lr(0.1, 0), 0.1);
        approx::assert_relative_eq!(c.lr(0.1, 5), 0.055, max_relative = 1e-15);
        approx::assert_relative_eq!(c.lr(0.1, 10), 0.01, max_relative = 1e-15);
        approx::assert_relative_eq!(c.lr(0.1, 20), 0.1, max_relative = 1e-15);
    }

    #[test]
    fn linear_warmup_then_holds() {
        let w = LinearLr::new(0.25, 1.0, 4);
        let lrs: [f64; 6] = core::array::from_fn(|t| w.lr(2.0, t as u64));
        assert_eq!(lrs, [0.5, 0.875, 1.25, 1.625, 2.0, 2.0]);
    }

    #[test]
    fn one_cycle_rises_to_max_then_falls_to_the_minimum() {
        let o = OneCycleLr::new(1.0, 100);
        approx::assert_relative_eq!(o.lr(123.0, 0), 1.0 / 25.0, max_relative = 1e-14);
        assert_eq!(o.momentum(0), Some(0.95));
        // The peak at pct_start · total − 1 = 29, with the momentum at its base.
        approx::assert_relative_eq!(o.lr(0.0, 29), 1.0, max_relative = 1e-15);
        approx::assert_relative_eq!(o.momentum(29).unwrap(), 0.85, max_relative = 1e-15);
        approx::assert_relative_eq!(o.lr(0.0, 99), 1.0 / 25.0 / 1e4, max_relative = 1e-12);
        assert_eq!(o.lr(0.0, 500), o.lr(0.0, 100));
        assert_eq!(o.without_momentum().momentum(10), None);
        let three = o.with_three_phase();
        approx::assert_relative_eq!(three.lr(0.0, 58), 1.0 / 25.0, max_relative = 1e-12);
    }

    #[test]
    fn sequential_restarts_the_next_schedule_at_the_milestone() {
        let s = LinearLr::new(0.5, 1.0, 2).then(StepLr::new(1, 0.5), 3).then(FixedLr, 5);
        let lrs: [f64; 7] = core::array::from_fn(|t| s.lr(1.0, t as u64));
        assert_eq!(lrs, [0.5, 0.75, 1.0, 1.0, 0.5, 1.0, 1.0]);
    }

    #[test]
    fn apply_sets_the_learning_rate_and_the_momentum() {
        let mut sgd = Sgd::new(0.0f32);
        OneCycleLr::new(0.5, 10).apply(&mut sgd, 0.1, 0);
        assert_eq!((sgd.lr, sgd.momentum), (0.02, 0.95));
        StepLr::new(1, 0.5).apply(&mut sgd, 0.1, 1);
        assert_eq!((sgd.lr, sgd.momentum), (0.05, 0.95));
        let mut adam = AdamW::new(0.0);
        OneCycleLr::new(0.5, 10).with_momentum(0.8, 0.9).apply(&mut adam, 0.1, 0);
        assert_eq!((adam.lr, adam.betas), (OneCycleLr::new(0.5, 10).lr(0.1, 0), (0.9, 0.999)));
        approx::assert_relative_eq!(adam.lr, 0.02, max_relative = 1e-14);
    }
}
