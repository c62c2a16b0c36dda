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

use bn_paper::experiments::cnn::{self, Config};
use clap::Parser;
use common::pair::{report_int8, SaveArgs};
use common::sgd::{run_example, SgdArgs};
use common::{positive_int, DataArgs};

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
    #[command(flatten)]
    sgd: SgdArgs,
    /// Where to write the figure (SVG)
    #[arg(long, value_name = "FILE", default_value = "cnn.svg")]
    figure: PathBuf,
    #[command(flatten)]
    save: SaveArgs,
}

fn main() -> ExitCode {
    let args: Args = common::parse_args();
    let cfg = args.sgd.config(args.steps, Config::default());
    run_example(
        [cnn::LeNetBn::SUMMARY, cnn::LeNetPlain::SUMMARY],
        &cfg,
        &args.data,
        &args.figure,
        &args.save,
        |train, test, progress, on_record| cnn::run(&cfg, train, test, progress, on_record),
        report_int8,
    )
}
