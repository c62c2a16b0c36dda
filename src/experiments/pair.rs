//! What the paper's experiment, the convolutional one and the ResNet share: two networks,
//! without and with Batch Normalization, trained side by side ([`train_pair`]), their
//! evaluation points ([`Record`]), the result with the BN network folded and checked
//! ([`Report`]), and the test-accuracy panel of their figures. The convolutional experiment
//! and the ResNet also share their settings ([`SgdConfig`]: SGD with learning-rate drops,
//! momentum and weight decay, [`train_sgd_pair`]) and their figure ([`CurveData`]).

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U10, U100, U60, U784};
use bn_core::{MultiStepLr, Network, Schedule, Sgd, StateDict};

use crate::mnist::Dataset;
use crate::plot::{Axis, Figure, Line, Panel};
use crate::stats::percentiles;
use crate::train::{check_folding, run_side_by_side, Divergence, Lane, Plan, Probe, Timing, Watch};

/// One evaluation point of the two networks.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Training steps done.
    pub step: usize,
    /// Test accuracy without BN.
    pub acc_plain: f64,
    /// Test accuracy with BN.
    pub acc_bn: f64,
    /// Mean training loss since the previous record, without BN (NaN at step 0).
    pub loss_plain: f64,
    /// The same with BN.
    pub loss_bn: f64,
    /// 15th/50th/85th percentiles of the followed unit's input over the test set (the
    /// paper's experiment follows a sigmoid; NaN where no unit is followed).
    pub pct_plain: [f32; 3],
    /// The same with BN.
    pub pct_bn: [f32; 3],
    /// Where the network without BN diverged, if it did by this step (its accuracy, loss
    /// and percentiles are then NaN).
    pub diverged_plain: Option<Divergence>,
    /// The same with BN.
    pub diverged_bn: Option<Divergence>,
}

/// The first step of `records` at which `pick` reaches `acc`.
pub fn steps_to(records: &[Record], acc: f64, pick: fn(&Record) -> f64) -> Option<usize> {
    records.iter().find(|r| pick(r) >= acc).map(|r| r.step)
}

/// The result of a run: the records, the trained networks, the BN network's folded model
/// checked against its eval path ([`check_folding`]), and the times.
pub struct Report<Bn: Network, Plain: Network> {
    /// Every evaluation point.
    pub records: Vec<Record>,
    /// The trained network with BN.
    pub bn: Box<Bn>,
    /// The trained network without BN.
    pub plain: Box<Plain>,
    /// Its folded model.
    pub folded: Box<Bn::Folded>,
    /// Test accuracy of the BN network's eval path, one sample at a time.
    pub eval_acc: f64,
    /// Test accuracy of the folded model, one sample at a time.
    pub folded_acc: f64,
    /// Test samples on which the folded and the eval predictions differ (one sample at a
    /// time).
    pub folded_disagreements: usize,
    /// Test samples on which a `forward_batch` prediction differs from the same model's
    /// one-sample prediction (folded model and eval path together).
    pub batch_disagreements: usize,
    /// Inference time per sample.
    pub timing: Timing,
    /// Wall-clock seconds of the training loop (both networks, with evaluations).
    pub train_seconds: f64,
    /// Of which in `train_step` of the network without BN.
    pub train_seconds_plain: f64,
    /// Of which in `train_step` of the network with BN.
    pub train_seconds_bn: f64,
}

impl<Bn: Network, Plain: Network> Report<Bn, Plain> {
    /// The last evaluation point.
    pub fn last(&self) -> Option<&Record> {
        self.records.last()
    }

    /// The first recorded step at which `pick` reaches `acc`.
    pub fn steps_to(&self, acc: f64, pick: fn(&Record) -> f64) -> Option<usize> {
        steps_to(&self.records, acc, pick)
    }

