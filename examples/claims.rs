//! The method's claims, measured: learning rate, initialization, batch size, dropout, CNN,
//! depth. Each experiment prints its table and writes `NAME.csv` and `NAME.svg` into `--out`.
//!
//! ```sh
//! cargo run --release --example claims                   # all of them, embedded 5k digits
//! cargo run --release --example claims -- --quick        # smaller grids, a few minutes
//! cargo run --release --example claims -- lr_sweep cnn --out /tmp/claims
//! cargo run --release --example claims -- --help
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use bn_paper::experiments::claims::{self, Context, Data, NAMES};
use clap::Parser;
use common::DataArgs;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "claims",
    about = "The claims of Batch Normalization, measured: one experiment per claim, each a table (CSV) and a figure (SVG).",
    long_about = None,
    after_help = "\
Experiments:
  lr_sweep    the paper's MNIST network with and without BN over learning rates 0.05 to 50
  init_sweep  the same over initial weight scales 0.01 to 10
  batch_size  no normalization, BN, Batch Renormalization, LayerNorm at batch sizes 2 to 128,
              the same number of digits seen; learning rate per cell chosen on a validation split
  dropout     plain, dropout, BN, BN + dropout on 500 training digits: training vs test accuracy
  cnn         the LeNet with and without BN at learning rates 0.1 and 0.5
  depth       plain and residual CNNs of 2 to 16 convolutions with and without BN; the deepest
              residual network with BN, GroupNorm or none at batch sizes 2, 8 and 60

A run diverged when its loss became non-finite or its test accuracy is at chance (≤ 15 %).
The batch_size and dropout cells run 3 seeds each (mean, min and max reported); depth runs one."
)]
struct Args {
    /// Experiments to run (lr_sweep, init_sweep, batch_size, dropout, cnn, depth, or all)
    #[arg(value_name = "NAME", default_value = "all", value_parser = experiment_name)]
    names: Vec<String>,
    #[command(flatten)]
    data: DataArgs,
    /// Smaller grids and fewer steps: the whole suite in a few minutes (depth the longest)
    #[arg(long)]
    quick: bool,
    /// Where to write NAME.csv and NAME.svg
    #[arg(long, value_name = "DIR", default_value = "claims")]
    out: PathBuf,
    /// The base seed (each run derives its own from it)
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
}

fn experiment_name(s: &str) -> Result<String, String> {
    if s == "all" || NAMES.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!("expected one of {} or all", NAMES.join(", ")))
    }
}

fn main() -> ExitCode {
    let args: Args = common::parse_args();
    let names: Vec<&str> = if args.names.iter().any(|n| n == "all") {
        NAMES.to_vec()
    } else {
        args.names.iter().map(String::as_str).collect()
    };
    let (train, test, source) = match args.data.load() {
        Ok(data) => data,
        Err(status) => return status,
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: could not create {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    let data = Data::new(train, test);
    println!(
        "MNIST ({source}): {} training digits ({} to fit, {} held out to choose learning rates), {} test digits{}",
        data.train.len(),
        data.fit.len(),
        data.validation.len(),
        data.test.len(),
        if args.quick { "; --quick: smaller grids and fewer steps" } else { "" }
    );
    let start = Instant::now();
    let mut failed = false;
    for name in names {
        println!("\n== {name} ==");
        let bar = common::bar(0, name);
        let progress = |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let ctx = Context { data: &data, quick: args.quick, seed: args.seed, progress: &progress };
        let t0 = Instant::now();
        let report = claims::run(name, &ctx).expect("names are checked by the parser");
        bar.finish_and_clear();
        print!("{}", report.text);
        let csv = args.out.join(format!("{name}.csv"));
        let svg = args.out.join(format!("{name}.svg"));
        if let Err(e) = std::fs::write(&csv, &report.csv) {
            eprintln!("error: could not write {}: {e}", csv.display());
            failed = true;
        }
        if let Err(e) = report.figure.write_svg(&svg) {
            eprintln!("error: could not write {}: {e}", svg.display());
            failed = true;
        }
        println!("({:.1} s; {}, {})", t0.elapsed().as_secs_f64(), csv.display(), svg.display());
    }
    println!("\ntotal: {:.1} s", start.elapsed().as_secs_f64());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
