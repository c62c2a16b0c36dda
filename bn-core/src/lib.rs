//! # bn-core
//!
//! Statically shaped neural-network layers with exact Batch Normalization
//! (Ioffe & Szegedy 2015, *Batch Normalization: Accelerating Deep Network Training by
//! Reducing Internal Covariate Shift*, arXiv 1502.03167).
//!
//! Every dimension is a [`typenum`] type and every tensor an inline [`GenericArray`]:
//! shapes are checked by the compiler, a model holds no heap pointers, and forward,
//! backward and the optimizer step never allocate.
//!
//! - Layers (one per module, forward and backward side by side): [`Dense`], [`BatchNorm`],
//!   [`Affine`], and the [`Activation`]s [`Sigmoid`], [`ReLU`], [`Tanh`].
//! - Losses: [`softmax_cross_entropy`], [`mse`]. Optimizer: [`Sgd`].
//! - Initialization: [`Init`] with a seeded [`Rng`].
//! - Folding: [`BatchNorm::to_affine`], [`Dense::fold_affine_after`] (Dense → BN) and
//!   [`Dense::fold_affine_before`] (BN → Dense).
//! - Construction without stack temporaries: [`boxed_zeroed`] (feature `alloc`).
//!
//! Training calls take the batch size as a type parameter `B: `[`TrainBatch`], which
//! rejects a batch of 1 at compile time.
//!
//! ```
//! use bn_core::{Activation, Batch, BatchNorm, BatchNormCache, Dense, Init, Rng, Sigmoid};
//! use bn_core::typenum::{U3, U4, U8};
//!
//! // dense(3 => 4, no bias) → batchnorm → sigmoid, one training forward at batch size 8.
//! let mut rng = Rng::seed(0);
//! let dense = Dense::<U3, U4, f32, false>::new(Init::XavierNormal, &mut rng);
//! let mut bn = BatchNorm::<U4>::new();
//! let mut x = Batch::<U8, U3>::default();
//! Init::Gaussian { std: 1.0 }.fill(bn_core::flat_mut(&mut x), 1, 1, &mut rng);
//! let (mut h, mut z, mut a) = (Batch::default(), Batch::default(), Batch::default());
//! let mut cache = BatchNormCache::default();
//! dense.forward(&x, &mut h);
//! bn.forward_train(&h, &mut z, &mut cache);
//! Sigmoid::forward(&z, &mut a);
//! // Each feature of z has batch mean 0.
//! let mean0: f32 = z.iter().map(|row| row[0]).sum::<f32>() / 8.0;
//! assert!(mean0.abs() < 1e-6);
//! assert_eq!(bn.num_batches_tracked, 1);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;
// Lets the crate's own tests use `bn_core::...` paths like a downstream crate.
extern crate self as bn_core;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod activation;
mod affine;
mod batchnorm;
mod dense;
mod float;
pub mod kernels;
mod loss;
mod network;
mod optim;
mod relu;
mod rng;
mod shape;
mod sigmoid;
mod tanh;
mod zeroed;

#[cfg(test)]
mod fold_tests;
#[cfg(test)]
mod stack_tests;
#[cfg(test)]
mod testing;

pub use activation::Activation;
pub use affine::Affine;
pub use batchnorm::{BatchNorm, BatchNormCache, BatchNormGrads, Momentum};
pub use dense::Dense;
pub use float::Float;
pub use loss::{argmax, mse, softmax_cross_entropy, Loss, MeanSquaredError, SoftmaxCrossEntropy};
pub use network::{accuracy, Inference, Network, OutputAndGrad, Trainer};
pub use optim::{Optimizer, Parameters, Sgd};
pub use relu::ReLU;
pub use rng::{Init, Rng};
pub use shape::{flat, flat_mut, Batch, Matrix, TrainBatch, Vector};
pub use sigmoid::Sigmoid;
pub use tanh::Tanh;
#[cfg(feature = "alloc")]
pub use zeroed::boxed_zeroed;
pub use zeroed::Zeroable;

pub use generic_array::{self, GenericArray};
pub use typenum;

/// Declares a statically shaped network. See the crate documentation.
pub use bn_macros::network;
