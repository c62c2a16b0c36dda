//! [`Conv2d`]: the 2-d convolution (PyTorch's `nn.Conv2d`, zero padding), its geometry as
//! types ([`Conv2dGeometry`], [`Conv2dShape`]), and its folding with per-channel affine maps.
//!
//! `layer.rs` holds the type, its geometry and the training path; `inference.rs` the fused
//! inference call and the folding.

mod inference;
mod layer;

pub(crate) use layer::window;
pub use layer::{Conv2d, Conv2dBuffers, Conv2dGeometry, Conv2dScratch, Conv2dShape};

#[cfg(test)]
mod tests;
