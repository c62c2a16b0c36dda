//! The layers, one per file, each with its forward and backward side by side: [`Dense`],
//! [`BatchNorm`], [`Affine`] (an inference-mode BN that could not be folded) and the
//! element-wise activations. Layers compute through [`kernels`](crate::kernels); they know
//! nothing of networks, training loops or files.

mod activation;
mod affine;
mod batchnorm;
mod dense;
#[cfg(test)]
mod testing;

pub use activation::{Activation, ReLU, Sigmoid, Tanh};
pub use affine::Affine;
pub use batchnorm::{BatchNorm, BatchNormCache, BatchNormGrads, Momentum};
pub use dense::Dense;
