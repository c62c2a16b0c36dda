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

use bn_paper::experiments::paper::{self, write_figure_svg, Config, Record};
use clap::Parser;
use common::pair::{print_accuracies, print_folding, report_figure, report_int8, run_with_table, save, SaveArgs};
use common::{below_100, positive, positive_int, table, DataArgs};

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
    #[command(flatten)]
    data: DataArgs,
    /// Training steps (mini-batches of 60) of each network
    #[arg(long, value_name = "N", default_value_t = Config::default().steps, value_parser = positive_int)]
    steps: usize,
    /// Evaluate both networks on the test set every N steps [default: steps / 50]
    #[arg(long, value_name = "N", value_parser = positive_int)]
    eval_every: Option<usize>,
    /// SGD learning rate, the same for both networks
    #[arg(long, value_name = "X", default_value_t = Config::default().lr, value_parser = positive::<f32>)]
    lr: f32,
    /// Standard deviation of the Gaussian initial weights
    #[arg(long, value_name = "X", default_value_t = Config::default().init_std, value_parser = positive::<f64>)]
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
    #[command(flatten)]
    save: SaveArgs,
}

/// A row of the table; after it, a line for each network that diverged since the row of
/// step `prev` (a diverged network's accuracy is not a result: its cells say so).
fn row(r: &Record, prev: usize) {
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}  {:>7.2} {:>7.2} {:>7.2}  {:>7.2} {:>7.2} {:>7.2}",
        r.step,
        table::accuracy(r.acc_plain, r.diverged_plain),
        table::accuracy(r.acc_bn, r.diverged_bn),
        table::loss(r.loss_plain),
        table::loss(r.loss_bn),
        r.pct_plain[0],
        r.pct_plain[1],
        r.pct_plain[2],
        r.pct_bn[0],
        r.pct_bn[1],
        r.pct_bn[2],
    );
    table::print_divergences(prev, [("no BN", r.diverged_plain), ("BN", r.diverged_bn)]);
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
    let (train, test, source) = match args.data.load() {
        Ok(data) => data,
        Err(status) => return status,
    };
    println!("MNIST ({source}): {} training, {} test digits", train.len(), test.len());
    println!("{}", paper::PaperBn::SUMMARY);
    println!(
        "SGD lr {}, batch 60, {} steps, weights ~ N(0, {}²), seed {}; sigmoid input of unit {} of the last hidden layer\n",
        cfg.lr, cfg.steps, cfg.init_std, cfg.seed, cfg.unit
    );
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}  {:>23}  {:>23}",
        "step", "acc no BN", "acc BN", "loss no BN", "loss BN", "no BN p15/p50/p85", "BN p15/p50/p85"
    );
    let report =
        run_with_table(cfg.steps, row, |progress, on_record| paper::run(cfg, &train, &test, progress, on_record));

    report_figure(&args.figure, write_figure_svg(&args.figure, &report.figure_data()));
    let last = report.last().expect("at least the initial record");
    println!("\nsummary after {} steps ({:.1} s of training for both networks):", last.step, report.train_seconds);
    print_accuracies(&report, [0.8, 0.9]);
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
    print_folding(&report, test.len(), false);
    println!(
        "  inference per sample: folded {:.2} µs, unfolded eval {:.2} µs",
        report.timing.folded_one / 1e3,
        report.timing.eval_one / 1e3
    );
    let int8 = report_int8(&report, &train, &test);
    if let Err(status) = save(&args.save, &report, int8) {
        return status;
    }
    // A diverged BN network's numbers are NaN: its folded model's predictions are no check.
    if last.diverged_bn.is_none() && report.folded_acc != report.eval_acc {
        eprintln!("error: the folded model's accuracy differs from the eval path's");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
