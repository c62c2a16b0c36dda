//! [`fit`]: the training loop of the common case — epochs of shuffled mini-batches with an
//! optimizer and a learning-rate schedule, optional gradient clipping, validation after
//! every epoch, early stopping, checkpoints, and callbacks. The library never prints: the
//! callbacks see every step and every epoch (the examples draw progress bars with them).

use std::path::PathBuf;

use bn_core::generic_array::GenericArray;
use bn_core::{
    argmax, Batch, Inference, Network, Optimizer, Schedule, Scheduled, SoftmaxCrossEntropy, StateDict, TrainBatch,
    Trainer, Vector,
};

use crate::checkpoint::{save_checkpoint, CheckpointError, Progress};
use crate::data::{Dataset, Epochs};
use crate::DataError;
use bn_core::typenum::Unsigned;

/// Which validation metric early stopping and the best epoch follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// The validation loss (lower is better).
    Loss,
    /// The validation accuracy (higher is better).
    Accuracy,
}

/// Stop when the monitored validation metric has not improved by more than `min_delta` for
/// `patience` epochs in a row (Keras' `EarlyStopping`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// What to watch.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping (at least 1).
    pub patience: u64,
    /// The least change that counts as an improvement.
    pub min_delta: f64,
}

/// The settings of a [`fit`] run.
#[derive(Clone, Debug)]
pub struct FitConfig<O, S> {
    /// Epochs to train (a resumed run counts the epochs already done).
    pub epochs: u64,
    /// Stop after this many optimizer steps in all (`None`: after `epochs`).
    pub max_steps: Option<u64>,
    /// The optimizer; its learning rate (and momentum) is set from `schedule` before every
    /// step, the optimizer's own learning rate being the schedule's `base_lr`.
    pub optimizer: O,
    /// The learning-rate schedule, stepped once per optimizer step.
    pub schedule: S,
    /// Clip the gradients to this global norm before every step
    /// ([`Network::clip_grad_norm`]).
    pub clip_grad_norm: Option<f32>,
    /// Seed of the epochs' shuffling ([`Epochs`]).
    pub seed: u64,
    /// Early stopping on the validation set (needs one).
    pub early_stopping: Option<EarlyStopping>,
    /// Which metric decides the best epoch (and early stopping, which has its own).
    pub monitor: Monitor,
    /// Write a checkpoint here after every epoch (and, with `checkpoint_every`, every so
    /// many steps), atomically.
    pub checkpoint: Option<PathBuf>,
    /// Also checkpoint every this many steps.
    pub checkpoint_every: Option<u64>,
}

impl<O, S> FitConfig<O, S> {
    /// `epochs` epochs with `optimizer` on `schedule` (from the optimizer's learning rate),
    /// seed 0, no clipping, no early stopping, no checkpoints.
    pub fn new(epochs: u64, optimizer: O, schedule: S) -> Self {
        FitConfig {
            epochs,
            max_steps: None,
            optimizer,
            schedule,
            clip_grad_norm: None,
            seed: 0,
            early_stopping: None,
            monitor: Monitor::Loss,
            checkpoint: None,
            checkpoint_every: None,
        }
    }
}

/// Loss and accuracy of a model on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Mean softmax cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
}

/// What [`Callbacks::on_step`] sees after each optimizer step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// Optimizer steps taken in the whole run, this one included.
    pub step: u64,
    /// The epoch (0-based) and the batch in it.
    pub epoch: u64,
    /// The batch's index in its epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// The batch's training loss.
    pub loss: f64,
    /// The fraction of the batch classified correctly (train-mode outputs).
    pub accuracy: f64,
    /// The learning rate of this step.
    pub lr: f64,
    /// The gradients' global norm before clipping (with clipping only).
    pub grad_norm: Option<f64>,
}

/// What [`Callbacks::on_epoch`] sees after each epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochInfo {
    /// The epoch (0-based).
    pub epoch: u64,
    /// Optimizer steps taken in the whole run.
    pub step: u64,
    /// Mean training loss and accuracy over the epoch's batches (train-mode outputs).
    pub train: Metrics,
    /// The validation set's metrics with the population statistics, if there is one.
    pub valid: Option<Metrics>,
    /// The learning rate of the epoch's last step.
    pub lr: f64,
    /// Whether this epoch is the best so far.
    pub best: bool,
}

/// Called by [`fit`] after every step and every epoch. Both do nothing by default; `()`
/// ignores everything.
pub trait Callbacks {
    /// After an optimizer step.
    fn on_step(&mut self, info: &StepInfo) {
        let _ = info;
    }
    /// After an epoch's validation.
    fn on_epoch(&mut self, info: &EpochInfo) {
        let _ = info;
    }
}

