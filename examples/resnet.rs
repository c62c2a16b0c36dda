//! The ResNet experiment: a small residual network on MNIST with and without Batch
//! Normalization, trained side by side; the trained BN network is then folded.
//!
//! ```sh
//! cargo run --release --example resnet                   # embedded 5k digits, about a minute
//! # full MNIST, 99.56 % with BN (docs/resnet.md):
//! cargo run --release --example resnet -- --data ../shared/data/mnist --steps 12000 --lr 0.1 --momentum 0.9 \
//!     --weight-decay 0.0005 --lr-drop 7000,10000 --eval-every 500
//! cargo run --release --example resnet -- --help
//! ```

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use bn_paper::experiments::resnet;
use clap::Parser;
use common::pair::{no_int8, SaveArgs};
use common::sgd::{run_example, SgdArgs};
use common::{positive_int, DataArgs};

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "resnet",
    about = "A small ResNet on MNIST with and without Batch Normalization, side by side.",
    long_about = None,
    after_help = "\
Both networks (a 3×3 convolution with 16 channels, then three residual blocks of two 3×3
convolutions at 16, 32 and 64 channels, the last two with stride 2 and a 1×1 projection
shortcut, each convolution followed by (batchnorm,) and each block by relu; then the mean of
each channel and dense(10)) start from the same weights and train with SGD on the same
mini-batches of 60. The test accuracy and training loss of both are printed as training
goes and drawn into an SVG figure; then the BN network is folded, and the folded model must
classify every test digit as the eval path does.

On full MNIST, `--data DIR --steps 12000 --lr 0.1 --momentum 0.9 --weight-decay 0.0005
--lr-drop 7000,10000` reached 99.56 % with BN, 99.27 % without (docs/resnet.md)."
)]
struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Training steps (mini-batches of 60) of each network
    #[arg(long, value_name = "N", default_value_t = resnet::default_config().steps, value_parser = positive_int)]
    steps: usize,
    #[command(flatten)]
    sgd: SgdArgs,
    /// Where to write the figure (SVG)
    #[arg(long, value_name = "FILE", default_value = "resnet.svg")]
    figure: PathBuf,
    #[command(flatten)]
    save: SaveArgs,
}

fn main() -> ExitCode {
    let args: Args = common::parse_args();
    let cfg = args.sgd.config(args.steps, resnet::default_config());
    run_example(
        [resnet::ResNetBn::SUMMARY, resnet::ResNetPlain::SUMMARY],
        &cfg,
        &args.data,
        &args.figure,
        &args.save,
        |train, test, progress, on_record| resnet::run(&cfg, train, test, progress, on_record),
        no_int8,
    )
}
