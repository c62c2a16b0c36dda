//! The rules of the normalization layers and dropout: `batchnorm(...)` (ε, momentum,
//! `affine`, `renorm(rmax = …, dmax = …)`), `layernorm(...)` (ε, `affine`), `groupnorm(G,
//! ...)` (its groups against the image's channels, ε, `affine`) and `dropout(p)`.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{token, Ident, Token};

use super::errors::Errors;
use super::shapes::{features_before, Known, Pos};
use super::values::{compact, did_you_mean, layer_text, parse_number, parse_width, single_value, value_tokens};
use crate::model::{Kind, Momentum, DEFAULT_DMAX, DEFAULT_EPS, DEFAULT_MOMENTUM, DEFAULT_RMAX};
use crate::parse::RawLayer;

const BN_OPTIONS: [&str; 4] = ["eps", "momentum", "affine", "renorm"];
/// The options of `layernorm` and of `groupnorm` (after its groups).
const LN_OPTIONS: [&str; 2] = ["eps", "affine"];
const RENORM_OPTIONS: [&str; 2] = ["rmax", "dmax"];

/// One option as written: `key = value`, or a bare `renorm` / `renorm(args)`.
struct Opt {
    key: Ident,
    value: Option<TokenStream>,
    /// The parenthesized arguments of `renorm(...)`, with the span of the parentheses.
    args: Option<(Span, TokenStream)>,
}

/// The options of `batchnorm(...)` or `layernorm(...)` (`layer`) as written.
fn parse_options(input: ParseStream, layer: &str, known: &[&str]) -> syn::Result<Vec<Opt>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let key = Ident::parse_any(input)?;
        if key == "renorm" && layer == "batchnorm" && !input.peek(Token![=]) {
            let args = if input.peek(token::Paren) {
                let content;
                let paren = syn::parenthesized!(content in input);
                Some((paren.span.join(), content.parse::<TokenStream>()?))
            } else {
                None
            };
            out.push(Opt { key, value: None, args });
        } else {
            if !input.peek(Token![=]) {
                let momentum_example = format!("momentum = {DEFAULT_MOMENTUM}");
                let example = match key.to_string().as_str() {
                    "momentum" => momentum_example.as_str(),
                    "affine" => "affine = false",
                    _ => "eps = 1e-3",
                };
                let msg = if known.contains(&key.to_string().as_str()) {
                    format!("`{key}` needs a value, e.g. `{example}`")
                } else {
                    format!("`{layer}` options look like `{example}`, found `{key}`")
                };
                return Err(syn::Error::new(key.span(), msg));
            }
            let _: Token![=] = input.parse()?;
            let value = value_tokens(input)?;
            if value.is_empty() {
                return Err(syn::Error::new(key.span(), format!("`{key} =` needs a value")));
            }
            out.push(Opt { key, value: Some(value), args: None });
        }
        if !input.is_empty() {
            let _: Token![,] = input.parse()?;
        }
    }
    Ok(out)
}

/// The options of a layer, each checked once: unknown keys (with did-you-mean) and
/// duplicates are errors. Returns the known options (so that their values are checked too)
/// and whether all were valid; `None` when the options do not parse.
fn options(
    args: Option<&TokenStream>,
    layer: &'static str,
    known: &'static [&'static str],
    errs: &mut Errors,
) -> Option<(Vec<Opt>, bool)> {
    let Some(args) = args else { return Some((Vec::new(), true)) };
    let opts = match (|input: ParseStream| parse_options(input, layer, known)).parse2(args.clone()) {
        Ok(o) => o,
        Err(e) => {
            errs.push_error(e);
            return None;
        }
    };
    let mut ok = true;
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for opt in opts {
        let name = opt.key.to_string();
        if !known.contains(&name.as_str()) {
            let hint = match did_you_mean(&name, known) {
                h if h.is_empty() => format!("; the options are {}", list(known)),
                h => h,
            };
            errs.push(opt.key.span(), format!("unknown `{layer}` option `{name}`{hint}"));
            ok = false;
        } else if seen.contains(&name) {
            errs.push(opt.key.span(), format!("duplicate option `{name}`"));
            ok = false;
        } else {
            seen.push(name);
            out.push(opt);
        }
    }
    Some((out, ok))
}

/// `` `a`, `b` and `c` ``.
fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

