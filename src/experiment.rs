//! Ioffe & Szegedy 2015, §4.1 and Figure 1: the MNIST network with and without Batch
//! Normalization, trained side by side from the same initial weights on the same
//! mini-batches.
//!
//! Both networks are 784 → 3 × [dense(100) → (batchnorm) → sigmoid] → dense(10) with softmax
//! cross-entropy, plain SGD on mini-batches of 60, weights from a small Gaussian. At every
//! evaluation point the test accuracy of both (eval path, population statistics) and the
//! 15th/50th/85th percentiles of the input to one sigmoid of the last hidden layer over the
//! test set are recorded: the data of Figure 1 (a)–(c).
//!
//! A network whose loss or parameters stop being finite stops training at that step (a
//! [`Divergence`]); from then on its accuracy, loss and percentiles are NaN, not results,
//! and the other network continues.

use std::time::Instant;

use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U10, U100, U500, U60, U784};
use bn_core::{Batch, Init, Network, Rng, Sgd, SoftmaxCrossEntropy, Trainer};

use crate::divergence::Divergence;
use crate::figure::{percentiles, FigureData};
use crate::mnist::{Dataset, IMAGE_PIXELS};

// The networks moved to `crate::networks`; these paths stay.
pub use crate::networks::{
    PaperBn, PaperBnBatch, PaperBnFolded, PaperBnGrads, PaperBnInput, PaperBnWorkspace, PaperPlain, PaperPlainBatch,
    PaperPlainFolded, PaperPlainGrads, PaperPlainInput, PaperPlainWorkspace,
};

/// The mini-batch size of the paper, 60.
pub type TrainBatchSize = U60;
/// The chunk size of the evaluation passes over the test set.
pub type EvalChunk = U500;
const EVAL_CHUNK: usize = 500;
const BATCH: usize = 60;

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

/// One evaluation point.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Training steps done.
    pub step: usize,
    /// Test accuracy without BN.
    pub acc_plain: f64,
    /// Test accuracy with BN.
    pub acc_bn: f64,
    /// Mean training loss since the previous record, without BN.
    pub loss_plain: f64,
    /// The same with BN.
    pub loss_bn: f64,
    /// 15th/50th/85th percentiles of the followed sigmoid's input over the test set.
    pub pct_plain: [f32; 3],
    /// The same with BN.
    pub pct_bn: [f32; 3],
    /// Where the network without BN diverged, if it did by this step (its accuracy, loss
    /// and percentiles are then NaN).
    pub diverged_plain: Option<Divergence>,
    /// The same with BN.
    pub diverged_bn: Option<Divergence>,
}

/// The result of a run.
pub struct Report {
    /// Every evaluation point.
    pub records: Vec<Record>,
    /// The trained network with BN.
    pub bn: Box<PaperBn>,
    /// The trained network without BN.
    pub plain: Box<PaperPlain>,
    /// Its folded model.
    pub folded: Box<PaperBnFolded>,
    /// Test accuracy of the BN network's eval path (population statistics).
    pub eval_acc: f64,
    /// Test accuracy of the folded model.
    pub folded_acc: f64,
    /// Test samples on which the folded and the eval predictions differ.
    pub folded_disagreements: usize,
    /// Nanoseconds per sample of the folded model's one-sample forward.
    pub folded_ns_per_sample: f64,
    /// Nanoseconds per sample of the unfolded eval forward.
    pub eval_ns_per_sample: f64,
    /// Wall-clock seconds of the training loop (both networks, with evaluations).
    pub train_seconds: f64,
}

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

    /// The last evaluation point.
    pub fn last(&self) -> Option<&Record> {
        self.records.last()
    }
}

/// Test accuracy of a network's eval path and the inputs of sigmoid `unit` (taken from
/// the workspace by `probe`) over the whole test set, in chunks of [`EvalChunk`].
fn evaluate<N>(
    net: &N,
    test: &Dataset,
    ws: &mut N::Workspace<EvalChunk>,
    x: &mut Batch<EvalChunk, U784>,
    probe: impl Fn(&N::Workspace<EvalChunk>) -> &Batch<EvalChunk, U100>,
    unit: usize,
) -> (f64, Vec<f32>)
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
{
    let mut correct = 0;
    let mut inputs = Vec::with_capacity(test.len());
    for start in (0..test.len()).step_by(EVAL_CHUNK) {
        let n = EVAL_CHUNK.min(test.len() - start);
        for (b, row) in x.iter_mut().enumerate().take(n) {
            row.copy_from_slice(test.image(start + b));
        }
        let out = net.forward_eval(x, ws);
        correct +=
            out.iter().take(n).zip(&test.labels[start..]).filter(|(o, &l)| bn_core::argmax(o) == l as usize).count();
        inputs.extend(probe(ws).iter().take(n).map(|row| row[unit]));
    }
    (correct as f64 / test.len().max(1) as f64, inputs)
}

