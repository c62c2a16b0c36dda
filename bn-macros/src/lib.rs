//! The `network!` procedural macro of [`bn-core`](https://docs.rs/bn-core). Use it through
//! `bn_core::network!`; the documentation lives there. The pipeline is in `bn-macros-impl`
//! (a normal library, so tests and the fuzzer can drive it); this crate only dispatches.

use proc_macro::TokenStream;

/// Declares a statically shaped network; see `bn_core::network!`.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    bn_macros_impl::expand_network(input.into()).into()
}
