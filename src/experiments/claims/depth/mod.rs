//! "Batch Normalization: Accelerating Deep Network Training": narrow CNNs of 2, 4, 8 and 16
//! convolutions, plain and residual, with and without BN, trained from the same weights on
//! the same mini-batches; and, for the deepest residual network, BN against GroupNorm and no
//! normalization at batch sizes 2, 8 and 60.
//!
//! The networks ([`networks`]): a stride-2 stem (`conv2d(8, kernel = 3, stride = 2,
//! padding = 1)` → 8×14×14), then `d` convolutions of 8 channels (3×3, padding 1), then
//! `flatten, dense(10)`. Plain: each convolution followed by `relu` (by `batchnorm, relu`
//! with BN). Residual: `d/2` blocks `residual { conv, (norm), relu, conv, (norm) }, relu`.
//! Every convolution is He-initialized (`network!`'s default before a ReLU), the networks of
//! one depth from the same seed, so they start from the same weights; every run sees the
//! same mini-batches (one seed), plain SGD.
//!
//! Each cell (depth × residual × normalization at batch 60) trains for a fixed budget of
//! steps at every rate of a small grid; the rate with the best accuracy on the validation
//! split (every eighth training digit, held out; a diverged run counts as 0) is the cell's
//! ([`best_on_validation`](super::best_on_validation), the rule of the batch-size
//! experiment), and the cell reports that run's final test accuracy and the first
//! evaluation step at which its test accuracy reached 90 % ("steps to 90 %", evaluated every
//! [`EVAL_EVERY`] steps). The batch-size part trains the 16-convolution residual network
//! with each normalization on the same number of digits at every batch size (steps ×
//! 60 / B, evaluated as often in digits), its grid scaled by `√(B/60)` as in the batch-size
//! experiment.
//!
//! Outputs: `depth.csv` (`depth,residual,norm,lr,final_test_accuracy,steps_to_90,diverged`,
//! the cells at batch 60; `steps_to_90` empty when the run never reached 90 %) and
//! `depth_batch.csv` (the batch-size part: a `batch` column, then the same columns), a
//! figure of three panels (accuracy and steps to 90 % against depth, accuracy against batch
//! size), and the tables.

pub mod networks;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U10, U60, U784};
use bn_core::{Network, Rng, Sgd, StateDict};

use self::networks::*;
use super::{
    best_on_validation, diverged, format_table, round3, train_evaluated, Context, Data, Outcome, Report, CHANCE,
};
use crate::plot::{Axis, Figure, Line, Panel};
use crate::train::accuracy;

/// The depths: convolutions after the stem.
pub const DEPTHS: [usize; 4] = [2, 4, 8, 16];
/// The learning-rate grid at batch 60 (full run).
pub const LR_GRID: [f64; 5] = [0.01, 0.03, 0.1, 0.3, 1.0];
/// The quick run's.
pub const QUICK_LR_GRID: [f64; 2] = [0.03, 0.3];
/// Training steps of a run at batch 60 (full, quick); at batch B, × 60 / B.
pub const STEPS: (usize, usize) = (600, 150);
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
    BatchNorm,
}

impl Norm {
    /// The name in the CSV and the tables: `none`, `batchnorm`.
    pub fn name(self) -> &'static str {
        match self {
            Norm::None => "none",
            Norm::BatchNorm => "batchnorm",
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
    /// `plain`, `plain + BN`, `residual`, `residual + BN`, …: the legend's name.
    pub fn family(self) -> String {
        let base = if self.residual { "residual" } else { "plain" };
        match self.norm {
            Norm::None => base.to_string(),
            Norm::BatchNorm => format!("{base} + BN"),
        }
    }
}

/// The (residual, normalization) families compared at every depth, in the tables' order.
pub const FAMILIES: [(bool, Norm); 2] = [(false, Norm::None), (false, Norm::BatchNorm)];

/// The normalizations of the batch-size part.
pub const BATCH_NORMS: [Norm; 2] = [Norm::BatchNorm, Norm::None];

/// How long a run trains and how often it is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Training steps.
    pub steps: usize,
    /// Evaluate the test accuracy every this many steps (and at the last).
    pub eval_every: usize,
}

impl Budget {
    /// The budget at batch size `batch` for `budget60` at batch 60: the same digits seen,
    /// evaluated as often.
    pub fn at_batch(budget60: Budget, batch: usize) -> Budget {
        Budget { steps: budget60.steps * 60 / batch, eval_every: (budget60.eval_every * 60 / batch).max(1) }
    }
}

