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
//! statistics) and their mean training loss since the previous point are recorded.
//!
//! A network whose loss or parameters stop being finite stops training at that step (a
//! [`Divergence`]); from then on its accuracy and loss are NaN, not results, and the other
//! network continues.

use std::time::Instant;

use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::typenum::{U10, U100, U60, U784};
use bn_core::{Batch, Inference, Network, Rng, Sgd, SoftmaxCrossEntropy, Trainer};

use crate::divergence::Divergence;
use crate::figure::CurveData;
use crate::mnist::{Dataset, IMAGE_PIXELS};

// The networks moved to `crate::networks`; these paths stay.
pub use crate::networks::{
    LeNetBn, LeNetBnBatch, LeNetBnFolded, LeNetBnGrads, LeNetBnInput, LeNetBnWorkspace, LeNetPlain, LeNetPlainBatch,
    LeNetPlainFolded, LeNetPlainGrads, LeNetPlainInput, LeNetPlainWorkspace,
};

/// The mini-batch size, 60 (as in the paper's MNIST experiment).
pub type TrainBatchSize = U60;
/// The chunk size of the evaluation passes over the test set (and of the timed
/// `forward_batch` calls).
pub type EvalChunk = U100;
const EVAL_CHUNK: usize = 100;
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

/// One evaluation point.
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
    /// Where the network without BN diverged, if it did by this step (its accuracy and
    /// loss are then NaN).
    pub diverged_plain: Option<Divergence>,
    /// The same with BN.
    pub diverged_bn: Option<Divergence>,
}

/// Inference time per sample, in nanoseconds: the mean over passes over the whole test set
/// (at least [`Config::timed_forwards`] forwards).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// The folded model, one sample at a time (`classify`).
    pub folded_one: f64,
    /// The folded model's `forward_batch`, chunks of [`EvalChunk`] samples.
    pub folded_batch: f64,
    /// The BN network's eval path (population statistics), one sample at a time.
    pub eval_one: f64,
    /// The eval path's `forward_batch` (`eval_batch`), chunks of [`EvalChunk`] samples.
    pub eval_batch: f64,
}

/// The result of a run.
pub struct Report {
    /// Every evaluation point.
    pub records: Vec<Record>,
    /// The trained network with BN.
    pub bn: Box<LeNetBn>,
    /// The trained network without BN.
    pub plain: Box<LeNetPlain>,
    /// Its folded model.
    pub folded: Box<LeNetBnFolded>,
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

    /// The last evaluation point.
    pub fn last(&self) -> Option<&Record> {
        self.records.last()
    }

    /// The first recorded step at which `pick` reaches `acc`.
    pub fn steps_to(&self, acc: f64, pick: fn(&Record) -> f64) -> Option<usize> {
        self.records.iter().find(|r| pick(r) >= acc).map(|r| r.step)
    }
}

/// Copies digits `start..start + n` of `data` into the first `n` rows of `x` (`n ≤ B`).
fn fill<B: ArrayLength>(x: &mut Batch<B, U784>, data: &Dataset, start: usize, n: usize) {
    for (b, row) in x.iter_mut().enumerate().take(n) {
        row.copy_from_slice(data.image(start + b));
    }
}

/// Test accuracy of a network's eval path (population statistics) over the whole test set,
/// in chunks of [`EvalChunk`] through `forward_eval`.
fn evaluate<N>(net: &N, test: &Dataset, ws: &mut N::Workspace<EvalChunk>, x: &mut Batch<EvalChunk, U784>) -> f64
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
{
    let mut correct = 0;
    for start in (0..test.len()).step_by(EVAL_CHUNK) {
        let n = EVAL_CHUNK.min(test.len() - start);
        fill(x, test, start, n);
        let out = net.forward_eval(x, ws);
        correct +=
            out.iter().take(n).zip(&test.labels[start..]).filter(|(o, &l)| bn_core::argmax(o) == l as usize).count();
    }
    correct as f64 / test.len().max(1) as f64
}

