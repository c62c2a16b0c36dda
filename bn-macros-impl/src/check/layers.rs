//! The rules of the layers: each layer's kind and arguments (`dense`, `batchnorm`, the
//! activations; the image layers in `image`), the shapes from one layer to the next, and the
//! layers' names.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

use super::errors::Errors;
use super::image::{check_conv, check_flatten, check_pool};
use super::norm::{check_batchnorm, check_dropout, check_layernorm};
use super::shapes::{an_image, Known};
use super::values::{compact, did_you_mean, layer_text, parse_width, value_tokens};
use crate::model::{Act, Kind, Layer, Pool};
use crate::parse::{RawLayer, IMAGE_LAYERS, LAYER_KINDS};

/// Checks every layer, tracking what is known of the shape between them (see `shapes`: after
/// an error, what it leaves in doubt is unknown until a layer sets it again, so that no
/// error causes another). Returns the valid layers and what is known of the output.
pub(super) fn check_layers(raw_layers: &[Option<RawLayer>], input: Known, errs: &mut Errors) -> (Vec<Layer>, Known) {
    let mut known = input;
    let mut layers = Vec::new();
    let mut fields: Vec<(String, usize)> = Vec::new();
    for (index, raw) in raw_layers.iter().enumerate() {
        let Some(raw) = raw else {
            known = Known::Nothing;
            continue;
        };
        let next_is_bn = matches!(raw_layers.get(index + 1), Some(Some(l)) if l.kind.unraw() == "batchnorm");
        let (kind, output) = check_layer(index, raw, known, next_is_bn, errs);
        let field = check_name(index, raw, &mut fields, errs);
        // Without errors, every layer is valid and every shape known: the model is complete.
        if let (Some(kind), Some(input)) = (kind, known.exact()) {
            layers.push(Layer { field, named: raw.name.is_some(), kind, input, text: layer_text(raw) });
        }
        known = output;
    }
    (layers, known)
}

/// The layer's field name (the user's, or `{kind}{index}`), unless an earlier layer has it.
/// `fields` holds the names so far, with their layer's index.
fn check_name(index: usize, raw: &RawLayer, fields: &mut Vec<(String, usize)>, errs: &mut Errors) -> Ident {
    let field = match &raw.name {
        Some(name) => name.clone(),
        None => Ident::new(&format!("{}{index}", raw.kind.unraw()), raw.kind.span()),
    };
    let key = field.unraw().to_string();
    if let Some((_, other)) = fields.iter().find(|(f, _)| *f == key) {
        let msg = match raw.name {
            Some(_) => format!("duplicate layer name `{key}` (also the name of layer {})", other + 1),
            None => format!(
                "the default name of this layer, `{key}`, is already the name of layer {}; name this layer \
                 (`name: {}`) or rename layer {}",
                other + 1,
                raw.kind.unraw(),
                other + 1
            ),
        };
        errs.push(field.span(), msg);
    }
    fields.push((key, index));
    field
}

/// Checks one layer on the values before it (`input`): its kind and arguments, then how it
/// fits its input. Returns the layer's kind (if its arguments are valid) and what is known
/// of its output.
fn check_layer(
    index: usize,
    raw: &RawLayer,
    input: Known,
    next_is_bn: bool,
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let number = index + 1;
    let kind = raw.kind.unraw().to_string();
    match kind.as_str() {
        "dense" => check_dense(number, raw, input, next_is_bn, errs),
        "conv2d" => check_conv(number, raw, input, next_is_bn, errs),
        "maxpool" => check_pool(number, raw, Pool::Max, input, errs),
        "avgpool" => check_pool(number, raw, Pool::Avg, input, errs),
        "flatten" => check_flatten(number, raw, input, errs),
        "batchnorm" => match check_batchnorm(raw, errs) {
            Some(bn) => (Some(bn), input),
            None => (None, input.forget()),
        },
        "layernorm" => match check_layernorm(raw, errs) {
            Some(ln) => (Some(ln), input),
            None => (None, input.forget()),
        },
        "dropout" => (check_dropout(raw, errs), input),
        _ => {
            if let Some(&(_, act)) = Act::ALL.iter().find(|(n, _)| *n == kind) {
                if let Some((span, _)) = &raw.args {
                    errs.push(*span, format!("`{kind}` takes no arguments"));
                    return (None, input.forget());
                }
                return (Some(Kind::Activation(act)), input);
            }
            errs.push(raw.kind.span(), format!("unknown layer `{kind}`{}", unknown_layer_hint(&kind, input)));
            (None, Known::Nothing)
        }
    }
}