/// Trains both networks side by side and evaluates them every `cfg.eval_every` steps;
/// `on_record` sees each evaluation point as it is made, `progress` the steps done.
pub fn run(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    mut progress: impl FnMut(usize),
    mut on_record: impl FnMut(&Record),
) -> Report {
    assert!(train.len() >= BATCH, "the training set needs at least {BATCH} digits");
    assert!(cfg.unit < 100, "the last hidden layer has 100 sigmoids");
    let init = Init::Gaussian { std: cfg.init_std };
    // Same seed: both draw the same weights for their four dense layers, in order.
    let mut bn = PaperBn::new_boxed(cfg.seed);
    bn.init_with(init, cfg.seed);
    let mut plain = PaperPlain::new_boxed(cfg.seed);
    plain.init_with(init, cfg.seed);
    let mut tr_bn = Trainer::<PaperBn, TrainBatchSize>::new_boxed();
    let mut tr_plain = Trainer::<PaperPlain, TrainBatchSize>::new_boxed();
    let mut ev_bn = Trainer::<PaperBn, EvalChunk>::new_boxed();
    let mut ev_plain = Trainer::<PaperPlain, EvalChunk>::new_boxed();
    let mut x = bn_core::boxed_zeroed::<Batch<TrainBatchSize, U784>>();
    let mut xe = bn_core::boxed_zeroed::<Batch<EvalChunk, U784>>();
    let mut labels = GenericArray::<usize, TrainBatchSize>::default();
    let opt = Sgd::new(cfg.lr);

    let mut rng = Rng::seed(cfg.seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut cursor = order.len();
    let (mut sum_bn, mut sum_plain, mut since) = (0.0f64, 0.0f64, 0usize);
    let (mut diverged_bn, mut diverged_plain) = (None, None);
    let mut records = Vec::new();
    let start = Instant::now();
    let mut record = |step: usize,
                      bn: &PaperBn,
                      plain: &PaperPlain,
                      sums: (f64, f64, usize),
                      diverged: (Option<Divergence>, Option<Divergence>)| {
        let nan = (f64::NAN, Vec::new());
        let (acc_bn, mut in_bn) = match diverged.0 {
            None => evaluate(bn, test, &mut ev_bn.workspace, &mut xe, |ws| &ws.a7, cfg.unit),
            Some(_) => nan.clone(),
        };
        let (acc_plain, mut in_plain) = match diverged.1 {
            None => evaluate(plain, test, &mut ev_plain.workspace, &mut xe, |ws| &ws.a4, cfg.unit),
            Some(_) => nan,
        };
        let n = sums.2.max(1) as f64;
        let mean = |sum: f64, diverged: Option<Divergence>| if diverged.is_some() { f64::NAN } else { sum / n };
        let r = Record {
            step,
            acc_plain,
            acc_bn,
            loss_plain: mean(sums.1, diverged.1),
            loss_bn: mean(sums.0, diverged.0),
            pct_plain: percentiles(&mut in_plain),
            pct_bn: percentiles(&mut in_bn),
            diverged_plain: diverged.1,
            diverged_bn: diverged.0,
        };
        on_record(&r);
        records.push(r);
    };
    record(0, &bn, &plain, (f64::NAN, f64::NAN, 1), (None, None));
    for step in 1..=cfg.steps {
        for b in 0..BATCH {
            if cursor == order.len() {
                rng.shuffle(&mut order);
                cursor = 0;
            }
            let i = order[cursor];
            cursor += 1;
            x[b].copy_from_slice(train.image(i));
            labels[b] = train.labels[i] as usize;
        }
        // A diverged network trains no more; the other continues.
        if diverged_bn.is_none() {
            let loss = bn.train_step(&*x, &labels, &SoftmaxCrossEntropy, &opt, &mut tr_bn);
            diverged_bn = Divergence::check(step, loss, &*bn);
            sum_bn += f64::from(loss);
        }
        if diverged_plain.is_none() {
            let loss = plain.train_step(&*x, &labels, &SoftmaxCrossEntropy, &opt, &mut tr_plain);
            diverged_plain = Divergence::check(step, loss, &*plain);
            sum_plain += f64::from(loss);
        }
        since += 1;
        if step % cfg.eval_every == 0 || step == cfg.steps {
            record(step, &bn, &plain, (sum_bn, sum_plain, since), (diverged_bn, diverged_plain));
            (sum_bn, sum_plain, since) = (0.0, 0.0, 0);
        }
        progress(step);
    }
    let train_seconds = start.elapsed().as_secs_f64();

    // Fold the BN network and compare its predictions with the eval path.
    let folded = bn.fold_boxed();
    let t0 = Instant::now();
    let eval_pred: Vec<usize> = (0..test.len()).map(|i| bn.classify(test.image(i))).collect();
    let eval_ns = t0.elapsed().as_nanos() as f64 / test.len().max(1) as f64;
    let t0 = Instant::now();
    let folded_pred: Vec<usize> = (0..test.len()).map(|i| folded.classify(test.image(i))).collect();
    let folded_ns = t0.elapsed().as_nanos() as f64 / test.len().max(1) as f64;
    let hits = |pred: &[usize]| pred.iter().zip(&test.labels).filter(|(p, &l)| **p == l as usize).count();
    let n = test.len().max(1) as f64;
    Report {
        eval_acc: hits(&eval_pred) as f64 / n,
        folded_acc: hits(&folded_pred) as f64 / n,
        folded_disagreements: eval_pred.iter().zip(&folded_pred).filter(|(a, b)| a != b).count(),
        folded_ns_per_sample: folded_ns,
        eval_ns_per_sample: eval_ns,
        records,
        bn,
        plain,
        folded,
        train_seconds,
    }
}

/// `IMAGE_PIXELS` is the network's input width.
const _: () = assert!(IMAGE_PIXELS == PaperBn::INPUT && IMAGE_PIXELS == PaperPlain::INPUT);
