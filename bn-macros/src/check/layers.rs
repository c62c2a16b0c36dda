//! The rules of the layers: each layer's kind and arguments (`dense`, `batchnorm`, the
//! activations; the image layers in `image`), the shapes from one layer to the next, and the
//! layers' names.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

use super::errors::Errors;
use super::image::{check_conv, check_flatten, check_pool};
use super::shapes::{an_image, Known};
use super::values::{compact, did_you_mean, layer_text, parse_number, parse_width, single_value, value_tokens};
use crate::model::{Act, Kind, Layer, Momentum, Pool, DEFAULT_EPS, DEFAULT_MOMENTUM};
use crate::parse::{RawLayer, IMAGE_LAYERS, LAYER_KINDS};

const BN_OPTIONS: [&str; 2] = ["eps", "momentum"];

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

/// The options of `batchnorm(...)` as written: `key = value` pairs.
fn parse_bn_options(input: ParseStream) -> syn::Result<Vec<(Ident, TokenStream)>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let key = Ident::parse_any(input)?;
        if !input.peek(Token![=]) {
            let momentum_example = format!("momentum = {DEFAULT_MOMENTUM}");
            let example = if key == "momentum" { momentum_example.as_str() } else { "eps = 1e-3" };
            let msg = if BN_OPTIONS.contains(&key.to_string().as_str()) {
                format!("`{key}` needs a value, e.g. `{example}`")
            } else {
                format!("`batchnorm` options look like `{example}`, found `{key}`")
            };
            return Err(syn::Error::new(key.span(), msg));
        }
        let _: Token![=] = input.parse()?;
        let value = value_tokens(input)?;
        if value.is_empty() {
            return Err(syn::Error::new(key.span(), format!("`{key} =` needs a value")));
        }
        out.push((key, value));
        if !input.is_empty() {
            let _: Token![,] = input.parse()?;
        }
    }
    Ok(out)
}

fn check_batchnorm(raw: &RawLayer, errs: &mut Errors) -> Option<Kind> {
    let default = Kind::BatchNorm { eps: DEFAULT_EPS, momentum: Momentum::Exponential(DEFAULT_MOMENTUM) };
    let Some((_, args)) = &raw.args else { return Some(default) };
    let options = match parse_bn_options.parse2(args.clone()) {
        Ok(o) => o,
        Err(e) => {
            errs.push_error(e);
            return None;
        }
    };
    let (mut eps, mut momentum, mut ok) = (None, None, true);
    for (key, value) in options {
        let name = key.to_string();
        if !BN_OPTIONS.contains(&name.as_str()) {
            let hint = match did_you_mean(&name, &BN_OPTIONS) {
                h if h.is_empty() => "; the options are `eps` and `momentum`".to_string(),
                h => h,
            };
            errs.push(key.span(), format!("unknown `batchnorm` option `{name}`{hint}"));
            ok = false;
            continue;
        }
        if (name == "eps" && eps.is_some()) || (name == "momentum" && momentum.is_some()) {
            errs.push(key.span(), format!("duplicate option `{name}`"));
            ok = false;
            continue;
        }
        let Some(value) = single_value(&value, &format!("{name} ="), errs) else {
            ok = false;
            continue;
        };
        if name == "eps" {
            eps = check_eps(&value, errs);
            ok &= eps.is_some();
        } else {
            momentum = check_momentum(&value, errs);
            ok &= momentum.is_some();
        }
    }
    ok.then(|| Kind::BatchNorm {
        eps: eps.unwrap_or(DEFAULT_EPS),
        momentum: momentum.unwrap_or(Momentum::Exponential(DEFAULT_MOMENTUM)),
    })
}

/// `eps = v`: a finite number greater than 0.
fn check_eps(value: &TokenStream, errs: &mut Errors) -> Option<f64> {
    let text = compact(value);
    match parse_number(value) {
        Some(v) if v > 0.0 && v.is_finite() => return Some(v),
        Some(v) if v.is_finite() => errs.push_spanned(value, format!("`eps` must be greater than 0, found `{text}`")),
        _ => errs.push_spanned(
            value,
            format!("`eps` must be a finite positive number such as `{DEFAULT_EPS:e}`, found `{text}`"),
        ),
    }
    None
}

/// `momentum = v`: a number in (0, 1], or `cumulative`.
fn check_momentum(value: &TokenStream, errs: &mut Errors) -> Option<Momentum> {
    let text = compact(value);
    if text == "cumulative" {
        return Some(Momentum::Cumulative);
    }
    match parse_number(value) {
        Some(v) if v > 0.0 && v <= 1.0 => Some(Momentum::Exponential(v)),
        _ => {
            let hint = if matches!(value.clone().into_iter().next(), Some(TokenTree::Ident(_))) {
                did_you_mean(&text, &["cumulative"])
            } else {
                String::new()
            };
            errs.push_spanned(value, format!("`momentum` must be in (0, 1] or `cumulative`, found `{text}`{hint}"));
            None
        }
    }
}