/// One training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The learning rate.
    pub lr: f64,
    /// The training run.
    pub outcome: Outcome,
    /// Accuracy on the validation split (chooses the rate).
    pub validation: f64,
    /// Final test accuracy.
    pub test: f64,
    /// The test accuracy at step 0, every `eval_every` steps and the last step (up to a
    /// divergence).
    pub curve: Vec<(usize, f64)>,
    /// Whether it diverged ([`diverged`](super::diverged)).
    pub diverged: bool,
}

impl Run {
    /// The first evaluated step at which the test accuracy reached `acc`.
    pub fn steps_to(&self, acc: f64) -> Option<usize> {
        self.curve.iter().find(|(_, a)| *a >= acc).map(|(s, _)| *s)
    }

    /// `96.1 %`, with ` (diverged)` or ` (at chance)` where it applies.
    pub fn percent(&self) -> String {
        let note = if self.diverged {
            " (diverged)"
        } else if self.test <= CHANCE {
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
    let test = accuracy(&*net, &data.test);
    Run { lr, outcome, validation: accuracy(&*net, &data.validation), test, curve, diverged: diverged(&outcome, test) }
}

/// Trains network `arch` at batch size `batch` for `budget` at rate `lr` (initial weights
/// and mini-batches from `seed`). The depth cells are compiled at batch 60, the batch-size
/// part's network (residual, 16 convolutions) at every one of [`BATCHES`].
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
    let Arch { depth, residual, norm } = arch;
    match (residual, norm, depth, batch) {
        (false, Norm::None, 2, 60) => train!(DepthPlain2, U60),
        (false, Norm::None, 4, 60) => train!(DepthPlain4, U60),
        (false, Norm::None, 8, 60) => train!(DepthPlain8, U60),
        (false, Norm::None, 16, 60) => train!(DepthPlain16, U60),
        (false, Norm::BatchNorm, 2, 60) => train!(DepthPlain2Bn, U60),
        (false, Norm::BatchNorm, 4, 60) => train!(DepthPlain4Bn, U60),
        (false, Norm::BatchNorm, 8, 60) => train!(DepthPlain8Bn, U60),
        (false, Norm::BatchNorm, 16, 60) => train!(DepthPlain16Bn, U60),
        _ => panic!("{arch:?} at batch {batch} is not compiled in"),
    }
}

/// A cell: every rate of the grid run, and the one chosen on the validation split.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The network.
    pub arch: Arch,
    /// The batch size.
    pub batch: usize,
    /// One run per rate of the grid, in the grid's order.
    pub grid: Vec<Run>,
    /// The chosen run's index in `grid`.
    pub best: usize,
}

impl Cell {
    /// Runs `arch` at `batch` for `budget` at every rate of `grid` (seed `seed`) and keeps
    /// the best on the validation split; `tick` is called after each run.
    pub fn tune(
        data: &Data,
        arch: Arch,
        batch: usize,
        budget: Budget,
        grid: &[f64],
        seed: u64,
        tick: &mut dyn FnMut(),
    ) -> Cell {
        let runs: Vec<Run> = grid
            .iter()
            .map(|&lr| {
                let run = one(data, arch, batch, budget, lr, seed);
                tick();
                run
            })
            .collect();
        let best = best_on_validation(runs.iter().map(|r| (r.validation, r.diverged))).expect("a grid");
        Cell { arch, batch, grid: runs, best }
    }

    /// The chosen run.
    pub fn run(&self) -> &Run {
        &self.grid[self.best]
    }

    /// Whether the chosen rate is the grid's smallest or largest (the best may lie outside).
    pub fn at_edge(&self) -> bool {
        self.grid.len() > 1 && (self.best == 0 || self.best == self.grid.len() - 1)
    }

    /// The chosen rate, `*` if at the grid's edge.
    pub fn lr(&self) -> String {
        format!("{}{}", self.run().lr, if self.at_edge() { "*" } else { "" })
    }

    /// The CSV columns `lr,final_test_accuracy,steps_to_90,diverged`.
    fn csv_tail(&self) -> String {
        let r = self.run();
        let to = r.steps_to(TARGET).map_or(String::new(), |s| s.to_string());
        format!("{},{:.4},{to},{}", r.lr, r.test, u8::from(r.diverged))
    }
}

