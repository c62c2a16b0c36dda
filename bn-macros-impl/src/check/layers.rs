//! The rules of the layers: each layer's kind and arguments (`dense`, `batchnorm`, the
//! activations; the image layers in `image`, the blocks in `blocks`), the shapes from one
//! layer to the next, and the layers' names.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

use super::blocks::{check_block_misuse, check_residual};
use super::errors::Errors;
use super::image::{check_conv, check_flatten, check_global_avgpool, check_pool};
use super::norm::{check_batchnorm, check_dropout, check_groupnorm, check_layernorm};
use super::shapes::{an_image, Known, Pos};
use super::values::{compact, did_you_mean, layer_text, parse_width, value_tokens};
use crate::model::{Act, Kind, Layer, Pool};
use crate::parse::{RawLayer, BLOCK_WORDS, IMAGE_LAYERS, LAYER_KINDS};

/// Checks every layer of a sequence (the network's, or a block's branch, whose first layer
/// is at `first`), tracking what is known of the shape between them (see `shapes`: after
/// an error, what it leaves in doubt is unknown until a layer sets it again, so that no
/// error causes another). Returns the valid layers and what is known of the output.
pub(super) fn check_layers(
    raw_layers: &[Option<RawLayer>],
    input: Known,
    first: &Pos,
    errs: &mut Errors,
) -> (Vec<Layer>, Known) {
    let mut known = input;
    let mut layers = Vec::new();
    let mut fields: Vec<(String, usize)> = Vec::new();
    for (index, raw) in raw_layers.iter().enumerate() {
        let Some(raw) = raw else {
            known = Known::Nothing;
            continue;
        };
        let next_is_bn = matches!(raw_layers.get(index + 1), Some(Some(l)) if l.kind.unraw() == "batchnorm");
        let pos = first.sibling(index + 1);
        let previous = index.checked_sub(1).and_then(|i| raw_layers[i].as_ref());
        let next = raw_layers.get(index + 1).and_then(Option::as_ref);
        let (kind, output) = check_layer(&pos, raw, known, next_is_bn, (previous, next), errs);
        let field = check_name(&pos, raw, &mut fields, errs);
        // Without errors, every layer is valid and every shape known: the model is complete.
        if let (Some(kind), Some(input)) = (kind, known.exact()) {
            layers.push(Layer { field, named: raw.name.is_some(), kind, input, text: layer_text(raw) });
        }
        known = output;
    }
    (layers, known)
}

/// The field name of the layer at `pos` (the user's, or `{kind}{index}`, the index 0-based
/// within its sequence), unless an earlier layer of its sequence has it. `fields` holds the
/// names so far, with their layer's number.
fn check_name(pos: &Pos, raw: &RawLayer, fields: &mut Vec<(String, usize)>, errs: &mut Errors) -> Ident {
    let field = match &raw.name {
        Some(name) => name.clone(),
        None => Ident::new(&format!("{}{}", raw.kind.unraw(), pos.number - 1), raw.kind.span()),
    };
    let key = field.unraw().to_string();
    if let Some((_, other)) = fields.iter().find(|(f, _)| *f == key) {
        let other = pos.sibling(*other);
        let msg = match raw.name {
            Some(_) => format!("duplicate layer name `{key}` (also the name of {other})"),
            None => format!(
                "the default name of this layer, `{key}`, is already the name of {other}; name this layer \
                 (`name: {}`) or rename {other}",
                raw.kind.unraw(),
            ),
        };
        errs.push(field.span(), msg);
    }
    fields.push((key, pos.number));
    field
}

/// Checks one layer on the values before it (`input`): its kind and arguments, then how it
/// fits its input. Returns the layer's kind (if its arguments are valid) and what is known
/// of its output. `neighbours` are the layers before and after it in its sequence, if any.
fn check_layer(
    pos: &Pos,
    raw: &RawLayer,
    input: Known,
    next_is_bn: bool,
    neighbours: (Option<&RawLayer>, Option<&RawLayer>),
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let (previous, next) = neighbours;
    let kind = raw.kind.unraw().to_string();
    if kind == "residual" {
        return check_residual(pos, raw, input, next, errs);
    }
    if let Some(output) = check_block_misuse(pos, raw, input, previous, errs) {
        return (None, output);
    }
    match kind.as_str() {
        "dense" => check_dense(pos, raw, input, next_is_bn, errs),
        "conv2d" => check_conv(pos, raw, input, next_is_bn, errs),
        "maxpool" => check_pool(pos, raw, Pool::Max, input, errs),
        "avgpool" => check_pool(pos, raw, Pool::Avg, input, errs),
        "global_avgpool" => check_global_avgpool(pos, raw, input, errs),
        "flatten" => check_flatten(pos, raw, input, errs),
        "groupnorm" => check_groupnorm(pos, raw, input, errs),
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

/// A suggestion for an unknown layer (also for PyTorch's spellings: `MaxPool2d`, `max_pool`,
/// `GroupNorm`; and for the words of a block, `residual` and `shortcut`), else the list of
/// the layers that could come here: after features, those on features (nothing turns
/// features back into an image), else all of them.
pub(super) fn unknown_layer_hint(kind: &str, input: Known) -> String {
    let candidates: Vec<&str> = LAYER_KINDS.iter().chain(&BLOCK_WORDS).copied().collect();
    let hint = did_you_mean(kind, &candidates);
    if !hint.is_empty() {
        return hint;
    }
    let hint = did_you_mean(&kind.to_lowercase().replace('_', ""), &candidates);
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
fn check_dense(pos: &Pos, raw: &RawLayer, input: Known, next_is_bn: bool, errs: &mut Errors) -> (Option<Kind>, Known) {
    let kind = dense_kind(pos, raw, input, next_is_bn, errs);
    if let Known::Image { .. } = input {
        errs.push(
            raw.kind.span(),
            format!("{pos} `{}` after {}: add `flatten` first", layer_text(raw), an_image(input)),
        );
    }
    match kind {
        Some(Kind::Dense { output, .. }) => (kind, Known::Flat(Some(output))),
        _ => (kind, Known::Flat(None)),
    }
}

/// The kind of a `dense(...)` layer, if its arguments are valid.
fn dense_kind(pos: &Pos, raw: &RawLayer, input: Known, next_is_bn: bool, errs: &mut Errors) -> Option<Kind> {
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
                        "{pos} `{}` expects {declared} inputs, but the previous layer gives {prev}",
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