    /// The test accuracy and training loss curves of both networks ([`CurveData::figure`]).
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

/// What the BN network's and the plain network's evaluations read for every test digit.
pub(crate) type Probes<Bn, Plain, C> = (Probe<'static, Bn, C>, Probe<'static, Plain, C>);

/// Trains `bn` and `plain` side by side on mini-batches of `B` (the BN network first at every
/// step) as `plan` says, evaluated on `test` in chunks of `C` (reading `probes`, if any);
/// `on_record` sees each evaluation point, `progress` the steps done. Then folds the BN
/// network and checks its inference paths on `test`, each timed over at least
/// `timed_forwards` forwards.
pub(crate) fn train_pair<B, C, Bn, Plain>(
    (mut bn, mut plain): (Box<Bn>, Box<Plain>),
    probes: Option<Probes<Bn, Plain, C>>,
    plan: &Plan<'_>,
    timed_forwards: usize,
    (train, test): (&Dataset, &Dataset),
    progress: impl FnMut(usize),
    mut on_record: impl FnMut(&Record),
) -> Report<Bn, Plain>
where
    B: ArrayLength,
    C: ArrayLength,
    Bn: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    Plain: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
{
    let mut lane_bn = Lane::<Bn, B, C>::new(&mut bn);
    let mut lane_plain = Lane::<Plain, B, C>::new(&mut plain);
    if let Some((probe_bn, probe_plain)) = probes {
        (lane_bn, lane_plain) = (lane_bn.with_probe(probe_bn), lane_plain.with_probe(probe_plain));
    }
    let mut records = Vec::new();
    let start = Instant::now();
    run_side_by_side(&mut [&mut lane_bn, &mut lane_plain], train, Some(test), plan, progress, |point| {
        let [bn, plain] = <[_; 2]>::try_from(point.lanes).expect("two lanes");
        let (mut in_bn, mut in_plain) = (bn.probe, plain.probe);
        let r = Record {
            step: point.step,
            acc_plain: plain.accuracy,
            acc_bn: bn.accuracy,
            loss_plain: plain.loss,
            loss_bn: bn.loss,
            pct_plain: percentiles(&mut in_plain),
            pct_bn: percentiles(&mut in_bn),
            diverged_plain: plain.diverged,
            diverged_bn: bn.diverged,
        };
        on_record(&r);
        records.push(r);
    });
    let train_seconds = start.elapsed().as_secs_f64();
    let (train_seconds_bn, train_seconds_plain) = (lane_bn.seconds(), lane_plain.seconds());
    drop((lane_bn, lane_plain));

    let (folded, check) = check_folding::<Bn, U100>(&*bn, test, timed_forwards);
    Report {
        records,
        bn,
        plain,
        folded,
        eval_acc: check.eval_acc,
        folded_acc: check.folded_acc,
        folded_disagreements: check.folded_disagreements,
        batch_disagreements: check.batch_disagreements,
        timing: check.timing,
        train_seconds,
        train_seconds_plain,
        train_seconds_bn,
    }
}

/// The mini-batch size of an [`SgdConfig`] run, 60 (as in the paper's MNIST experiment).
pub type TrainBatchSize = U60;
/// The chunk size of an [`SgdConfig`] run's evaluation passes over the test set (and of the
/// timed `forward_batch` calls).
pub type EvalChunk = U100;

/// The settings of a side-by-side run trained with SGD on mini-batches of 60 (the
/// convolutional experiment's `Config`, the ResNet's too; `train_sgd_pair` runs it).
///
/// `Default` is the convolutional experiment's run on the embedded data (2,000 steps);
/// the ResNet's is `resnet::default_config()`.
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Training steps (mini-batches) of each network.
    pub steps: usize,
    /// Evaluate (and record a row and a figure point) every this many steps.
    pub eval_every: usize,
    /// SGD learning rate, the same for both networks.
    pub lr: f32,
    /// After each of these steps the learning rate drops by a factor of 10 (empty:
    /// constant; see [`lr_at`](Self::lr_at)).
    pub lr_drops: Vec<u64>,
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

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
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

impl SgdConfig {
    /// The learning rate of step `step` (1-based): `lr`, multiplied by 0.1 after each of
    /// `lr_drops` that `step` is past: PyTorch's `MultiStepLR(milestones=lr_drops,
    /// gamma=0.1)` stepped once per optimizer step ([`MultiStepLr`] at `step − 1`).
    pub fn lr_at(&self, step: usize) -> f32 {
        MultiStepLr::new(&self.lr_drops[..], 0.1).lr(f64::from(self.lr), step.saturating_sub(1) as u64) as f32
    }

    /// The optimizer of step `step` (1-based).
    pub fn sgd_at(&self, step: usize) -> Sgd<f32> {
        Sgd::new(self.lr_at(step)).with_momentum(self.momentum).with_weight_decay(self.weight_decay)
    }
}

/// [`train_pair`] as `cfg` says: mini-batches of 60, SGD ([`SgdConfig::sgd_at`]), every
/// parameter and population statistic watched for a divergence, evaluated in chunks of 100.
pub(crate) fn train_sgd_pair<Bn, Plain>(
    nets: (Box<Bn>, Box<Plain>),
    cfg: &SgdConfig,
    data: (&Dataset, &Dataset),
    progress: impl FnMut(usize),
    on_record: impl FnMut(&Record),
) -> Report<Bn, Plain>
where
    Bn: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
    Plain: Network<Scalar = f32, Input = U784, Output = U10> + StateDict,
{
    let plan = Plan {
        steps: cfg.steps,
        eval_every: cfg.eval_every,
        seed: cfg.seed,
        watch: Watch::LossAndState,
        optimizer: &|step| cfg.sgd_at(step),
    };
    train_pair::<TrainBatchSize, EvalChunk, _, _>(nets, None, &plan, cfg.timed_forwards, data, progress, on_record)
}

/// The x axis of a training run's curves: the steps `first..last`.
pub(crate) fn step_axis((first, last): (usize, usize)) -> Axis {
    Axis::linear("Training step").fixed(first as f64, last.max(first + 1) as f64)
}

/// The test-accuracy panel of the two networks (Figure 1 (a), the first panel of the
/// convolutional experiment's figure, the claims' CNN panels): `(step, without BN, with BN)`
/// over the steps `steps`.
pub(crate) fn accuracy_panel(title: &str, steps: (usize, usize), points: &[(usize, f32, f32)]) -> Panel {
    let line = |name: &str, pick: fn(&(usize, f32, f32)) -> f32| {
        Line::new(name, points.iter().map(|p| (p.0 as f64, f64::from(pick(p)))).collect())
    };
    Panel {
        title: title.into(),
        x: step_axis(steps),
        y: Axis::linear("Test accuracy").within(0.0, 1.0),
        lines: vec![line("Without BN", |p| p.1), line("With BN", |p| p.2)],
    }
}

/// Checks that every series of a figure's data has one value per step.
pub(crate) fn check_lengths(what: &str, steps: usize, series: &[(&str, usize)]) -> Result<(), Box<dyn Error>> {
    if steps == 0 {
        return Err(format!("{what} data has no recorded steps").into());
    }
    match series.iter().find(|(_, len)| *len != steps) {
        Some((name, len)) => Err(format!("{what} data: {name} has {len} values for {steps} steps").into()),
        None => Ok(()),
    }
}

/// The recorded curves of two networks trained side by side (the convolutional
/// experiment's figure, the ResNet's): test accuracy and training loss against the step.
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
