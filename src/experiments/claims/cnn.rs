//! "MLP and CNN": the LeNet of [`crate::experiments::cnn`] with and without BN after its convolutions,
//! trained side by side (same weights, same mini-batches of 60, plain SGD), at the CNN
//! example's learning rate 0.1 and at 0.5, where the README's sweep saw BN fall behind.

use super::{format_table, Context, Report, CHANCE};
use crate::experiments::cnn::{self, Config};
use crate::experiments::{accuracy_panel, steps_to, Record};
use crate::plot::Figure;

/// The learning rates (full run; the quick run takes the first).
pub const LEARNING_RATES: [f32; 2] = [0.1, 0.5];
/// Training steps (full, quick).
pub const STEPS: (usize, usize) = (2000, 200);
/// Evaluate every this many steps (full, quick).
pub const EVAL_EVERY: (usize, usize) = (100, 50);

/// Runs the experiment.
pub fn run(ctx: &Context<'_>) -> Report {
    let (rates, steps, every): (&[f32], usize, usize) = if ctx.quick {
        (&LEARNING_RATES[..1], STEPS.1, EVAL_EVERY.1)
    } else {
        (&LEARNING_RATES, STEPS.0, EVAL_EVERY.0)
    };
    let mut runs: Vec<(f32, Vec<Record>)> = Vec::new();
    for (k, &lr) in rates.iter().enumerate() {
        let cfg = Config { steps, eval_every: every, lr, seed: ctx.seed, timed_forwards: 1, ..Config::default() };
        let report = cnn::run(&cfg, &ctx.data.train, &ctx.data.test, |_| {}, |_| {});
        runs.push((lr, report.records));
        (ctx.progress)(k + 1, rates.len());
    }
    let mut csv = String::from("bn,step,test_accuracy,lr,train_loss\n");
    for (lr, records) in &runs {
        for r in records {
            csv += &format!("0,{},{:.4},{lr},{:.4}\n", r.step, r.acc_plain, r.loss_plain);
            csv += &format!("1,{},{:.4},{lr},{:.4}\n", r.step, r.acc_bn, r.loss_bn);
        }
    }
    let mut text = format!(
        "CNN: the LeNet (conv 8, conv 16, 3×3, ReLU, max pooling, dense 10) with and without BN, same weights \
         (seed {}) and mini-batches of 60, plain SGD, {steps} steps; test accuracy every {every} steps\n\n",
        ctx.seed
    );
    let mut rows = Vec::new();
    for (lr, records) in &runs {
        let last = records.last().expect("at least the initial record");
        let best = |pick: fn(&Record) -> f64| records.iter().map(pick).fold(0.0, f64::max);
        let to = |acc: f64, pick: fn(&Record) -> f64| {
            steps_to(records, acc, pick).map_or("never".to_string(), |step| step.to_string())
        };
        for (name, pick) in [("no", (|r: &Record| r.acc_plain) as fn(&Record) -> f64), ("yes", |r: &Record| r.acc_bn)] {
            let end = pick(last);
            rows.push(vec![
                format!("{lr}"),
                name.to_string(),
                format!("{:.1} %{}", 100.0 * end, if end <= CHANCE { " (at chance)" } else { "" }),
                format!("{:.1} %", 100.0 * best(pick)),
                to(0.9, pick),
                to(0.95, pick),
            ]);
        }
    }
    text += &format_table(&["lr", "BN", "final test acc", "best", "steps to 90 %", "steps to 95 %"], &rows);
    let panels = runs
        .iter()
        .map(|(lr, records)| {
            let last = records.last().map_or(0, |r| r.step);
            let points: Vec<(usize, f32, f32)> =
                records.iter().map(|r| (r.step, r.acc_plain as f32, r.acc_bn as f32)).collect();
            accuracy_panel(&format!("LeNet, SGD lr {lr}"), (0, last), &points)
        })
        .collect();
    Report { name: "cnn", csv, text, figure: Figure { panels } }
}
