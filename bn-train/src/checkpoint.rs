//! Checkpoints: one safetensors file with everything a training run needs to go on exactly
//! where it stopped — the model, the optimizer state, the dropout masks' random state and
//! the run's [`Progress`] (step, epoch order, early-stopping state) — written atomically.
//!
//! # The file
//!
//! A safetensors file whose model tensors keep the names of the model's own weights file
//! ([`StateDict`]: `0.weight`, `1.running_mean`, …), so PyTorch reads them with
//! `safetensors.torch.load_file(path)` and `model.load_state_dict(..., strict=False)` (or by
//! dropping the keys below). The other tensors:
//!
//! | name | dtype, shape | content |
//! |---|---|---|
//! | `optimizer.step` | `I64 []` | optimizer steps taken ([`OptimizerState::step`]) |
//! | `optimizer.m`, `optimizer.v`, `optimizer.v_max` | `F32`/`F64 [n]` | the three slots of [`OptimizerState`] (SGD's momentum; Adam's `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`), every trained tensor's slot concatenated in the order of [`Network::visit_grads`] (the `state_dict` order of the trained weights, biases, γ and β) |
//! | `trainer.dropout_state` | `I64 []` | the dropout masks' random state (the `u64`'s bits) |
//! | `progress.*` | `I64 []`, `F64 []` | the fields of [`Progress`], named as they are (`best` as `has_best` and `best`) |
//!
//! The header's metadata holds `"format": "bn-train checkpoint 1"`.
//!
//! # Atomic writes
//!
//! [`save_checkpoint`] writes through [`write_atomically`]: a temporary file in the same
//! directory, flushed to disk, renamed over the old file. A crash (or an error) at any
//! moment leaves either the previous checkpoint or the new one, whole, never a mix.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bn_core::generic_array::ArrayLength;
use bn_core::{Float, LoadError, Network, OptimizerState, StateDict, Trainer};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::data::EpochState;

/// A network's scalar type.
type Sc<N> = <N as bn_core::Inference>::Scalar;

/// The format tag in a checkpoint's metadata.
const FORMAT: &str = "bn-train checkpoint 1";
/// Prefixes of the tensors that are not the model's.
const OWN_PREFIXES: [&str; 3] = ["optimizer.", "trainer.", "progress."];

/// Where a training run is: what a checkpoint stores besides the model and the optimizer
/// state, and what [`fit`](crate::fit()) resumes from.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    /// Optimizer steps taken in the whole run (the schedule's position).
    pub step: u64,
    /// The epochs' shuffling state: the next batch ([`EpochState`]).
    pub epochs: EpochState,
    /// The best validation metric so far (lower is better: a loss, or `1 − accuracy`), if
    /// there was an evaluation.
    pub best: Option<f64>,
    /// The epoch of [`best`](Self::best).
    pub best_epoch: u64,
    /// Epochs since the best one (early stopping's patience counter).
    pub bad_epochs: u64,
    /// The current epoch's sums so far: training loss, correct predictions, samples.
    pub epoch_loss_sum: f64,
    /// Correct predictions of the current epoch's training batches.
    pub epoch_correct: u64,
    /// Samples of the current epoch's training batches.
    pub epoch_samples: u64,
}

/// A checkpoint that could not be written or read: names the file and says what was
/// expected and what was found.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file could not be read or written.
    Io {
        /// The file.
        file: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file is not a checkpoint of this model: not safetensors, a tensor missing or of
    /// the wrong dtype or length.
    Format {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model's tensors do not load (the model's own loader's error: wrong network).
    Model {
        /// The file.
        file: PathBuf,
        /// The loader's error, naming the tensor.
        source: LoadError,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { file, source } => write!(f, "{}: {source}", file.display()),
            CheckpointError::Format { file, message } => {
                write!(f, "{}: not a checkpoint of this network: {message}", file.display())
            }
            CheckpointError::Model { file, source } => {
                write!(f, "{}: the model's tensors do not load: {source}", file.display())
            }
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            CheckpointError::Model { source, .. } => Some(source),
            CheckpointError::Format { .. } => None,
        }
    }
}

