//! Models outside the process: the named tensors of a PyTorch `state_dict`
//! ([`StateDict`]) and safetensors files with those names (feature `safetensors`), and the
//! raw byte layout of a folded model ([`PlainData`], which [`embed!`](crate::embed!) compiles
//! into a binary); [`LoadError`] says why a file was refused.

mod error;
mod plain;
#[cfg(feature = "safetensors")]
mod safetensors;
mod state_dict;
mod tensor;

pub use error::LoadError;
pub(crate) use plain::assert_layout;
pub use plain::{PlainData, PlainScalar};
pub use state_dict::{visit_channel_affine, visit_channel_affine_mut, LayerTensors, StateDict};
pub use tensor::{TensorMut, TensorName, TensorRef, TensorShape};
