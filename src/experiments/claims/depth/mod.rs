//! "Batch Normalization: Accelerating Deep Network Training": narrow CNNs of 2, 4, 8 and 16
//! convolutions, plain and residual, with and without BN, trained from the same weights on
//! the same mini-batches; and, for the deepest residual network, BN against GroupNorm and no
//! normalization at batch sizes 2, 8 and 60.
//!
//! The networks ([`networks`]): a stride-2 stem (`conv2d(8, kernel = 3, stride = 2,
//! padding = 1)` → 8×14×14), then `d` convolutions of 8 channels (3×3, padding 1), then
//! `flatten, dense(10)`. Plain: each convolution followed by `relu` (by `batchnorm, relu`
//! with BN). Residual: `d/2` identity blocks `residual { conv, (norm), relu, conv, (norm) },
//! relu`. Every convolution is He-initialized (`network!`'s default before a ReLU), and
//! every network of one depth from the same seed draws the same weights
//! ([`initial_weights`]); every run sees the same mini-batches (one seed), plain SGD.
//!
//! Each cell (depth × plain/residual × BN or none, at batch 60) trains for a fixed budget of
//! steps at every rate of a small grid; the rate with the best accuracy on the validation
//! split (every eighth training digit, held out; a diverged run counts as 0) is the cell's
//! (chosen as in the batch-size experiment, by the same `tune`). The cell reports that run's
//! final test accuracy, the first evaluation step at which its test accuracy reached 90 %
//! ("steps to 90 %", evaluated every [`EVAL_EVERY`] steps), and the largest rate of the grid
//! that trained at all ([`Cell::largest_trained`]).
//!
//! The batch-size part trains the 16-convolution residual network with BN, GroupNorm
//! (`groupnorm(2)`) and none on the same number of digits at every batch size (steps ×
//! 60 / B, evaluated as often in digits), its grid scaled by `√(B/60)` as in the batch-size
//! experiment; its batch-60 BN and none cells are the depth cells.
//!
//! Output: `depth.csv`, `depth,residual,norm,lr,final_test_accuracy,steps_to_90,diverged,
//! batch` (`norm` one of `none`, `bn`, `gn`; `residual` and `diverged` 0 or 1; `steps_to_90`
//! empty when the run never reached 90 %, counted in steps of its batch size; `batch` added
//! at the end for the batch-size part), a figure of four panels (accuracy, steps to 90 % and
//! the largest rate that trained against depth, accuracy against batch size), and the
//! tables.

pub mod networks;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U10, U2, U60, U784, U8};
use bn_core::{Network, Rng, Sgd, StateDict, TensorRef};

use self::networks::*;
use super::{diverged, format_table, round3, train_evaluated, tune, Context, Data, Outcome, Report, Tuned, Validated};
use crate::plot::{Axis, Figure, Line, Panel, PALETTE};
use crate::train::accuracy;

/// The depths: convolutions after the stem.
pub const DEPTHS: [usize; 4] = [2, 4, 8, 16];
/// The learning-rate grid at batch 60 (full run).
pub const LR_GRID: [f64; 5] = [0.01, 0.03, 0.1, 0.3, 1.0];
/// The quick run's.
pub const QUICK_LR_GRID: [f64; 2] = [0.03, 0.3];
/// Training steps of a run at batch 60 (full, quick); at batch B, × 60 / B.
pub const STEPS: (usize, usize) = (400, 150);
/// Evaluate the test accuracy every this many steps at batch 60 (full, quick); at batch B,
/// × 60 / B.
pub const EVAL_EVERY: (usize, usize) = (25, 25);
/// The batch sizes of the normalization comparison.
pub const BATCHES: [usize; 3] = [2, 8, 60];
/// The accuracy whose first step is reported.
pub const TARGET: f64 = 0.9;

/// A normalization after the convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// None (the convolutions have a bias).
    None,
    /// `batchnorm` (the convolutions have no bias).
    Bn,
    /// `groupnorm(2)`: two groups of 4 channels (the convolutions have no bias).
    Gn,
}

