//! A tiny progress bar on stderr, drawn only when stderr is a terminal.
//!
//! ```
//! let mut bar = bn_paper::progress::Progress::new(100, "training");
//! for step in 1..=100 {
//!     bar.set(step);
//! }
//! bar.finish();
//! ```

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Width of the bar between the brackets, in characters.
const BAR_WIDTH: usize = 30;
/// At most one redraw per this interval (the last one, at `done == total`, is always drawn).
const MIN_REDRAW: Duration = Duration::from_millis(100);

/// A progress bar redrawn in place (`\r`) on stderr, at most ten times a second.
///
/// It draws nothing when stderr is not a terminal (a log file, CI), so output stays clean.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    label: String,
    start: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
    finished: bool,
}

impl Progress {
    /// A bar for `total` units of work, drawn only if stderr is a terminal.
    pub fn new(total: usize, label: &str) -> Self {
        Self::with_enabled(total, label, std::io::stderr().is_terminal())
    }

    /// A bar that never draws.
    pub fn hidden(total: usize, label: &str) -> Self {
        Self::with_enabled(total, label, false)
    }

    fn with_enabled(total: usize, label: &str, enabled: bool) -> Self {
        Progress {
            total,
            done: 0,
            label: label.to_owned(),
            start: Instant::now(),
            last_draw: None,
            enabled,
            finished: false,
        }
    }

    /// The units done so far.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Sets the units done and redraws if the last redraw is old enough.
    pub fn set(&mut self, done: usize) {
        self.done = done.min(self.total);
        let due = self.last_draw.is_none_or(|t| t.elapsed() >= MIN_REDRAW) || self.done == self.total;
        if self.enabled && !self.finished && due {
            self.draw();
        }
    }

    /// Adds `n` units done.
    pub fn inc(&mut self, n: usize) {
        self.set(self.done.saturating_add(n));
    }

    /// Draws the final state and ends the line (once; also done on drop).
    pub fn finish(&mut self) {
        if self.enabled && !self.finished {
            self.draw();
            let _ = writeln!(std::io::stderr());
        }
        self.finished = true;
    }

    /// The whole line: label, bar, elapsed time.
    pub fn line(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64();
        format!("{} {} {secs:.1}s", self.label, render(self.done, self.total, BAR_WIDTH))
    }

    fn draw(&mut self) {
        self.last_draw = Some(Instant::now());
        // `\x1b[K` clears what a longer previous line left; only terminals see this.
        let _ = write!(std::io::stderr().lock(), "\r{}\x1b[K", self.line());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `[#########---------]  450/1000  45%` with a bar `width` characters wide.
///
/// `done` is clamped to `total`; a `total` of 0 counts as complete.
pub fn render(done: usize, total: usize, width: usize) -> String {
    let done = done.min(total);
    let fraction = if total == 0 { 1.0 } else { done as f64 / total as f64 };
    let filled = ((fraction * width as f64).floor() as usize).min(width);
    let digits = total.to_string().len();
    format!(
        "[{}{}] {done:>digits$}/{total} {:>3}%",
        "#".repeat(filled),
        "-".repeat(width - filled),
        (fraction * 100.0).floor() as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_fills_proportionally() {
        assert_eq!(render(0, 10, 10), "[----------]  0/10   0%");
        assert_eq!(render(5, 10, 10), "[#####-----]  5/10  50%");
        assert_eq!(render(10, 10, 10), "[##########] 10/10 100%");
        assert_eq!(render(999, 1000, 4), "[###-]  999/1000  99%");
        assert_eq!(render(1, 3, 3), "[#--] 1/3  33%");
    }

    #[test]
    fn render_clamps_and_handles_zero_total() {
        assert_eq!(render(12, 10, 10), render(10, 10, 10));
        assert_eq!(render(0, 0, 5), "[#####] 0/0 100%");
        assert_eq!(render(3, 7, 0), "[] 3/7  42%");
    }

    #[test]
    fn hidden_bar_tracks_progress_silently() {
        let mut bar = Progress::hidden(20, "epoch");
        bar.set(5);
        bar.inc(3);
        assert_eq!(bar.done(), 8);
        bar.inc(usize::MAX);
        assert_eq!(bar.done(), 20);
        assert!(bar.line().starts_with("epoch [##############################] 20/20 100% "));
        bar.finish();
        bar.finish();
    }
}
