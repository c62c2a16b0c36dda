//! Ioffe & Szegedy 2015, §4.1 and Figure 1: the MNIST network with and without Batch
//! Normalization, trained side by side from the same initial weights on the same
//! mini-batches.
//!
//! Both networks are 784 → 3 × [dense(100) → (batchnorm) → sigmoid] → dense(10) with softmax
//! cross-entropy, plain SGD on mini-batches of 60, weights from a small Gaussian. At every
//! evaluation point the test accuracy of both (eval path, population statistics) and the
//! 15th/50th/85th percentiles of the input to one sigmoid of the last hidden layer over the
//! test set are recorded: the data of Figure 1 (a)–(c), drawn by [`write_figure_svg`].
//!
//! A network whose loss or parameters stop being finite stops training at that step (a
//! [`Divergence`](crate::train::Divergence)); from then on its accuracy, loss and
//! percentiles are NaN, not results, and the other network continues.

use std::error::Error;
use std::path::Path;

use bn_core::typenum::{U500, U60};
use bn_core::{Init, Sgd};

use super::pair::Probes;
use super::{accuracy_panel, check_lengths, step_axis, train_pair};
use crate::mnist::{Dataset, IMAGE_PIXELS};
use crate::plot::{linear_extent, Axis, Figure, Line, Panel};
use crate::stats::PERCENTILES;
use crate::train::{Plan, Watch};

// The networks are declared in `crate::networks`; these paths stay.
pub use crate::networks::{
    PaperBn, PaperBnBatch, PaperBnFolded, PaperBnGrads, PaperBnInput, PaperBnWorkspace, PaperPlain, PaperPlainBatch,
    PaperPlainFolded, PaperPlainGrads, PaperPlainInput, PaperPlainWorkspace,
};

/// The mini-batch size of the paper, 60.
pub type TrainBatchSize = U60;
/// The chunk size of the evaluation passes over the test set.
pub type EvalChunk = U500;

/// The settings of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Training steps (mini-batches) of each network.
    pub steps: usize,
    /// Evaluate (and record a row and a figure point) every this many steps.
    pub eval_every: usize,
    /// SGD learning rate, the same for both networks.
    pub lr: f32,
    /// Standard deviation of the Gaussian initial weights.
    pub init_std: f64,
    /// Seed of the initial weights and of the mini-batch order.
    pub seed: u64,
    /// Which sigmoid of the last hidden layer the figure follows (0..100).
    pub unit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { steps: 5000, eval_every: 250, lr: 0.1, init_std: 0.1, seed: 1, unit: 0 }
    }
}

// An evaluation point and the result are the convolutional experiment's too.
pub use super::Record;
/// The result of a run: the records, the trained networks, the folded model and its check.
pub type Report = super::Report<PaperBn, PaperPlain>;

impl Report {
    /// The curves of Figure 1.
    pub fn figure_data(&self) -> FigureData {
        FigureData {
            steps: self.records.iter().map(|r| r.step).collect(),
            test_acc_plain: self.records.iter().map(|r| r.acc_plain as f32).collect(),
            test_acc_bn: self.records.iter().map(|r| r.acc_bn as f32).collect(),
            pct_plain: self.records.iter().map(|r| r.pct_plain).collect(),
            pct_bn: self.records.iter().map(|r| r.pct_bn).collect(),
        }
    }
}

/// Trains both networks side by side and evaluates them every `cfg.eval_every` steps;
/// `on_record` sees each evaluation point as it is made, `progress` the steps done. Then
/// folds the BN network and compares its predictions with the eval path's.
pub fn run(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    progress: impl FnMut(usize),
    on_record: impl FnMut(&Record),
) -> Report {
    assert!(cfg.unit < 100, "the last hidden layer has 100 sigmoids");
    let init = Init::Gaussian { std: cfg.init_std };
    // Same seed: both draw the same weights for their four dense layers, in order.
    let mut bn = PaperBn::new_boxed(cfg.seed);
    bn.init_with(init, cfg.seed);
    let mut plain = PaperPlain::new_boxed(cfg.seed);
    plain.init_with(init, cfg.seed);
    // The input of sigmoid `unit` of the last hidden layer: the output of its BN, or of its
    // dense layer without BN.
    let unit = cfg.unit;
    let probes: Probes<PaperBn, PaperPlain, EvalChunk> =
        (Box::new(move |ws, b| ws.a7[b][unit]), Box::new(move |ws, b| ws.a4[b][unit]));
    let opt = Sgd::new(cfg.lr);
    let plan = Plan {
        steps: cfg.steps,
        eval_every: cfg.eval_every,
        seed: cfg.seed,
        watch: Watch::LossAndState,
        optimizer: &|_| opt,
    };
    // The inference paths are timed over one pass over the test set.
    train_pair::<TrainBatchSize, EvalChunk, _, _>(
        (bn, plain),
        Some(probes),
        &plan,
        0,
        (train, test),
        progress,
        on_record,
    )
}

/// `IMAGE_PIXELS` is the network's input width.
const _: () = assert!(IMAGE_PIXELS == PaperBn::INPUT && IMAGE_PIXELS == PaperPlain::INPUT);

/// The recorded curves of the two training runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureData {
    /// The training steps at which the values below were recorded (increasing).
    pub steps: Vec<usize>,
    /// Test accuracy (fraction in `[0, 1]`) of the network without BN, one per step.
    pub test_acc_plain: Vec<f32>,
    /// Test accuracy of the network with BN, one per step.
    pub test_acc_bn: Vec<f32>,
    /// 15th, 50th and 85th percentiles of the sigmoid's input without BN, one per step.
    pub pct_plain: Vec<[f32; 3]>,
    /// The same with BN.
    pub pct_bn: Vec<[f32; 3]>,
}