/// Runs the experiment.
pub fn run(ctx: &Context<'_>) -> Report {
    let (grid, budget60): (&[f64], Budget) = if ctx.quick {
        (&QUICK_LR_GRID, Budget { steps: STEPS.1, eval_every: EVAL_EVERY.1 })
    } else {
        (&LR_GRID, Budget { steps: STEPS.0, eval_every: EVAL_EVERY.0 })
    };
    let seed = ctx.seed;
    let depth_cells = DEPTHS.len() * FAMILIES.len();
    let batch_cells = BATCHES.iter().map(|&b| BATCH_NORMS.iter().filter(|&&n| !reused(b, n)).count()).sum::<usize>();
    let total = (depth_cells + batch_cells) * grid.len();
    let mut done = 0;
    let mut tick = || {
        done += 1;
        (ctx.progress)(done, total);
    };
    let mut cells: Vec<Cell> = Vec::new();
    for depth in DEPTHS {
        for (residual, norm) in FAMILIES {
            let arch = Arch { depth, residual, norm };
            cells.push(Cell::tune(ctx.data, arch, 60, budget60, grid, seed, &mut tick));
        }
    }
    let deepest = *DEPTHS.last().expect("depths");
    let mut batch_cells: Vec<Cell> = Vec::new();
    for batch in BATCHES {
        let rates: Vec<f64> = grid.iter().map(|lr| round3(lr * (batch as f64 / 60.0).sqrt())).collect();
        for norm in BATCH_NORMS {
            let arch = Arch { depth: deepest, residual: true, norm };
            let cell = if reused(batch, norm) {
                cells.iter().find(|c| c.arch == arch).expect("a depth cell").clone()
            } else {
                Cell::tune(ctx.data, arch, batch, Budget::at_batch(budget60, batch), &rates, seed, &mut tick)
            };
            batch_cells.push(cell);
        }
    }
    report(ctx, grid, budget60, &cells, &batch_cells)
}

/// Whether the batch-size part's cell is one of the depth cells (batch 60, a family of
/// [`FAMILIES`]).
fn reused(batch: usize, norm: Norm) -> bool {
    batch == 60 && FAMILIES.contains(&(true, norm))
}

/// The CSVs, tables and figure of the cells.
fn report(ctx: &Context<'_>, grid: &[f64], budget: Budget, cells: &[Cell], batch_cells: &[Cell]) -> Report {
    let mut csv = String::from("depth,residual,norm,lr,final_test_accuracy,steps_to_90,diverged\n");
    for c in cells {
        csv += &format!("{},{},{},{}\n", c.arch.depth, u8::from(c.arch.residual), c.arch.norm.name(), c.csv_tail());
    }
    let mut batch_csv = String::from("batch,depth,residual,norm,lr,final_test_accuracy,steps_to_90,diverged\n");
    for c in batch_cells {
        let a = c.arch;
        batch_csv += &format!("{},{},{},{},{}\n", c.batch, a.depth, u8::from(a.residual), a.norm.name(), c.csv_tail());
    }
    let cell = |depth: usize, (residual, norm): (bool, Norm)| {
        cells.iter().find(|c| c.arch == Arch { depth, residual, norm }).expect("every cell ran")
    };
    let mut text = format!(
        "Depth: a stride-2 stem (8 channels, 14×14) and d 3×3 convolutions of 8 channels, then flatten and dense(10); \
         plain (conv, (BN), ReLU) or residual (blocks of two convolutions with an identity skip); He initialization \
         and mini-batches from seed {}, plain SGD, batch 60, {} steps per run, test accuracy every {} steps.\nLearning \
         rate per cell: the best validation accuracy (every 8th training digit held out) of the grid {grid:?}, one \
         seed (* = at the grid's edge). steps to 90 %: the first evaluated step with a test accuracy of at least \
         90 %.\n\n",
        ctx.seed, budget.steps, budget.eval_every
    );
    let mut header = vec!["depth".to_string()];
    header.extend(FAMILIES.iter().map(|&(residual, norm)| Arch { depth: 0, residual, norm }.family()));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows = |f: &dyn Fn(&Cell) -> String| -> Vec<Vec<String>> {
        DEPTHS
            .iter()
            .map(|&d| std::iter::once(d.to_string()).chain(FAMILIES.iter().map(|&fam| f(cell(d, fam)))).collect())
            .collect()
    };
    text += "Final test accuracy (chosen rate):\n";
    text += &format_table(&header, &rows(&|c| format!("{} lr {}", c.run().percent(), c.lr())));
    text += "\nSteps to 90 % test accuracy (at the chosen rate):\n";
    text += &format_table(&header, &rows(&|c| steps_to_cell(c.run())));
    text += "\nValidation accuracy at every rate of the grid (the cells' choice on it; div = diverged):\n";
    let mut grid_header = vec!["depth".to_string(), "network".to_string()];
    grid_header.extend(grid.iter().map(|lr| format!("lr {lr}")));
    let grid_header: Vec<&str> = grid_header.iter().map(String::as_str).collect();
    let grid_rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            let mut row = vec![c.arch.depth.to_string(), c.arch.family()];
            row.extend(c.grid.iter().map(|r| {
                if r.diverged {
                    "div".to_string()
                } else {
                    format!("{:.1} %", 100.0 * r.validation)
                }
            }));
            row
        })
        .collect();
    text += &format_table(&grid_header, &grid_rows);
    text += &format!(
        "\nBatch size: the residual network of {} convolutions, each normalization, the same {} digits seen per run \
         (steps = {} × 60 / batch), grid × √(batch/60); batch-60 cells as above.\n",
        DEPTHS[DEPTHS.len() - 1],
        budget.steps * 60,
        budget.steps
    );
    let mut header = vec!["batch".to_string()];
    header.extend(BATCH_NORMS.iter().map(|n| n.name().to_string()));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let batch_rows: Vec<Vec<String>> = BATCHES
        .iter()
        .map(|&b| {
            let mut row = vec![b.to_string()];
            for norm in BATCH_NORMS {
                let c = batch_cells.iter().find(|c| c.batch == b && c.arch.norm == norm).expect("every cell ran");
                row.push(format!("{} lr {}, 90 %: {}", c.run().percent(), c.lr(), steps_to_cell(c.run())));
            }
            row
        })
        .collect();
    text += &format_table(&header, &batch_rows);
    let more_csv = vec![("depth_batch", batch_csv)];
    Report { name: "depth", csv, more_csv, text, figure: figure(budget, cells, batch_cells) }
}

