//! Models outside the process: the named tensors of a PyTorch `state_dict`
//! ([`StateDict`]) and safetensors files with those names (feature `safetensors`), and the
//! raw byte layout of a folded model ([`PlainData`], which [`embed!`](crate::embed!) compiles
//! into a binary); [`LoadError`] says why a file was refused. [`Graph`] is a model's layers
//! as data, which ONNX export (feature `onnx`) writes with the tensors.

mod error;
mod graph;
#[cfg(feature = "onnx")]
mod onnx;
mod plain;
#[cfg(feature = "safetensors")]
mod safetensors;
mod state_dict;
mod tensor;

pub use error::LoadError;
pub use graph::{Dims, Graph, Node, Op};
#[cfg(feature = "onnx")]
pub use onnx::{save_onnx, ONNX_OPSET};
pub(crate) use plain::assert_layout;
pub use plain::{PlainData, PlainElement, PlainScalar};
pub use state_dict::{visit_channel_affine, visit_channel_affine_mut, LayerTensors, StateDict};
pub use tensor::{TensorMut, TensorName, TensorRef, TensorShape};
