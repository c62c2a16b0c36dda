//! Reading the values of settings and layer arguments (widths, counts, `(h, w)` pairs,
//! numbers, single tokens), and the wording shared by the messages (`compact` tokens, a
//! layer as written, "did you mean").

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Lit, Token};

use super::errors::Errors;
use crate::model::Pair;
use crate::parse::RawLayer;

/// The widest layer accepted: wider ones would make types (and compile times) explode. It
/// also bounds an image's `C·H·W` values and every single size (a kernel, a stride).
pub(super) const MAX_WIDTH: usize = 1 << 24;

/// Tokens as the user wrote them, without the spaces `to_string` puts after `-` and before `,`.
pub(super) fn compact(tokens: &TokenStream) -> String {
    tokens.to_string().replace(" ,", ",").replace("- ", "-")
}

/// The value of a setting or option: one token, or `-` and one token. Anything after it is
/// a missing comma. `what` is how the value is introduced (`input:`, `eps =`).
pub(super) fn single_value(value: &TokenStream, what: &str, errs: &mut Errors) -> Option<TokenStream> {
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

/// Tokens up to the next top-level `=>` or `,`.
pub(super) fn value_tokens(input: ParseStream) -> syn::Result<TokenStream> {
    let mut out = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![=>]) && !input.peek(Token![,]) {
        out.extend([input.parse::<TokenTree>()?]);
    }
    Ok(out)
}

/// How a layer is shown in messages and summaries: `kind(args)`, spaced like Rust source.
pub(super) fn layer_text(raw: &RawLayer) -> String {
    match &raw.args {
        Some((_, args)) => format!("{}({})", raw.kind.unraw(), compact(args)),
        None => raw.kind.unraw().to_string(),
    }
}

/// A positive integer width, or an error spanning the tokens.
pub(super) fn parse_width(value: &TokenStream, what: &str, errs: &mut Errors) -> Option<usize> {
    parse_count(value, what, 1, errs)
}

/// An integer of at least `min` (0 or 1) and at most [`MAX_WIDTH`], or an error spanning
/// the tokens.
pub(super) fn parse_count(value: &TokenStream, what: &str, min: usize, errs: &mut Errors) -> Option<usize> {
    let text = compact(value);
    let not_positive = |errs: &mut Errors| {
        let kind = if min == 0 { "non-negative" } else { "positive" };
        errs.push_spanned(value, format!("{what} must be a {kind} integer, found `{text}`"));
        None
    };
    match syn::parse2::<Lit>(value.clone()) {
        Ok(Lit::Int(int)) if (int.suffix().is_empty() || int.suffix() == "usize") && !text.starts_with('-') => {
            match int.base10_digits().parse::<u128>() {
                Ok(0) if min > 0 => {
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

/// The values of a parenthesized tuple `(a, b, …)` split at its commas (a trailing comma
/// ends it), or `None` when `value` is not one.
pub(super) fn tuple_items(value: &TokenStream) -> Option<Vec<TokenStream>> {
    let mut tokens = value.clone().into_iter();
    let group = match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Group(g)), None) if g.delimiter() == Delimiter::Parenthesis => g,
        _ => return None,
    };
    let (mut items, mut item) = (Vec::new(), TokenStream::new());
    for tt in group.stream() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == ',' => items.push(std::mem::take(&mut item)),
            tt => item.extend([tt]),
        }
    }
    if !item.is_empty() {
        items.push(item);
    }
    Some(items)
}

/// `n` or `(h, w)`: a window's extent, stride or padding, each value a count of at least
/// `min`. `option` names it (`kernel`), `what` one value of it (`a kernel size`).
pub(super) fn parse_pair(value: &TokenStream, option: &str, what: &str, min: usize, errs: &mut Errors) -> Option<Pair> {
    let Some(items) = tuple_items(value) else {
        return parse_count(value, what, min, errs).map(|n| (n, n));
    };
    if items.len() != 2 {
        let n = items.len();
        errs.push_spanned(
            value,
            format!(
                "`{option}` is one number or a (height, width) pair, found {n} value{}",
                if n == 1 { "" } else { "s" }
            ),
        );
        return None;
    }
    let (h, w) = (parse_count(&items[0], what, min, errs), parse_count(&items[1], what, min, errs));
    h.zip(w)
}

/// A float or integer literal (optionally negative).
pub(super) fn parse_number(value: &TokenStream) -> Option<f64> {
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
pub(super) fn did_you_mean(word: &str, candidates: &[&str]) -> String {
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
    use crate::parse::LAYER_KINDS;

    #[test]
    fn edit_distance_and_suggestions() {
        let bn_options = ["eps", "momentum"];
        assert_eq!(levenshtein("desne", "dense"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(did_you_mean("batchnrom", &LAYER_KINDS), "; did you mean `batchnorm`?");
        assert_eq!(did_you_mean("softmax", &LAYER_KINDS), "");
        assert_eq!(did_you_mean("epsilon", &bn_options), "; did you mean `eps`?");
        assert_eq!(did_you_mean("affine", &bn_options), "");
        assert_eq!(parse_number(&quote::quote!(1e-3)), Some(1e-3));
        assert_eq!(parse_number(&quote::quote!(-2)), Some(-2.0));
        assert_eq!(parse_number(&quote::quote!(abc)), None);
        assert_eq!(compact(&quote::quote!(-1e-3)), "-1e-3");
    }
}