/// `150`, or `never`.
fn steps_to_cell(run: &Run) -> String {
    run.steps_to(TARGET).map_or("never".to_string(), |s| s.to_string())
}

/// Accuracy and steps to 90 % against depth, accuracy against batch size.
fn figure(budget: Budget, cells: &[Cell], batch_cells: &[Cell]) -> Figure {
    let names: Vec<String> = DEPTHS.iter().map(|d| d.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let by_depth = |pick: &dyn Fn(&Run) -> f64| -> Vec<Line> {
        FAMILIES
            .iter()
            .map(|&(residual, norm)| {
                let points = DEPTHS
                    .iter()
                    .enumerate()
                    .map(|(k, &depth)| {
                        let c = cells.iter().find(|c| c.arch == Arch { depth, residual, norm }).expect("a cell");
                        (k as f64, pick(c.run()))
                    })
                    .collect();
                Line::new(&Arch { depth: 0, residual, norm }.family(), points)
            })
            .collect()
    };
    let depth_axis = Axis::categories("Convolutions after the stem", &names);
    let accuracy = Panel {
        title: format!("Test accuracy after {} steps", budget.steps),
        x: depth_axis.clone(),
        y: Axis::linear("Final test accuracy (rate chosen on validation)").within(0.0, 1.0),
        lines: by_depth(&|r| r.test),
    };
    let speed = Panel {
        title: "Steps to 90 % test accuracy".into(),
        x: depth_axis,
        y: Axis::linear("Steps (missing: never reached)").within(0.0, budget.steps as f64),
        lines: by_depth(&|r| r.steps_to(TARGET).map_or(f64::NAN, |s| s as f64)),
    };
    let batches = Panel {
        title: format!("Residual, {} convolutions: batch size", DEPTHS[DEPTHS.len() - 1]),
        x: Axis::log("Batch size (log scale; the same digits seen)"),
        y: Axis::linear("Final test accuracy").within(0.0, 1.0),
        lines: BATCH_NORMS
            .iter()
            .map(|&norm| {
                let points = batch_cells.iter().filter(|c| c.arch.norm == norm).map(|c| (c.batch as f64, c.run().test));
                Line::new(norm.name(), points.collect())
            })
            .collect(),
    };
    Figure { panels: vec![accuracy, speed, batches] }
}
