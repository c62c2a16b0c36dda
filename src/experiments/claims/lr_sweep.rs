//! "Batch Normalization allows much higher learning rates without the risk of
//! divergence": the paper's MNIST network (sigmoids, N(0, 0.1²) weights) with and without
//! BN, plain SGD on mini-batches of 60, over learning rates from 0.05 to 50.

use bn_core::typenum::U60;

use super::{diverged, format_table, train_and_measure, Context, Report, CHANCE};
use crate::networks::{PaperBn, PaperPlain};
use crate::plot::{Axis, Figure, Line, Panel};

/// The learning rates (log-spaced, about three per decade).
pub const LEARNING_RATES: [f64; 10] = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0];
/// The quick run's.
pub const QUICK_LEARNING_RATES: [f64; 4] = [0.05, 0.5, 5.0, 50.0];

/// Training steps of each run (full, quick).
pub const STEPS: (usize, usize) = (2000, 600);

/// One cell of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    /// The learning rate.
    pub lr: f64,
    /// With BN.
    pub bn: bool,
    /// Final test accuracy.
    pub test_accuracy: f64,
    /// Mean training loss over the last tenth of the steps.
    pub final_loss: f64,
    /// The loss became non-finite or the accuracy is at chance.
    pub diverged: bool,
}

/// `91.2 %`, with ` (diverged)` or ` (at chance)` where it applies: the cell of a table.
impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let note = if self.diverged {
            " (diverged)"
        } else if self.test_accuracy <= CHANCE {
            " (at chance)"
        } else {
            ""
        };
        write!(f, "{:.1} %{note}", 100.0 * self.test_accuracy)
    }
}

/// Trains one network at one rate and seed.
pub fn cell(ctx: &Context<'_>, lr: f64, bn: bool, steps: usize, init_std: f64) -> Cell {
    let data = ctx.data;
    let m = if bn {
        train_and_measure::<PaperBn, U60>(data, &data.train, steps, lr, init_std, ctx.seed, |_, _, _| {})
    } else {
        train_and_measure::<PaperPlain, U60>(data, &data.train, steps, lr, init_std, ctx.seed, |_, _, _| {})
    };
    let (outcome, test_accuracy) = (m.outcome, m.test);
    Cell { lr, bn, test_accuracy, final_loss: outcome.final_loss, diverged: diverged(&outcome, test_accuracy) }
}

/// Runs the sweep.
pub fn run(ctx: &Context<'_>) -> Report {
    let rates: &[f64] = if ctx.quick { &QUICK_LEARNING_RATES } else { &LEARNING_RATES };
    let steps = if ctx.quick { STEPS.1 } else { STEPS.0 };
    let total = 2 * rates.len();
    let mut cells = Vec::new();
    for &lr in rates {
        for bn in [false, true] {
            cells.push(cell(ctx, lr, bn, steps, 0.1));
            (ctx.progress)(cells.len(), total);
        }
    }
    let mut csv = String::from("lr,bn,final_test_accuracy,diverged,final_train_loss\n");
    for c in &cells {
        csv += &format!(
            "{},{},{:.4},{},{:.4}\n",
            c.lr,
            u8::from(c.bn),
            c.test_accuracy,
            u8::from(c.diverged),
            c.final_loss
        );
    }
    let mut text = format!(
        "Learning rate sweep: the paper's network (sigmoids, weights ~ N(0, 0.1²)), plain SGD, batch 60, {steps} \
         steps per run, seed {}; diverged = non-finite loss, or test accuracy ≤ 15 % (chance) with a final training loss > 2.5 (worse than a uniform guess, ln 10 = 2.30)\n\n",
        ctx.seed
    );
    let rows: Vec<Vec<String>> = rates
        .iter()
        .map(|&lr| {
            let pick = |bn: bool| cells.iter().find(|c| c.lr == lr && c.bn == bn).expect("every cell ran");
            vec![format!("{lr}"), pick(false).to_string(), pick(true).to_string()]
        })
        .collect();
    text += &format_table(&["lr", "test acc without BN", "test acc with BN"], &rows);
    let best = |bn: bool| {
        cells.iter().filter(|c| c.bn == bn && !c.diverged).max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy))
    };
    // Trained: neither diverged nor at chance (a network that has not started to learn).
    let largest_ok = |bn: bool| {
        let trained = |c: &&Cell| c.bn == bn && !c.diverged && c.test_accuracy > CHANCE;
        cells.iter().filter(trained).map(|c| c.lr).fold(f64::NAN, f64::max)
    };
    for (bn, name) in [(false, "without BN"), (true, "with BN")] {
        match best(bn) {
            Some(c) => {
                text += &format!(
                    "{name}: best {:.1} % at lr {}; largest rate that trained (not diverged, not at chance): {}\n",
                    100.0 * c.test_accuracy,
                    c.lr,
                    largest_ok(bn)
                )
            }
            None => text += &format!("{name}: every rate diverged\n"),
        }
    }
    let line = |bn: bool, name: &str| {
        Line::new(name, cells.iter().filter(|c| c.bn == bn).map(|c| (c.lr, c.test_accuracy)).collect())
    };
    let figure = Figure {
        panels: vec![Panel {
            title: format!("Final test accuracy after {steps} steps"),
            x: Axis::log("Learning rate (log scale)"),
            y: Axis::linear("Test accuracy").fixed(0.0, 1.0),
            lines: vec![line(false, "Without BN"), line(true, "With BN")],
        }],
    };
    Report { name: "lr_sweep", csv, text, figure }
}
