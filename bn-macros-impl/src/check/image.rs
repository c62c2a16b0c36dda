//! The rules of the layers on images: `conv2d`, `maxpool`/`avgpool` and `flatten`: their
//! arguments and options, and how their windows fit the image before them.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, Token};

use super::errors::Errors;
use super::shapes::{article, check_volume, features_before, pair_text, volume, Known, Pos};
use super::values::{
    compact, did_you_mean, layer_text, parse_pair, parse_width, single_value, tuple_items, value_tokens, MAX_WIDTH,
};
use crate::model::{sweep, Kind, Pair, Pool};
use crate::parse::RawLayer;

/// The options of `conv2d` that take a value.
const CONV_OPTIONS: [&str; 3] = ["kernel", "stride", "padding"];
/// The flags of `conv2d`, as for `dense`.
const BIAS_FLAGS: [&str; 2] = ["bias", "no_bias"];
/// The options of the pools.
const POOL_OPTIONS: [&str; 1] = ["stride"];

/// How the arguments of an image layer are written, for the messages.
struct Syntax<'a> {
    kind: &'a str,
    /// What comes first: `its output channels`, `its window size`.
    first: &'a str,
    /// What the layer cannot do without: `its output channels and a kernel`.
    needs: &'a str,
    /// A whole example: `conv2d(16, kernel = 3)`.
    example: String,
    /// An example option: `kernel = 3`.
    option: &'a str,
    /// Whether `IN => OUT` may state a conv's input channels.
    arrow: bool,
}

/// One option as written: `key = value`, or a bare word (`bias`).
struct Opt {
    key: Ident,
    value: Option<TokenStream>,
}

/// The arguments as written: the stated input channels (`IN =>`), the first value (a conv's
/// output channels, a pool's window size) and the options after it.
struct Args {
    stated_in: Option<TokenStream>,
    first: TokenStream,
    options: Vec<Opt>,
}

/// `first [=> second] (, key = value | , word)* [,]`.
fn parse_args(input: ParseStream, s: &Syntax) -> syn::Result<Args> {
    if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![=>]) {
        let key = Ident::parse_any(input)?;
        let msg = format!("`{}` takes {} first, e.g. `{}`", s.kind, s.first, s.example);
        return Err(syn::Error::new(key.span(), msg));
    }
    let mut first = value_tokens(input)?;
    let mut stated_in = None;
    if input.peek(Token![=>]) {
        let arrow: Token![=>] = input.parse()?;
        if !s.arrow {
            let msg = format!("`{}` keeps the channels of its input; remove `=>`, e.g. `{}`", s.kind, s.example);
            return Err(syn::Error::new_spanned(arrow, msg));
        }
        let out = value_tokens(input)?;
        if out.is_empty() {
            let msg = "the output channels are missing after `=>`, e.g. `conv2d(1 => 16, kernel = 3)`";
            return Err(syn::Error::new_spanned(arrow, msg));
        }
        stated_in = Some(std::mem::replace(&mut first, out));
    }
    let mut options = Vec::new();
    while !input.is_empty() {
        let _: Token![,] = input.parse()?;
        if input.is_empty() {
            break;
        }
        if !input.peek(Ident::peek_any) {
            let tt: TokenTree = input.parse()?;
            let msg = format!("expected an option such as `{}`, found `{}`", s.option, compact(&tt.clone().into()));
            return Err(syn::Error::new(tt.span(), msg));
        }
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) && !input.peek(Token![=>]) {
            let _: Token![=] = input.parse()?;
            let value = value_tokens(input)?;
            if value.is_empty() {
                return Err(syn::Error::new(key.span(), format!("`{key} =` needs a value")));
            }
            Some(value)
        } else {
            None
        };
        if !input.is_empty() && !input.peek(Token![,]) {
            let tt: TokenTree = input.parse()?;
            return Err(syn::Error::new(tt.span(), format!("expected `,` after `{key}`, found `{tt}`")));
        }
        options.push(Opt { key, value });
    }
    Ok(Args { stated_in, first, options })
}

/// The arguments of an image layer, or `None` after reporting why there are none.
fn layer_args(raw: &RawLayer, s: &Syntax, errs: &mut Errors) -> Option<Args> {
    let needs = format!("`{}` needs {}, e.g. `{}`", s.kind, s.needs, s.example);
    let Some((paren, args)) = &raw.args else {
        errs.push(raw.kind.span(), needs);
        return None;
    };
    if args.is_empty() {
        errs.push(*paren, needs);
        return None;
    }
    match (|input: ParseStream| parse_args(input, s)).parse2(args.clone()) {
        Ok(args) => Some(args),
        Err(e) => {
            errs.push_error(e);
            None
        }
    }
}

