//! The method's claims, measured: one experiment per claim, each a table (CSV)
//! and a figure (SVG).
//!
//! - [`lr_sweep`]: "allows much higher learning rates without the risk of divergence".
//! - [`init_sweep`]: "less careful about initialization".
//! - [`batch_size`]: "if the batch size is small, the effect will be significantly reduced";
//!   Batch Renormalization and Layer Normalization as the remedies.
//! - [`dropout`]: a regularizer that "in some cases eliminates the need for Dropout".
//! - [`cnn`]: "MLP and CNN": the LeNet of [`crate::experiments::cnn`] with and without BN.
//! - [`depth`]: "Accelerating Deep Network Training": plain and residual CNNs of 2 to 16
//!   convolutions with and without BN; BN, GroupNorm and none at small batches.
//!
//! Every run is seeded; where one run would be noise (batch size, dropout) a cell is run
//! with three seeds and reported as mean, min and max. Where a learning rate must be
//! chosen (batch size, dropout), each cell tries a small grid on one seed, keeps the rate
//! with the best accuracy on a validation split carved out of the training digits (never
//! the test set), and then runs the seeds at that rate.
//!
//! A run *diverged* when its training loss became non-finite (training stops there), or when
//! its final test accuracy is at chance (at most [`CHANCE`]) with a final training loss above
//! [`DIVERGED_LOSS`] (worse than a uniform guess: a network that has not yet started to
//! learn, at chance with a loss just below ln 10, did not diverge).

pub mod batch_size;
pub mod cnn;
pub mod depth;
pub mod dropout;
pub mod init_sweep;
pub mod lr_sweep;

use std::fmt::Write as _;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U10, U784};
use bn_core::{Network, Rng, Sgd, StateDict};

use crate::mnist::Dataset;
use crate::plot::Figure;
// The figures are drawn by `crate::plot`, the accuracy measured by `crate::train`, the
// spread computed by `crate::stats`; these paths stay.
pub use crate::plot;
pub use crate::stats::Spread;
pub use crate::train::accuracy;
use crate::train::{run_side_by_side, Lane, Plan, Trainee, Watch};

/// Test accuracy at or below which a run counts as at chance (10 classes: 10 %, plus the
/// margin of the largest class of a 1,000-digit test set).
pub const CHANCE: f64 = 0.15;

/// Final training loss above which a run at chance counts as diverged: clearly above
/// ln 10 ≈ 2.30, the loss of a uniform guess (a network that has not started to learn sits
/// just below it; one that blew up, above).
pub const DIVERGED_LOSS: f64 = 2.5;

/// The names of the experiments, in the order `all` runs them.
pub const NAMES: [&str; 6] = ["lr_sweep", "init_sweep", "batch_size", "dropout", "cnn", "depth"];

/// The data of a run of the suite.
#[derive(Clone, Debug)]
pub struct Data {
    /// The training digits.
    pub train: Dataset,
    /// Every eighth training digit, held out to choose learning rates (the rest is
    /// [`Data::fit`]).
    pub validation: Dataset,
    /// The training digits without the validation split.
    pub fit: Dataset,
    /// The test digits (reported, never used to choose anything).
    pub test: Dataset,
}

impl Data {
    /// Splits `train` into fit and validation (every eighth digit) and keeps `test`.
    pub fn new(train: Dataset, test: Dataset) -> Self {
        let (validation, fit): (Vec<usize>, Vec<usize>) = (0..train.len()).partition(|i| i % 8 == 7);
        let (fit, validation) = (train.subset(&fit), train.subset(&validation));
        Data { train, validation, fit, test }
    }
}

/// What an experiment needs besides the data.
pub struct Context<'a> {
    /// The digits.
    pub data: &'a Data,
    /// Smaller grids and fewer steps (a smoke run: the suite in a few minutes, depth the longest).
    pub quick: bool,
    /// The base seed; runs derive theirs from it.
    pub seed: u64,
    /// Called with (runs done, runs in the experiment) after each run.
    pub progress: &'a dyn Fn(usize, usize),
}

/// What an experiment produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The experiment's name (its files are `NAME.csv` and `NAME.svg`).
    pub name: &'static str,
    /// The table as CSV, header first.
    pub csv: String,
    /// The table and its notes as printed.
    pub text: String,
    /// The figure.
    pub figure: Figure,
}

