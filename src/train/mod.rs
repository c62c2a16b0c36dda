//! Training networks side by side: one runner for every experiment.
//!
//! [`run_side_by_side`] trains any number of networks (each a [`Lane`]) on the same
//! mini-batches, drawn by one seeded [`EpochSampler`], with the same optimizer at every step.
//! After each step it checks every network for a [`Divergence`] (a diverged network trains
//! no more; the others go on), and at every evaluation point (step 0, every
//! [`Plan::eval_every`] steps, and the last step) it reports, per network, the mean
//! training loss since the previous point and the eval path's test accuracy ([`evaluate`],
//! in chunks), with the values a probe reads from the evaluation's workspace.
//!
//! The paper's experiment, the convolutional one and every run of the claims
//! ([`crate::experiments`]) are built on it; [`accuracy`] and [`check_folding`] measure the
//! trained networks.

pub mod divergence;
mod eval;
mod sampler;

use std::time::Instant;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U10, U100, U784};
use bn_core::{Network, Sgd, SoftmaxCrossEntropy, StateDict, Trainer};

pub use self::divergence::Divergence;
pub use self::eval::{
    accuracy, check_folding, check_int8, evaluate, Evaluator, FoldCheck, Int8Check, Timing, CALIBRATION,
};
pub use self::sampler::{fill_rows, EpochSampler, MiniBatch};
use crate::mnist::Dataset;

/// What counts as a divergence after a training step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watch {
    /// A non-finite loss (no pass over the parameters: for many short runs).
    Loss,
    /// A non-finite loss, parameter or population statistic ([`Divergence::check`]).
    LossAndState,
}

/// How [`run_side_by_side`] trains.
#[derive(Clone, Copy)]
pub struct Plan<'a> {
    /// Training steps (mini-batches).
    pub steps: usize,
    /// Report an evaluation point every this many steps (and at step 0 and the last step).
    pub eval_every: usize,
    /// Seed of the mini-batch order ([`EpochSampler::new`]).
    pub seed: u64,
    /// What counts as a divergence.
    pub watch: Watch,
    /// The optimizer of step `step` (1-based), the same for every network.
    pub optimizer: &'a dyn Fn(usize) -> Sgd<f32>,
}

/// A network in training, as [`run_side_by_side`] sees it: [`Lane`] for any network type
/// (the trait makes networks of different types one slice).
pub trait Trainee<B: ArrayLength> {
    /// Step `step` (1-based) of `steps` on `batch`, unless the network has diverged;
    /// records the loss and checks for a divergence as `watch` says.
    fn train(&mut self, step: usize, steps: usize, batch: &MiniBatch<B>, opt: &Sgd<f32>, watch: Watch);
    /// Where the network diverged, if it did.
    fn diverged(&self) -> Option<Divergence>;
    /// The loss of every step trained, in order.
    fn losses(&self) -> &[f32];
    /// The accuracy of the eval path on `data`, and the probe's value for every digit (none
    /// without a probe).
    fn evaluate(&mut self, data: &Dataset) -> (f64, Vec<f32>);
}

/// A probe: the value of interest for row `b` of an evaluation chunk's workspace (see
/// [`Lane::with_probe`]).
pub type Probe<'a, N, C> = Box<dyn Fn(&<N as Network>::Workspace<C>, usize) -> f32 + 'a>;
/// A hook run before each training step: `(net, steps done, steps)`.
type BeforeStep<'a, N> = Box<dyn FnMut(&mut N, usize, usize) + 'a>;

/// One network trained by [`run_side_by_side`] at batch size `B`, evaluated in chunks of
/// `C`: its trainer, its losses, its divergence and the seconds spent in its steps.
pub struct Lane<'a, N: Network, B: ArrayLength, C: ArrayLength = U100> {
    net: &'a mut N,
    trainer: Box<Trainer<N, B>>,
    /// The evaluation's buffers, allocated at the first evaluation.
    eval: Option<Evaluator<N, C>>,
    probe: Option<Probe<'a, N, C>>,
    before_step: Option<BeforeStep<'a, N>>,
    losses: Vec<f32>,
    diverged: Option<Divergence>,
    seconds: f64,
}

impl<'a, N, B, C> Lane<'a, N, B, C>
where
    N: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    B: ArrayLength,
    C: ArrayLength,
{
    /// A lane training `net` with a fresh trainer (optimizer state zero, dropout state 0).
    pub fn new(net: &'a mut N) -> Self {
        Lane {
            net,
            trainer: Trainer::new_boxed(),
            eval: None,
            probe: None,
            before_step: None,
            losses: Vec::new(),
            diverged: None,
            seconds: 0.0,
        }
    }

    /// Seeds the random state of the network's dropout masks ([`Trainer::seed`]).
    pub fn with_dropout_seed(mut self, seed: u64) -> Self {
        self.trainer.seed(seed);
        self
    }

    /// Reads `probe(ws, b)` for every digit `b` of every evaluation chunk, from the chunk's
    /// workspace after its forward (e.g. the input of one unit of a hidden layer).
    pub fn with_probe(mut self, probe: impl Fn(&N::Workspace<C>, usize) -> f32 + 'a) -> Self {
        self.probe = Some(Box::new(probe));
        self
    }

    /// Runs `hook(net, steps done, steps)` before each training step (e.g. a schedule).
    pub fn with_before_step(mut self, hook: impl FnMut(&mut N, usize, usize) + 'a) -> Self {
        self.before_step = Some(Box::new(hook));
        self
    }

    /// Wall-clock seconds spent in this network's training steps (and divergence checks).
    pub fn seconds(&self) -> f64 {
        self.seconds
    }
}

