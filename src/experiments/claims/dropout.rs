//! "Batch Normalization … acts as a regularizer, in some cases eliminating the need for
//! Dropout": the paper's MNIST network plain, with dropout, with BN, and with both, trained
//! on a subset small enough to overfit (500 digits); the gap between training-set and test
//! accuracy is the point.
//!
//! Dropout: `dropout(0.3)` after every hidden sigmoid (inverted; 0.5, the usual rate for
//! wide layers, is heavy for layers of 100). Learning rates as in [`super::batch_size`]:
//! the best validation accuracy of the grid `{0.1, 0.3, 1, 3}` on the first seed, then
//! three seeds at that rate.

use bn_core::typenum::U60;

use super::{format_table, seed_of, train_and_measure, tune, Context, Data, Measured, Report, Spread, Tuned};
use crate::mnist::Dataset;
use crate::networks::{PaperBn, PaperPlain};
use crate::plot::{Axis, Figure, Line, Panel};

// The networks moved to `crate::networks`; these paths stay.
pub use crate::networks::{
    PaperBnDropout, PaperBnDropoutBatch, PaperBnDropoutFolded, PaperBnDropoutGrads, PaperBnDropoutInput,
    PaperBnDropoutWorkspace, PaperDropout, PaperDropoutBatch, PaperDropoutFolded, PaperDropoutGrads, PaperDropoutInput,
    PaperDropoutWorkspace,
};

/// The models compared.
pub const MODELS: [&str; 4] = ["plain", "dropout", "batchnorm", "batchnorm+dropout"];
/// The training subset: this many digits of the fit split.
pub const SUBSET: usize = 500;
/// The learning-rate grid (full, quick).
pub const LR_GRID: [f64; 4] = [0.1, 0.3, 1.0, 3.0];
/// The quick run's.
pub const QUICK_LR_GRID: [f64; 2] = [0.3, 1.0];
/// Training steps of mini-batches of 60 (full: 240 epochs of the subset; quick).
pub const STEPS: (usize, usize) = (2000, 400);
/// Seeds per model.
pub const SEEDS: usize = 3;

/// Trains one model on `subset`.
pub fn one(data: &Data, subset: &Dataset, model: &str, steps: usize, lr: f64, seed: u64) -> Measured {
    match model {
        "plain" => train_and_measure::<PaperPlain, U60>(data, subset, steps, lr, 0.1, seed, |_, _, _| {}),
        "dropout" => train_and_measure::<PaperDropout, U60>(data, subset, steps, lr, 0.1, seed, |_, _, _| {}),
        "batchnorm" => train_and_measure::<PaperBn, U60>(data, subset, steps, lr, 0.1, seed, |_, _, _| {}),
        "batchnorm+dropout" => {
            train_and_measure::<PaperBnDropout, U60>(data, subset, steps, lr, 0.1, seed, |_, _, _| {})
        }
        _ => unreachable!("unknown model {model}"),
    }
}

/// `n` digits spread evenly over `data` (which is sorted by class: every class keeps its
/// share).
pub fn spread(data: &Dataset, n: usize) -> Dataset {
    let n = n.min(data.len());
    let indices: Vec<usize> = (0..n).map(|k| k * data.len() / n).collect();
    data.subset(&indices)
}

/// Runs the experiment.
pub fn run(ctx: &Context<'_>) -> Report {
    let (grid, steps): (&[f64], usize) = if ctx.quick { (&QUICK_LR_GRID, STEPS.1) } else { (&LR_GRID, STEPS.0) };
    let subset = spread(&ctx.data.fit, SUBSET);
    let seeds: Vec<u64> = (0..SEEDS as u64).map(|k| seed_of(ctx.seed, k)).collect();
    let total = MODELS.len() * (grid.len() + seeds.len() - 1);
    let mut done = 0;
    let mut cells: Vec<(&str, Tuned)> = Vec::new();
    for model in MODELS {
        let tuned = tune(
            grid,
            &seeds,
            |lr, seed| one(ctx.data, &subset, model, steps, lr, seed),
            || {
                done += 1;
                (ctx.progress)(done, total);
            },
        );
        cells.push((model, tuned));
    }
    let mut csv = String::from(
        "model,train_accuracy,test_accuracy,train_accuracy_min,train_accuracy_max,test_accuracy_min,test_accuracy_max,gap,lr,seeds\n",
    );
    for (model, t) in &cells {
        let (tr, te) = (t.train(), t.test());
        csv += &format!(
            "{model},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{}\n",
            tr.mean,
            te.mean,
            tr.min,
            tr.max,
            te.min,
            te.max,
            tr.mean - te.mean,
            t.lr,
            t.runs.len()
        );
    }
    let mut text = format!(
        "Dropout: the paper's network on {} training digits ({steps} steps of 60, about {} epochs), weights ~ N(0, \
         0.1²), plain SGD; dropout(0.3) after every hidden sigmoid. Learning rate per model: the best validation \
         accuracy of the grid {grid:?}, first seed; then {} seeds at that rate. Accuracies: mean (min–max) over the \
         seeds; gap = train − test.\n\n",
        subset.len(),
        steps * 60 / subset.len().max(1),
        seeds.len()
    );
    let rows: Vec<Vec<String>> = cells
        .iter()
        .map(|(model, t)| {
            let (tr, te) = (t.train(), t.test());
            vec![
                model.to_string(),
                tr.percent(),
                te.percent(),
                format!("{:.1} points", 100.0 * (tr.mean - te.mean)),
                t.lr_marked(),
            ]
        })
        .collect();
    text += &format_table(&["model", "train accuracy", "test accuracy", "gap", "lr"], &rows);
    let line = |name: &str, pick: fn(&Measured) -> f64| {
        let spreads: Vec<Spread> =
            cells.iter().map(|(_, t)| Spread::of(&t.runs.iter().map(pick).collect::<Vec<_>>())).collect();
        Line::new(name, spreads.iter().enumerate().map(|(k, s)| (k as f64, s.mean)).collect())
            .with_bands(spreads.iter().map(|s| (s.min, s.max)).collect())
    };
    let figure = Figure {
        panels: vec![Panel {
            title: format!("{} training digits, {steps} steps", subset.len()),
            x: Axis::categories("Model", &MODELS),
            y: Axis::linear("Accuracy (mean; bars: min–max of 3 seeds)").within(0.0, 1.0),
            lines: vec![line("Training set", |m| m.train), line("Test set", |m| m.test)],
        }],
    };
    Report { name: "dropout", csv, text, figure }
}