/// Runs the experiment called `name` (one of [`NAMES`]).
pub fn run(name: &str, ctx: &Context<'_>) -> Option<Report> {
    Some(match name {
        "lr_sweep" => lr_sweep::run(ctx),
        "init_sweep" => init_sweep::run(ctx),
        "batch_size" => batch_size::run(ctx),
        "dropout" => dropout::run(ctx),
        "cnn" => cnn::run(ctx),
        "depth" => depth::run(ctx),
        _ => return None,
    })
}

/// The outcome of one training run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// Steps done (fewer than asked when the loss became non-finite).
    pub steps: usize,
    /// Mean training loss over the last tenth of the steps (non-finite if it became so).
    pub final_loss: f64,
    /// Whether the training loss became non-finite.
    pub non_finite: bool,
}

/// Trains `net` for `steps` mini-batches of `B` digits drawn without replacement from
/// `data` (reshuffled each epoch, seeded), with softmax cross-entropy and `opt`;
/// `before_step(net, step, steps)` runs before each step (e.g. a renorm schedule). Stops at
/// the first non-finite loss. A [`run_side_by_side`] of one network, without evaluations.
pub fn train<N, B>(
    net: &mut N,
    data: &Dataset,
    steps: usize,
    opt: &Sgd<f32>,
    seed: u64,
    before_step: impl FnMut(&mut N, usize, usize),
) -> Outcome
where
    N: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    B: ArrayLength,
{
    let mut lane = Lane::<N, B>::new(net).with_dropout_seed(seed ^ 0xd0d0).with_before_step(before_step);
    let plan = Plan { steps, eval_every: steps.max(1), seed, watch: Watch::Loss, optimizer: &|_| *opt };
    run_side_by_side(&mut [&mut lane], data, None, &plan, |_| {}, |_| {});
    outcome_of(&lane, steps)
}

/// [`train`] without a hook, evaluating the eval path's accuracy on `test` at step 0, every
/// `eval_every` steps and the last step: `on_point(step, accuracy)` sees each (not after a
/// divergence). The same mini-batches and steps as [`train`].
pub fn train_evaluated<N, B>(
    net: &mut N,
    data: &Dataset,
    steps: usize,
    opt: &Sgd<f32>,
    seed: u64,
    (test, eval_every): (&Dataset, usize),
    mut on_point: impl FnMut(usize, f64),
) -> Outcome
where
    N: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    B: ArrayLength,
{
    let mut lane = Lane::<N, B>::new(net).with_dropout_seed(seed ^ 0xd0d0);
    let plan = Plan { steps, eval_every, seed, watch: Watch::Loss, optimizer: &|_| *opt };
    run_side_by_side(
        &mut [&mut lane],
        data,
        Some(test),
        &plan,
        |_| {},
        |point| {
            if point.lanes[0].diverged.is_none() {
                on_point(point.step, point.lanes[0].accuracy);
            }
        },
    );
    outcome_of(&lane, steps)
}

/// The [`Outcome`] of a lane trained for `steps` steps.
fn outcome_of<B: ArrayLength>(lane: &dyn Trainee<B>, steps: usize) -> Outcome {
    let losses = lane.losses();
    if let Some(d) = lane.diverged() {
        return Outcome { steps: d.step, final_loss: f64::from(d.loss), non_finite: true };
    }
    let tail = &losses[losses.len().saturating_sub((steps / 10).max(1))..];
    let final_loss = tail.iter().fold(0.0, |sum, &l| sum + f64::from(l)) / tail.len().max(1) as f64;
    Outcome { steps, final_loss, non_finite: false }
}

/// Whether a run diverged: a non-finite loss, or a test accuracy at chance with a final
/// training loss above [`DIVERGED_LOSS`].
pub fn diverged(outcome: &Outcome, test_accuracy: f64) -> bool {
    outcome.non_finite || (test_accuracy <= CHANCE && outcome.final_loss > DIVERGED_LOSS)
}

/// A table printed with right-aligned columns of at least the header's width.
pub(crate) fn format_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
        let parts: Vec<String> =
            cells.zip(&widths).map(|(c, &w)| format!("{}{c}", " ".repeat(w - c.chars().count()))).collect();
        let _ = writeln!(out, "{}", parts.join("  "));
    };
    line(&mut header.iter().copied(), &mut out);
    for row in rows {
        line(&mut row.iter().map(String::as_str), &mut out);
    }
    out
}