pub(super) fn check_batchnorm(raw: &RawLayer, errs: &mut Errors) -> Option<Kind> {
    let (opts, mut ok) = options(raw.args.as_ref().map(|a| &a.1), "batchnorm", &BN_OPTIONS, errs)?;
    let (mut eps, mut momentum, mut affine, mut renorm) = (None, None, true, None);
    for Opt { key, value, args } in opts {
        let name = key.to_string();
        if name == "renorm" {
            renorm = check_renorm(args, errs);
            ok &= renorm.is_some();
            continue;
        }
        let Some(value) = value.and_then(|v| single_value(&v, &format!("{name} ="), errs)) else {
            ok = false;
            continue;
        };
        match name.as_str() {
            "eps" => {
                eps = check_eps(&value, errs);
                ok &= eps.is_some();
            }
            "momentum" => {
                momentum = check_momentum(&value, errs);
                ok &= momentum.is_some();
            }
            _ => match check_bool(&name, &value, errs) {
                Some(v) => affine = v,
                None => ok = false,
            },
        }
    }
    ok.then(|| Kind::BatchNorm {
        eps: eps.unwrap_or(DEFAULT_EPS),
        momentum: momentum.unwrap_or(Momentum::Exponential(DEFAULT_MOMENTUM)),
        affine,
        renorm,
    })
}

/// `renorm` or `renorm(rmax = r, dmax = d)`: `r_max ≥ 1`, `d_max ≥ 0`, both finite.
fn check_renorm(args: Option<(Span, TokenStream)>, errs: &mut Errors) -> Option<(f64, f64)> {
    let (mut rmax, mut dmax) = (DEFAULT_RMAX, DEFAULT_DMAX);
    let Some((_, args)) = args else { return Some((rmax, dmax)) };
    let pairs = match parse_pairs.parse2(args) {
        Ok(p) => p,
        Err(e) => {
            errs.push_error(e);
            return None;
        }
    };
    let mut ok = true;
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in pairs {
        let name = key.to_string();
        if !RENORM_OPTIONS.contains(&name.as_str()) {
            let hint = match did_you_mean(&name, &RENORM_OPTIONS) {
                h if h.is_empty() => "; the options are `rmax` and `dmax`".to_string(),
                h => h,
            };
            errs.push(key.span(), format!("unknown `renorm` option `{name}`{hint}"));
            ok = false;
            continue;
        }
        if seen.contains(&name) {
            errs.push(key.span(), format!("duplicate option `{name}`"));
            ok = false;
            continue;
        }
        seen.push(name.clone());
        let Some(value) = single_value(&value, &format!("{name} ="), errs) else {
            ok = false;
            continue;
        };
        let text = compact(&value);
        let (min, what) = if name == "rmax" {
            (1.0, "at least 1 (r is clipped to [1/rmax, rmax])")
        } else {
            (0.0, "at least 0 (d is clipped to [−dmax, dmax])")
        };
        match parse_number(&value) {
            Some(v) if v.is_finite() && v >= min => {
                if name == "rmax" {
                    rmax = v
                } else {
                    dmax = v
                }
            }
            _ => {
                errs.push_spanned(&value, format!("`{name}` must be a finite number {what}, found `{text}`"));
                ok = false;
            }
        }
    }
    ok.then_some((rmax, dmax))
}

/// `key = value` pairs, separated by commas.
fn parse_pairs(input: ParseStream) -> syn::Result<Vec<(Ident, TokenStream)>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let key = Ident::parse_any(input)?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key.span(),
                format!("`renorm` options look like `rmax = {DEFAULT_RMAX}`, found `{key}`"),
            ));
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

pub(super) fn check_layernorm(raw: &RawLayer, errs: &mut Errors) -> Option<Kind> {
    let (eps, affine) = eps_and_affine(raw.args.as_ref().map(|a| &a.1), "layernorm", errs)?;
    Some(Kind::LayerNorm { eps, affine })
}

/// The options `eps = …` and `affine = …` of `layernorm` or `groupnorm` (`layer`), with
/// their defaults; `None` after an error.
fn eps_and_affine(args: Option<&TokenStream>, layer: &'static str, errs: &mut Errors) -> Option<(f64, bool)> {
    let (opts, mut ok) = options(args, layer, &LN_OPTIONS, errs)?;
    let (mut eps, mut affine) = (None, true);
    for Opt { key, value, .. } in opts {
        let name = key.to_string();
        let Some(value) = value.and_then(|v| single_value(&v, &format!("{name} ="), errs)) else {
            ok = false;
            continue;
        };
        if name == "eps" {
            eps = check_eps(&value, errs);
            ok &= eps.is_some();
        } else {
            match check_bool(&name, &value, errs) {
                Some(v) => affine = v,
                None => ok = false,
            }
        }
    }
    ok.then(|| (eps.unwrap_or(DEFAULT_EPS), affine))
}