/// A suggestion for an unknown layer (also for PyTorch's spellings: `MaxPool2d`, `max_pool`),
/// else the list of the layers that could come here: after features, those on features
/// (nothing turns features back into an image), else all of them.
fn unknown_layer_hint(kind: &str, input: Known) -> String {
    let hint = did_you_mean(kind, &LAYER_KINDS);
    if !hint.is_empty() {
        return hint;
    }
    let hint = did_you_mean(&kind.to_lowercase().replace('_', ""), &LAYER_KINDS);
    if !hint.is_empty() {
        return hint;
    }
    let fits = |k: &&&str| !matches!(input, Known::Flat(_)) || !IMAGE_LAYERS.contains(k);
    let kinds: Vec<String> = LAYER_KINDS.iter().filter(fits).map(|k| format!("`{k}`")).collect();
    format!("; the layers are {}", kinds.join(", "))
}

/// The arguments of `dense(...)` as written: the explicit input width of `in => out`, the
/// output width, and the flag after the comma.
type DenseArgs = (Option<TokenStream>, TokenStream, Option<Ident>);

fn parse_dense_args(input: ParseStream) -> syn::Result<DenseArgs> {
    let first = value_tokens(input)?;
    let (explicit_in, out) = if input.peek(Token![=>]) {
        let arrow: Token![=>] = input.parse()?;
        let out = value_tokens(input)?;
        if out.is_empty() {
            return Err(syn::Error::new_spanned(
                arrow,
                "the output width is missing after `=>`, e.g. `dense(784 => 100)`",
            ));
        }
        (Some(first), out)
    } else {
        (None, first)
    };
    let mut flag: Option<Ident> = None;
    if input.peek(Token![,]) {
        let _: Token![,] = input.parse()?;
        if !input.is_empty() {
            if !input.peek(Ident) {
                let tt: TokenTree = input.parse()?;
                return Err(syn::Error::new(
                    tt.span(),
                    format!("expected `bias` or `no_bias` after the width, found `{tt}`"),
                ));
            }
            flag = Some(input.parse()?);
            if input.peek(Token![,]) {
                let _: Token![,] = input.parse()?;
            }
        }
    }
    if !input.is_empty() {
        let rest: TokenStream = input.parse()?;
        return Err(syn::Error::new_spanned(&rest, format!("unexpected `{}` in `dense(...)`", compact(&rest))));
    }
    Ok((explicit_in, out, flag))
}

/// `dense(...)`: its arguments, its stated input width against the features before it,
/// and an error after an image (which needs `flatten` first).
fn check_dense(
    number: usize,
    raw: &RawLayer,
    input: Known,
    next_is_bn: bool,
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let kind = dense_kind(number, raw, input, next_is_bn, errs);
    if let Known::Image { .. } = input {
        errs.push(
            raw.kind.span(),
            format!("layer {number} `{}` after {}: add `flatten` first", layer_text(raw), an_image(input)),
        );
    }
    match kind {
        Some(Kind::Dense { output, .. }) => (kind, Known::Flat(Some(output))),
        _ => (kind, Known::Flat(None)),
    }
}

/// The kind of a `dense(...)` layer, if its arguments are valid.
fn dense_kind(number: usize, raw: &RawLayer, input: Known, next_is_bn: bool, errs: &mut Errors) -> Option<Kind> {
    let width = match input {
        Known::Flat(width) => width,
        _ => None,
    };
    let Some((paren, args)) = &raw.args else {
        errs.push(raw.kind.span(), "`dense` needs its output width, e.g. `dense(100)` or `dense(784 => 100)`");
        return None;
    };
    if args.is_empty() {
        errs.push(*paren, "`dense` needs its output width, e.g. `dense(100)`");
        return None;
    }
    let (explicit_in, out, flag) = match parse_dense_args.parse2(args.clone()) {
        Ok(p) => p,
        Err(e) => {
            errs.push_error(e);
            return None;
        }
    };
    let output = parse_width(&out, "a layer width", errs);
    if let Some(tokens) = &explicit_in {
        if let (Some(declared), Some(prev)) = (parse_width(tokens, "a layer width", errs), width) {
            if declared != prev {
                errs.push_spanned(
                    tokens,
                    format!(
                        "layer {number} `{}` expects {declared} inputs, but the previous layer gives {prev}",
                        layer_text(raw)
                    ),
                );
            }
        }
    }
    let bias = match flag.as_ref().map(|f| f.to_string()) {
        None => !next_is_bn,
        Some(f) if f == "bias" => true,
        Some(f) if f == "no_bias" => false,
        Some(f) => {
            let span = flag.as_ref().map_or(*paren, Ident::span);
            errs.push(span, format!("unknown `dense` option `{f}`{}", did_you_mean(&f, &["bias", "no_bias"])));
            return None;
        }
    };
    output.map(|output| Kind::Dense { output, bias })
}