/// The options of one layer, checked against its names.
struct Options {
    /// The values given, by name.
    values: Vec<(String, TokenStream)>,
    /// Every option named, valid or not (each may be given once).
    named: Vec<String>,
    /// The flag given (`bias` or `no_bias`).
    flag: Option<String>,
    /// Whether every option was valid.
    ok: bool,
    /// Whether an option was unknown (perhaps a required one, misspelled).
    unknown: bool,
}

impl Options {
    fn value(&self, name: &str) -> Option<&TokenStream> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// An example value of an option, for the messages.
fn example(option: &str) -> &'static str {
    match option {
        "padding" => "padding = 1",
        "stride" => "stride = 2",
        _ => "kernel = 3",
    }
}

/// Checks each option: known (else did-you-mean), given once, a value where one is needed
/// (a single number or pair) and none for a flag.
fn check_options(kind: &str, options: Vec<Opt>, valued: &[&str], flags: &[&str], errs: &mut Errors) -> Options {
    let mut o = Options { values: Vec::new(), named: Vec::new(), flag: None, ok: true, unknown: false };
    let all: Vec<&str> = valued.iter().chain(flags).copied().collect();
    for Opt { key, value } in options {
        let name = key.unraw().to_string();
        if !all.contains(&name.as_str()) {
            let hint = match did_you_mean(&name, &all) {
                h if !h.is_empty() => h,
                _ if all.len() == 1 => format!("; the only option is `{}`", all[0]),
                _ => {
                    format!("; the options are {}", all.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))
                }
            };
            errs.push(key.span(), format!("unknown `{kind}` option `{name}`{hint}"));
            (o.ok, o.unknown) = (false, true);
            continue;
        }
        let is_flag = flags.contains(&name.as_str());
        let earlier = if is_flag { o.flag.clone() } else { o.named.iter().find(|n| **n == name).cloned() };
        o.named.push(name.clone());
        if let Some(earlier) = earlier {
            let msg = if earlier == name {
                format!("duplicate option `{name}`")
            } else {
                format!("`{name}` contradicts the `{earlier}` before it; keep one of them")
            };
            errs.push(key.span(), msg);
            o.ok = false;
            continue;
        }
        match (is_flag, value) {
            (true, None) => o.flag = Some(name),
            (true, Some(_)) => {
                errs.push(key.span(), format!("`{name}` takes no value: write `bias` or `no_bias`"));
                o.ok = false;
            }
            (false, None) => {
                errs.push(key.span(), format!("`{name}` needs a value, e.g. `{}`", example(&name)));
                o.ok = false;
            }
            (false, Some(value)) => match single_value(&value, &format!("{name} ="), errs) {
                Some(value) => o.values.push((name, value)),
                None => o.ok = false,
            },
        }
    }
    o
}

/// A conv's arguments as checked: its kind when they are all valid, its stated input
/// channels and where its kernel was written (where a kernel that does not fit is reported).
struct Conv {
    kind: Option<Kind>,
    stated_in: Option<(TokenStream, usize)>,
    kernel_at: TokenStream,
}

/// `conv2d(...)`: its arguments, its stated input channels against the image before it, and
/// how its kernel fits that image.
pub(super) fn check_conv(
    pos: &Pos,
    raw: &RawLayer,
    input: Known,
    next_is_bn: bool,
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let conv = conv_args(pos, raw, next_is_bn, errs);
    if let Known::Flat(n) = input {
        let msg = format!("{pos} `{}` needs an image, but {}", layer_text(raw), features_before(pos, n));
        errs.push(raw.kind.span(), msg);
        // Either the layer or the input is wrong: the kind of what follows is in doubt.
        return (conv.and_then(|c| c.kind), Known::Nothing);
    }
    let Some(conv) = conv else { return (None, Known::SOME_IMAGE) };
    let output = conv_output(pos, raw, &conv, input, errs);
    (conv.kind, output)
}