impl Norm {
    /// The name in the CSV and the tables: `none`, `bn`, `gn`.
    pub fn name(self) -> &'static str {
        match self {
            Norm::None => "none",
            Norm::Bn => "bn",
            Norm::Gn => "gn",
        }
    }
}

/// A network of the experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    /// Convolutions after the stem (one of [`DEPTHS`]).
    pub depth: usize,
    /// With identity skips around pairs of convolutions.
    pub residual: bool,
    /// The normalization after each convolution.
    pub norm: Norm,
}

impl Arch {
    /// `plain`, `plain + BN`, `residual`, `residual + BN`, `residual + GN`: the legend's name.
    pub fn family(self) -> String {
        let base = if self.residual { "residual" } else { "plain" };
        match self.norm {
            Norm::None => base.to_string(),
            Norm::Bn => format!("{base} + BN"),
            Norm::Gn => format!("{base} + GN"),
        }
    }
}

/// The (residual, normalization) families compared at every depth, in the tables' order.
pub const FAMILIES: [(bool, Norm); 4] = [(false, Norm::None), (false, Norm::Bn), (true, Norm::None), (true, Norm::Bn)];

/// The normalizations of the batch-size part.
pub const BATCH_NORMS: [Norm; 3] = [Norm::Bn, Norm::Gn, Norm::None];

/// How long a run trains and how often it is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Training steps.
    pub steps: usize,
    /// Evaluate the test accuracy every this many steps (and at the last).
    pub eval_every: usize,
}

impl Budget {
    /// The budget at batch size `batch` for `self` at batch 60: the same digits seen,
    /// evaluated as often.
    pub fn at_batch(self, batch: usize) -> Budget {
        Budget { steps: self.steps * 60 / batch, eval_every: (self.eval_every * 60 / batch).max(1) }
    }
}

/// One training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The training run.
    pub outcome: Outcome,
    /// Accuracy on the validation split (chooses the rate).
    pub validation: f64,
    /// Final test accuracy.
    pub test: f64,
    /// The test accuracy at step 0, every `eval_every` steps and the last step (up to a
    /// divergence).
    pub curve: Vec<(usize, f64)>,
}

impl Validated for Run {
    fn validation(&self) -> f64 {
        self.validation
    }

    fn diverged(&self) -> bool {
        diverged(&self.outcome, self.test)
    }
}

impl Run {
    /// The first evaluated step at which the test accuracy reached `acc`.
    pub fn steps_to(&self, acc: f64) -> Option<usize> {
        self.curve.iter().find(|(_, a)| *a >= acc).map(|(s, _)| *s)
    }

    /// `96.1 %`, with ` (diverged)` or ` (at chance)` where it applies.
    pub fn percent(&self) -> String {
        let note = if self.diverged() {
            " (diverged)"
        } else if self.test <= super::CHANCE {
            " (at chance)"
        } else {
            ""
        };
        format!("{:.1} %{note}", 100.0 * self.test)
    }
}

/// Trains a fresh `N` (`network!`'s default initialization from `seed`) on the fit split at
/// batch `B` and measures it.
fn train_one<N, B>(data: &Data, budget: Budget, lr: f64, seed: u64) -> Run
where
    N: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    B: ArrayLength,
{
    let mut net = bn_core::boxed_zeroed::<N>();
    net.init_with(None, &mut Rng::seed(seed));
    let mut curve = Vec::new();
    let opt = Sgd::new(lr as f32);
    let eval = (&data.test, budget.eval_every);
    let outcome = train_evaluated::<N, B>(&mut net, &data.fit, budget.steps, &opt, seed, eval, |step, acc| {
        curve.push((step, acc));
    });
    Run { outcome, validation: accuracy(&*net, &data.validation), test: accuracy(&*net, &data.test), curve }
}

