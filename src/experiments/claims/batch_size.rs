//! "If the batch size is small, the effect will be significantly reduced", and the
//! remedies: the paper's MNIST network (sigmoids) with no normalization, BN, Batch
//! Renormalization and Layer Normalization before every sigmoid, at batch sizes 2 to 128,
//! every run seeing the same number of training digits.
//!
//! The learning rate of each cell (normalization × batch size) is chosen on a validation
//! split (every eighth training digit, held out) from a grid of four rates scaled with the
//! batch size, `{0.1, 0.3, 1, 3} × √(B/60)` (the square-root rule keeps the gradient noise
//! per digit seen about constant), on the first seed; the three seeds then run at the
//! chosen rate, and the test accuracy is reported as mean (min–max).
//!
//! Batch Renormalization's schedule (Ioffe 2017's, in proportion to the run): `rmax = 1`,
//! `dmax = 0` (plain BN) for the first 5 % of the steps, then relaxed linearly to `rmax = 3`
//! at 40 % and `dmax = 5` at 25 %, held to the end.

use bn_core::typenum::{U128, U16, U2, U32, U4, U60, U8};

use super::{format_table, round3, seed_of, train_and_measure, tune, Context, Data, Measured, Report, Tuned};
use crate::networks::{PaperBn, PaperPlain};
use crate::plot::{Axis, Figure, Line, Panel};

// The networks moved to `crate::networks`; these paths stay.
pub use crate::networks::{
    PaperLayerNorm, PaperLayerNormBatch, PaperLayerNormFolded, PaperLayerNormGrads, PaperLayerNormInput,
    PaperLayerNormWorkspace, PaperRenorm, PaperRenormBatch, PaperRenormFolded, PaperRenormGrads, PaperRenormInput,
    PaperRenormWorkspace,
};

/// The normalizations compared.
pub const NORMS: [&str; 4] = ["none", "batchnorm", "renorm", "layernorm"];
/// The batch sizes (full run).
pub const BATCHES: [usize; 7] = [2, 4, 8, 16, 32, 60, 128];
/// The quick run's.
pub const QUICK_BATCHES: [usize; 3] = [2, 16, 128];
/// The learning-rate grid at batch 60 (scaled by √(B/60) for batch B).
pub const LR_GRID: [f64; 4] = [0.1, 0.3, 1.0, 3.0];
/// The quick run's.
pub const QUICK_LR_GRID: [f64; 2] = [0.3, 1.0];
/// Training digits seen by every run (full: about 17 epochs of the 3,500 fit digits; quick).
pub const SAMPLES: (usize, usize) = (60_000, 10_000);
/// Seeds per cell.
pub const SEEDS: usize = 3;
/// The initial weights, N(0, 0.1²) as in the paper's experiment.
pub const INIT_STD: f64 = 0.1;

/// The limits of the renorm schedule at `step` of `steps`: `(rmax, dmax)`.
pub fn renorm_limits(step: usize, steps: usize) -> (f32, f32) {
    let t = step as f32 / steps.max(1) as f32;
    let ramp = |end: f32| ((t - 0.05) / (end - 0.05)).clamp(0.0, 1.0);
    (1.0 + 2.0 * ramp(0.40), 5.0 * ramp(0.25))
}

fn one_norm<B: bn_core::generic_array::ArrayLength>(
    data: &Data,
    norm: &str,
    steps: usize,
    lr: f64,
    seed: u64,
) -> Measured {
    let fit = &data.fit;
    match norm {
        "none" => train_and_measure::<PaperPlain, B>(data, fit, steps, lr, INIT_STD, seed, |_, _, _| {}),
        "batchnorm" => train_and_measure::<PaperBn, B>(data, fit, steps, lr, INIT_STD, seed, |_, _, _| {}),
        "renorm" => train_and_measure::<PaperRenorm, B>(data, fit, steps, lr, INIT_STD, seed, |net, step, steps| {
            let (rmax, dmax) = renorm_limits(step, steps);
            net.set_renorm_limits(rmax, dmax);
        }),
        "layernorm" => train_and_measure::<PaperLayerNorm, B>(data, fit, steps, lr, INIT_STD, seed, |_, _, _| {}),
        _ => unreachable!("unknown normalization {norm}"),
    }
}

