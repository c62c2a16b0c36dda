//! Ioffe & Szegedy 2015, Figure 1 (a)–(c): the MNIST network with and without Batch
//! Normalization, trained side by side; the trained BN network is then folded.
//!
//! ```sh
//! cargo run --release --example paper                      # embedded 5k digits, < 1 minute
//! cargo run --release --example paper -- --data ../shared/data/mnist --steps 50000
//! cargo run --release --example paper -- --help
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use bn_paper::divergence::Divergence;
use bn_paper::experiment::{self, Config, Record};
use bn_paper::figure::write_figure_svg;
use bn_paper::mnist;
use clap::Parser;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "paper",
    about = "Ioffe & Szegedy 2015, Figure 1: the MNIST network with and without Batch Normalization, side by side.",
    long_about = None,
    after_help = "\
Both networks (784 → 3 × [dense(100) → (batchnorm) → sigmoid] → dense(10)) start from the
same Gaussian weights and train with plain SGD on the same mini-batches of 60. The test
accuracy, training loss and the 15th/50th/85th percentiles of one sigmoid's input are
printed as training goes and drawn into an SVG figure (Figure 1 (a)–(c)); then the BN
network is folded, and the folded model must classify every test digit as the eval path
does."
)]
struct Args {
    /// Full MNIST: the IDX files (gzipped or raw) in DIR [default: the embedded 5k subset]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Training steps (mini-batches of 60) of each network
    #[arg(long, value_name = "N", default_value_t = Config::default().steps, value_parser = positive_int)]
    steps: usize,
    /// Evaluate both networks on the test set every N steps [default: steps / 50]
    #[arg(long, value_name = "N", value_parser = positive_int)]
    eval_every: Option<usize>,
    /// SGD learning rate, the same for both networks
    #[arg(long, value_name = "X", default_value_t = Config::default().lr, value_parser = positive_float)]
    lr: f32,
    /// Standard deviation of the Gaussian initial weights
    #[arg(long, value_name = "X", default_value_t = Config::default().init_std, value_parser = positive_f64)]
    init_std: f64,
    /// Seed of the initial weights and of the mini-batch order
    #[arg(long, value_name = "N", default_value_t = Config::default().seed)]
    seed: u64,
    /// Which sigmoid of the last hidden layer the figure follows (0 to 99)
    #[arg(long, value_name = "K", default_value_t = Config::default().unit, value_parser = below_100)]
    unit: usize,
    /// Where to write the figure (SVG)
    #[arg(long, value_name = "FILE", default_value = "figure1.svg")]
    figure: PathBuf,
    /// Save the BN network (model.safetensors) and its folded model (model_folded.bin)
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
}

fn positive_int(s: &str) -> Result<usize, String> {
    s.parse().ok().filter(|&n| n > 0).ok_or_else(|| "expected a positive integer".to_string())
}

fn positive_float(s: &str) -> Result<f32, String> {
    s.parse().ok().filter(|&x: &f32| x > 0.0 && x.is_finite()).ok_or_else(|| "expected a positive number".to_string())
}

fn below_100(s: &str) -> Result<usize, String> {
    s.parse().ok().filter(|&k| k < 100).ok_or_else(|| "expected an integer below 100".to_string())
}

fn positive_f64(s: &str) -> Result<f64, String> {
    s.parse().ok().filter(|&x: &f64| x > 0.0 && x.is_finite()).ok_or_else(|| "expected a positive number".to_string())
}

/// A row of the table; after it, a line for each network that diverged since the row of
/// step `prev` (a diverged network's accuracy is not a result: its cells say so).
fn row(r: &Record, prev: usize) {
    let loss = |l: f64| if l.is_nan() { "-".to_string() } else { format!("{l:.4}") };
    let acc =
        |a: f64, d: Option<Divergence>| if d.is_some() { "diverged".to_string() } else { format!("{:.2}%", 100.0 * a) };
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}  {:>7.2} {:>7.2} {:>7.2}  {:>7.2} {:>7.2} {:>7.2}",
        r.step,
        acc(r.acc_plain, r.diverged_plain),
        acc(r.acc_bn, r.diverged_bn),
        loss(r.loss_plain),
        loss(r.loss_bn),
        r.pct_plain[0],
        r.pct_plain[1],
        r.pct_plain[2],
        r.pct_bn[0],
        r.pct_bn[1],
        r.pct_bn[2],
    );
    for (name, d) in [("no BN", r.diverged_plain), ("BN", r.diverged_bn)] {
        if let Some(d) = d.filter(|d| d.step > prev) {
            println!("         {name}: {d}; it trains no more");
        }
    }
}

/// The summary's accuracy of a network: a percentage, or where it diverged.
fn final_accuracy(acc: f64, diverged: Option<Divergence>) -> String {
    match diverged {
        Some(d) => format!("none, {d}"),
        None => format!("{:.2}%", 100.0 * acc),
    }
}