/// The weight tensors (convolutions and the dense layer, not biases or normalizations) of
/// network `N` initialized from `seed`, in order.
fn weights_of<N: Network<Scalar = f32> + StateDict<Scalar = f32>>(seed: u64) -> Vec<Vec<f32>> {
    let mut net = bn_core::boxed_zeroed::<N>();
    net.init_with(None, &mut Rng::seed(seed));
    let mut out = Vec::new();
    net.visit(&mut |_, t| {
        if let TensorRef::Matrix { data, .. } | TensorRef::Tensor4 { data, .. } = t {
            out.push(data.to_vec());
        }
    });
    out
}

/// Calls `$go!(Network, BatchSize)` for the network of `$arch` at batch `$batch`: every
/// network at batch 60, the 16-convolution residual ones at every one of [`BATCHES`].
macro_rules! with_network {
    ($arch:expr, $batch:expr, $go:ident) => {{
        let Arch { depth, residual, norm } = $arch;
        match (residual, norm, depth, $batch) {
            (false, Norm::None, 2, 60) => $go!(DepthPlain2, U60),
            (false, Norm::None, 4, 60) => $go!(DepthPlain4, U60),
            (false, Norm::None, 8, 60) => $go!(DepthPlain8, U60),
            (false, Norm::None, 16, 60) => $go!(DepthPlain16, U60),
            (false, Norm::Bn, 2, 60) => $go!(DepthPlain2Bn, U60),
            (false, Norm::Bn, 4, 60) => $go!(DepthPlain4Bn, U60),
            (false, Norm::Bn, 8, 60) => $go!(DepthPlain8Bn, U60),
            (false, Norm::Bn, 16, 60) => $go!(DepthPlain16Bn, U60),
            (true, Norm::None, 2, 60) => $go!(DepthRes2, U60),
            (true, Norm::None, 4, 60) => $go!(DepthRes4, U60),
            (true, Norm::None, 8, 60) => $go!(DepthRes8, U60),
            (true, Norm::None, 16, 60) => $go!(DepthRes16, U60),
            (true, Norm::None, 16, 8) => $go!(DepthRes16, U8),
            (true, Norm::None, 16, 2) => $go!(DepthRes16, U2),
            (true, Norm::Bn, 2, 60) => $go!(DepthRes2Bn, U60),
            (true, Norm::Bn, 4, 60) => $go!(DepthRes4Bn, U60),
            (true, Norm::Bn, 8, 60) => $go!(DepthRes8Bn, U60),
            (true, Norm::Bn, 16, 60) => $go!(DepthRes16Bn, U60),
            (true, Norm::Bn, 16, 8) => $go!(DepthRes16Bn, U8),
            (true, Norm::Bn, 16, 2) => $go!(DepthRes16Bn, U2),
            (true, Norm::Gn, 16, 60) => $go!(DepthRes16Gn, U60),
            (true, Norm::Gn, 16, 8) => $go!(DepthRes16Gn, U8),
            (true, Norm::Gn, 16, 2) => $go!(DepthRes16Gn, U2),
            _ => panic!("{:?} at batch {} is not compiled in", $arch, $batch),
        }
    }};
}

/// Trains network `arch` at batch size `batch` for `budget` at rate `lr` (initial weights
/// and mini-batches from `seed`). Every network is compiled at batch 60, the 16-convolution
/// residual ones at every one of [`BATCHES`].
///
/// # Panics
///
/// For a network or batch size that is not compiled in.
pub fn one(data: &Data, arch: Arch, batch: usize, budget: Budget, lr: f64, seed: u64) -> Run {
    macro_rules! train {
        ($net:ty, $b:ty) => {
            train_one::<$net, $b>(data, budget, lr, seed)
        };
    }
    with_network!(arch, batch, train)
}

/// The weight tensors (every convolution's, then the dense layer's; no biases or
/// normalizations) of network `arch` initialized from `seed`: equal for every network of
/// one depth.
///
/// # Panics
///
/// For a network that is not compiled in.
pub fn initial_weights(arch: Arch, seed: u64) -> Vec<Vec<f32>> {
    macro_rules! weights {
        ($net:ty, $b:ty) => {
            weights_of::<$net>(seed)
        };
    }
    with_network!(arch, 60, weights)
}

