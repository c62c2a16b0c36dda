//! Validation: turns the syntax into a [`Model`], collecting every error of the invocation
//! (each at the user's token, widths in decimal) instead of stopping at the first.
//!
//! One module per rule family: `settings` (settings and attributes), `layers` (each layer,
//! the shapes between them, their names), `blocks` (residual blocks: their branches, checked
//! as sequences of layers, and their shapes), `image` (the layers on images: `conv2d`,
//! pools, `global_avgpool`, `flatten`), `norm` (`batchnorm`, `layernorm`, `groupnorm`,
//! `dropout`: options), `shapes` (what is known of a shape, with the wording of the shape
//! rules) and `values` (reading widths, numbers and pairs, shared wording); `errors` collects
//! what they report.

mod blocks;
mod errors;
mod image;
mod layers;
mod norm;
mod settings;
mod shapes;
#[cfg(test)]
mod tests;
mod values;

use proc_macro2::Span;
use syn::Ident;

use crate::model::{Model, Outline, Shape};
use crate::parse::Invocation;
use errors::Errors;

/// Validates the invocation. Returns the model only when there was no error at all;
/// otherwise every error, and the outline of the network for the fallback.
pub fn check(inv: Invocation) -> Result<Model, (Box<Outline>, syn::Error)> {
    let had_parse_errors = !inv.errors.is_empty();
    let mut errs = Errors::new(inv.errors);
    settings::check_attrs(&inv.attrs, &mut errs);
    let settings = settings::check_items(inv.items, &mut errs);
    settings::check_required(&settings, &inv.name, inv.body_span, had_parse_errors, &mut errs);
    let (layers, output) = layers::check_layers(&settings.layers, settings.input, &shapes::Pos::top(1), &mut errs);
    let scalar = settings.scalar.unwrap_or_else(|| Ident::new("f32", Span::call_site()));
    match errs.finish() {
        Some(e) => {
            let (input, output) = (settings.input.exact(), output.len());
            Err((Box::new(Outline { attrs: inv.attrs, vis: inv.vis, name: inv.name, scalar, input, output }), e))
        }
        None => Ok(Model {
            attrs: inv.attrs,
            vis: inv.vis,
            name: inv.name,
            input: settings.input.exact().unwrap_or(Shape::Flat(0)),
            scalar,
            layers,
        }),
    }
}