impl Callbacks for () {}

/// How a [`fit`] run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Every epoch completed in this call.
    pub epochs: Vec<EpochInfo>,
    /// Where the run is (what a checkpoint holds).
    pub progress: Progress,
    /// Whether early stopping ended it.
    pub stopped_early: bool,
}

/// Why [`fit`] stopped.
#[derive(Debug)]
pub enum FitError {
    /// The data does not fit the network (width, classes, too few samples).
    Data(DataError),
    /// A checkpoint could not be written.
    Checkpoint(CheckpointError),
}

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitError::Data(e) => e.fmt(f),
            FitError::Checkpoint(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FitError {}

impl From<DataError> for FitError {
    fn from(e: DataError) -> Self {
        FitError::Data(e)
    }
}

impl From<CheckpointError> for FitError {
    fn from(e: CheckpointError) -> Self {
        FitError::Checkpoint(e)
    }
}

/// The loss and accuracy of `model` (eval mode: population statistics) on `data`, one
/// sample at a time; no allocation.
///
/// # Errors
/// [`DataError::Width`] if the samples do not have the model's input width.
pub fn evaluate<M: Inference<Scalar = f32>>(model: &M, data: &Dataset) -> Result<Metrics, DataError> {
    data.expect_width(M::Input::USIZE)?;
    let mut out = Vector::<M::Output, f32>::default();
    let (mut loss, mut correct) = (0.0f64, 0usize);
    for (x, label) in data.iter() {
        model.forward_one(GenericArray::from_slice(x), &mut out);
        loss += cross_entropy(&out, label as usize);
        correct += usize::from(argmax(&out) == label as usize);
    }
    let n = data.len().max(1) as f64;
    Ok(Metrics { loss: loss / n, accuracy: correct as f64 / n })
}

/// `−log softmax(logits)[label]` in `f64` (∞ for a label out of range).
fn cross_entropy(logits: &[f32], label: usize) -> f64 {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let sum: f64 = logits.iter().map(|&x| (x as f64 - max).exp()).sum();
    logits.get(label).map_or(f64::INFINITY, |&x| max + sum.ln() - x as f64)
}

/// Trains `net` on `train` with softmax cross-entropy as `config` says, from `progress`
/// (`Progress::default()` for a new run, or what [`load_checkpoint`](crate::load_checkpoint)
/// returned to resume one): for each epoch, the batches of [`Epochs`] (seeded by
/// `config.seed`; the last partial batch dropped), before each step the schedule's learning
/// rate, the step (clipped if asked), [`Callbacks::on_step`]; after each epoch the
/// validation set's [`Metrics`] (if any), the best epoch, early stopping,
/// [`Callbacks::on_epoch`], and the checkpoint.
///
/// A run is a function of the network, the trainer's state and `progress`: resumed from a
/// checkpoint, it continues with the same bits as the run that wrote it (the schedule's
/// position is the step count, the epoch order depends on the seed and the epoch, the
/// dropout state and the optimizer state are in the trainer).
///
/// # Errors
/// [`FitError::Data`] if `train` or `valid` does not match the network (width, a label
/// ≥ the number of outputs, fewer samples than a batch) or early stopping is asked for
/// without a validation set, [`FitError::Checkpoint`] if a
/// checkpoint cannot be written (training stops there; the previous checkpoint is whole).
pub fn fit<N, B, O, S>(
    net: &mut N,
    trainer: &mut Trainer<N, B>,
    train: &Dataset,
    valid: Option<&Dataset>,
    config: &FitConfig<O, S>,
    progress: Progress,
    callbacks: &mut impl Callbacks,
) -> Result<FitReport, FitError>
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32>,
    B: TrainBatch,
    O: Optimizer<f32> + Scheduled + Clone,
    S: Schedule,
{
    let classes = N::Output::USIZE;
    train.check_classes(classes)?;
    if config.early_stopping.is_some() && valid.is_none() {
        return Err(FitError::Data(DataError::Invalid {
            message: "early stopping watches the validation set: pass one".into(),
        }));
    }
    if let Some(v) = valid {
        v.check_classes(classes)?;
        v.expect_width(N::Input::USIZE)?;
    }
    let mut epochs = Epochs::<B, N::Input>::new(train, config.seed)?;
    let mut p = progress;
    if p == Progress::default() {
        p.epochs.seed = config.seed;
    }
    epochs.set_state(p.epochs)?;
    let mut opt = config.optimizer.clone();
    let base_lr = config.optimizer.lr();
    let mut x = Batch::<B, N::Input>::default();
    let mut labels = GenericArray::<usize, B>::default();
    let mut report = FitReport { epochs: Vec::new(), progress: p, stopped_early: false };
    let per_epoch = epochs.batches_per_epoch();
    let loss_fn = SoftmaxCrossEntropy;
    loop {
        // The epoch of the next batch (a complete epoch rolls over on the next draw).
        let state = epochs.state();
        let next_epoch = if state.batch >= per_epoch { state.epoch + 1 } else { state.epoch };
        if next_epoch >= config.epochs || config.max_steps.is_some_and(|m| p.step >= m) {
            // A run stopped in the middle of an epoch keeps where it is.
            if let (Some(path), true) = (&config.checkpoint, p.epochs.batch != 0 && p.epochs.batch < per_epoch) {
                save_checkpoint(path, net, trainer, &p)?;
            }
            break;
        }
        let info = epochs.next_batch(&mut x, &mut labels);
        config.schedule.apply(&mut opt, base_lr, p.step);
        let (loss, grad_norm) = match config.clip_grad_norm {
            Some(max) => {
                let (loss, norm) = net.train_step_clipped(&x, &labels, &loss_fn, &opt, max, trainer);
                (loss, Some(norm as f64))
            }
            None => (net.train_step(&x, &labels, &loss_fn, &opt, trainer), None),
        };
        p.step += 1;
        let (out, _) = N::output_and_grad(&mut trainer.workspace);
        let correct = out.iter().zip(&labels).filter(|(o, &l)| argmax(o) == l).count();
        p.epoch_correct += correct as u64;
        p.epoch_samples += B::U64;
        p.epoch_loss_sum += loss as f64 * B::USIZE as f64;
        p.epochs = epochs.state();
        let lr = config.schedule.lr(base_lr, p.step - 1);
        callbacks.on_step(&StepInfo {
            step: p.step,
            epoch: info.epoch,
            batch: info.batch,
            batches_per_epoch: per_epoch,
            loss: loss as f64,
            accuracy: correct as f64 / B::USIZE as f64,
            lr,
            grad_norm,
        });
        if info.last_in_epoch {
            let stop = end_epoch(net, valid, config, &mut p, info.epoch, lr, callbacks, &mut report)?;
            if let Some(path) = &config.checkpoint {
                save_checkpoint(path, net, trainer, &p)?;
            }
            if stop {
                report.stopped_early = true;
                break;
            }
        } else if let (Some(path), Some(every)) = (&config.checkpoint, config.checkpoint_every) {
            if p.step.is_multiple_of(every) {
                save_checkpoint(path, net, trainer, &p)?;
            }
        }
    }
    report.progress = p;
    Ok(report)
}

/// The end of epoch `epoch`: metrics, the best epoch, early stopping (returned), the
/// callback; resets the epoch's sums.
#[allow(clippy::too_many_arguments)]
fn end_epoch<N, O, S>(
    net: &N,
    valid: Option<&Dataset>,
    config: &FitConfig<O, S>,
    p: &mut Progress,
    epoch: u64,
    lr: f64,
    callbacks: &mut impl Callbacks,
    report: &mut FitReport,
) -> Result<bool, FitError>
where
    N: Network<Scalar = f32>,
{
    let samples = p.epoch_samples.max(1) as f64;
    let train = Metrics { loss: p.epoch_loss_sum / samples, accuracy: p.epoch_correct as f64 / samples };
    let valid = valid.map(|v| evaluate(net, v)).transpose()?;
    let score = |m: &Metrics, monitor: Monitor| match monitor {
        Monitor::Loss => m.loss,
        Monitor::Accuracy => 1.0 - m.accuracy,
    };
    let monitor = config.early_stopping.map_or(config.monitor, |e| e.monitor);
    let min_delta = config.early_stopping.map_or(0.0, |e| e.min_delta);
    let current = valid.as_ref().map(|m| score(m, monitor));
    let best = match (current, p.best) {
        (Some(_), None) => true,
        (Some(c), Some(b)) => c < b - min_delta,
        (None, _) => false,
    };
    if best {
        p.best = current;
        p.best_epoch = epoch;
        p.bad_epochs = 0;
    } else if current.is_some() {
        p.bad_epochs += 1;
    }
    let info = EpochInfo { epoch, step: p.step, train, valid, lr, best };
    callbacks.on_epoch(&info);
    report.epochs.push(info);
    p.epoch_loss_sum = 0.0;
    p.epoch_correct = 0;
    p.epoch_samples = 0;
    Ok(config.early_stopping.is_some_and(|e| current.is_some() && p.bad_epochs >= e.patience.max(1)))
}