/// The predictions of `model` on every test digit, one sample at a time (`classify`) and
/// through `forward_batch` over `chunks` (the test set in chunks of [`EvalChunk`]), and the
/// mean nanoseconds per sample of each over `passes` passes.
fn predictions<M>(
    model: &M,
    test: &Dataset,
    chunks: &[Box<Batch<EvalChunk, U784>>],
    passes: usize,
) -> ([Vec<usize>; 2], [f64; 2])
where
    M: Inference<Scalar = f32, Input = U784, Output = U10>,
{
    let n = test.len();
    let (mut one, mut batched) = (Vec::with_capacity(n), Vec::with_capacity(chunks.len() * EVAL_CHUNK));
    let t0 = Instant::now();
    for pass in 0..passes {
        for i in 0..n {
            let class = model.classify(GenericArray::from_slice(test.image(i)));
            if pass == 0 {
                one.push(class);
            }
        }
    }
    let one_ns = t0.elapsed().as_nanos() as f64 / (passes * n).max(1) as f64;
    let mut y = bn_core::boxed_zeroed::<Batch<EvalChunk, U10>>();
    let t0 = Instant::now();
    for pass in 0..passes {
        for x in chunks {
            model.forward_batch(x, &mut y);
            if pass == 0 {
                batched.extend(y.iter().map(|o| bn_core::argmax(o)));
            }
        }
    }
    let batch_ns = t0.elapsed().as_nanos() as f64 / (passes * n).max(1) as f64;
    batched.truncate(n);
    ([one, batched], [one_ns, batch_ns])
}

