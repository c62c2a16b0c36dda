//! The convolutional experiment: a small LeNet-style network on MNIST with and without Batch
//! Normalization, trained side by side; the trained BN network is then folded.
//!
//! ```sh
//! cargo run --release --example cnn                      # embedded 5k digits, < 1 minute
//! cargo run --release --example cnn -- --data ../shared/data/mnist --steps 10000
//! cargo run --release --example cnn -- --help
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bn_paper::cnn::{self, Config, Record, Report};
use bn_paper::divergence::Divergence;
use bn_paper::figure::write_curves_svg;
use bn_paper::mnist;
use clap::Parser;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "cnn",
    about = "A LeNet-style CNN on MNIST with and without Batch Normalization, side by side.",
    long_about = None,
    after_help = "\
Both networks (two 3×3 convolutions with 8 and 16 channels, each followed by (batchnorm,)
relu and 2×2 max pooling, then dense(10)) start from the same weights and train with SGD
on the same mini-batches of 60. The test accuracy and training loss of both are printed
as training goes and drawn into an SVG figure; then the BN network is folded, and the
folded model must classify every test digit as the eval path does."
)]
struct Args {
    /// Full MNIST: the IDX files (gzipped or raw) in DIR [default: the embedded 5k subset]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Training steps (mini-batches of 60) of each network
    #[arg(long, value_name = "N", default_value_t = Config::default().steps, value_parser = positive_int)]
    steps: usize,
    /// Evaluate both networks on the test set every N steps [default: steps / 40]
    #[arg(long, value_name = "N", value_parser = positive_int)]
    eval_every: Option<usize>,
    /// SGD learning rate, the same for both networks
    #[arg(long, value_name = "X", default_value_t = Config::default().lr, value_parser = positive_float)]
    lr: f32,
    /// After N steps, divide the learning rate by 10 (a list: after each) [default: never]
    #[arg(long, value_name = "N,...", value_parser = positive_int, value_delimiter = ',')]
    lr_drop: Vec<usize>,
    /// SGD momentum [default: 0, plain SGD]
    #[arg(long, value_name = "X", default_value_t = Config::default().momentum, value_parser = unit_interval)]
    momentum: f32,
    /// L2 weight decay of every parameter [default: 0]
    #[arg(long, value_name = "X", default_value_t = Config::default().weight_decay, value_parser = non_negative_float)]
    weight_decay: f32,
    /// Seed of the initial weights and of the mini-batch order
    #[arg(long, value_name = "N", default_value_t = Config::default().seed)]
    seed: u64,
    /// Where to write the figure (SVG)
    #[arg(long, value_name = "FILE", default_value = "cnn.svg")]
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

fn unit_interval(s: &str) -> Result<f32, String> {
    s.parse().ok().filter(|x: &f32| (0.0..1.0).contains(x)).ok_or_else(|| "expected a number in [0, 1)".to_string())
}

fn non_negative_float(s: &str) -> Result<f32, String> {
    s.parse().ok().filter(|&x: &f32| x >= 0.0 && x.is_finite()).ok_or_else(|| "expected a number ≥ 0".to_string())
}

/// A row of the table; after it, a line for each network that diverged since the row of
/// step `prev` (a diverged network's accuracy is not a result: its cells say so).
fn row(r: &Record, prev: usize) {
    let loss = |l: f64| if l.is_nan() { "-".to_string() } else { format!("{l:.4}") };
    let acc =
        |a: f64, d: Option<Divergence>| if d.is_some() { "diverged".to_string() } else { format!("{:.2}%", 100.0 * a) };
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}",
        r.step,
        acc(r.acc_plain, r.diverged_plain),
        acc(r.acc_bn, r.diverged_bn),
        loss(r.loss_plain),
        loss(r.loss_bn)
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
/// little-endian `f32`, in declaration order: what `bn_core::embed!` reads).
fn save(dir: &Path, report: &Report) -> std::io::Result<Vec<String>> {
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
    let cfg = Config {
        steps: args.steps,
        // About 40 evaluation points whatever the step count.
        eval_every: args.eval_every.unwrap_or((args.steps / 40).max(1)),
        lr: args.lr,
        lr_drops: {
            let mut drops = args.lr_drop.clone();
            drops.sort_unstable();
            drops
        },
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        seed: args.seed,
        ..Config::default()
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
    println!("{}", cnn::LeNetBn::SUMMARY);
    println!("{}", cnn::LeNetPlain::SUMMARY);
    let drop: String = cfg
        .lr_drops
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {} after step {d}", cfg.lr / 10f32.powi(i as i32 + 1)))
        .collect();
    let mut extras = String::new();
    if cfg.momentum > 0.0 {
        extras += &format!(", momentum {}", cfg.momentum);
    }
    if cfg.weight_decay > 0.0 {
        extras += &format!(", weight decay {}", cfg.weight_decay);
    }
    println!(
        "SGD lr {}{drop}{extras}, batch 60, {} steps ({:.1} epochs), test set every {} steps; both networks start from the \
         same weights (seed {}: He normal for the convolutions, Xavier normal for the dense layer, biases 0)\n",
        cfg.lr,
        cfg.steps,
        (cfg.steps * 60) as f64 / train.len() as f64,
        cfg.eval_every,
        cfg.seed
    );
    println!("{:>7}  {:>10}  {:>10}  {:>10}  {:>10}", "step", "acc no BN", "acc BN", "loss no BN", "loss BN");
    let bar = common::bar(cfg.steps, "training");
    let mut prev = 0;
    let report = cnn::run(
        &cfg,
        &train,
        &test,
        |step| bar.set_position(step as u64),
        |r| {
            bar.suspend(|| row(r, prev));
            prev = r.step;
        },
    );
    bar.finish();

    match write_curves_svg(&args.figure, &report.curves()) {
        Ok(()) => println!("\nfigure: {}", args.figure.display()),
        Err(e) => eprintln!("\nerror: could not write the figure {}: {e}", args.figure.display()),
    }
    let last = report.last().expect("at least the initial record");
    let steps_to =
        |acc: f64, pick: fn(&Record) -> f64| report.steps_to(acc, pick).map_or("never".to_string(), |s| s.to_string());
    println!(
        "\nsummary after {} steps ({:.1} s of training for both networks: train steps {:.2} ms without BN, {:.2} ms \
         with BN; the rest is the evaluations):",
        last.step,
        report.train_seconds,
        1e3 * report.train_seconds_plain / cfg.steps as f64,
        1e3 * report.train_seconds_bn / cfg.steps as f64
    );
    println!("  test accuracy without BN: {}", final_accuracy(last.acc_plain, last.diverged_plain));
    println!("  test accuracy with BN:    {}", final_accuracy(last.acc_bn, last.diverged_bn));
    // The subset's 4,000 training digits cap the accuracy lower than full MNIST's 60,000.
    let targets = if train.len() >= 50_000 { [0.98, 0.99] } else { [0.9, 0.95] };
    for target in targets {
        println!(
            "  steps to {:.0}% test accuracy: without BN {}, with BN {}",
            100.0 * target,
            steps_to(target, |r| r.acc_plain),
            steps_to(target, |r| r.acc_bn)
        );
    }
    if let Some(d) = last.diverged_bn {
        println!("  folded BN network: not evaluated, the BN network {d}");
    } else {
        println!(
            "  folded BN network: test accuracy {:.2}% (eval path {:.2}%, {} of {} predictions differ; forward_batch \
             vs one sample: {} differ)",
            100.0 * report.folded_acc,
            100.0 * report.eval_acc,
            report.folded_disagreements,
            test.len(),
            report.batch_disagreements
        );
    }
    let t = &report.timing;
    println!(
        "  inference per sample: folded {:.1} µs one at a time, {:.1} µs in forward_batch; unfolded eval {:.1} µs \
         one at a time, {:.1} µs in forward_batch",
        t.folded_one / 1e3,
        t.folded_batch / 1e3,
        t.eval_one / 1e3,
        t.eval_batch / 1e3
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
    if last.diverged_bn.is_none() && (report.folded_disagreements != 0 || report.batch_disagreements != 0) {
        eprintln!("error: the folded model or a batched forward predicts differently from the eval path");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
