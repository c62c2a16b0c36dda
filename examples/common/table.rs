//! The cells of the examples' tables and summaries.

use bn_paper::train::Divergence;

/// A test accuracy as a percentage with two decimals (`91.30%`), or `diverged`: a diverged
/// network's accuracy is not a result.
pub fn accuracy(acc: f64, diverged: Option<Divergence>) -> String {
    if diverged.is_some() {
        "diverged".to_string()
    } else {
        percent(acc)
    }
}

/// `91.30%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// A mean training loss with four decimals, or `-` where there is none (step 0, or
/// diverged).
pub fn loss(l: f64) -> String {
    if l.is_nan() {
        "-".to_string()
    } else {
        format!("{l:.4}")
    }
}

/// The lines printed under a table row for each network that diverged since the row of step
/// `prev`: `         no BN: diverged at step 12 (loss NaN); it trains no more`.
pub fn print_divergences(prev: usize, networks: [(&str, Option<Divergence>); 2]) {
    for (name, d) in networks {
        if let Some(d) = d.filter(|d| d.step > prev) {
            println!("         {name}: {d}; it trains no more");
        }
    }
}

/// The summary's accuracy of a network: a percentage, or where it diverged.
pub fn final_accuracy(acc: f64, diverged: Option<Divergence>) -> String {
    match diverged {
        Some(d) => format!("none, {d}"),
        None => percent(acc),
    }
}

/// The first step that reached an accuracy, or `never`.
pub fn steps_to(step: Option<usize>) -> String {
    step.map_or("never".to_string(), |s| s.to_string())
}