impl<N, B, C> Trainee<B> for Lane<'_, N, B, C>
where
    N: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    B: ArrayLength,
    C: ArrayLength,
{
    fn train(&mut self, step: usize, steps: usize, batch: &MiniBatch<B>, opt: &Sgd<f32>, watch: Watch) {
        if self.diverged.is_some() {
            return;
        }
        let t0 = Instant::now();
        if let Some(hook) = &mut self.before_step {
            hook(self.net, step - 1, steps);
        }
        let loss = self.net.train_step(&*batch.x, &batch.labels, &SoftmaxCrossEntropy, opt, &mut self.trainer);
        self.diverged = match watch {
            Watch::Loss => Divergence::of_loss(step, loss),
            Watch::LossAndState => Divergence::check(step, loss, &*self.net),
        };
        self.losses.push(loss);
        self.seconds += t0.elapsed().as_secs_f64();
    }

    fn diverged(&self) -> Option<Divergence> {
        self.diverged
    }

    fn losses(&self) -> &[f32] {
        &self.losses
    }

    fn evaluate(&mut self, data: &Dataset) -> (f64, Vec<f32>) {
        let evaluator = self.eval.get_or_insert_with(Evaluator::new);
        let mut values = Vec::new();
        let probe = self.probe.as_deref();
        let accuracy = evaluator.accuracy(self.net, data, |ws, n| {
            if let Some(probe) = probe {
                values.extend((0..n).map(|b| probe(ws, b)));
            }
        });
        (accuracy, values)
    }
}

/// One network at an evaluation point.
#[derive(Clone, Debug, PartialEq)]
pub struct LanePoint {
    /// Test accuracy of the eval path (NaN once diverged, or without a test set).
    pub accuracy: f64,
    /// Mean training loss since the previous point (NaN at step 0 and once diverged).
    pub loss: f64,
    /// The probe's value for every test digit (empty without a probe, a test set, or once
    /// diverged).
    pub probe: Vec<f32>,
    /// Where the network diverged, if it did by this step.
    pub diverged: Option<Divergence>,
}

/// An evaluation point: the networks after `step` steps, in the order of the lanes.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Training steps done.
    pub step: usize,
    /// One entry per lane.
    pub lanes: Vec<LanePoint>,
}

/// Trains `lanes` side by side for `plan.steps` steps on the same mini-batches of `train`
/// (drawn by an [`EpochSampler`] seeded with `plan.seed`) with the optimizer `plan` gives
/// for each step, lane after lane. `on_point` sees every evaluation point (step 0, every
/// `plan.eval_every` steps, the last step; the lanes are evaluated on `test` if given),
/// `progress` the steps done after each step.
///
/// A lane that diverges trains no more and reports NaN from then on; once every lane has
/// diverged no more mini-batches are drawn.
pub fn run_side_by_side<B: ArrayLength>(
    lanes: &mut [&mut dyn Trainee<B>],
    train: &Dataset,
    test: Option<&Dataset>,
    plan: &Plan<'_>,
    mut progress: impl FnMut(usize),
    mut on_point: impl FnMut(Point),
) {
    assert!(train.len() >= B::USIZE, "{} digits cannot fill a mini-batch of {}", train.len(), B::USIZE);
    assert!(plan.eval_every > 0, "eval_every must be positive");
    let mut sampler = EpochSampler::new(train.len(), plan.seed);
    let mut batch = MiniBatch::<B>::new();
    // Each lane's number of losses at the previous point.
    let mut seen = vec![0; lanes.len()];
    let mut point = |step: usize, lanes: &mut [&mut dyn Trainee<B>]| {
        let lanes = lanes
            .iter_mut()
            .zip(&mut seen)
            .map(|(lane, seen)| {
                let new = &lane.losses()[*seen..];
                *seen += new.len();
                let diverged = lane.diverged();
                let loss = if diverged.is_some() || new.is_empty() {
                    f64::NAN
                } else {
                    new.iter().fold(0.0, |sum, &l| sum + f64::from(l)) / new.len() as f64
                };
                let (accuracy, probe) = match test {
                    Some(test) if diverged.is_none() => lane.evaluate(test),
                    _ => (f64::NAN, Vec::new()),
                };
                LanePoint { accuracy, loss, probe, diverged }
            })
            .collect();
        on_point(Point { step, lanes });
    };
    point(0, lanes);
    for step in 1..=plan.steps {
        if lanes.iter().any(|lane| lane.diverged().is_none()) {
            batch.draw(&mut sampler, train);
            let opt = (plan.optimizer)(step);
            for lane in lanes.iter_mut() {
                lane.train(step, plan.steps, &batch, &opt, plan.watch);
            }
        }
        if step % plan.eval_every == 0 || step == plan.steps {
            point(step, lanes);
        }
        progress(step);
    }
}
