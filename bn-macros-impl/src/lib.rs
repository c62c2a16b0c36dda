//! The pipeline of the `network!` procedural macro of [`bn-core`](https://docs.rs/bn-core)
//! over `proc_macro2` tokens. Use the macro through `bn_core::network!`; the documentation
//! lives there. This is a normal library (a proc-macro crate can export only macros) so that
//! tests and the fuzzer can run the pipeline on any tokens: [`expand_network`] returns the
//! expansion or the errors, and never panics on user input.
//!
//! Pipeline (like serde_derive): `parse` keeps the user's tokens, `check` validates
//! and collects every error, `expand` generates code from the validated `model`. On errors,
//! `fallback` declares the network's items beside them (like thiserror's fallback), so
//! that the user sees the macro's errors only.
//!
//! Shared by the stages: `tokens` (paths, width types, the generated items' names) and
//! `plan` (which layers the folded model has).

mod check;
mod expand;
mod fallback;
mod model;
mod parse;
mod plan;
#[cfg(test)]
mod snapshot_tests;
mod tokens;

/// The whole pipeline: parse, check, then the expansion, or on errors the errors and the
/// fallback. When the invocation does not parse at all, only the error.
pub fn expand_network(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let invocation = match syn::parse2::<parse::Invocation>(input) {
        Ok(inv) => inv,
        Err(e) => return e.to_compile_error(),
    };
    match check::check(invocation) {
        Ok(model) => expand::expand(&model),
        Err((outline, errors)) => {
            let mut out = errors.to_compile_error();
            out.extend(fallback::fallback(&outline));
            out
        }
    }
}
