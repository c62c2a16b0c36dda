//! Validation: turns the syntax into a [`Model`], collecting every error of the invocation
//! (each at the user's token, widths in decimal) instead of stopping at the first.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, Lit, Token};

use crate::model::{Act, Kind, Layer, Model, Momentum};
use crate::parse::{Invocation, Item, RawLayer};

/// The widest layer accepted: wider ones would make types (and compile times) explode.
const MAX_WIDTH: usize = 1 << 24;

const LAYER_KINDS: [&str; 5] = ["dense", "batchnorm", "sigmoid", "relu", "tanh"];
const SETTINGS: [&str; 2] = ["input", "scalar"];

/// Collects errors; `finish` combines them into one.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, msg));
    }
    pub fn finish(self) -> Option<syn::Error> {
        self.0.into_iter().reduce(|mut a, b| {
            a.combine(b);
            a
        })
    }
}

/// Validates the invocation. Returns the model only when there was no error at all.
pub fn check(inv: Invocation) -> Result<Model, (Ident, syn::Error)> {
    let mut errs = Errors(inv.errors);
    let mut input: Option<usize> = None;
    let mut input_seen = false;
    let mut scalar: Option<Ident> = None;
    let mut raw_layers: Vec<RawLayer> = Vec::new();
    for item in inv.items {
        match item {
            Item::Setting { key, value } => match key.to_string().as_str() {
                "input" => {
                    if input_seen {
                        errs.push(key.span(), "duplicate `input`: the input width is set once");
                        continue;
                    }
                    input_seen = true;
                    if !raw_layers.is_empty() {
                        errs.push(key.span(), "`input: N` must come before the layers");
                    }
                    input = parse_width(&value, "the input width", &mut errs);
                }
                "scalar" => {
                    let text = value.to_string();
                    if text == "f32" || text == "f64" {
                        scalar = syn::parse2::<Ident>(value).ok();
                    } else {
                        errs.push(value.span(), format!("`scalar` must be `f32` or `f64`, found `{text}`"));
                    }
                }
                other => errs.push(key.span(), format!("unknown setting `{other}`{}", did_you_mean(other, &SETTINGS))),
            },
            Item::Layer(raw) => raw_layers.push(raw),
        }
    }
    if !input_seen {
        errs.push(inv.name.span(), "missing `input: N`: the width of one input sample, e.g. `input: 784,`");
    }
    if raw_layers.is_empty() {
        errs.push(inv.body_span, "a network needs at least one layer, e.g. `dense(10)`");
    }

    // Layers, tracking the width (unknown after an error, to avoid cascades).
    let mut width = input;
    let mut layers = Vec::new();
    let mut fields: Vec<Ident> = Vec::new();
    let n = raw_layers.len();
    for (index, raw) in raw_layers.iter().enumerate() {
        let next_is_bn = raw_layers.get(index + 1).is_some_and(|l| l.kind == "batchnorm");
        let kind = check_layer(index, raw, width, next_is_bn, &mut errs);
        let field = match &raw.name {
            Some(name) => name.clone(),
            None => Ident::new(&format!("{}{index}", raw.kind), raw.kind.span()),
        };
        if let Some(prev) = fields.iter().find(|f| **f == field) {
            errs.push(field.span(), format!("duplicate layer name `{field}`"));
            let _ = prev;
        } else if raw.name.as_ref().is_some_and(|name| SETTINGS.contains(&name.to_string().as_str())) {
            errs.push(field.span(), format!("`{field}` is reserved for a setting; choose another layer name"));
        }
        fields.push(field.clone());
        match (kind, width) {
            (Some(kind), Some(w)) => {
                let layer = Layer { field, kind, input: w, text: summary_text(raw) };
                width = Some(layer.output());
                layers.push(layer);
            }
            // The width is unknown from here on; keep checking each layer's own syntax.
            (Some(Kind::Dense { output, .. }), None) => width = Some(output),
            (None, _) | (_, None) => width = None,
        }
    }
    let _ = n;
    match errs.finish() {
        Some(e) => Err((inv.name, e)),
        None => Ok(Model {
            attrs: inv.attrs,
            vis: inv.vis,
            name: inv.name,
            input: input.unwrap_or(0),
            scalar: scalar.unwrap_or_else(|| Ident::new("f32", Span::call_site())),
            layers,
        }),
    }
}

