//! Code generation for weights I/O (PyTorch-compatible tensor names). Placeholder: emits
//! nothing yet.

use proc_macro2::TokenStream;

use crate::expand::Folded;
use crate::model::Model;

pub fn expand(_m: &Model, _plan: &[Folded]) -> TokenStream {
    TokenStream::new()
}