/// A cell: its network and batch size, every rate of the grid run, and the one chosen on
/// the validation split.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The network.
    pub arch: Arch,
    /// The batch size.
    pub batch: usize,
    /// The grid's runs and the chosen one (one seed).
    pub tuned: Tuned<Run>,
}

impl Cell {
    /// Runs `arch` at `batch` for `budget` at every rate of `grid` (seed `seed`) and keeps
    /// the best on the validation split; `tick` is called after each run.
    pub fn tune(
        data: &Data,
        (arch, batch): (Arch, usize),
        budget: Budget,
        grid: &[f64],
        seed: u64,
        tick: &mut dyn FnMut(),
    ) -> Cell {
        let tuned = tune(grid, &[seed], |lr, seed| one(data, arch, batch, budget, lr, seed), tick);
        Cell { arch, batch, tuned }
    }

    /// The chosen run.
    pub fn run(&self) -> &Run {
        &self.tuned.runs[0]
    }

    /// The largest rate of the grid that trained: its run did not diverge and ended above
    /// chance (a test accuracy above [`CHANCE`](super::CHANCE)). `None` if none did.
    pub fn largest_trained(&self) -> Option<f64> {
        let trained = |r: &Run| !r.diverged() && r.test > super::CHANCE;
        self.tuned.grid.iter().filter(|(_, r)| trained(r)).map(|&(lr, _)| lr).reduce(f64::max)
    }

    /// The cell's row of `depth.csv`.
    pub fn csv_row(&self) -> String {
        let (a, r) = (self.arch, self.run());
        let to = r.steps_to(TARGET).map_or(String::new(), |s| s.to_string());
        let (residual, diverged) = (u8::from(a.residual), u8::from(r.diverged()));
        format!(
            "{},{residual},{},{},{:.4},{to},{diverged},{}\n",
            a.depth,
            a.norm.name(),
            self.tuned.lr,
            r.test,
            self.batch
        )
    }
}

/// The header of `depth.csv`.
pub const CSV_HEADER: &str = "depth,residual,norm,lr,final_test_accuracy,steps_to_90,diverged,batch\n";

/// Runs the experiment.
pub fn run(ctx: &Context<'_>) -> Report {
    let (grid, budget): (&[f64], Budget) = if ctx.quick {
        (&QUICK_LR_GRID, Budget { steps: STEPS.1, eval_every: EVAL_EVERY.1 })
    } else {
        (&LR_GRID, Budget { steps: STEPS.0, eval_every: EVAL_EVERY.0 })
    };
    run_with(ctx, grid, budget)
}

/// The experiment with the grid `grid` (at batch 60) and the budget `budget` (at batch 60):
/// what [`run`] does with [`LR_GRID`] or [`QUICK_LR_GRID`] and [`STEPS`], [`EVAL_EVERY`].
pub fn run_with(ctx: &Context<'_>, grid: &[f64], budget: Budget) -> Report {
    let cells = cells(ctx, grid, budget);
    report(ctx, grid, budget, &cells)
}

/// The 16-convolution residual network with normalization `norm`.
fn deepest_residual(norm: Norm) -> Arch {
    Arch { depth: DEPTHS[DEPTHS.len() - 1], residual: true, norm }
}

/// Every cell: the depth cells at batch 60 ([`FAMILIES`] × [`DEPTHS`]), then the batch-size
/// part's cells that are not depth cells.
pub fn cells(ctx: &Context<'_>, grid: &[f64], budget: Budget) -> Vec<Cell> {
    let mut todo: Vec<(Arch, usize)> = Vec::new();
    for depth in DEPTHS {
        todo.extend(FAMILIES.iter().map(|&(residual, norm)| (Arch { depth, residual, norm }, 60)));
    }
    for batch in BATCHES {
        for norm in BATCH_NORMS {
            let cell = (deepest_residual(norm), batch);
            if !todo.contains(&cell) {
                todo.push(cell);
            }
        }
    }
    let total = todo.len() * grid.len();
    let mut done = 0;
    let mut tick = || {
        done += 1;
        (ctx.progress)(done, total);
    };
    todo.into_iter()
        .map(|(arch, batch)| {
            let rates: Vec<f64> = grid.iter().map(|lr| round3(lr * (batch as f64 / 60.0).sqrt())).collect();
            Cell::tune(ctx.data, (arch, batch), budget.at_batch(batch), &rates, ctx.seed, &mut tick)
        })
        .collect()
}