/// Seeds derived from the base seed: run `k`'s seed.
pub(crate) fn seed_of(base: u64, k: u64) -> u64 {
    base.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A trained network measured: validation, test and training-set accuracy (eval path).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    /// The training run.
    pub outcome: Outcome,
    /// Accuracy on the validation split (chooses the learning rate).
    pub validation: f64,
    /// Accuracy on the test set (reported).
    pub test: f64,
    /// Accuracy on the digits it was trained on.
    pub train: f64,
}

/// Trains a fresh `N` (initialized with N(0, `init_std`²) weights from `seed`) on `fit`
/// and measures it.
pub(crate) fn train_and_measure<N, B>(
    data: &Data,
    fit: &Dataset,
    steps: usize,
    lr: f64,
    init_std: f64,
    seed: u64,
    before_step: impl FnMut(&mut N, usize, usize),
) -> Measured
where
    N: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    B: ArrayLength,
{
    let mut net = bn_core::boxed_zeroed::<N>();
    net.init_with(Some(bn_core::Init::Gaussian { std: init_std }), &mut Rng::seed(seed));
    let outcome = train::<N, B>(&mut net, fit, steps, &Sgd::new(lr as f32), seed, before_step);
    Measured {
        outcome,
        validation: accuracy(&*net, &data.validation),
        test: accuracy(&*net, &data.test),
        train: accuracy(&*net, fit),
    }
}

/// A training run as the choice of a learning rate sees it.
pub trait Validated {
    /// Accuracy on the validation split.
    fn validation(&self) -> f64;
    /// Whether the run diverged ([`diverged`]).
    fn diverged(&self) -> bool;
}

impl Validated for Measured {
    fn validation(&self) -> f64 {
        self.validation
    }

    fn diverged(&self) -> bool {
        diverged(&self.outcome, self.test)
    }
}

/// A cell whose learning rate was chosen on the validation split: the rate, and the
/// seeds' runs at it.
#[derive(Clone, Debug, PartialEq)]
pub struct Tuned<R = Measured> {
    /// The chosen learning rate.
    pub lr: f64,
    /// Whether it is the grid's smallest or largest (the best rate may lie outside).
    pub at_edge: bool,
    /// Every rate of the grid and its run on the first seed, in the grid's order.
    pub grid: Vec<(f64, R)>,
    /// One run per seed at the chosen rate.
    pub runs: Vec<R>,
}

impl Tuned {
    /// The spread of the test accuracy over the seeds.
    pub fn test(&self) -> Spread {
        Spread::of(&self.runs.iter().map(|m| m.test).collect::<Vec<_>>())
    }

    /// The spread of the training-set accuracy over the seeds.
    pub fn train(&self) -> Spread {
        Spread::of(&self.runs.iter().map(|m| m.train).collect::<Vec<_>>())
    }
}

impl<R> Tuned<R> {
    /// The chosen rate, with `*` if it is at the grid's edge.
    pub fn lr_marked(&self) -> String {
        format!("{}{}", self.lr, if self.at_edge { "*" } else { "" })
    }
}

/// `x` rounded to three significant digits (the learning rates of a scaled grid).
pub(crate) fn round3(x: f64) -> f64 {
    format!("{x:.2e}").parse().unwrap_or(x)
}

/// Runs `one(lr, seed)` for every rate of `grid` with the first of `seeds`, keeps the rate
/// with the best validation accuracy (a diverged run counts as 0; of equal ones, the
/// later in the grid), and runs the other seeds at it. `tick` is called after each run.
///
/// # Panics
///
/// If `grid` or `seeds` is empty.
pub(crate) fn tune<R: Validated + Clone>(
    grid: &[f64],
    seeds: &[u64],
    mut one: impl FnMut(f64, u64) -> R,
    mut tick: impl FnMut(),
) -> Tuned<R> {
    let mut first = Vec::new();
    for &lr in grid {
        let m = one(lr, seeds[0]);
        tick();
        first.push((lr, m));
    }
    let score = |r: &R| if r.diverged() { 0.0 } else { r.validation() };
    let best = (0..first.len()).max_by(|&a, &b| score(&first[a].1).total_cmp(&score(&first[b].1))).expect("a grid");
    let lr = first[best].0;
    let mut runs = vec![first[best].1.clone()];
    for &seed in &seeds[1..] {
        runs.push(one(lr, seed));
        tick();
    }
    Tuned { lr, at_edge: grid.len() > 1 && (best == 0 || best == grid.len() - 1), grid: first, runs }
}
