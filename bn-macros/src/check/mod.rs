//! Validation: turns the syntax into a [`Model`], collecting every error of the invocation
//! (each at the user's token, widths in decimal) instead of stopping at the first.
//!
//! One module per rule family: `settings` (settings and attributes), `layers` (each layer,
//! the widths between them, their names) and `values` (reading widths and numbers, shared
//! wording); `errors` collects what they report.

mod errors;
mod layers;
mod settings;
mod values;

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

use crate::model::Model;
use crate::parse::Invocation;
use errors::Errors;

/// What is emitted beside the errors of a failed invocation: a stub of the type.
pub struct Stub {
    pub vis: Visibility,
    pub name: Ident,
    /// The user's `#[cfg(...)]` attributes.
    pub cfgs: Vec<Attribute>,
}

/// Validates the invocation. Returns the model only when there was no error at all.
pub fn check(inv: Invocation) -> Result<Model, (Stub, syn::Error)> {
    let had_parse_errors = !inv.errors.is_empty();
    let mut errs = Errors::new(inv.errors);
    settings::check_attrs(&inv.attrs, &mut errs);
    let settings = settings::check_items(inv.items, &mut errs);
    settings::check_required(&settings, &inv.name, inv.body_span, had_parse_errors, &mut errs);
    let (layers, _output) = layers::check_layers(&settings.layers, settings.input, &mut errs);
    match errs.finish() {
        Some(e) => {
            let cfgs = inv.attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect();
            Err((Stub { vis: inv.vis, name: inv.name, cfgs }, e))
        }
        None => Ok(Model {
            attrs: inv.attrs,
            vis: inv.vis,
            name: inv.name,
            input: settings.input.unwrap_or(0),
            scalar: settings.scalar.unwrap_or_else(|| Ident::new("f32", Span::call_site())),
            layers,
        }),
    }
}
