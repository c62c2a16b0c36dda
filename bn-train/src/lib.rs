//! Training [`bn_core`] networks on your own data: labelled samples in memory, loaded from
//! CSV, numpy's `.npy` or MNIST's files, standardized, split, and served as epochs of
//! mini-batches that fill a network's `Batch<B, Input>`; the [`fit()`] loop; checkpoints.
//!
//! - [`data`]: [`Dataset`] (samples of a runtime width and class labels),
//!   [`Dataset::split`] (seeded train/validation split), [`Standardizer`] (per-feature
//!   mean and standard deviation, fitted on the training set), [`Epochs`] (seeded
//!   shuffling, full batches only, a resumable [`EpochState`]).
//! - [`csv`]: [`load_csv`] with [`CsvOptions`] (header or not, label column by index or
//!   name, the width the network takes).
//! - [`npy`]: [`load_npy`] (samples `float32`/`float64`/`uint8`, labels of any integer
//!   dtype).
//! - [`mnist`]: the MNIST loaders (the embedded 5000-digit subset, the IDX files).
//! - [`fit()`]: epochs with an optimizer and a learning-rate schedule, clipping, validation,
//!   early stopping, [`Callbacks`] (the library never prints), checkpoints.
//! - [`checkpoint`]: [`save_checkpoint`] / [`load_checkpoint`] (model, optimizer state,
//!   dropout state, [`Progress`]: exact resume), [`write_atomically`].
//!
//! Every loader returns a [`DataError`] naming the file, the line and the column where one
//! applies, and never panics on any input. The guides: `docs/data.md`, `docs/training.md`.
//!
//! ```
//! use bn_core::typenum::{U2, U3};
//! use bn_core::{Batch, GenericArray};
//! use bn_train::{parse_csv, CsvOptions, Epochs, LabelColumn, Standardizer};
//!
//! let text = b"x,y,z,class\n1,2,3,0\n4,5,6,1\n7,8,9,0\n10,11,12,1\n";
//! let opts = CsvOptions::default().header(true).label(LabelColumn::Name("class".into())).width(3);
//! let data = parse_csv(text, &opts)?;
//! let (mut train, mut valid) = data.split(0.25, 1)?; // 3 training samples, 1 to validate
//! let standardize = Standardizer::fit(&train)?;
//! standardize.apply(&mut train)?;
//! standardize.apply(&mut valid)?;
//!
//! // A network with `input: 3`, trained on batches of 2: `Batch<U2, Net::Input>`.
//! let mut epochs = Epochs::<U2, U3>::new(&train, 7)?;
//! let (mut x, mut labels) = (Batch::<U2, U3>::default(), GenericArray::<usize, U2>::default());
//! for _ in 0..epochs.batches_per_epoch() {
//!     epochs.next_batch(&mut x, &mut labels); // then net.train_step(&x, &labels, …)
//!     assert!(labels.iter().all(|&l| l < 2));
//! }
//! # Ok::<(), bn_train::DataError>(())
//! ```

pub mod checkpoint;
pub mod csv;
pub mod data;
mod error;
pub mod fit;
pub mod mnist;
pub mod npy;

pub use crate::checkpoint::{load_checkpoint, save_checkpoint, write_atomically, CheckpointError, Progress};
pub use crate::csv::{load_csv, parse_csv, parse_csv_named, CsvOptions, LabelColumn};
pub use crate::data::{BatchInfo, Dataset, EpochState, Epochs, Holdout, Standardizer};
pub use crate::error::DataError;
pub use crate::fit::{
    evaluate, fit, Callbacks, EarlyStopping, EpochInfo, FitConfig, FitError, FitReport, Metrics, Monitor, StepInfo,
};
pub use crate::npy::{load_npy, parse_npy};