/// Writes `bytes` to `path` atomically (see [`write_atomically_with`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// Writes `path` atomically: `write` fills a temporary file in the same directory
/// (`.NAME.tmp-PID-N`), which is flushed to disk (`fsync`) and renamed over `path`, then the
/// directory is flushed. If `write` or any step fails, the temporary file is removed and
/// `path` is untouched; if the process dies, `path` is the old file or the new one, whole
/// (a stale temporary file may remain).
pub fn write_atomically_with(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| io::Error::other("the path names no file"))?;
    // Unique per process and per call: two writers of one path never share a temporary file.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{}.tmp-{}-{call}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = File::options().write(true).create_new(true).open(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        // The rename itself reaches the disk with the directory (best effort: not every
        // platform can open a directory).
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// An owned tensor to serialize.
struct Owned {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl Owned {
    fn int(x: i64) -> Self {
        Owned { dtype: Dtype::I64, shape: vec![], data: x.to_le_bytes().to_vec() }
    }
    fn float(x: f64) -> Self {
        Owned { dtype: Dtype::F64, shape: vec![], data: x.to_le_bytes().to_vec() }
    }
    fn floats<T: Float>(values: &[T]) -> Self {
        let (dtype, data) = if size_of::<T>() == 4 {
            (Dtype::F32, values.iter().flat_map(|x| (x.to_f64() as f32).to_le_bytes()).collect())
        } else {
            (Dtype::F64, values.iter().flat_map(|x| x.to_f64().to_le_bytes()).collect())
        };
        Owned { dtype, shape: vec![values.len()], data }
    }
}

/// The three slots of `state`, each concatenated in `visit_grads` order.
fn slots<N: Network>(net: &N, state: &mut OptimizerState<N::Grads>) -> [Vec<Sc<N>>; 3] {
    let mut out: [Vec<Sc<N>>; 3] = Default::default();
    for (slot, values) in [&mut state.m, &mut state.v, &mut state.v_max].into_iter().zip(&mut out) {
        net.visit_grads(slot, &mut |t, _| values.extend_from_slice(t));
    }
    out
}

/// The checkpoint file's bytes (see the [module documentation](self)).
pub fn checkpoint_bytes<N, B>(net: &N, trainer: &mut Trainer<N, B>, progress: &Progress) -> Vec<u8>
where
    N: Network + StateDict<Scalar = <N as bn_core::Inference>::Scalar>,
    B: ArrayLength,
{
    let model = net.save_safetensors();
    let model = SafeTensors::deserialize(&model).expect("a model's own file parses");
    let mut tensors: Vec<(String, Owned)> = model
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, Owned { dtype: t.dtype(), shape: t.shape().to_vec(), data: t.data().to_vec() }))
        .collect();
    let [m, v, v_max] = slots(net, &mut trainer.state);
    let dropout = N::dropout_state(&mut trainer.workspace).map_or(0, |s| *s);
    let p = progress;
    let extra = [
        ("optimizer.step", Owned::int(trainer.state.step as i64)),
        ("optimizer.m", Owned::floats(&m)),
        ("optimizer.v", Owned::floats(&v)),
        ("optimizer.v_max", Owned::floats(&v_max)),
        ("trainer.dropout_state", Owned::int(dropout as i64)),
        ("progress.step", Owned::int(p.step as i64)),
        ("progress.epoch_seed", Owned::int(p.epochs.seed as i64)),
        ("progress.epoch", Owned::int(p.epochs.epoch as i64)),
        ("progress.batch", Owned::int(p.epochs.batch as i64)),
        ("progress.has_best", Owned::int(i64::from(p.best.is_some()))),
        ("progress.best", Owned::float(p.best.unwrap_or(0.0))),
        ("progress.best_epoch", Owned::int(p.best_epoch as i64)),
        ("progress.bad_epochs", Owned::int(p.bad_epochs as i64)),
        ("progress.epoch_loss_sum", Owned::float(p.epoch_loss_sum)),
        ("progress.epoch_correct", Owned::int(p.epoch_correct as i64)),
        ("progress.epoch_samples", Owned::int(p.epoch_samples as i64)),
    ];
    tensors.extend(extra.into_iter().map(|(n, t)| (n.to_owned(), t)));
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), TensorView::new(t.dtype, t.shape.clone(), &t.data).expect("sizes agree")))
        .collect();
    let metadata = HashMap::from([("format".to_owned(), FORMAT.to_owned())]);
    safetensors::serialize(views, Some(metadata)).expect("a checkpoint's tensors serialize")
}

/// Saves a checkpoint of `net`, its optimizer state and dropout state in `trainer`, and
/// `progress` to `path`, atomically.
///
/// # Errors
/// [`CheckpointError::Io`] naming the file if it cannot be written (the old file, if any,
/// is then untouched).
pub fn save_checkpoint<N, B>(
    path: &Path,
    net: &N,
    trainer: &mut Trainer<N, B>,
    progress: &Progress,
) -> Result<(), CheckpointError>
where
    N: Network + StateDict<Scalar = <N as bn_core::Inference>::Scalar>,
    B: ArrayLength,
{
    let bytes = checkpoint_bytes(net, trainer, progress);
    write_atomically(path, &bytes).map_err(|source| CheckpointError::Io { file: path.to_path_buf(), source })
}

/// Loads the checkpoint at `path` into `net` and `trainer` (optimizer state, dropout state)
/// and returns the run's [`Progress`].
///
/// Everything is checked before anything is written: on error, `net` and `trainer` are
/// unchanged.
///
/// # Errors
/// [`CheckpointError`] naming the file: unreadable, not a checkpoint, one of its tensors
/// missing or of the wrong dtype or length for this network, or the model's tensors not
/// those of `net` (the model loader's error, naming the tensor).
pub fn load_checkpoint<N, B>(path: &Path, net: &mut N, trainer: &mut Trainer<N, B>) -> Result<Progress, CheckpointError>
where
    N: Network + StateDict<Scalar = <N as bn_core::Inference>::Scalar>,
    B: ArrayLength,
{
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io { file: path.to_path_buf(), source })?;
    load_checkpoint_bytes(&bytes, path, net, trainer)
}