/// How a layer is shown in messages and summaries: `kind(args)`, spaced like Rust source.
fn summary_text(raw: &RawLayer) -> String {
    match &raw.args {
        Some((_, args)) => format!("{}({})", raw.kind, args.to_string().replace(" ,", ",")),
        None => raw.kind.to_string(),
    }
}

fn check_layer(
    index: usize,
    raw: &RawLayer,
    width: Option<usize>,
    next_is_bn: bool,
    errs: &mut Errors,
) -> Option<Kind> {
    let kind = raw.kind.to_string();
    let number = index + 1;
    match kind.as_str() {
        "dense" => check_dense(number, raw, width, next_is_bn, errs),
        "batchnorm" => check_batchnorm(raw, errs),
        _ => {
            if let Some(&(_, act)) = Act::ALL.iter().find(|(n, _)| *n == kind) {
                if let Some((span, _)) = &raw.args {
                    errs.push(*span, format!("`{kind}` takes no arguments"));
                    return None;
                }
                return Some(Kind::Activation(act));
            }
            let hint = did_you_mean(&kind, &LAYER_KINDS);
            let hint = if hint.is_empty() {
                format!("; the layers are {}", LAYER_KINDS.map(|k| format!("`{k}`")).join(", "))
            } else {
                hint
            };
            errs.push(raw.kind.span(), format!("unknown layer `{kind}`{hint}"));
            None
        }
    }
}

