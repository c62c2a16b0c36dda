//! The convolutional experiment: a small LeNet-style network on MNIST with and without Batch
//! Normalization, trained side by side from the same initial weights on the same
//! mini-batches, then folded.
//!
//! Both networks are `conv(3×3, 8) → (batchnorm) → relu → maxpool(2) → conv(3×3, 16) →
//! (batchnorm) → relu → maxpool(2) → dense(10)`, softmax cross-entropy, plain SGD on
//! mini-batches of 60 (the same learning rate for both, constant or divided by 10 after given
//! steps; optionally with momentum and weight decay). The convolutions directly followed by `batchnorm` have no bias (β
//! takes its role); those of the network without BN have one. Both start from `network!`'s
//! default initialization with the same seed: He normal for the two convolutions (each is
//! followed by a ReLU), Xavier normal for the dense layer, biases zero; the generator is
//! drawn in layer order and biases draw nothing, so both networks start with the same
//! weights. At every evaluation point the test accuracy of both (eval path, population
//! statistics) and their mean training loss since the previous point are recorded, and
//! drawn by [`write_curves_svg`].
//!
//! A network whose loss or parameters stop being finite stops training at that step (a
//! [`Divergence`](crate::train::Divergence)); from then on its accuracy and loss are NaN,
//! not results, and the other network continues.

use std::error::Error;
use std::path::Path;

use bn_core::typenum::{U100, U60};
use bn_core::Sgd;

use super::{accuracy_panel, check_lengths, step_axis, train_pair};
use crate::mnist::{Dataset, IMAGE_PIXELS};
use crate::plot::{Axis, Figure, Line, Panel};
use crate::train::{Plan, Watch};

// The networks are declared in `crate::networks`, the timing in `crate::train`; these paths
// stay.
pub use crate::networks::{
    LeNetBn, LeNetBnBatch, LeNetBnFolded, LeNetBnGrads, LeNetBnInput, LeNetBnWorkspace, LeNetPlain, LeNetPlainBatch,
    LeNetPlainFolded, LeNetPlainGrads, LeNetPlainInput, LeNetPlainWorkspace,
};
pub use crate::train::Timing;

/// The mini-batch size, 60 (as in the paper's MNIST experiment).
pub type TrainBatchSize = U60;
/// The chunk size of the evaluation passes over the test set (and of the timed
/// `forward_batch` calls).
pub type EvalChunk = U100;

/// The settings of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Training steps (mini-batches) of each network.
    pub steps: usize,
    /// Evaluate (and record a row and a figure point) every this many steps.
    pub eval_every: usize,
    /// SGD learning rate, the same for both networks.
    pub lr: f32,
    /// After each of these steps the learning rate drops by a factor of 10 (empty:
    /// constant).
    pub lr_drops: Vec<usize>,
    /// SGD momentum (0: plain SGD), the same for both networks.
    pub momentum: f32,
    /// L2 weight decay (every parameter, BN's γ and β included, as PyTorch's SGD).
    pub weight_decay: f32,
    /// Seed of the initial weights and of the mini-batch order.
    pub seed: u64,
    /// Each inference path is timed over at least this many forwards (whole passes over
    /// the test set, at least one).
    pub timed_forwards: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            steps: 2000,
            eval_every: 50,
            lr: 0.1,
            lr_drops: Vec::new(),
            momentum: 0.0,
            weight_decay: 0.0,
            seed: 1,
            timed_forwards: 10_000,
        }
    }
}

// An evaluation point and the result are the paper experiment's too.
pub use super::Record;
/// The result of a run: the records, the trained networks, the folded model and its check.
pub type Report = super::Report<LeNetBn, LeNetPlain>;

impl Report {
    /// The curves of the figure.
    pub fn curves(&self) -> CurveData {
        CurveData {
            steps: self.records.iter().map(|r| r.step).collect(),
            test_acc_plain: self.records.iter().map(|r| r.acc_plain as f32).collect(),
            test_acc_bn: self.records.iter().map(|r| r.acc_bn as f32).collect(),
            loss_plain: self.records.iter().map(|r| r.loss_plain as f32).collect(),
            loss_bn: self.records.iter().map(|r| r.loss_bn as f32).collect(),
        }
    }
}

