//! The rules of the settings (`input: N`, `scalar: f64`, unknown or misplaced settings) and
//! of the user's attributes (derives the expansion already provides).

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token};

use super::errors::Errors;
use super::values::{did_you_mean, parse_width, single_value};
use crate::parse::{Item, RawLayer};

const SETTINGS: [&str; 2] = ["input", "scalar"];
/// Traits the generated network struct derives itself.
const DERIVED: [&str; 3] = ["Clone", "Debug", "PartialEq"];

/// Rejects derives that the generated struct already has.
pub(super) fn check_attrs(attrs: &[Attribute], errs: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated) else { continue };
        for path in paths {
            if let Some(last) = path.segments.last().filter(|s| DERIVED.contains(&s.ident.to_string().as_str())) {
                errs.push(
                    last.ident.span(),
                    format!(
                        "`network!` already derives `{}` for the network; remove it from `#[derive(...)]`",
                        last.ident
                    ),
                );
            }
        }
    }
}

/// The body's items sorted into settings and layers.
pub(super) struct Settings {
    /// The input width, if it was given and valid.
    pub(super) input: Option<usize>,
    /// Whether `input:` was written at all (valid or not).
    input_seen: bool,
    /// Whether a setting was broken in a way that may have swallowed other items (a missing
    /// comma, an unknown setting): the checks of what is missing then stay silent.
    setting_errors: bool,
    /// The scalar type, if it was given and valid.
    pub(super) scalar: Option<Ident>,
    /// The layers in order; `None` marks an item that failed to parse.
    pub(super) layers: Vec<Option<RawLayer>>,
}

/// Checks every setting, in order, and collects the layers.
pub(super) fn check_items(items: Vec<Item>, errs: &mut Errors) -> Settings {
    let mut s = Settings { input: None, input_seen: false, setting_errors: false, scalar: None, layers: Vec::new() };
    for item in items {
        match item {
            Item::Setting { key, value } => match key.to_string().as_str() {
                "input" => {
                    if s.input_seen {
                        errs.push(key.span(), "duplicate `input`: the input width is set once");
                        continue;
                    }
                    s.input_seen = true;
                    if !s.layers.is_empty() {
                        errs.push(key.span(), "`input: N` must come before the layers");
                    }
                    match single_value(&value, "input:", errs) {
                        Some(v) => s.input = parse_width(&v, "the input width", errs),
                        // The layers were swallowed by the missing comma: say nothing of them.
                        None => s.setting_errors = true,
                    }
                }
                "scalar" => {
                    let Some(v) = single_value(&value, "scalar:", errs) else {
                        s.setting_errors = true;
                        continue;
                    };
                    let text = v.to_string();
                    if text == "f32" || text == "f64" {
                        s.scalar = syn::parse2::<Ident>(v).ok();
                    } else {
                        errs.push_spanned(&v, format!("`scalar` must be `f32` or `f64`, found `{text}`"));
                    }
                }
                other => {
                    s.setting_errors = true;
                    errs.push(key.span(), format!("unknown setting `{other}`{}", did_you_mean(other, &SETTINGS)));
                }
            },
            Item::Layer(raw) => s.layers.push(Some(raw)),
            Item::Broken { layer: true } => s.layers.push(None),
            Item::Broken { layer: false } => s.setting_errors = true,
        }
    }
    s
}

/// What every network needs: `input: N` (reported at the struct's name) and at least one
/// layer (reported at the body). Silent when earlier errors may have hidden them.
pub(super) fn check_required(s: &Settings, name: &Ident, body: Span, had_parse_errors: bool, errs: &mut Errors) {
    if !s.input_seen && !s.setting_errors {
        errs.push(name.span(), "missing `input: N`: the width of one input sample, e.g. `input: 784,`");
    }
    if s.layers.is_empty() && !had_parse_errors && !s.setting_errors {
        errs.push(body, "a network needs at least one layer, e.g. `dense(10)`");
    }
}
