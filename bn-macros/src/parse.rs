//! Syntax: the invocation as written, kept as the user's tokens. Each comma-separated item
//! is parsed on its own, so one malformed item does not hide the errors of the others.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{token, Attribute, Ident, Token, Visibility};

/// `#[attrs] vis struct Name { items }`.
pub struct Invocation {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The span of the `{ ... }` body.
    pub body_span: Span,
    pub items: Vec<Item>,
    /// Errors found while splitting and parsing the items.
    pub errors: Vec<syn::Error>,
}

/// One comma-separated entry of the body.
pub enum Item {
    /// `key: value` (`input: 784`, `scalar: f64`).
    Setting { key: Ident, value: TokenStream },
    /// `[name:] kind [(args)]`.
    Layer(RawLayer),
}

/// A layer as written: `fc1: dense(784 => 100, bias)`.
pub struct RawLayer {
    pub name: Option<Ident>,
    pub kind: Ident,
    /// The parenthesized arguments, if any, with the span of the parentheses.
    pub args: Option<(Span, TokenStream)>,
}

mod kw {
    syn::custom_keyword!(input);
    syn::custom_keyword!(scalar);
}

impl Parse for Invocation {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let lookahead = input.lookahead1();
        if !lookahead.peek(Token![struct]) {
            return Err(lookahead.error());
        }
        let _: Token![struct] = input.parse()?;
        let name: Ident = input.parse()?;
        let lookahead = input.lookahead1();
        if !lookahead.peek(token::Brace) {
            return Err(lookahead.error());
        }
        let content;
        let brace = syn::braced!(content in input);
        let body: TokenStream = content.parse()?;
        let mut errors = Vec::new();
        let items = split_items(body, &mut errors);
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            errors.push(syn::Error::new_spanned(
                rest,
                "unexpected tokens after the network definition; `network!` takes exactly one `struct Name { ... }`",
            ));
        }
        Ok(Invocation { attrs, vis, name, body_span: brace.span.join(), items, errors })
    }
}

/// Splits the body at top-level commas and parses each item.
fn split_items(body: TokenStream, errors: &mut Vec<syn::Error>) -> Vec<Item> {
    let mut items = Vec::new();
    let mut chunk: Vec<TokenTree> = Vec::new();
    let mut flush = |chunk: &mut Vec<TokenTree>, comma: Option<Span>, items: &mut Vec<Item>| {
        if chunk.is_empty() {
            if let Some(span) = comma {
                errors.push(syn::Error::new(span, "expected a layer before this `,`"));
            }
            return;
        }
        let tokens: TokenStream = chunk.drain(..).collect();
        match parse_item.parse2(tokens) {
            Ok(item) => items.push(item),
            Err(e) => errors.push(e),
        }
    };
    for tt in body {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => flush(&mut chunk, Some(p.span()), &mut items),
            _ => chunk.push(tt),
        }
    }
    flush(&mut chunk, None, &mut items);
    items
}

fn parse_item(input: ParseStream) -> syn::Result<Item> {
    // Settings: `input: ...`, `scalar: ...`, or any `ident: <not an identifier>`.
    if (input.peek(kw::input) || input.peek(kw::scalar)) && input.peek2(Token![:]) || is_unknown_setting(input) {
        let key: Ident = input.parse()?;
        let _: Token![:] = input.parse()?;
        let value: TokenStream = input.parse()?;
        if value.is_empty() {
            return Err(syn::Error::new(key.span(), format!("`{key}:` needs a value")));
        }
        return Ok(Item::Setting { key, value });
    }
    let lookahead = input.lookahead1();
    if !lookahead.peek(Ident) {
        return Err(syn::Error::new(
            input.span(),
            format!(
                "expected a layer such as `dense(100)`, `batchnorm` or `sigmoid`, found `{}`",
                input.fork().parse::<TokenStream>()?
            ),
        ));
    }
    let first: Ident = input.parse()?;
    let (name, kind) = if input.peek(Token![:]) {
        let _: Token![:] = input.parse()?;
        let lookahead = input.lookahead1();
        if !lookahead.peek(Ident) {
            return Err(lookahead.error());
        }
        (Some(first), input.parse::<Ident>()?)
    } else {
        (None, first)
    };
    let args = if input.peek(token::Paren) {
        let group = match input.parse::<TokenTree>()? {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => g,
            other => return Err(syn::Error::new(other.span(), "expected `(`")),
        };
        Some((group.span(), group.stream()))
    } else {
        None
    };
    if !input.is_empty() {
        let rest: TokenStream = input.parse()?;
        let first = rest.clone().into_iter().next().map(|t| t.span()).unwrap_or_else(|| rest.span());
        return Err(syn::Error::new(first, format!("expected `,` after layer `{kind}`, found `{rest}`")));
    }
    Ok(Item::Layer(RawLayer { name, kind, args }))
}

/// `ident: <something that is not an identifier>` is a setting (perhaps misspelled).
fn is_unknown_setting(input: ParseStream) -> bool {
    input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) && {
        let fork = input.fork();
        let _ = fork.parse::<Ident>();
        let _ = fork.parse::<Token![:]>();
        !fork.peek(Ident)
    }
}
