//! Training: losses ([`Loss`]), the optimizer ([`Sgd`] through [`Optimizer`] and
//! [`Parameters`]), learning-rate schedules ([`Schedule`]), and the [`Network`] trait that generated networks implement, with
//! [`Trainer`] (workspace, gradients and optimizer state of one batch size), and [`Freeze`]
//! (whether a Batch Normalization trains with the batch's statistics or the population's).

mod freeze;
mod loss;
mod network;
mod optim;
mod schedule;

pub use freeze::Freeze;
pub use loss::{mse, softmax_cross_entropy, Loss, MeanSquaredError, SoftmaxCrossEntropy};
pub use network::{Network, OutputAndGrad, Trainer};
pub use optim::{Optimizer, Parameters, Sgd};
pub use schedule::{
    Anneal, CosineAnnealingLr, FixedLr, LinearLr, MultiStepLr, OneCycleLr, Schedule, Scheduled, SequentialLr, StepLr,
};
