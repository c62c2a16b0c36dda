//! The layers, one per file, each with its forward and backward side by side: [`Dense`],
//! [`Conv2d`], [`BatchNorm`] (over features, or over the channels of images), [`Affine`] (an
//! inference-mode BN that could not be folded), [`LayerNorm`] (over the values of each
//! sample), [`GroupNorm`] (over groups of an image's channels), [`Dropout`], the pools
//! [`MaxPool2d`], [`AvgPool2d`] and [`GlobalAvgPool`], a skip connection's sum
//! [`Residual`], and the element-wise activations; [`ConvBlock`] trains `conv2d, batchnorm,
//! relu, maxpool` a sample at a time. Layers compute through [`kernels`](crate::kernels);
//! they know nothing of networks, training loops or files.

mod activation;
mod affine;
mod batchnorm;
mod centering;
mod conv2d;
mod conv_block;
mod dense;
mod dropout;
mod global_avgpool;
mod groupnorm;
mod layernorm;
mod pool;
mod qaffine;
mod qconv2d;
mod qdense;
mod residual;
#[cfg(test)]
mod testing;

pub use activation::{Activation, ReLU, Sigmoid, Tanh};
pub use affine::Affine;
pub use batchnorm::{BatchNorm, BatchNormCache, BatchNormGrads, Fused, Momentum};
pub use conv2d::{Conv2d, Conv2dBuffers, Conv2dGeometry, Conv2dScratch, Conv2dShape};
pub use conv_block::ConvBlock;
pub use dense::Dense;
pub use dropout::Dropout;
pub use global_avgpool::GlobalAvgPool;
pub use groupnorm::{GroupNorm, GroupNormCache, GroupNormGrads};
pub use layernorm::{LayerNorm, LayerNormCache, LayerNormGrads};
pub use pool::{AvgPool2d, MaxPool2d, Pool2dGeometry, Pool2dShape};
pub use qaffine::QAffine;
pub use qconv2d::QConv2d;
pub use qdense::QDense;
pub use residual::Residual;