fn check_dense(
    number: usize,
    raw: &RawLayer,
    width: Option<usize>,
    next_is_bn: bool,
    errs: &mut Errors,
) -> Option<Kind> {
    let Some((paren, args)) = &raw.args else {
        errs.push(raw.kind.span(), "`dense` needs its output width, e.g. `dense(100)` or `dense(784 => 100)`");
        return None;
    };
    let parsed = (|input: ParseStream| {
        let first: TokenTree = input.parse()?;
        let (explicit_in, out) = if input.peek(Token![=>]) {
            let _: Token![=>] = input.parse()?;
            let out: TokenTree = input.parse()?;
            (Some(first), out)
        } else {
            (None, first)
        };
        let mut flag: Option<Ident> = None;
        if input.peek(Token![,]) {
            let _: Token![,] = input.parse()?;
            if !input.is_empty() {
                flag = Some(input.parse()?);
                if input.peek(Token![,]) {
                    let _: Token![,] = input.parse()?;
                }
            }
        }
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            return Err(syn::Error::new_spanned(&rest, format!("unexpected `{rest}` in `dense(...)`")));
        }
        Ok((explicit_in, out, flag))
    })
    .parse2(args.clone());
    let (explicit_in, out, flag) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let e = if args.is_empty() {
                syn::Error::new(*paren, "`dense` needs its output width, e.g. `dense(100)`")
            } else {
                e
            };
            errs.0.push(e);
            return None;
        }
    };
    let output = parse_width(&out.to_token_stream(), "a layer width", errs);
    if let Some(tt) = &explicit_in {
        if let (Some(declared), Some(prev)) = (parse_width(&tt.to_token_stream(), "a layer width", errs), width) {
            if declared != prev {
                errs.push(
                    tt.span(),
                    format!(
                        "layer {number} `{}` expects {declared} inputs, but the previous layer gives {prev}",
                        summary_text(raw)
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

fn check_batchnorm(raw: &RawLayer, errs: &mut Errors) -> Option<Kind> {
    let mut eps: Option<f64> = None;
    let mut momentum: Option<Momentum> = None;
    let mut ok = true;
    let Some((_, args)) = &raw.args else {
        return Some(Kind::BatchNorm { eps: 1e-5, momentum: Momentum::Exponential(0.1) });
    };
    let options = (|input: ParseStream| {
        let mut out = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            let _: Token![=] = input.parse()?;
            let mut value = TokenStream::new();
            while !input.is_empty() && !input.peek(Token![,]) {
                value.extend([input.parse::<TokenTree>()?]);
            }
            if value.is_empty() {
                return Err(syn::Error::new(key.span(), format!("`{key} =` needs a value")));
            }
            out.push((key, value));
            if !input.is_empty() {
                let _: Token![,] = input.parse()?;
            }
        }
        Ok(out)
    })
    .parse2(args.clone());
    let options = match options {
        Ok(o) => o,
        Err(e) => {
            errs.0.push(syn::Error::new(
                e.span(),
                format!("{e}; `batchnorm` options look like `batchnorm(eps = 1e-3, momentum = 0.1)`"),
            ));
            return None;
        }
    };
    for (key, value) in options {
        match key.to_string().as_str() {
            "eps" => {
                if eps.is_some() {
                    errs.push(key.span(), "duplicate option `eps`");
                    ok = false;
                    continue;
                }
                match parse_number(&value) {
                    Some(v) if v > 0.0 && v.is_finite() => eps = Some(v),
                    Some(_) => {
                        errs.push(value.span(), format!("`eps` must be greater than 0, found `{value}`"));
                        ok = false;
                    }
                    None => {
                        errs.push(
                            value.span(),
                            format!("`eps` must be a positive number such as `1e-5`, found `{value}`"),
                        );
                        ok = false;
                    }
                }
            }
            "momentum" => {
                if momentum.is_some() {
                    errs.push(key.span(), "duplicate option `momentum`");
                    ok = false;
                    continue;
                }
                if value.to_string() == "cumulative" {
                    momentum = Some(Momentum::Cumulative);
                    continue;
                }
                match parse_number(&value) {
                    Some(v) if v > 0.0 && v <= 1.0 => momentum = Some(Momentum::Exponential(v)),
                    _ => {
                        errs.push(
                            value.span(),
                            format!("`momentum` must be in (0, 1] or `cumulative`, found `{value}`"),
                        );
                        ok = false;
                    }
                }
            }
            other => {
                errs.push(
                    key.span(),
                    format!("unknown `batchnorm` option `{other}`{}", did_you_mean(other, &["eps", "momentum"])),
                );
                ok = false;
            }
        }
    }
    ok.then(|| Kind::BatchNorm { eps: eps.unwrap_or(1e-5), momentum: momentum.unwrap_or(Momentum::Exponential(0.1)) })
}

/// A positive integer width, or an error at the token.
fn parse_width(value: &TokenStream, what: &str, errs: &mut Errors) -> Option<usize> {
    let lit = syn::parse2::<Lit>(value.clone());
    match lit {
        Ok(Lit::Int(int)) => match int.base10_parse::<usize>() {
            Ok(0) => {
                errs.push(int.span(), format!("{what} must be at least 1, found 0"));
                None
            }
            Ok(w) if w > MAX_WIDTH => {
                errs.push(int.span(), format!("{what} of {w} is larger than the supported maximum of {MAX_WIDTH}"));
                None
            }
            Ok(w) => Some(w),
            Err(e) => {
                errs.0.push(e);
                None
            }
        },
        _ => {
            errs.push(value.span(), format!("{what} must be a positive integer, found `{value}`"));
            None
        }
    }
}

/// A float or integer literal (optionally negative).
fn parse_number(value: &TokenStream) -> Option<f64> {
    let text = value.to_string().replace(' ', "");
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest.to_string()),
        None => (1.0, text),
    };
    match syn::parse_str::<Lit>(&body).ok()? {
        Lit::Float(f) => f.base10_parse::<f64>().ok().map(|v| sign * v),
        Lit::Int(i) => i.base10_parse::<f64>().ok().map(|v| sign * v),
        _ => None,
    }
}

/// `"; did you mean `x`?"` for the closest candidate within a small edit distance.
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(levenshtein("desne", "dense"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(did_you_mean("batchnrom", &LAYER_KINDS), "; did you mean `batchnorm`?");
        assert_eq!(did_you_mean("softmax", &LAYER_KINDS), "");
        assert_eq!(parse_number(&quote::quote!(1e-3)), Some(1e-3));
        assert_eq!(parse_number(&quote::quote!(-2)), Some(-2.0));
        assert_eq!(parse_number(&quote::quote!(abc)), None);
    }
}
