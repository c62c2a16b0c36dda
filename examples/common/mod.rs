//! What the examples share: the command line (parsing and the checks of its values), the
//! data (`--data DIR` or the embedded subset), the progress bar, the cells of their tables
//! ([`table`]), and what the two side-by-side experiments print and save around their run
//! ([`pair`], with `--save DIR`; [`sgd`] for the two on an SGD schedule).

// Each example uses a part of this module.
#![allow(dead_code)]

pub mod pair;
pub mod sgd;
pub mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use bn_paper::mnist::{self, Dataset};
use clap::error::{ContextKind, ErrorKind};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Parses the command line into `A`, exiting with clap's message on an error (status 2) or
/// after `--help`; an unknown flag reads "unknown option '--x'" (clap says "unexpected
/// argument").
pub fn parse_args<A: Parser>() -> A {
    A::try_parse().unwrap_or_else(|err| {
        if err.kind() == ErrorKind::UnknownArgument {
            if let Some(arg) = err.get(ContextKind::InvalidArg) {
                A::command().error(ErrorKind::UnknownArgument, format!("unknown option '{arg}'")).exit();
            }
        }
        err.exit()
    })
}

/// `value_parser` of a positive integer.
pub fn positive_int(s: &str) -> Result<usize, String> {
    s.parse().ok().filter(|&n| n > 0).ok_or_else(|| "expected a positive integer".to_string())
}

/// `value_parser` of an integer 0 to 99 (a unit of a hidden layer of 100).
pub fn below_100(s: &str) -> Result<usize, String> {
    s.parse().ok().filter(|&k| k < 100).ok_or_else(|| "expected an integer below 100".to_string())
}

/// `value_parser` of a positive finite number (`f32` or `f64`).
pub fn positive<T: std::str::FromStr + Into<f64> + Copy>(s: &str) -> Result<T, String> {
    let ok = |x: &T| (*x).into() > 0.0 && (*x).into().is_finite();
    s.parse().ok().filter(ok).ok_or_else(|| "expected a positive number".to_string())
}

/// `value_parser` of a finite number ≥ 0.
pub fn non_negative(s: &str) -> Result<f32, String> {
    s.parse().ok().filter(|&x: &f32| x >= 0.0 && x.is_finite()).ok_or_else(|| "expected a number ≥ 0".to_string())
}

/// `value_parser` of a number in `[0, 1)` (a momentum).
pub fn unit_interval(s: &str) -> Result<f32, String> {
    s.parse().ok().filter(|x: &f32| (0.0..1.0).contains(x)).ok_or_else(|| "expected a number in [0, 1)".to_string())
}

/// The data (`--data DIR`).
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// Full MNIST: the IDX files (gzipped or raw) in DIR [default: the embedded 5k subset]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    /// The `(train, test)` digits: full MNIST from the IDX files in `--data DIR`, or the
    /// embedded 5k subset; and how to name them (`embedded 5k subset` or the directory). An
    /// error is printed and becomes the exit status.
    pub fn load(&self) -> Result<(Dataset, Dataset, String), ExitCode> {
        let loaded = match &self.data {
            Some(dir) => mnist::load_idx_dir(dir),
            None => mnist::load_default(),
        };
        match loaded {
            Ok((train, test)) => {
                let source = self.data.as_ref().map_or("embedded 5k subset".to_string(), |d| d.display().to_string());
                Ok((train, test, source))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::FAILURE)
            }
        }
    }
}

/// A progress bar on stderr for `total` units of work: label, bar, count, percentage and
/// elapsed time, redrawn at most 20 times a second. indicatif draws nothing when stderr is
/// not a terminal (a log file, CI), so redirected output stays clean.
pub fn bar(total: usize, label: &str) -> ProgressBar {
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos:>5}/{len} {percent:>3}% {elapsed}")
        .expect("a valid template")
        .progress_chars("#>-");
    ProgressBar::new(total as u64).with_style(style).with_message(label.to_owned())
}
