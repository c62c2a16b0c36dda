//! The error collector of the checks: every rule adds its errors, each at the user's token,
//! and the invocation fails with all of them together.

use proc_macro2::{Span, TokenStream};

/// Collects errors; `finish` combines them into one.
pub(super) struct Errors(Vec<syn::Error>);

impl Errors {
    /// Starts with the errors found while parsing the items.
    pub(super) fn new(parse_errors: Vec<syn::Error>) -> Self {
        Errors(parse_errors)
    }

    /// An error at `span`.
    pub(super) fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, msg));
    }

    /// An error spanning `tokens`.
    pub(super) fn push_spanned(&mut self, tokens: &TokenStream, msg: impl std::fmt::Display) {
        self.0.push(syn::Error::new_spanned(tokens, msg));
    }

    /// An error as syn made it (a parse error inside a layer's arguments).
    pub(super) fn push_error(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    /// All errors as one, or `None` when there was none.
    pub(super) fn finish(self) -> Option<syn::Error> {
        self.0.into_iter().reduce(|mut a, b| {
            a.combine(b);
            a
        })
    }
}