/// The cell of `arch` at `batch`.
fn find(cells: &[Cell], arch: Arch, batch: usize) -> &Cell {
    cells.iter().find(|c| c.arch == arch && c.batch == batch).expect("every cell ran")
}

/// The largest rate that trained, or `none`.
fn largest_trained_text(cell: &Cell) -> String {
    cell.largest_trained().map_or("none".to_string(), |lr| lr.to_string())
}

/// `150`, or `never`.
fn steps_to_text(run: &Run) -> String {
    run.steps_to(TARGET).map_or("never".to_string(), |s| s.to_string())
}

/// The CSV, tables and figure of the cells.
fn report(ctx: &Context<'_>, grid: &[f64], budget: Budget, cells: &[Cell]) -> Report {
    let csv = std::iter::once(CSV_HEADER.to_string()).chain(cells.iter().map(Cell::csv_row)).collect();
    let mut text = format!(
        "Depth: a stride-2 stem (8 channels, 14×14) and d 3×3 convolutions of 8 channels, then flatten and dense(10); \
         plain (conv, (BN), ReLU) or residual (identity blocks of two convolutions); He initialization and \
         mini-batches from seed {}, plain SGD, batch 60, {} steps per run, test accuracy every {} steps.\nLearning \
         rate per cell: the best validation accuracy (every 8th training digit held out) of the grid {grid:?}, one \
         seed (* = at the grid's edge). Steps to 90 %: the first evaluated step with a test accuracy of at least \
         90 %.\n\n",
        ctx.seed, budget.steps, budget.eval_every
    );
    let families: Vec<String> =
        FAMILIES.iter().map(|&(residual, norm)| Arch { depth: 0, residual, norm }.family()).collect();
    let header: Vec<&str> = std::iter::once("depth").chain(families.iter().map(String::as_str)).collect();
    let rows = |f: &dyn Fn(&Cell) -> String| -> Vec<Vec<String>> {
        let row = |depth: usize| {
            let cells = FAMILIES.iter().map(|&(residual, norm)| f(find(cells, Arch { depth, residual, norm }, 60)));
            std::iter::once(depth.to_string()).chain(cells).collect()
        };
        DEPTHS.iter().map(|&d| row(d)).collect()
    };
    text += "Final test accuracy (chosen rate):\n";
    text += &format_table(&header, &rows(&|c| format!("{} lr {}", c.run().percent(), c.tuned.lr_marked())));
    text += "\nSteps to 90 % test accuracy (at the chosen rate):\n";
    text += &format_table(&header, &rows(&|c| steps_to_text(c.run())));
    text += "\nLargest rate of the grid that trained (not diverged, test accuracy above chance):\n";
    text += &format_table(&header, &rows(&|c| largest_trained_text(c)));
    text += &format!(
        "\nBatch size: the residual network of {} convolutions with each normalization (GN: groupnorm(2)), {} digits \
         seen per run (steps = {} × 60 / batch, steps to 90 % in steps of that batch), grid × √(batch/60).\n",
        deepest_residual(Norm::None).depth,
        budget.steps * 60,
        budget.steps
    );
    let header = ["batch", "norm", "final test accuracy", "lr", "steps to 90 %", "largest rate that trained"];
    let batch_rows: Vec<Vec<String>> = BATCHES
        .iter()
        .flat_map(|&b| BATCH_NORMS.iter().map(move |&norm| (b, norm)))
        .map(|(b, norm)| {
            let c = find(cells, deepest_residual(norm), b);
            let (percent, lr, to) = (c.run().percent(), c.tuned.lr_marked(), steps_to_text(c.run()));
            vec![b.to_string(), norm.name().to_string(), percent, lr, to, largest_trained_text(c)]
        })
        .collect();
    text += &format_table(&header, &batch_rows);
    text += "\nValidation accuracy at every rate of the grid (div = diverged):\n";
    let grid_rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            let runs = c.tuned.grid.iter().map(|(lr, r)| {
                let v = if r.diverged() { "div".to_string() } else { format!("{:.1} %", 100.0 * r.validation) };
                format!("{lr}: {v}")
            });
            [c.arch.depth.to_string(), c.arch.family(), c.batch.to_string()].into_iter().chain(runs).collect()
        })
        .collect();
    let grid_header: Vec<String> = (1..=grid.len()).map(|k| format!("rate {k}")).collect();
    let grid_header: Vec<&str> =
        ["depth", "network", "batch"].into_iter().chain(grid_header.iter().map(String::as_str)).collect();
    text += &format_table(&grid_header, &grid_rows);
    Report { name: "depth", csv, text, figure: figure(budget, cells) }
}