/// Trains both networks side by side and evaluates them every `cfg.eval_every` steps;
/// `on_record` sees each evaluation point as it is made, `progress` the steps done. Then
/// folds the BN network and compares and times its inference paths.
pub fn run(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    mut progress: impl FnMut(usize),
    mut on_record: impl FnMut(&Record),
) -> Report {
    assert!(train.len() >= BATCH, "the training set needs at least {BATCH} digits");
    assert!(cfg.eval_every > 0, "eval_every must be positive");
    // Same seed and default schemes: both draw the same weights for their three layers, in
    // order (He normal for the convolutions, Xavier normal for the dense layer).
    let mut bn = LeNetBn::new_boxed(cfg.seed);
    let mut plain = LeNetPlain::new_boxed(cfg.seed);
    debug_assert_eq!(bn.conv2d0.weight, plain.conv2d0.weight);
    let mut tr_bn = Trainer::<LeNetBn, TrainBatchSize>::new_boxed();
    let mut tr_plain = Trainer::<LeNetPlain, TrainBatchSize>::new_boxed();
    let mut ev_bn = Trainer::<LeNetBn, EvalChunk>::new_boxed();
    let mut ev_plain = Trainer::<LeNetPlain, EvalChunk>::new_boxed();
    let mut x = bn_core::boxed_zeroed::<Batch<TrainBatchSize, U784>>();
    let mut xe = bn_core::boxed_zeroed::<Batch<EvalChunk, U784>>();
    let mut labels = GenericArray::<usize, TrainBatchSize>::default();
    let sgd = |step: usize| {
        let drops = cfg.lr_drops.iter().filter(|&&d| step > d).count();
        let lr = cfg.lr / 10f32.powi(drops as i32);
        Sgd::new(lr).with_momentum(cfg.momentum).with_weight_decay(cfg.weight_decay)
    };

    let mut rng = Rng::seed(cfg.seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut cursor = order.len();
    let (mut sum_bn, mut sum_plain, mut since) = (0.0f64, 0.0f64, 0usize);
    let (mut secs_bn, mut secs_plain) = (0.0f64, 0.0f64);
    let (mut diverged_bn, mut diverged_plain) = (None, None);
    let mut records = Vec::new();
    let start = Instant::now();
    let mut record = |step: usize,
                      bn: &LeNetBn,
                      plain: &LeNetPlain,
                      sums: (f64, f64, usize),
                      diverged: (Option<Divergence>, Option<Divergence>)| {
        let acc_bn = if diverged.0.is_some() { f64::NAN } else { evaluate(bn, test, &mut ev_bn.workspace, &mut xe) };
        let acc_plain =
            if diverged.1.is_some() { f64::NAN } else { evaluate(plain, test, &mut ev_plain.workspace, &mut xe) };
        let n = sums.2.max(1) as f64;
        let mean = |sum: f64, diverged: Option<Divergence>| if diverged.is_some() { f64::NAN } else { sum / n };
        let r = Record {
            step,
            acc_plain,
            acc_bn,
            loss_plain: mean(sums.1, diverged.1),
            loss_bn: mean(sums.0, diverged.0),
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
        let opt = &sgd(step);
        // A diverged network trains no more; the other continues.
        let t0 = Instant::now();
        if diverged_bn.is_none() {
            let loss = bn.train_step(&*x, &labels, &SoftmaxCrossEntropy, opt, &mut tr_bn);
            diverged_bn = Divergence::check(step, loss, &*bn);
            sum_bn += f64::from(loss);
        }
        let t1 = Instant::now();
        if diverged_plain.is_none() {
            let loss = plain.train_step(&*x, &labels, &SoftmaxCrossEntropy, opt, &mut tr_plain);
            diverged_plain = Divergence::check(step, loss, &*plain);
            sum_plain += f64::from(loss);
        }
        secs_bn += (t1 - t0).as_secs_f64();
        secs_plain += t1.elapsed().as_secs_f64();
        since += 1;
        if step % cfg.eval_every == 0 || step == cfg.steps {
            record(step, &bn, &plain, (sum_bn, sum_plain, since), (diverged_bn, diverged_plain));
            (sum_bn, sum_plain, since) = (0.0, 0.0, 0);
        }
        progress(step);
    }
    let train_seconds = start.elapsed().as_secs_f64();

    // Fold the BN network; compare and time its inference paths on every test digit, the
    // batched ones on the test set copied into chunks beforehand.
    let folded = bn.fold_boxed();
    let mut chunks = Vec::new();
    for start in (0..test.len()).step_by(EVAL_CHUNK) {
        let mut xc = bn_core::boxed_zeroed::<Batch<EvalChunk, U784>>();
        fill(&mut xc, test, start, EVAL_CHUNK.min(test.len() - start));
        chunks.push(xc);
    }
    let passes = cfg.timed_forwards.div_ceil(test.len().max(1)).max(1);
    let ([eval_pred, eval_batch_pred], [eval_one, eval_batch]) = predictions(&*bn, test, &chunks, passes);
    let ([folded_pred, folded_batch_pred], [folded_one, folded_batch]) = predictions(&*folded, test, &chunks, passes);

    let hits = |pred: &[usize]| pred.iter().zip(&test.labels).filter(|(p, &l)| **p == l as usize).count();
    let differ = |a: &[usize], b: &[usize]| a.iter().zip(b).filter(|(a, b)| a != b).count();
    let n = test.len().max(1) as f64;
    Report {
        eval_acc: hits(&eval_pred) as f64 / n,
        folded_acc: hits(&folded_pred) as f64 / n,
        folded_disagreements: differ(&eval_pred, &folded_pred),
        batch_disagreements: differ(&eval_pred, &eval_batch_pred) + differ(&folded_pred, &folded_batch_pred),
        timing: Timing { folded_one, folded_batch, eval_one, eval_batch },
        records,
        bn,
        plain,
        folded,
        train_seconds,
        train_seconds_plain: secs_plain,
        train_seconds_bn: secs_bn,
    }
}

/// `IMAGE_PIXELS` is the networks' input width (one 1×28×28 image, stored flat).
const _: () = assert!(IMAGE_PIXELS == LeNetBn::INPUT && IMAGE_PIXELS == LeNetPlain::INPUT);