/// Trains both networks side by side and evaluates them every `cfg.eval_every` steps;
/// `on_record` sees each evaluation point as it is made, `progress` the steps done. Then
/// folds the BN network and compares and times its inference paths.
pub fn run(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    progress: impl FnMut(usize),
    on_record: impl FnMut(&Record),
) -> Report {
    // Same seed and default schemes: both draw the same weights for their three layers, in
    // order (He normal for the convolutions, Xavier normal for the dense layer).
    let bn = LeNetBn::new_boxed(cfg.seed);
    let plain = LeNetPlain::new_boxed(cfg.seed);
    debug_assert_eq!(bn.conv2d0.weight, plain.conv2d0.weight);
    let sgd = |step: usize| {
        let drops = cfg.lr_drops.iter().filter(|&&d| step > d).count();
        let lr = cfg.lr / 10f32.powi(drops as i32);
        Sgd::new(lr).with_momentum(cfg.momentum).with_weight_decay(cfg.weight_decay)
    };
    let plan = Plan {
        steps: cfg.steps,
        eval_every: cfg.eval_every,
        seed: cfg.seed,
        watch: Watch::LossAndState,
        optimizer: &sgd,
    };
    train_pair::<TrainBatchSize, EvalChunk, _, _>(
        (bn, plain),
        None,
        &plan,
        cfg.timed_forwards,
        (train, test),
        progress,
        on_record,
    )
}

/// `IMAGE_PIXELS` is the networks' input width (one 1×28×28 image, stored flat).
const _: () = assert!(IMAGE_PIXELS == LeNetBn::INPUT && IMAGE_PIXELS == LeNetPlain::INPUT);

/// The recorded curves of two networks trained side by side (the convolutional
/// experiment's figure): test accuracy and training loss against the step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveData {
    /// The training steps at which the values below were recorded (increasing).
    pub steps: Vec<usize>,
    /// Test accuracy (fraction in `[0, 1]`) of the network without BN, one per step.
    pub test_acc_plain: Vec<f32>,
    /// Test accuracy of the network with BN, one per step.
    pub test_acc_bn: Vec<f32>,
    /// Mean training loss since the previous step without BN, one per step (NaN where
    /// there is none, e.g. at step 0).
    pub loss_plain: Vec<f32>,
    /// The same with BN.
    pub loss_bn: Vec<f32>,
}

/// The titles of the two panels of [`write_curves_svg`].
pub const CURVE_TITLES: [&str; 2] = ["(a) Test accuracy", "(b) Training loss (log scale)"];

impl CurveData {
    /// The figure: (a) the test accuracy of both networks, drawn like panel (a) of Figure 1
    /// but from the second recorded step on (the first, before training, is at chance level
    /// and would squash the scale), and (b) their training loss on a logarithmic scale.
    /// Fails if there are no steps or if a series does not have one value per step.
    pub fn figure(&self) -> Result<Figure, Box<dyn Error>> {
        let n = self.steps.len();
        check_lengths(
            "curve",
            n,
            &[
                ("test_acc_plain", self.test_acc_plain.len()),
                ("test_acc_bn", self.test_acc_bn.len()),
                ("loss_plain", self.loss_plain.len()),
                ("loss_bn", self.loss_bn.len()),
            ],
        )?;
        let range = (self.steps.iter().copied().min().unwrap_or(0), self.steps.iter().copied().max().unwrap_or(0));
        // Without the first point (chance level before training), so that the scale shows
        // the differences where the networks are close.
        let acc: Vec<(usize, f32, f32)> =
            (usize::from(n > 1)..n).map(|i| (self.steps[i], self.test_acc_plain[i], self.test_acc_bn[i])).collect();
        let loss = |name: &str, values: &[f32]| {
            Line::new(name, self.steps.iter().zip(values).map(|(&s, &v)| (s as f64, f64::from(v))).collect())
        };
        let losses = Panel {
            title: CURVE_TITLES[1].into(),
            x: step_axis(range),
            y: Axis::log("Mean training loss"),
            lines: vec![loss("Without BN", &self.loss_plain), loss("With BN", &self.loss_bn)],
        };
        Ok(Figure { panels: vec![accuracy_panel(CURVE_TITLES[0], range, &acc), losses] })
    }
}

