//! [`LoadError`]: why a model's weights could not be loaded. Every variant names the tensor
//! (where there is one) and says what was expected and what was found, in decimal.

use core::fmt;

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};

/// Why loading weights failed. Loading never panics: every problem is one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// A raw model (see [`PlainData`](crate::PlainData)) of the wrong byte length.
    WrongSize {
        /// The type's size in bytes.
        expected: usize,
        /// The data's length in bytes.
        found: usize,
    },
    /// The data is not a safetensors file (bad header length, header not JSON, bad fields).
    #[cfg(feature = "alloc")]
    NotSafetensors {
        /// What is wrong.
        reason: String,
    },
    /// The file ends before the data its header describes.
    #[cfg(feature = "alloc")]
    Truncated {
        /// Bytes the header requires.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// A tensor the model needs is not in the file.
    #[cfg(feature = "alloc")]
    MissingTensor {
        /// The tensor's name (PyTorch's `state_dict` key).
        name: String,
    },
    /// The file has a tensor the model does not have.
    #[cfg(feature = "alloc")]
    UnexpectedTensor {
        /// The tensor's name.
        name: String,
    },
    /// A tensor has the wrong shape.
    #[cfg(feature = "alloc")]
    WrongShape {
        /// The tensor's name.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor has a dtype that cannot be loaded (F32 and F64 can).
    #[cfg(feature = "alloc")]
    WrongDtype {
        /// The tensor's name.
        name: String,
        /// What the model accepts.
        expected: String,
        /// The file's dtype.
        found: String,
    },
    /// A tensor has the expected name, shape and dtype, but a value the model cannot hold: a
    /// negative `num_batches_tracked`, or a nonzero off-diagonal entry in the weight of a
    /// folded model's affine layer (which is saved as a diagonal `Linear`).
    #[cfg(feature = "alloc")]
    InvalidValue {
        /// The tensor's name.
        name: String,
        /// What is wrong, with the value and where it is.
        reason: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::WrongSize { expected, found } => {
                write!(f, "wrong size: the model is {expected} bytes, the data is {found} bytes")
            }
            #[cfg(feature = "alloc")]
            LoadError::NotSafetensors { reason } => write!(f, "not a safetensors file: {reason}"),
            #[cfg(feature = "alloc")]
            LoadError::Truncated { expected, found } => {
                write!(f, "truncated file: the header describes {expected} bytes, the file has {found}")
            }
            #[cfg(feature = "alloc")]
            LoadError::MissingTensor { name } => write!(f, "missing tensor `{name}`"),
            #[cfg(feature = "alloc")]
            LoadError::UnexpectedTensor { name } => {
                write!(f, "unexpected tensor `{name}`: the model has no such tensor")
            }
            #[cfg(feature = "alloc")]
            LoadError::WrongShape { name, expected, found } => {
                write!(f, "tensor `{name}` has shape {found:?}, but the model expects {expected:?}")
            }
            #[cfg(feature = "alloc")]
            LoadError::WrongDtype { name, expected, found } => {
                write!(f, "tensor `{name}` has dtype {found}, but the model accepts {expected}")
            }
            #[cfg(feature = "alloc")]
            LoadError::InvalidValue { name, reason } => write!(f, "tensor `{name}`: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LoadError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn messages_name_the_tensor_and_both_shapes() {
        let e = LoadError::WrongShape {
            name: "0.weight".into(),
            expected: alloc::vec![100, 784],
            found: alloc::vec![100, 785],
        };
        assert_eq!(e.to_string(), "tensor `0.weight` has shape [100, 785], but the model expects [100, 784]");
        assert_eq!(
            LoadError::WrongSize { expected: 8, found: 7 }.to_string(),
            "wrong size: the model is 8 bytes, the data is 7 bytes"
        );
    }
}
