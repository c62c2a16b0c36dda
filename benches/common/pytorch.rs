//! The same workload in PyTorch, run from the bench so that both are measured in the same
//! run on the same machine: a script of `tools/` prints one JSON line of seconds per train
//! step, per folded sample and per folded sample at batch 60.

use std::process::Command;

use super::fmt_time;

/// PyTorch's three times at `threads` threads, or why not.
fn run(python: &str, script: &str, threads: usize) -> Result<[f64; 3], String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/");
    let out = Command::new(python)
        .arg(format!("{path}{script}"))
        .args(["--threads", &threads.to_string()])
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{script} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let field = |name: &str| -> Result<f64, String> {
        let key = format!("\"{name}\": ");
        let at = text.find(&key).ok_or_else(|| format!("no `{name}` in {text:?}"))? + key.len();
        let end = text[at..].find([',', '}']).map_or(text.len(), |e| at + e);
        text[at..end].trim().parse().map_err(|e| format!("`{name}` in {text:?}: {e}"))
    };
    Ok([field("train")?, field("folded_one")?, field("folded_batch60")?])
}

/// When `BN_BENCH_PYTHON` names a Python with torch: runs `tools/{script}` at 1 and 2 threads
/// and prints PyTorch's times next to `ours` (train step, folded one sample, folded batch per
/// sample) with the ratios, and whether the train step is at least `train_target` times
/// faster than PyTorch's at 1 thread. Otherwise says how to get the comparison.
pub fn compare(script: &str, ours: &[f64; 3], train_target: f64) {
    let Ok(python) = std::env::var("BN_BENCH_PYTHON") else {
        println!("(PyTorch comparison: set BN_BENCH_PYTHON to a Python with torch, runs tools/{script})\n");
        return;
    };
    println!("PyTorch, same machine, same run (tools/{script}):");
    println!("  {:<36} {:>12} {:>14} {:>14}", "", "bn-core", "PyTorch", "PyTorch/bn");
    for threads in [1, 2] {
        match run(&python, script, threads) {
            Ok(theirs) => {
                for (i, what) in
                    ["train step, batch 60", "folded, one sample", "folded, batch 60 /sample"].iter().enumerate()
                {
                    let ratio = theirs[i] / ours[i];
                    let met = match (i, threads) {
                        (0, 1) => {
                            format!("  target ≥ {train_target}×: {}", if ratio >= train_target { "yes" } else { "NO" })
                        }
                        _ => String::new(),
                    };
                    println!(
                        "  {:<36} {:>12} {:>14} {:>13.2}×{met}",
                        format!("{what}, {threads} thread{}", if threads > 1 { "s" } else { "" }),
                        fmt_time(ours[i]),
                        fmt_time(theirs[i]),
                        ratio
                    );
                }
            }
            Err(e) => println!("  {threads} thread(s): {e}"),
        }
    }
    println!();
}
