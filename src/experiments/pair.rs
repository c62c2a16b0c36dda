//! What the paper's experiment and the convolutional one share: two networks, without and
//! with Batch Normalization, trained side by side ([`train_pair`]), their evaluation points
//! ([`Record`]), the result with the BN network folded and checked ([`Report`]), and the
//! test-accuracy panel of their figures.

use std::error::Error;
use std::time::Instant;

use bn_core::generic_array::ArrayLength;
use bn_core::typenum::{U10, U100, U784};
use bn_core::{Network, StateDict};

use crate::mnist::Dataset;
use crate::plot::{Axis, Line, Panel};
use crate::stats::percentiles;
use crate::train::{check_folding, run_side_by_side, Divergence, Lane, Plan, Probe, Timing};

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
