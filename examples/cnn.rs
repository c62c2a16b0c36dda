//! The convolutional experiment: a small LeNet-style network on MNIST with and without Batch
//! Normalization, trained side by side; the trained BN network is then folded.
//!
//! ```sh
//! cargo run --release --example cnn                      # embedded 5k digits, < 1 minute
//! cargo run --release --example cnn -- --data ../shared/data/mnist --steps 10000
//! cargo run --release --example cnn -- --help
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use bn_paper::experiments::cnn::{self, write_curves_svg, Config, Record};
use clap::Parser;
use common::pair::{print_accuracies, print_folding, report_figure, run_with_table, save, SaveArgs};
use common::{non_negative, positive, positive_int, table, unit_interval, DataArgs};

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
    #[command(flatten)]
    data: DataArgs,
    /// Training steps (mini-batches of 60) of each network
    #[arg(long, value_name = "N", default_value_t = Config::default().steps, value_parser = positive_int)]
    steps: usize,
    /// Evaluate both networks on the test set every N steps [default: steps / 40]
    #[arg(long, value_name = "N", value_parser = positive_int)]
    eval_every: Option<usize>,
    /// SGD learning rate, the same for both networks
    #[arg(long, value_name = "X", default_value_t = Config::default().lr, value_parser = positive::<f32>)]
    lr: f32,
    /// After N steps, divide the learning rate by 10 (a list: after each) [default: never]
    #[arg(long, value_name = "N,...", value_parser = positive_int, value_delimiter = ',')]
    lr_drop: Vec<usize>,
    /// SGD momentum [default: 0, plain SGD]
    #[arg(long, value_name = "X", default_value_t = Config::default().momentum, value_parser = unit_interval)]
    momentum: f32,
    /// L2 weight decay of every parameter [default: 0]
    #[arg(long, value_name = "X", default_value_t = Config::default().weight_decay, value_parser = non_negative)]
    weight_decay: f32,
    /// Seed of the initial weights and of the mini-batch order
    #[arg(long, value_name = "N", default_value_t = Config::default().seed)]
    seed: u64,
    /// Where to write the figure (SVG)
    #[arg(long, value_name = "FILE", default_value = "cnn.svg")]
    figure: PathBuf,
    #[command(flatten)]
    save: SaveArgs,
}

/// A row of the table; after it, a line for each network that diverged since the row of
/// step `prev` (a diverged network's accuracy is not a result: its cells say so).
fn row(r: &Record, prev: usize) {
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}",
        r.step,
        table::accuracy(r.acc_plain, r.diverged_plain),
        table::accuracy(r.acc_bn, r.diverged_bn),
        table::loss(r.loss_plain),
        table::loss(r.loss_bn)
    );
    table::print_divergences(prev, [("no BN", r.diverged_plain), ("BN", r.diverged_bn)]);
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
    let (train, test, source) = match args.data.load() {
        Ok(data) => data,
        Err(status) => return status,
    };
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
    let report =
        run_with_table(cfg.steps, row, |progress, on_record| cnn::run(&cfg, &train, &test, progress, on_record));

    report_figure(&args.figure, write_curves_svg(&args.figure, &report.curves()));
    let last = report.last().expect("at least the initial record");
    println!(
        "\nsummary after {} steps ({:.1} s of training for both networks: train steps {:.2} ms without BN, {:.2} ms \
         with BN; the rest is the evaluations):",
        last.step,
        report.train_seconds,
        1e3 * report.train_seconds_plain / cfg.steps as f64,
        1e3 * report.train_seconds_bn / cfg.steps as f64
    );
    // The subset's 4,000 training digits cap the accuracy lower than full MNIST's 60,000.
    let targets = if train.len() >= 50_000 { [0.98, 0.99] } else { [0.9, 0.95] };
    print_accuracies(&report, targets);
    print_folding(&report, test.len(), true);
    let t = &report.timing;
    println!(
        "  inference per sample: folded {:.1} µs one at a time, {:.1} µs in forward_batch; unfolded eval {:.1} µs \
         one at a time, {:.1} µs in forward_batch",
        t.folded_one / 1e3,
        t.folded_batch / 1e3,
        t.eval_one / 1e3,
        t.eval_batch / 1e3
    );
    if let Err(status) = save(&args.save, &report) {
        return status;
    }
    // A diverged BN network's numbers are NaN: its folded model's predictions are no check.
    if last.diverged_bn.is_none() && (report.folded_disagreements != 0 || report.batch_disagreements != 0) {
        eprintln!("error: the folded model or a batched forward predicts differently from the eval path");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
