//! Training: losses ([`Loss`]), the optimizers ([`Sgd`], [`Adam`], [`AdamW`] through
//! [`Optimizer`] and [`Parameters`], their state [`OptimizerState`]), learning-rate schedules
//! ([`Schedule`]), and the [`Network`] trait that generated networks implement, with
//! [`Trainer`] (workspace, gradients and optimizer state of one batch size), and [`Freeze`]
//! (whether a Batch Normalization trains with the batch's statistics or the population's).

mod adam;
mod freeze;
mod loss;
mod network;
mod optim;
mod schedule;

pub use adam::{Adam, AdamW};
pub use freeze::Freeze;
pub use loss::{mse, softmax_cross_entropy, Loss, MeanSquaredError, SoftmaxCrossEntropy};
pub use network::{Network, OutputAndGrad, Trainer};
pub use optim::{Optimizer, OptimizerState, ParamKind, Parameters, Sgd, Slots, StateMut};
pub use schedule::{
    Anneal, CosineAnnealingLr, FixedLr, LinearLr, MultiStepLr, OneCycleLr, Schedule, Scheduled, SequentialLr, StepLr,
};