/// `groupnorm(G)`, `groupnorm(G, eps = …, affine = false)`: on an image whose channels the
/// `G` groups divide. Keeps its input's shape.
pub(super) fn check_groupnorm(pos: &Pos, raw: &RawLayer, input: Known, errs: &mut Errors) -> (Option<Kind>, Known) {
    const NEEDS: &str = "`groupnorm` needs its number of groups, e.g. `groupnorm(8)` (PyTorch's `nn.GroupNorm(8, C)`)";
    let Some((paren, args)) = &raw.args else {
        errs.push(raw.kind.span(), NEEDS);
        return (None, input);
    };
    let mut tokens = args.clone().into_iter();
    let groups: TokenStream =
        tokens.by_ref().take_while(|t| !matches!(t, TokenTree::Punct(p) if p.as_char() == ',')).collect();
    let options: TokenStream = tokens.collect();
    let mut ok = true;
    if let Some(TokenTree::Ident(key)) = groups.clone().into_iter().next() {
        if groups.clone().into_iter().nth(1).is_some_and(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == '=')) {
            let msg = "`groupnorm` takes its number of groups first, e.g. `groupnorm(8, eps = 1e-5)`";
            errs.push(key.span(), msg);
            return (None, input);
        }
    }
    if groups.is_empty() {
        errs.push(*paren, NEEDS);
        ok = false;
    }
    let g = if groups.is_empty() { None } else { parse_width(&groups, "the number of groups", errs) };
    let eps_affine = eps_and_affine((!options.is_empty()).then_some(&options), "groupnorm", errs);
    match input {
        Known::Flat(n) => {
            let msg = format!(
                "{pos} `{}` needs an image, but {}; over features, use `layernorm`",
                layer_text(raw),
                features_before(pos, n)
            );
            errs.push(raw.kind.span(), msg);
            ok = false;
        }
        Known::Image { c: Some(c), .. } => {
            if let Some(g) = g.filter(|g| c % g != 0) {
                let divisors: Vec<usize> = (1..=c).filter(|d| c % d == 0).collect();
                // 1 divides every channel count: there is always one below (`g` is not 1).
                let below = divisors.iter().rev().find(|&&d| d < g).copied().unwrap_or(1);
                let hint = match divisors.iter().find(|&&d| d > g) {
                    Some(above) => format!("`groupnorm({below})` or `groupnorm({above})`, the nearest divisors"),
                    None => format!("`groupnorm({below})`, the nearest divisor"),
                };
                let msg = format!(
                    "{pos} `{}`: {g} groups do not divide the {c} channels of its input; try {hint} of {c}",
                    layer_text(raw)
                );
                errs.push_spanned(&groups, msg);
                ok = false;
            }
        }
        _ => {}
    }
    match (g, eps_affine) {
        (Some(groups), Some((eps, affine))) if ok => (Some(Kind::GroupNorm { groups, eps, affine }), input),
        _ => (None, input),
    }
}

/// `dropout(p)` (or `dropout(p = …)`): the drop probability, in [0, 1).
pub(super) fn check_dropout(raw: &RawLayer, errs: &mut Errors) -> Option<Kind> {
    let Some((paren, args)) = &raw.args else {
        errs.push(raw.kind.span(), "`dropout` needs its drop probability, e.g. `dropout(0.5)`");
        return None;
    };
    let mut tokens: Vec<TokenTree> = args.clone().into_iter().collect();
    if let [TokenTree::Ident(k), TokenTree::Punct(eq), ..] = tokens.as_slice() {
        if k == "p" && eq.as_char() == '=' {
            tokens.drain(..2);
        }
    }
    if tokens.is_empty() {
        errs.push(*paren, "`dropout` needs its drop probability, e.g. `dropout(0.5)`");
        return None;
    }
    let value: TokenStream = tokens.into_iter().collect();
    let value = single_value(&value, "dropout(", errs)?;
    let text = compact(&value);
    match parse_number(&value) {
        Some(p) if (0.0..1.0).contains(&p) => Some(Kind::Dropout { p }),
        Some(_) => {
            errs.push_spanned(&value, format!("the dropout probability must be in [0, 1), found `{text}`"));
            None
        }
        None => {
            errs.push_spanned(&value, format!("the dropout probability must be a number in [0, 1), found `{text}`"));
            None
        }
    }
}

/// `affine = true | false`.
fn check_bool(name: &str, value: &TokenStream, errs: &mut Errors) -> Option<bool> {
    match compact(value).as_str() {
        "true" => Some(true),
        "false" => Some(false),
        text => {
            errs.push_spanned(value, format!("`{name}` must be `true` or `false`, found `{text}`"));
            None
        }
    }
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