/// The titles of the three panels of Figure 1.
pub const PANEL_TITLES: [&str; 3] =
    ["(a) Test accuracy", "(b) Sigmoid input, without BN", "(c) Sigmoid input, with BN"];

/// Colors of the 15th, 50th and 85th percentile curves.
const PCT_COLORS: [(u8, u8, u8); 3] = [(0x55, 0x55, 0xcc), (0x11, 0x11, 0x11), (0xcc, 0x55, 0x55)];

impl FigureData {
    /// Figure 1: (a) the test accuracy of both networks, (b, c) the percentiles of the
    /// sigmoid's input without and with BN, on a common scale. Fails if there are no steps
    /// or if a series does not have one value per step.
    pub fn figure(&self) -> Result<Figure, Box<dyn Error>> {
        let n = self.steps.len();
        check_lengths(
            "figure",
            n,
            &[
                ("test_acc_plain", self.test_acc_plain.len()),
                ("test_acc_bn", self.test_acc_bn.len()),
                ("pct_plain", self.pct_plain.len()),
                ("pct_bn", self.pct_bn.len()),
            ],
        )?;
        let range = (self.steps.iter().copied().min().unwrap_or(0), self.steps.iter().copied().max().unwrap_or(0));
        let acc: Vec<(usize, f32, f32)> =
            (0..n).map(|i| (self.steps[i], self.test_acc_plain[i], self.test_acc_bn[i])).collect();
        let all = self.pct_plain.iter().chain(&self.pct_bn).flatten().map(|&v| f64::from(v));
        let (lo, hi) = linear_extent(all, (f64::MIN, f64::MAX));
        let pct_panel = |title: &str, pct: &[[f32; 3]]| Panel {
            title: title.into(),
            x: step_axis(range),
            y: Axis::linear("Input value").fixed(lo, hi),
            lines: (0..3)
                .map(|k| {
                    let points = self.steps.iter().zip(pct).map(|(&s, q)| (s as f64, f64::from(q[k]))).collect();
                    Line::new(&format!("{:.0}th percentile", PERCENTILES[k]), points).with_color(PCT_COLORS[k])
                })
                .collect(),
        };
        Ok(Figure {
            panels: vec![
                accuracy_panel(PANEL_TITLES[0], range, &acc),
                pct_panel(PANEL_TITLES[1], &self.pct_plain),
                pct_panel(PANEL_TITLES[2], &self.pct_bn),
            ],
        })
    }
}

/// Writes Figure 1 ([`FigureData::figure`], three panels side by side) to `path` as SVG.
///
/// Non-finite values are left out of the curves. Fails if there are no steps or if a
/// series does not have one value per step.
pub fn write_figure_svg(path: &Path, data: &FigureData) -> Result<(), Box<dyn Error>> {
    data.figure()?.write_svg(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> std::path::PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        std::env::temp_dir().join(format!("bn-paper-figure-{}-{nanos}-{name}", std::process::id()))
    }

    fn sample_data() -> FigureData {
        let steps: Vec<usize> = (0..=50).map(|i| i * 1000).collect();
        let t = |s: usize| s as f32 / 50_000.0;
        FigureData {
            test_acc_plain: steps.iter().map(|&s| 0.7 + 0.25 * t(s).sqrt()).collect(),
            test_acc_bn: steps.iter().map(|&s| 0.9 + 0.08 * t(s).sqrt()).collect(),
            pct_plain: steps.iter().map(|&s| [-1.0 - t(s), 0.5 * t(s), 1.0 + 2.0 * t(s)]).collect(),
            pct_bn: steps.iter().map(|_| [-1.0, 0.0, 1.0]).collect(),
            steps,
        }
    }

    #[test]
    fn figure_is_an_svg_with_three_panels() {
        let path = temp_file("fig1.svg");
        write_figure_svg(&path, &sample_data()).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(svg.len() > 5000, "only {} bytes", svg.len());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for title in PANEL_TITLES.iter().chain(&["Without BN", "With BN", "15th percentile", "Training step"]) {
            assert!(svg.contains(title), "no {title:?}");
        }
        // 2 + 3 + 3 curves.
        assert!(svg.matches("<polyline").count() >= 8);
        // The step axes are ticked at multiples of 10,000.
        let texts = crate::plot::svg_texts(&svg);
        let has = |label: &str| texts.iter().any(|t| t == label);
        assert!(has("50000") && has("10000") && !has("5000"), "{texts:?}");
    }

    #[test]
    fn figure_rejects_bad_data_and_survives_odd_values() {
        let path = temp_file("bad.svg");
        let err = write_figure_svg(&path, &FigureData::default()).unwrap_err();
        assert!(err.to_string().contains("no recorded steps"));
        let mut data = sample_data();
        data.pct_bn.pop();
        let err = write_figure_svg(&path, &data).unwrap_err();
        assert_eq!(err.to_string(), "figure data: pct_bn has 50 values for 51 steps");

        // One step, NaNs and infinities: still a figure.
        let data = FigureData {
            steps: vec![0],
            test_acc_plain: vec![f32::NAN],
            test_acc_bn: vec![0.5],
            pct_plain: vec![[f32::NEG_INFINITY, 0.0, f32::NAN]],
            pct_bn: vec![[0.0; 3]],
        };
        write_figure_svg(&path, &data).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains(PANEL_TITLES[2]));
        let _ = std::fs::remove_file(&path);
        // An unwritable path is an error, not a panic.
        let dir = std::env::temp_dir().join("bn-paper-figure-no-such-dir").join("x.svg");
        assert!(write_figure_svg(&dir, &sample_data()).is_err());
    }
}