/// The arguments of `conv2d(...)`, or `None` when they do not parse.
fn conv_args(pos: &Pos, raw: &RawLayer, next_is_bn: bool, errs: &mut Errors) -> Option<Conv> {
    let syntax = Syntax {
        kind: "conv2d",
        first: "its output channels",
        needs: "its output channels and a kernel",
        example: "conv2d(16, kernel = 3)".to_string(),
        option: "kernel = 3",
        arrow: true,
    };
    let args = layer_args(raw, &syntax, errs)?;
    let stated_in = args.stated_in.and_then(|t| parse_width(&t, "a channel count", errs).map(|n| (t, n)));
    let out = parse_width(&args.first, "a channel count", errs);
    let o = check_options("conv2d", args.options, &CONV_OPTIONS, &BIAS_FLAGS, errs);
    let kernel = o.value("kernel").and_then(|v| parse_pair(v, "kernel", "the kernel size", 1, errs));
    if !o.named.iter().any(|n| n == "kernel") && !o.unknown {
        let msg = "`conv2d` needs a kernel: `kernel = K` or `kernel = (KH, KW)`, e.g. `conv2d(16, kernel = 3)`";
        errs.push(raw.kind.span(), msg);
    }
    let stride = o.value("stride").map_or(Some((1, 1)), |v| parse_pair(v, "stride", "the stride", 1, errs));
    let padding = o.value("padding").map_or(Some((0, 0)), |v| parse_pair(v, "padding", "the padding", 0, errs));
    let padding_ok = match (kernel, padding, o.value("padding")) {
        (Some(kernel), Some(padding), Some(at)) => check_padding(pos, raw, kernel, padding, at, errs),
        _ => true,
    };
    let bias = match o.flag.as_deref() {
        None => !next_is_bn,
        Some(flag) => flag == "bias",
    };
    let kind = match (out, kernel, stride, padding) {
        (Some(out_channels), Some(kernel), Some(stride), Some(padding)) if o.ok && padding_ok => {
            Some(Kind::Conv2d { out_channels, kernel, stride, padding, bias })
        }
        _ => None,
    };
    Some(Conv { kind, stated_in, kernel_at: o.value("kernel").cloned().unwrap_or_default() })
}

/// PyTorch's rule: the padding is at most half the kernel in each direction (more would add
/// windows that see only zeros).
fn check_padding(pos: &Pos, raw: &RawLayer, kernel: Pair, padding: Pair, at: &TokenStream, errs: &mut Errors) -> bool {
    let max = (kernel.0 / 2, kernel.1 / 2);
    if padding.0 <= max.0 && padding.1 <= max.1 {
        return true;
    }
    let msg = format!(
        "{pos} `{}`: padding {} is more than half the {}×{} kernel; PyTorch requires padding ≤ kernel/2, \
         at most {} here",
        layer_text(raw),
        pair_text(padding),
        kernel.0,
        kernel.1,
        pair_text(max)
    );
    errs.push_spanned(at, msg);
    false
}

/// What is known of a conv's output: its channels, and its height and width when its kernel
/// fits the known input; an error when it does not, or when the stated input channels differ
/// from the input's.
fn conv_output(pos: &Pos, raw: &RawLayer, conv: &Conv, input: Known, errs: &mut Errors) -> Known {
    let text = layer_text(raw);
    let (c, hw) = match input {
        Known::Image { c, hw } => (c, hw),
        _ => (None, None),
    };
    if let (Some((at, stated)), Some(c)) = (&conv.stated_in, c) {
        if *stated != c {
            errs.push_spanned(
                at,
                format!("{pos} `{text}` expects {stated} channels, but the previous layer gives {c}"),
            );
        }
    }
    let Some(Kind::Conv2d { out_channels, kernel, stride, padding, .. }) = conv.kind else { return Known::SOME_IMAGE };
    let sizes_unknown = Known::Image { c: Some(out_channels), hw: None };
    if let Some(c) = c.or(conv.stated_in.as_ref().map(|(_, n)| *n)) {
        let weights = volume(c, kernel.0, kernel.1);
        if weights > MAX_WIDTH as u128 {
            let msg = format!(
                "{pos} `{text}`: each filter has {c}×{}×{} = {weights} weights, more than the supported \
                 maximum of {MAX_WIDTH}",
                kernel.0, kernel.1
            );
            errs.push_spanned(&conv.kernel_at, msg);
            return sizes_unknown;
        }
    }
    let Some((h, w)) = hw else { return sizes_unknown };
    let (Some(oh), Some(ow)) = (sweep(h, kernel.0, stride.0, padding.0), sweep(w, kernel.1, stride.1, padding.1))
    else {
        let msg = format!(
            "{pos} `{text}`: {} {}×{} kernel does not fit the {h}×{w} input (padding {})",
            article(kernel.0),
            kernel.0,
            kernel.1,
            pair_text(padding)
        );
        errs.push_spanned(&conv.kernel_at, msg);
        return sizes_unknown;
    };
    if !check_volume(out_channels, (oh, ow), &format!("{pos} `{text}`: its output"), raw.kind.span(), errs) {
        return sizes_unknown;
    }
    Known::Image { c: Some(out_channels), hw: Some((oh, ow)) }
}

