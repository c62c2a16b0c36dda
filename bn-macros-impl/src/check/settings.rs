//! The rules of the settings (`input: N` or `input: (C, H, W)`, `scalar: f64`, unknown or
//! misplaced settings) and of the user's attributes (derives the expansion already provides).

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Token};

use super::errors::Errors;
use super::shapes::{check_volume, Known};
use super::values::{did_you_mean, parse_width, single_value, tuple_items};
use crate::parse::{Item, RawLayer, IMAGE_LAYERS};

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
    /// What is known of the input: its kind when it was written as a number or a tuple,
    /// each size that is valid.
    pub(super) input: Known,
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
    let mut s =
        Settings { input: Known::Nothing, input_seen: false, setting_errors: false, scalar: None, layers: Vec::new() };
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
                        Some(v) => s.input = check_input(&v, errs),
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

/// The value of `input:`: `N` features, or a `(C, H, W)` image.
fn check_input(value: &TokenStream, errs: &mut Errors) -> Known {
    let Some(items) = tuple_items(value) else { return Known::Flat(parse_width(value, "the input width", errs)) };
    if items.len() != 3 {
        let n = items.len();
        let flat = if n == 1 { "; features are written without parentheses, e.g. `input: 784`" } else { "" };
        errs.push_spanned(
            value,
            format!(
                "an image input is `(C, H, W)`: its channels, height and width, found {n} value{}{flat}",
                if n == 1 { "" } else { "s" }
            ),
        );
        // Perhaps features were meant: the kind of the input is in doubt.
        return Known::Nothing;
    }
    let c = parse_width(&items[0], "the input channel count", errs);
    let h = parse_width(&items[1], "the input height", errs);
    let w = parse_width(&items[2], "the input width", errs);
    match (c, h.zip(w)) {
        (Some(c), Some(hw)) if !check_volume(c, hw, "the input", span_of(value), errs) => Known::SOME_IMAGE,
        (c, hw) => Known::Image { c, hw },
    }
}

/// The span of the first token (the tuple's parentheses).
fn span_of(value: &TokenStream) -> Span {
    value.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span())
}

/// What every network needs: `input:` (reported at the struct's name) and at least one
/// layer (reported at the body). Silent when earlier errors may have hidden them.
pub(super) fn check_required(s: &Settings, name: &Ident, body: Span, had_parse_errors: bool, errs: &mut Errors) {
    if !s.input_seen && !s.setting_errors {
        let image = s.layers.iter().flatten().any(|l| IMAGE_LAYERS.contains(&l.kind.unraw().to_string().as_str()));
        let msg = if image {
            "missing `input: (C, H, W)`: the channels, height and width of one input image, e.g. `input: (1, 28, 28),`"
        } else {
            "missing `input: N`: the width of one input sample, e.g. `input: 784,`"
        };
        errs.push(name.span(), msg);
    }
    if s.layers.is_empty() && !had_parse_errors && !s.setting_errors {
        errs.push(body, "a network needs at least one layer, e.g. `dense(10)`");
    }
}