/// [`load_checkpoint`] from bytes in memory; `path` names them in errors.
pub fn load_checkpoint_bytes<N, B>(
    bytes: &[u8],
    path: &Path,
    net: &mut N,
    trainer: &mut Trainer<N, B>,
) -> Result<Progress, CheckpointError>
where
    N: Network + StateDict<Scalar = <N as bn_core::Inference>::Scalar>,
    B: ArrayLength,
{
    let format = |message: String| CheckpointError::Format { file: path.to_path_buf(), message };
    let file = SafeTensors::deserialize(bytes).map_err(|e| format(format!("not a safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format(format!("{e}")))?;
    let tag = header.metadata().as_ref().and_then(|m| m.get("format")).cloned();
    if tag.as_deref() != Some(FORMAT) {
        return Err(format(format!("its metadata says format {tag:?}, expected {FORMAT:?}")));
    }
    let tensor = |name: &str| file.tensor(name).map_err(|_| format(format!("missing tensor `{name}`")));
    let int = |name: &str| -> Result<i64, CheckpointError> {
        let t = tensor(name)?;
        match (t.dtype(), t.data().try_into()) {
            (Dtype::I64, Ok(b)) if t.shape().is_empty() => Ok(i64::from_le_bytes(b)),
            _ => Err(format(format!("`{name}` is {:?} {:?}, expected I64 []", t.dtype(), t.shape()))),
        }
    };
    let float = |name: &str| -> Result<f64, CheckpointError> {
        let t = tensor(name)?;
        match (t.dtype(), t.data().try_into()) {
            (Dtype::F64, Ok(b)) if t.shape().is_empty() => Ok(f64::from_le_bytes(b)),
            _ => Err(format(format!("`{name}` is {:?} {:?}, expected F64 []", t.dtype(), t.shape()))),
        }
    };
    let count = |name: &str| -> Result<u64, CheckpointError> {
        u64::try_from(int(name)?).map_err(|_| format(format!("`{name}` is negative")))
    };
    // The optimizer's slots: as many values as the network's trained tensors, in its scalar.
    let mut n = 0;
    net.visit_grads(&mut trainer.state.m, &mut |t, _| n += t.len());
    let read_slot = |name: &str| -> Result<Vec<Sc<N>>, CheckpointError> {
        let t = tensor(name)?;
        let values: Vec<Sc<N>> = match t.dtype() {
            Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .map(|c| Sc::<N>::from_f64(f32::from_le_bytes(c.try_into().unwrap()) as f64))
                .collect(),
            Dtype::F64 => {
                t.data().chunks_exact(8).map(|c| Sc::<N>::from_f64(f64::from_le_bytes(c.try_into().unwrap()))).collect()
            }
            other => return Err(format(format!("`{name}` is {other:?}, expected F32 or F64"))),
        };
        if t.shape() != [n] {
            return Err(format(format!("`{name}` has shape {:?}, this network's optimizer state is [{n}]", t.shape())));
        }
        Ok(values)
    };
    let (m, v, v_max) = (read_slot("optimizer.m")?, read_slot("optimizer.v")?, read_slot("optimizer.v_max")?);
    let step = count("optimizer.step")?;
    let dropout = int("trainer.dropout_state")? as u64;
    let best = float("progress.best")?;
    let progress = Progress {
        step: count("progress.step")?,
        epochs: EpochState {
            seed: int("progress.epoch_seed")? as u64,
            epoch: count("progress.epoch")?,
            batch: count("progress.batch")? as usize,
        },
        best: (int("progress.has_best")? != 0).then_some(best),
        best_epoch: count("progress.best_epoch")?,
        bad_epochs: count("progress.bad_epochs")?,
        epoch_loss_sum: float("progress.epoch_loss_sum")?,
        epoch_correct: count("progress.epoch_correct")?,
        epoch_samples: count("progress.epoch_samples")?,
    };
    // The model: its tensors alone, through the model's own loader (which checks every
    // tensor before it writes one).
    let model: Vec<(String, TensorView<'_>)> =
        file.tensors().into_iter().filter(|(name, _)| !OWN_PREFIXES.iter().any(|p| name.starts_with(p))).collect();
    let model = safetensors::serialize(model, None).map_err(|e| format(format!("{e}")))?;
    net.load_safetensors_into(&model).map_err(|source| CheckpointError::Model { file: path.to_path_buf(), source })?;
    // Nothing can fail from here on.
    trainer.state.step = step;
    for (slot, values) in
        [&mut trainer.state.m, &mut trainer.state.v, &mut trainer.state.v_max].into_iter().zip([m, v, v_max])
    {
        let mut at = 0;
        net.visit_grads(slot, &mut |t, _| {
            t.copy_from_slice(&values[at..at + t.len()]);
            at += t.len();
        });
    }
    if let Some(state) = N::dropout_state(&mut trainer.workspace) {
        *state = dropout;
    }
    Ok(progress)
}