/// One size of a pool (its window or its stride): pools are square, so a pair is an error.
fn pool_size(value: &TokenStream, kind: &str, what: &str, example: &str, errs: &mut Errors) -> Option<usize> {
    if tuple_items(value).is_some() {
        errs.push_spanned(value, format!("`{kind}` windows are square: {what} is one number, e.g. `{example}`"));
        return None;
    }
    parse_width(value, what, errs)
}

/// `maxpool(...)` or `avgpool(...)`: its size and stride, and how its window fits the image
/// before it.
pub(super) fn check_pool(
    pos: &Pos,
    raw: &RawLayer,
    pool: Pool,
    input: Known,
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let text = layer_text(raw);
    let (kind, size_at) = pool_args(raw, pool, errs);
    if let Known::Flat(n) = input {
        errs.push(raw.kind.span(), format!("{pos} `{text}` needs an image, but {}", features_before(pos, n)));
        // Either the layer or the input is wrong: the kind of what follows is in doubt.
        return (kind, Known::Nothing);
    }
    let Some(Kind::Pool { size, stride, .. }) = kind else { return (None, Known::SOME_IMAGE) };
    let output = match input {
        Known::Image { c, hw: Some((h, w)) } => match (sweep(h, size, stride, 0), sweep(w, size, stride, 0)) {
            (Some(oh), Some(ow)) => Known::Image { c, hw: Some((oh, ow)) },
            _ => {
                let msg =
                    format!("{pos} `{text}`: {} {size}×{size} window does not fit the {h}×{w} image", article(size));
                errs.push_spanned(&size_at, msg);
                Known::Image { c, hw: None }
            }
        },
        Known::Image { c, hw: None } => Known::Image { c, hw: None },
        _ => Known::SOME_IMAGE,
    };
    (kind, output)
}

/// The kind of a pool when its arguments are valid, and where its window size was written.
fn pool_args(raw: &RawLayer, pool: Pool, errs: &mut Errors) -> (Option<Kind>, TokenStream) {
    let name = pool.name();
    let syntax = Syntax {
        kind: name,
        first: "its window size",
        needs: "its window size",
        example: format!("{name}(2)"),
        option: "stride = 2",
        arrow: false,
    };
    let Some(args) = layer_args(raw, &syntax, errs) else { return (None, TokenStream::new()) };
    let size = pool_size(&args.first, name, "the window size", &syntax.example, errs);
    let o = check_options(name, args.options, &POOL_OPTIONS, &[], errs);
    let stride = match o.value("stride") {
        Some(v) => pool_size(v, name, "the stride", "stride = 2", errs),
        None => size,
    };
    let kind = match (size, stride) {
        (Some(size), Some(stride)) if o.ok => Some(Kind::Pool { pool, size, stride }),
        _ => None,
    };
    (kind, args.first)
}

/// `flatten`: an image's `C·H·W` values as features. Of features, it would do nothing: an
/// error, so that the network says what it computes.
pub(super) fn check_flatten(pos: &Pos, raw: &RawLayer, input: Known, errs: &mut Errors) -> (Option<Kind>, Known) {
    let output = match input {
        Known::Flat(n) => {
            let features = n.map_or_else(|| "features".to_string(), |n| format!("{n} features"));
            let before = match (pos.number, pos.in_block()) {
                (1, false) => format!("the input is already {features}"),
                (1, true) => format!("the block's input is already {features}"),
                _ => format!("the previous layer already gives {features}"),
            };
            errs.push(
                raw.kind.span(),
                format!("{pos} `{}`: {before}, so `flatten` would do nothing; remove it", layer_text(raw)),
            );
            Known::Flat(n)
        }
        known => Known::Flat(known.len()),
    };
    if let Some((span, _)) = &raw.args {
        errs.push(*span, "`flatten` takes no arguments");
        return (None, Known::Flat(None));
    }
    (Some(Kind::Flatten), output)
}

/// `global_avgpool`: the mean of each channel of an image over its pixels, `C` features.
pub(super) fn check_global_avgpool(
    pos: &Pos,
    raw: &RawLayer,
    input: Known,
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let mut ok = true;
    if let Some((span, _)) = &raw.args {
        errs.push(*span, "`global_avgpool` takes no arguments: it averages each channel over all its pixels");
        ok = false;
    }
    match input {
        Known::Flat(n) => {
            let msg = format!("{pos} `{}` needs an image, but {}", layer_text(raw), features_before(pos, n));
            errs.push(raw.kind.span(), msg);
            (None, Known::Flat(None))
        }
        Known::Image { c, .. } => (ok.then_some(Kind::GlobalAvgPool), Known::Flat(c)),
        Known::Nothing => (ok.then_some(Kind::GlobalAvgPool), Known::Flat(None)),
    }
}
