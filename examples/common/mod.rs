//! What the examples share: parsing the command line and the progress bar.

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

/// A progress bar on stderr for `total` units of work: label, bar, count, percentage and
/// elapsed time, redrawn at most 20 times a second. indicatif draws nothing when stderr is
/// not a terminal (a log file, CI), so redirected output stays clean.
pub fn bar(total: usize, label: &str) -> ProgressBar {
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos:>5}/{len} {percent:>3}% {elapsed}")
        .expect("a valid template")
        .progress_chars("#>-");
    ProgressBar::new(total as u64).with_style(style).with_message(label.to_owned())
}
