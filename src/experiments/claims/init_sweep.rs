//! "Batch Normalization … allows us to be less careful about initialization": the paper's
//! MNIST network with and without BN, weights drawn from N(0, std²) for std from 0.01 to
//! 10, plain SGD at the paper example's learning rate 0.1, mini-batches of 60.

use super::lr_sweep::{cell, Cell};
use super::{format_table, Context, Report};
use crate::plot::{Axis, Figure, Line, Panel};

/// The initial weight scales.
pub const INIT_STDS: [f64; 7] = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0];
/// The quick run's.
pub const QUICK_INIT_STDS: [f64; 4] = [0.01, 0.1, 1.0, 10.0];
/// The learning rate of every run.
pub const LR: f64 = 0.1;
/// Training steps of each run (full, quick).
pub const STEPS: (usize, usize) = (2000, 600);

/// Runs the sweep.
pub fn run(ctx: &Context<'_>) -> Report {
    let stds: &[f64] = if ctx.quick { &QUICK_INIT_STDS } else { &INIT_STDS };
    let steps = if ctx.quick { STEPS.1 } else { STEPS.0 };
    let total = 2 * stds.len();
    let mut cells: Vec<(f64, Cell)> = Vec::new();
    for &std in stds {
        for bn in [false, true] {
            cells.push((std, cell(ctx, LR, bn, steps, std)));
            (ctx.progress)(cells.len(), total);
        }
    }
    let mut csv = String::from("init_std,bn,final_test_accuracy,diverged,final_train_loss\n");
    for (std, c) in &cells {
        csv +=
            &format!("{std},{},{:.4},{},{:.4}\n", u8::from(c.bn), c.test_accuracy, u8::from(c.diverged), c.final_loss);
    }
    let mut text = format!(
        "Initialization sweep: the paper's network, weights ~ N(0, std²), plain SGD lr {LR}, batch 60, {steps} steps \
         per run, seed {}; diverged = non-finite loss, or test accuracy ≤ 15 % (chance) with a final training loss > 2.5 (worse than a uniform guess, ln 10 = 2.30)\n\n",
        ctx.seed
    );
    let rows: Vec<Vec<String>> = stds
        .iter()
        .map(|&std| {
            let pick = |bn: bool| &cells.iter().find(|(s, c)| *s == std && c.bn == bn).expect("every cell ran").1;
            vec![format!("{std}"), pick(false).to_string(), pick(true).to_string()]
        })
        .collect();
    text += &format_table(&["init std", "test acc without BN", "test acc with BN"], &rows);
    for (bn, name) in [(false, "without BN"), (true, "with BN")] {
        let accs: Vec<f64> = cells.iter().filter(|(_, c)| c.bn == bn).map(|(_, c)| c.test_accuracy).collect();
        let (lo, hi) = accs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        text += &format!("{name}: test accuracy from {:.1} % to {:.1} % over the scales\n", 100.0 * lo, 100.0 * hi);
    }
    let line = |bn: bool, name: &str| {
        Line::new(name, cells.iter().filter(|(_, c)| c.bn == bn).map(|(s, c)| (*s, c.test_accuracy)).collect())
    };
    let figure = Figure {
        panels: vec![Panel {
            title: format!("Final test accuracy after {steps} steps (lr {LR})"),
            x: Axis::log("Standard deviation of the initial weights (log scale)"),
            y: Axis::linear("Test accuracy").fixed(0.0, 1.0),
            lines: vec![line(false, "Without BN"), line(true, "With BN")],
        }],
    };
    Report { name: "init_sweep", csv, text, figure }
}