/// Writes the curves of two networks ([`CurveData::figure`], two panels side by side) to
/// `path` as SVG.
///
/// Non-finite values (and, in (b), values ≤ 0) are left out of the curves. Fails if there
/// are no steps or if a series does not have one value per step.
pub fn write_curves_svg(path: &Path, data: &CurveData) -> Result<(), Box<dyn Error>> {
    data.figure()?.write_svg(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_curves() -> CurveData {
        let steps: Vec<usize> = (0..=50).map(|i| i * 1000).collect();
        let t = |s: usize| s as f32 / 50_000.0;
        let loss = |s: usize, a: f32| if s == 0 { f32::NAN } else { a / (1.0 + s as f32 / 1000.0) };
        CurveData {
            test_acc_plain: steps.iter().map(|&s| 0.7 + 0.25 * t(s).sqrt()).collect(),
            test_acc_bn: steps.iter().map(|&s| 0.9 + 0.08 * t(s).sqrt()).collect(),
            loss_plain: steps.iter().map(|&s| loss(s, 2.0)).collect(),
            loss_bn: steps.iter().map(|&s| loss(s, 0.5)).collect(),
            steps,
        }
    }

    #[test]
    fn curves_are_an_svg_with_two_panels() {
        let svg = sample_curves().figure().unwrap().to_svg().unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for title in CURVE_TITLES.iter().chain(&["Without BN", "With BN", "Training step", "Mean training loss"]) {
            assert!(svg.contains(title), "no {title:?}");
        }
        assert!(svg.matches("<polyline").count() >= 4);
    }

    #[test]
    fn loss_axis_labels_are_1_2_5_decimals() {
        // The losses run from 0.0098 to 1: the axis is labelled at 1, 2 and 5 × 10ᵏ with no
        // trailing zeros (once two significant digits of 10^y, e.g. 0.032).
        let texts = crate::plot::svg_texts(&sample_curves().figure().unwrap().to_svg().unwrap());
        for label in ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"] {
            assert!(texts.iter().any(|t| t == label), "no {label}: {texts:?}");
        }
        for rounded in ["0.032", "3.2", "0.32", "3.162", "0.0032", "1.0"] {
            assert!(!texts.iter().any(|t| t == rounded), "{rounded}");
        }
    }

    #[test]
    fn curves_reject_bad_data_and_survive_odd_values() {
        let path = std::env::temp_dir().join(format!("bn-paper-badcurves-{}.svg", std::process::id()));
        let err = write_curves_svg(&path, &CurveData::default()).unwrap_err();
        assert!(err.to_string().contains("no recorded steps"));
        let mut data = sample_curves();
        data.loss_bn.pop();
        let err = write_curves_svg(&path, &data).unwrap_err();
        assert_eq!(err.to_string(), "curve data: loss_bn has 50 values for 51 steps");
        // One step, no loss yet (NaN), a zero and a negative loss: still a figure.
        let data = CurveData {
            steps: vec![0],
            test_acc_plain: vec![0.1],
            test_acc_bn: vec![f32::NAN],
            loss_plain: vec![f32::NAN],
            loss_bn: vec![0.0],
        };
        write_curves_svg(&path, &data).unwrap();
        let data = CurveData { loss_bn: vec![-1.0], ..data };
        write_curves_svg(&path, &data).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains(CURVE_TITLES[1]));
        let _ = std::fs::remove_file(&path);
    }
}
