//! Sigmoid saturation, and how Batch Normalization undoes it.
//!
//! 1000 inputs `x ~ N(−6, 1)` of one sigmoid unit: almost all of them sit where
//! `σ'(x) = σ(x)(1 − σ(x))` is tiny, so almost no gradient flows back through the unit.
//! A training-mode `BatchNorm` (γ = 1, β = 0) normalizes the same batch to zero mean and
//! unit variance, where the sigmoid responds.
//!
//! ```sh
//! cargo run --release --example sigmoid_saturation
//! ```

use bn_paper::saturation::{
    saturation_bound, saturation_demo, SaturationStats, INPUT_MEAN, INPUT_STD, SAMPLES, SATURATION_THRESHOLD,
};

const SEED: u64 = 0;

/// Rounds away a `-0.000` in the table.
fn tidy(v: f32) -> f32 {
    if v.abs() < 5e-4 {
        0.0
    } else {
        v
    }
}

fn row(name: &str, s: &SaturationStats) {
    println!(
        "{name:<28} {:>9.3} {:>9.3} {:>14.4} {:>13.1}%",
        tidy(s.input_mean),
        tidy(s.input_std),
        s.mean_derivative,
        100.0 * s.saturated_fraction
    );
}

fn main() {
    let (before, after) = saturation_demo(SEED);
    println!(
        "Sigmoid saturation: {SAMPLES} inputs x ~ N({INPUT_MEAN}, {INPUT_STD}^2) to one sigmoid unit (seed {SEED})"
    );
    println!();
    let threshold = format!("σ'(x) < {SATURATION_THRESHOLD}");
    println!("{:<28} {:>9} {:>9} {:>14} {:>14}", "", "mean x", "std x", "mean σ'(x)", threshold);
    row("before Batch Normalization", &before);
    row("after BN (γ = 1, β = 0)", &after);
    println!();
    println!(
        "σ'(x) = σ(x)(1 − σ(x)) is at most 0.25, at x = 0, and below {SATURATION_THRESHOLD} for |x| > {:.3}.",
        saturation_bound()
    );
    println!(
        "Before BN, {:.1}% of the inputs saturate the sigmoid: the mean derivative {:.4} is {:.0} times",
        100.0 * before.saturated_fraction,
        before.mean_derivative,
        0.25 / before.mean_derivative
    );
    println!("smaller than at its centre, so almost no gradient flows back through the unit.");
    println!(
        "BN normalizes the batch to mean 0 and variance 1: the mean derivative becomes {:.3} ({:.0} times larger)",
        after.mean_derivative,
        after.mean_derivative / before.mean_derivative
    );
    println!("and {:.1}% of the inputs saturate.", 100.0 * after.saturated_fraction);
}
