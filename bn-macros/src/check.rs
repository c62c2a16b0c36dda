//! Validation: turns the syntax into a [`Model`], collecting every error of the invocation
//! (each at the user's token, widths in decimal) instead of stopping at the first.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Lit, Token, Visibility};

use crate::model::{Act, Kind, Layer, Model, Momentum};
use crate::parse::{Invocation, Item, RawLayer, LAYER_KINDS};

/// The widest layer accepted: wider ones would make types (and compile times) explode.
const MAX_WIDTH: usize = 1 << 24;

const SETTINGS: [&str; 2] = ["input", "scalar"];
const BN_OPTIONS: [&str; 2] = ["eps", "momentum"];
/// Traits the generated network struct derives itself.
const DERIVED: [&str; 3] = ["Clone", "Debug", "PartialEq"];

/// Collects errors; `finish` combines them into one.
#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, msg));
    }
    fn push_spanned(&mut self, tokens: &TokenStream, msg: impl std::fmt::Display) {
        self.0.push(syn::Error::new_spanned(tokens, msg));
    }
    pub fn finish(self) -> Option<syn::Error> {
        self.0.into_iter().reduce(|mut a, b| {
            a.combine(b);
            a
        })
    }
}

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
    let mut errs = Errors(inv.errors);
    check_attrs(&inv.attrs, &mut errs);
    let mut input: Option<usize> = None;
    let mut input_seen = false;
    let mut setting_errors = false;
    let mut scalar: Option<Ident> = None;
    // `None` marks an item that failed to parse.
    let mut raw_layers: Vec<Option<RawLayer>> = Vec::new();
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
                    match single_value(&value, "input:", &mut errs) {
                        Some(v) => input = parse_width(&v, "the input width", &mut errs),
                        // The layers were swallowed by the missing comma: say nothing of them.
                        None => setting_errors = true,
                    }
                }
                "scalar" => {
                    let Some(v) = single_value(&value, "scalar:", &mut errs) else {
                        setting_errors = true;
                        continue;
                    };
                    let text = v.to_string();
                    if text == "f32" || text == "f64" {
                        scalar = syn::parse2::<Ident>(v).ok();
                    } else {
                        errs.push_spanned(&v, format!("`scalar` must be `f32` or `f64`, found `{text}`"));
                    }
                }
                other => {
                    setting_errors = true;
                    errs.push(key.span(), format!("unknown setting `{other}`{}", did_you_mean(other, &SETTINGS)));
                }
            },
            Item::Layer(raw) => raw_layers.push(Some(raw)),
            Item::Broken { layer: true } => raw_layers.push(None),
            Item::Broken { layer: false } => setting_errors = true,
        }
    }
    if !input_seen && !setting_errors {
        errs.push(inv.name.span(), "missing `input: N`: the width of one input sample, e.g. `input: 784,`");
    }
    if raw_layers.is_empty() && !had_parse_errors && !setting_errors {
        errs.push(inv.body_span, "a network needs at least one layer, e.g. `dense(10)`");
    }

    // Layers, tracking the width (unknown after an error, to avoid cascades).
    let mut width = input;
    let mut layers = Vec::new();
    let mut fields: Vec<(String, usize)> = Vec::new();
    for (index, raw) in raw_layers.iter().enumerate() {
        let Some(raw) = raw else {
            width = None;
            continue;
        };
        let next_is_bn = matches!(raw_layers.get(index + 1), Some(Some(l)) if l.kind.unraw() == "batchnorm");
        let kind = check_layer(index, raw, width, next_is_bn, &mut errs);
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
        match (kind, width) {
            (Some(kind), Some(w)) => {
                let layer = Layer { field, named: raw.name.is_some(), kind, input: w, text: summary_text(raw) };
                width = Some(layer.output());
                layers.push(layer);
            }
            // The width is unknown from here on; keep checking each layer's own syntax.
            (Some(Kind::Dense { output, .. }), None) => width = Some(output),
            (Some(_), None) | (None, _) => width = None,
        }
    }
    match errs.finish() {
        Some(e) => {
            let cfgs = inv.attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect();
            Err((Stub { vis: inv.vis, name: inv.name, cfgs }, e))
        }
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

/// Rejects derives that the generated struct already has.
fn check_attrs(attrs: &[Attribute], errs: &mut Errors) {
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

/// How a layer is shown in messages and summaries: `kind(args)`, spaced like Rust source.
fn summary_text(raw: &RawLayer) -> String {
    match &raw.args {
        Some((_, args)) => format!("{}({})", raw.kind.unraw(), compact(args)),
        None => raw.kind.unraw().to_string(),
    }
}

/// Tokens as the user wrote them, without the spaces `to_string` puts after `-` and before `,`.
fn compact(tokens: &TokenStream) -> String {
    tokens.to_string().replace(" ,", ",").replace("- ", "-")
}

/// The value of a setting or option: one token, or `-` and one token. Anything after it is
/// a missing comma. `what` is how the value is introduced (`input:`, `eps =`).
fn single_value(value: &TokenStream, what: &str, errs: &mut Errors) -> Option<TokenStream> {
    let tokens: Vec<TokenTree> = value.clone().into_iter().collect();
    let len = match tokens.first() {
        Some(TokenTree::Punct(p)) if p.as_char() == '-' && tokens.len() >= 2 => 2,
        _ => 1,
    };
    if let Some(extra) = tokens.get(len) {
        let shown: TokenStream = tokens[..len].iter().cloned().collect();
        errs.push(extra.span(), format!("expected `,` after `{what} {}`, found `{extra}`", compact(&shown)));
        return None;
    }
    Some(tokens.into_iter().collect())
}

fn check_layer(
    index: usize,
    raw: &RawLayer,
    width: Option<usize>,
    next_is_bn: bool,
    errs: &mut Errors,
) -> Option<Kind> {
    let kind = raw.kind.unraw().to_string();
    match kind.as_str() {
        "dense" => check_dense(index + 1, raw, width, next_is_bn, errs),
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

/// Tokens up to the next top-level `=>` or `,`.
fn value_tokens(input: ParseStream) -> syn::Result<TokenStream> {
    let mut out = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![=>]) && !input.peek(Token![,]) {
        out.extend([input.parse::<TokenTree>()?]);
    }
    Ok(out)
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
    if args.is_empty() {
        errs.push(*paren, "`dense` needs its output width, e.g. `dense(100)`");
        return None;
    }
    let parsed = (|input: ParseStream| {
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
    })
    .parse2(args.clone());
    let (explicit_in, out, flag) = match parsed {
        Ok(p) => p,
        Err(e) => {
            errs.0.push(e);
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
    let default = Kind::BatchNorm { eps: 1e-5, momentum: Momentum::Exponential(0.1) };
    let Some((_, args)) = &raw.args else { return Some(default) };
    let options = (|input: ParseStream| {
        let mut out = Vec::new();
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            if !input.peek(Token![=]) {
                let example = if key == "momentum" { "momentum = 0.1" } else { "eps = 1e-3" };
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
    })
    .parse2(args.clone());
    let options = match options {
        Ok(o) => o,
        Err(e) => {
            errs.0.push(e);
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
        let text = compact(&value);
        if name == "eps" {
            match parse_number(&value) {
                Some(v) if v > 0.0 && v.is_finite() => eps = Some(v),
                Some(v) if v.is_finite() => {
                    errs.push_spanned(&value, format!("`eps` must be greater than 0, found `{text}`"))
                }
                _ => errs.push_spanned(
                    &value,
                    format!("`eps` must be a finite positive number such as `1e-5`, found `{text}`"),
                ),
            }
            ok &= eps.is_some();
        } else {
            if text == "cumulative" {
                momentum = Some(Momentum::Cumulative);
                continue;
            }
            match parse_number(&value) {
                Some(v) if v > 0.0 && v <= 1.0 => momentum = Some(Momentum::Exponential(v)),
                _ => {
                    let hint = if matches!(value.clone().into_iter().next(), Some(TokenTree::Ident(_))) {
                        did_you_mean(&text, &["cumulative"])
                    } else {
                        String::new()
                    };
                    errs.push_spanned(
                        &value,
                        format!("`momentum` must be in (0, 1] or `cumulative`, found `{text}`{hint}"),
                    );
                    ok = false;
                }
            }
        }
    }
    ok.then(|| Kind::BatchNorm { eps: eps.unwrap_or(1e-5), momentum: momentum.unwrap_or(Momentum::Exponential(0.1)) })
}

/// A positive integer width, or an error spanning the tokens.
fn parse_width(value: &TokenStream, what: &str, errs: &mut Errors) -> Option<usize> {
    let text = compact(value);
    let not_positive = |errs: &mut Errors| {
        errs.push_spanned(value, format!("{what} must be a positive integer, found `{text}`"));
        None
    };
    match syn::parse2::<Lit>(value.clone()) {
        Ok(Lit::Int(int)) if (int.suffix().is_empty() || int.suffix() == "usize") && !text.starts_with('-') => {
            match int.base10_digits().parse::<u128>() {
                Ok(0) => {
                    errs.push(int.span(), format!("{what} must be at least 1, found 0"));
                    None
                }
                Ok(w) if w <= MAX_WIDTH as u128 => Some(w as usize),
                _ => {
                    errs.push(
                        int.span(),
                        format!("{what} of {text} is larger than the supported maximum of {MAX_WIDTH}"),
                    );
                    None
                }
            }
        }
        _ => not_positive(errs),
    }
}

/// A float or integer literal (optionally negative).
fn parse_number(value: &TokenStream) -> Option<f64> {
    let text = compact(value).replace(' ', "");
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

/// `"; did you mean `x`?"` for the closest candidate within a small edit distance (or one
/// that the word starts with, like `epsilon` for `eps`).
fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| {
            let prefix = word.len() > 1 && (word.starts_with(c) || c.starts_with(word));
            (if prefix { 0 } else { levenshtein(word, c) }, *c)
        })
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
        assert_eq!(did_you_mean("epsilon", &BN_OPTIONS), "; did you mean `eps`?");
        assert_eq!(did_you_mean("affine", &BN_OPTIONS), "");
        assert_eq!(parse_number(&quote::quote!(1e-3)), Some(1e-3));
        assert_eq!(parse_number(&quote::quote!(-2)), Some(-2.0));
        assert_eq!(parse_number(&quote::quote!(abc)), None);
        assert_eq!(compact(&quote::quote!(-1e-3)), "-1e-3");
    }
}