/// Trains one network (`norm` one of [`NORMS`]) at batch size `batch` (one of [`BATCHES`])
/// for `samples` training digits.
pub fn one(data: &Data, norm: &str, batch: usize, samples: usize, lr: f64, seed: u64) -> Measured {
    let steps = samples / batch;
    match batch {
        2 => one_norm::<U2>(data, norm, steps, lr, seed),
        4 => one_norm::<U4>(data, norm, steps, lr, seed),
        8 => one_norm::<U8>(data, norm, steps, lr, seed),
        16 => one_norm::<U16>(data, norm, steps, lr, seed),
        32 => one_norm::<U32>(data, norm, steps, lr, seed),
        60 => one_norm::<U60>(data, norm, steps, lr, seed),
        128 => one_norm::<U128>(data, norm, steps, lr, seed),
        _ => panic!("batch size {batch} is not compiled in (one of {BATCHES:?})"),
    }
}

/// Runs the experiment.
pub fn run(ctx: &Context<'_>) -> Report {
    let (batches, grid, samples): (&[usize], &[f64], usize) =
        if ctx.quick { (&QUICK_BATCHES, &QUICK_LR_GRID, SAMPLES.1) } else { (&BATCHES, &LR_GRID, SAMPLES.0) };
    let seeds: Vec<u64> = (0..SEEDS as u64).map(|k| seed_of(ctx.seed, k)).collect();
    let total = NORMS.len() * batches.len() * (grid.len() + seeds.len() - 1);
    let mut done = 0;
    let mut cells: Vec<(&str, usize, Tuned)> = Vec::new();
    for &batch in batches {
        let scale = (batch as f64 / 60.0).sqrt();
        let rates: Vec<f64> = grid.iter().map(|lr| round3(lr * scale)).collect();
        for norm in NORMS {
            let tuned = tune(
                &rates,
                &seeds,
                |lr, seed| one(ctx.data, norm, batch, samples, lr, seed),
                || {
                    done += 1;
                    (ctx.progress)(done, total);
                },
            );
            cells.push((norm, batch, tuned));
        }
    }
    let mut csv =
        String::from("batch,norm,final_test_accuracy,test_accuracy_min,test_accuracy_max,lr,lr_at_grid_edge,seeds\n");
    for (norm, batch, t) in &cells {
        let s = t.test();
        csv += &format!(
            "{batch},{norm},{:.4},{:.4},{:.4},{},{},{}\n",
            s.mean,
            s.min,
            s.max,
            t.lr,
            u8::from(t.at_edge),
            t.runs.len()
        );
    }
    let mut text = format!(
        "Batch size: the paper's network with each normalization before its sigmoids, {samples} training digits seen \
         per run (steps = {samples} / batch), weights ~ N(0, 0.1²), plain SGD.\nLearning rate per cell: the best \
         validation accuracy (every 8th training digit held out) of the grid {grid:?} × √(batch/60), first seed; then \
         {} seeds at that rate. Test accuracy: mean (min–max) over the seeds; lr: the chosen rate (* = at the \
         grid's edge).\n\n",
        seeds.len()
    );
    let mut header = vec!["batch".to_string()];
    header.extend(NORMS.iter().map(|n| n.to_string()));
    let rows: Vec<Vec<String>> = batches
        .iter()
        .map(|&batch| {
            let mut row = vec![batch.to_string()];
            for norm in NORMS {
                let t = &cells.iter().find(|(n, b, _)| *n == norm && *b == batch).expect("every cell ran").2;
                row.push(format!("{} lr {}", t.test().percent(), t.lr_marked()));
            }
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    text += &format_table(&header, &rows);
    let lines = NORMS
        .iter()
        .map(|&norm| {
            let mine: Vec<&Tuned> = cells.iter().filter(|(n, _, _)| *n == norm).map(|(_, _, t)| t).collect();
            Line::new(norm, batches.iter().zip(&mine).map(|(&b, t)| (b as f64, t.test().mean)).collect())
                .with_bands(mine.iter().map(|t| (t.test().min, t.test().max)).collect())
        })
        .collect();
    let figure = Figure {
        panels: vec![Panel {
            title: format!("Test accuracy after {samples} training digits"),
            x: Axis::log("Batch size (log scale)"),
            y: Axis::linear("Test accuracy (mean; bars: min–max of 3 seeds)").within(0.0, 1.0),
            lines,
        }],
    };
    Report { name: "batch_size", csv, text, figure }
}
