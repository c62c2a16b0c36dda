//! [`BatchNorm`]: Batch Normalization (Ioffe & Szegedy 2015, arXiv 1502.03167) over the
//! features of a fully connected layer or over the channels of images: training with
//! mini-batch statistics and exact backward, population statistics (moving or cumulative
//! average, or recomputed), eval, and conversion to an [`Affine`](crate::Affine) map for
//! folding.
//!
//! `layer.rs` holds the type, its population statistics, eval over features and folding;
//! `modes.rs` how it trains (with the batch statistics, frozen, or renormalized) and the
//! training entry points over features; `channels.rs` the entry points over the channels
//! of images.

mod channels;
mod layer;
mod modes;

pub use channels::Fused;
pub use layer::{BatchNorm, BatchNormCache, BatchNormGrads, Momentum};

#[cfg(test)]
mod mode_tests;
#[cfg(test)]
mod tests;
