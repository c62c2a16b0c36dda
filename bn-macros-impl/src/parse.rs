//! Syntax: the invocation as written, kept as the user's tokens. Each comma-separated item
//! is parsed on its own, so one malformed item does not hide the errors of the others.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{token, Attribute, Ident, Token, Visibility};

/// The layer kinds, for suggestions and to tell a misplaced setting from a layer: those on
/// features first, then those that need an image.
pub const LAYER_KINDS: [&str; 13] = [
    "dense",
    "batchnorm",
    "layernorm",
    "dropout",
    "sigmoid",
    "relu",
    "tanh",
    "conv2d",
    "maxpool",
    "avgpool",
    "global_avgpool",
    "groupnorm",
    "flatten",
];

/// The layer kinds that only apply to an image (`flatten` and `global_avgpool` make
/// features of one).
pub const IMAGE_LAYERS: [&str; 6] = ["conv2d", "maxpool", "avgpool", "global_avgpool", "groupnorm", "flatten"];

/// The words of a residual block, `residual { … } shortcut { … }`: suggested for a
/// misspelled layer, but not listed among the layers.
pub const BLOCK_WORDS: [&str; 2] = ["residual", "shortcut"];

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
    /// An item that failed to parse (its error is already reported); it keeps its place so
    /// that layer numbers and width checks after it stay right.
    Broken {
        /// Whether it was meant as a layer (rather than a setting).
        layer: bool,
    },
}

/// A layer as written: `fc1: dense(784 => 100, bias)`, or a block `residual { … }`.
pub struct RawLayer {
    pub name: Option<Ident>,
    pub kind: Ident,
    /// The parenthesized arguments, if any, with the span of the parentheses.
    pub args: Option<(Span, TokenStream)>,
    /// The branches in braces after the kind (`residual { … } shortcut { … }`), if any.
    pub block: Option<RawBlock>,
}

/// The branches of a block as written: `{ body }` and, after the `shortcut` keyword,
/// `{ shortcut }`.
pub struct RawBlock {
    pub body: Branch,
    pub shortcut: Option<(Ident, Branch)>,
}

/// The layers of one branch of a block, parsed like the network's layers.
pub struct Branch {
    /// The span of the braces.
    pub span: Span,
    /// The layers in order; `None` marks an item that failed to parse (its error is in
    /// `errors`).
    pub layers: Vec<Option<RawLayer>>,
    /// Errors found while splitting and parsing the items.
    pub errors: Vec<syn::Error>,
}

mod kw {
    syn::custom_keyword!(input);
    syn::custom_keyword!(scalar);
    syn::custom_keyword!(shortcut);
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
        if input.peek(Token![<]) {
            return Err(syn::Error::new(
                input.span(),
                "`network!` structs take no generic parameters; the scalar type is chosen with `scalar: f64`",
            ));
        }
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
        let setting =
            matches!(tokens.clone().into_iter().next(), Some(TokenTree::Ident(i)) if i == "input" || i == "scalar");
        match parse_item.parse2(tokens) {
            Ok(item) => items.push(item),
            Err(e) => {
                errors.push(e);
                items.push(Item::Broken { layer: !setting });
            }
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
    // A keyword where a name should be: `type: dense(10)`.
    if input.peek(Ident::peek_any) && !input.peek(Ident) && input.peek2(Token![:]) {
        let kw = Ident::parse_any(input)?;
        return Err(syn::Error::new(
            kw.span(),
            format!("`{kw}` is a keyword; choose another layer name (or write `r#{kw}`)"),
        ));
    }
    if input.peek(kw::input) || input.peek(kw::scalar) {
        let key: Ident = input.parse()?;
        if !input.peek(Token![:]) {
            let example = if key == "input" { "input: 784" } else { "scalar: f64" };
            return Err(syn::Error::new(key.span(), format!("expected `:` after `{key}`, e.g. `{example}`")));
        }
        let _: Token![:] = input.parse()?;
        let value: TokenStream = input.parse()?;
        if value.is_empty() {
            return Err(syn::Error::new(key.span(), format!("`{key}:` needs a value")));
        }
        if let Some(TokenTree::Ident(first)) = value.clone().into_iter().next() {
            if LAYER_KINDS.contains(&first.to_string().as_str()) {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "`{key}` is a setting and cannot name a layer; choose another name for this `{first}` layer"
                    ),
                ));
            }
        }
        return Ok(Item::Setting { key, value });
    }
    // Any other `ident: <not an identifier>` is a (misspelled) setting.
    if is_unknown_setting(input) {
        let key: Ident = input.parse()?;
        let _: Token![:] = input.parse()?;
        let value: TokenStream = input.parse()?;
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
    let block = if input.peek(token::Brace) { Some(parse_block(input, &kind)?) } else { None };
    if !input.is_empty() {
        let rest: TokenStream = input.parse()?;
        let first = rest.clone().into_iter().next().map(|t| t.span()).unwrap_or_else(|| rest.span());
        let after = if block.is_some() { "the block".to_string() } else { format!("layer `{kind}`") };
        return Err(syn::Error::new(first, format!("expected `,` after {after}, found `{rest}`")));
    }
    Ok(Item::Layer(RawLayer { name, kind, args, block }))
}

/// `{ body } [shortcut { shortcut }]` after a block's kind.
fn parse_block(input: ParseStream, kind: &Ident) -> syn::Result<RawBlock> {
    let body = parse_branch(input)?;
    if !input.peek(kw::shortcut) {
        return Ok(RawBlock { body, shortcut: None });
    }
    let keyword: Ident = input.parse()?;
    if !input.peek(token::Brace) {
        let msg = format!(
            "`shortcut` needs its layers in braces after the `{kind} {{ … }}` block, e.g. `shortcut {{ conv2d(32, \
             kernel = 1, stride = 2) }}`"
        );
        return Err(syn::Error::new(keyword.span(), msg));
    }
    let shortcut = parse_branch(input)?;
    Ok(RawBlock { body, shortcut: Some((keyword, shortcut)) })
}

/// `{ layers }`: the layers of one branch, each parsed alone as the network's are. A
/// setting inside a branch is an error (settings belong to the network).
fn parse_branch(input: ParseStream) -> syn::Result<Branch> {
    let content;
    let brace = syn::braced!(content in input);
    let tokens: TokenStream = content.parse()?;
    let mut errors = Vec::new();
    let mut layers = Vec::new();
    for item in split_items(tokens, &mut errors) {
        match item {
            Item::Layer(raw) => layers.push(Some(raw)),
            Item::Broken { .. } => layers.push(None),
            Item::Setting { key, .. } => {
                let msg = format!("`{key}:` is a setting of the network; it cannot be inside a block");
                errors.push(syn::Error::new(key.span(), msg));
                layers.push(None);
            }
        }
    }
    Ok(Branch { span: brace.span.join(), layers, errors })
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