/// Writes the trained models into `dir`: `model.safetensors` (the BN network, with
/// PyTorch's `state_dict` names) and `model_folded.bin` (the folded model's scalars,
/// little-endian `f32`, in declaration order: its documented byte layout, what
/// `bn_core::embed!` reads).
fn save(dir: &std::path::Path, report: &experiment::Report) -> std::io::Result<Vec<String>> {
    use bn_core::PlainData;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, bytes) in
        [("model.safetensors", report.bn.save_safetensors()), ("model_folded.bin", report.folded.to_bytes())]
    {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

fn main() -> ExitCode {
    let args: Args = common::parse_args();
    let cfg = &Config {
        steps: args.steps,
        // About 50 evaluation points whatever the step count.
        eval_every: args.eval_every.unwrap_or((args.steps / 50).max(1)),
        lr: args.lr,
        init_std: args.init_std,
        seed: args.seed,
        unit: args.unit,
    };
    let loaded = match &args.data {
        Some(dir) => mnist::load_idx_dir(dir),
        None => mnist::load_default(),
    };
    let (train, test) = match loaded {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let source = args.data.as_ref().map_or("embedded 5k subset".to_string(), |d| d.display().to_string());
    println!("MNIST ({source}): {} training, {} test digits", train.len(), test.len());
    println!("{}", experiment::PaperBn::SUMMARY);
    println!(
        "SGD lr {}, batch 60, {} steps, weights ~ N(0, {}²), seed {}; sigmoid input of unit {} of the last hidden layer\n",
        cfg.lr, cfg.steps, cfg.init_std, cfg.seed, cfg.unit
    );
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}  {:>23}  {:>23}",
        "step", "acc no BN", "acc BN", "loss no BN", "loss BN", "no BN p15/p50/p85", "BN p15/p50/p85"
    );
    let bar = common::bar(cfg.steps, "training");
    let mut prev = 0;
    let report = experiment::run(
        cfg,
        &train,
        &test,
        |step| bar.set_position(step as u64),
        |r| {
            bar.suspend(|| row(r, prev));
            prev = r.step;
        },
    );
    bar.finish();

    let fig = report.figure_data();
    match write_figure_svg(&args.figure, &fig) {
        Ok(()) => println!("\nfigure: {}", args.figure.display()),
        Err(e) => eprintln!("\nerror: could not write the figure {}: {e}", args.figure.display()),
    }
    let last = report.last().expect("at least the initial record");
    let first_to = |acc: f64, pick: fn(&Record) -> f64| {
        report.records.iter().find(|r| pick(r) >= acc).map_or("never".to_string(), |r| r.step.to_string())
    };
    println!("\nsummary after {} steps ({:.1} s of training for both networks):", last.step, report.train_seconds);
    println!("  test accuracy without BN: {}", final_accuracy(last.acc_plain, last.diverged_plain));
    println!("  test accuracy with BN:    {}", final_accuracy(last.acc_bn, last.diverged_bn));
    for target in [0.8, 0.9] {
        println!(
            "  steps to {:.0}% test accuracy: without BN {}, with BN {}",
            100.0 * target,
            first_to(target, |r| r.acc_plain),
            first_to(target, |r| r.acc_bn)
        );
    }
    let spread = |p: &[f32; 3]| p[2] - p[0];
    let (p0, b0) = (&report.records[0], last);
    println!(
        "  sigmoid input, 15th-85th percentile spread, start -> end: without BN {:.2} -> {:.2} (median {:+.2} -> {:+.2}), with BN {:.2} -> {:.2} (median {:+.2} -> {:+.2})",
        spread(&p0.pct_plain),
        spread(&b0.pct_plain),
        p0.pct_plain[1],
        b0.pct_plain[1],
        spread(&p0.pct_bn),
        spread(&b0.pct_bn),
        p0.pct_bn[1],
        b0.pct_bn[1]
    );
    if let Some(d) = last.diverged_bn {
        println!("  folded BN network: not evaluated, the BN network {d}");
    } else {
        println!(
            "  folded BN network: test accuracy {:.2}% (eval path {:.2}%, {} of {} predictions differ)",
            100.0 * report.folded_acc,
            100.0 * report.eval_acc,
            report.folded_disagreements,
            test.len()
        );
    }
    println!(
        "  inference per sample: folded {:.2} µs, unfolded eval {:.2} µs",
        report.folded_ns_per_sample / 1e3,
        report.eval_ns_per_sample / 1e3
    );
    if let Some(dir) = &args.save {
        match save(dir, &report) {
            Ok(files) => println!("  saved: {}", files.join(", ")),
            Err(e) => {
                eprintln!("error: could not save the model to {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    // A diverged BN network's numbers are NaN: its folded model's predictions are no check.
    if last.diverged_bn.is_none() && report.folded_acc != report.eval_acc {
        eprintln!("error: the folded model's accuracy differs from the eval path's");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