/// The color of a family in every panel: its place in [`FAMILIES`], GroupNorm the next.
fn color(arch: Arch) -> (u8, u8, u8) {
    let k = FAMILIES.iter().position(|&f| f == (arch.residual, arch.norm)).unwrap_or(FAMILIES.len());
    PALETTE[k % PALETTE.len()]
}

/// Accuracy, steps to 90 % and the largest rate that trained against depth, accuracy
/// against batch size.
fn figure(budget: Budget, cells: &[Cell]) -> Figure {
    let names: Vec<String> = DEPTHS.iter().map(|d| d.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let by_cell = |pick: &dyn Fn(&Cell) -> f64| -> Vec<Line> {
        let line = |&(residual, norm): &(bool, Norm)| {
            let at = |k: usize, depth: usize| (k as f64, pick(find(cells, Arch { depth, residual, norm }, 60)));
            let arch = Arch { depth: 0, residual, norm };
            Line::new(&arch.family(), DEPTHS.iter().enumerate().map(|(k, &d)| at(k, d)).collect())
                .with_color(color(arch))
        };
        FAMILIES.iter().map(line).collect()
    };
    let depth_axis = Axis::categories("Convolutions after the stem", &names);
    let accuracy = Panel {
        title: format!("Test accuracy after {} steps of 60", budget.steps),
        x: depth_axis.clone(),
        y: Axis::linear("Final test accuracy (rate chosen on validation)").within(0.0, 1.0),
        lines: by_cell(&|c| c.run().test),
    };
    let speed = Panel {
        title: "Steps to 90 % test accuracy".into(),
        x: depth_axis,
        y: Axis::linear("Steps of 60 (missing: never reached)").within(0.0, budget.steps as f64),
        lines: by_cell(&|c| c.run().steps_to(TARGET).map_or(f64::NAN, |s| s as f64)),
    };
    let rates = Panel {
        title: "Largest rate that trained".into(),
        x: Axis::categories("Convolutions after the stem", &names),
        y: Axis::log("Learning rate (log scale; not diverged, above chance)"),
        lines: by_cell(&|c| c.largest_trained().unwrap_or(f64::NAN)),
    };
    let line = |norm: Norm| {
        let points = BATCHES.iter().map(|&b| (b as f64, find(cells, deepest_residual(norm), b).run().test));
        Line::new(&deepest_residual(norm).family(), points.collect()).with_color(color(deepest_residual(norm)))
    };
    let batches = Panel {
        title: format!("Residual, {} convolutions, the same digits seen", deepest_residual(Norm::None).depth),
        x: Axis::log("Batch size (log scale)"),
        y: Axis::linear("Final test accuracy").within(0.0, 1.0),
        lines: BATCH_NORMS.iter().map(|&n| line(n)).collect(),
    };
    Figure { panels: vec![accuracy, speed, rates, batches] }
}
