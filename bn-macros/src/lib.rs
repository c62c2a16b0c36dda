//! The `network!` procedural macro of [`bn-core`](https://docs.rs/bn-core). Use it through
//! `bn_core::network!`; the documentation lives there.
//!
//! Pipeline (like serde_derive): `parse` keeps the user's tokens, `check` validates
//! and collects every error, `expand` generates code from the validated `model`.

use proc_macro::TokenStream;

mod check;
mod expand;
mod model;
mod parse;
mod plan;
#[cfg(test)]
mod snapshot_tests;
mod tokens;

/// Declares a statically shaped network; see `bn_core::network!`.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let invocation = match syn::parse::<parse::Invocation>(input) {
        Ok(inv) => inv,
        Err(e) => return e.to_compile_error().into(),
    };
    match check::check(invocation) {
        Ok(model) => expand::expand(&model).into(),
        Err((stub, err)) => {
            let mut out = err.to_compile_error();
            out.extend(expand::stub(&stub));
            out.into()
        }
    }
}
