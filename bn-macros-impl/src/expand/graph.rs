//! Code generation for bn-core's `Graph`: the layers of the network type and of the folded
//! type as constant data (`NODES`), each with its input shape, its options, its field path
//! and the `state_dict` key of its tensors (the same keys as `io`'s `StateDict` impls). ONNX
//! export reads it. One constant per layer; no behaviour.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use syn::ext::IdentExt;

use crate::model::{Act, Kind, Layer, Model, Pool, Shape};
use crate::plan::Folded;
use crate::tokens::{lit, p, state_dict_key, Names};

/// Where a sequence's layers are: the prefix of their keys (`3.body.`) and of their field
/// paths (`residual3.body.`).
#[derive(Clone, Default)]
struct Prefix {
    key: String,
    name: String,
}

impl Prefix {
    /// The prefix of a block's branch.
    fn branch(&self, key: &str, name: &str, branch: &str) -> Prefix {
        Prefix { key: format!("{}{key}.{branch}.", self.key), name: format!("{}{name}.{branch}.", self.name) }
    }
}

fn dims(s: Shape) -> TokenStream {
    let p = p();
    match s {
        Shape::Flat(n) => {
            let n = lit(n);
            quote!(#p::Dims::Flat(#n))
        }
        Shape::Image { c, h, w } => {
            let (c, h, w) = (lit(c), lit(h), lit(w));
            quote!(#p::Dims::Image { c: #c, h: #h, w: #w })
        }
    }
}

fn pair((a, b): (usize, usize)) -> TokenStream {
    let (a, b) = (lit(a), lit(b));
    quote!([#a, #b])
}

/// A `Node` literal.
fn node(pre: &Prefix, name: &str, key: &str, (input, output): (Shape, Shape), op: TokenStream) -> TokenStream {
    let p = p();
    let (name, key) = (format!("{}{name}", pre.name), format!("{}{key}", pre.key));
    let (input, output) = (dims(input), dims(output));
    quote!(#p::Node { name: #name, key: #key, input: #input, output: #output, op: #op })
}

/// The op of a layer of the trained network (a block's branches given as `body`/`shortcut`).
fn op(l: &Layer, bias_override: Option<bool>) -> TokenStream {
    let p = p();
    let f = Literal::f64_suffixed;
    match &l.kind {
        Kind::Dense { output, bias } => {
            let (output, bias) = (lit(*output), bias_override.unwrap_or(*bias));
            quote!(#p::Op::Dense { output: #output, bias: #bias })
        }
        Kind::Conv2d { out_channels, kernel, stride, padding, bias } => {
            let (out, bias) = (lit(*out_channels), bias_override.unwrap_or(*bias));
            let (kernel, stride, padding) = (pair(*kernel), pair(*stride), pair(*padding));
            quote!(#p::Op::Conv2d { out_channels: #out, kernel: #kernel, stride: #stride, padding: #padding, bias: #bias })
        }
        Kind::BatchNorm { eps, affine, .. } => {
            let eps = f(*eps);
            quote!(#p::Op::BatchNorm { eps: #eps, affine: #affine })
        }
        Kind::LayerNorm { eps, affine } => {
            let eps = f(*eps);
            quote!(#p::Op::LayerNorm { eps: #eps, affine: #affine })
        }
        Kind::GroupNorm { groups, eps, affine } => {
            let (groups, eps) = (lit(*groups), f(*eps));
            quote!(#p::Op::GroupNorm { groups: #groups, eps: #eps, affine: #affine })
        }
        Kind::Dropout { p: prob } => {
            let prob = f(*prob);
            quote!(#p::Op::Dropout { p: #prob })
        }
        Kind::Activation(Act::Sigmoid) => quote!(#p::Op::Sigmoid),
        Kind::Activation(Act::ReLU) => quote!(#p::Op::ReLU),
        Kind::Activation(Act::Tanh) => quote!(#p::Op::Tanh),
        Kind::Pool { pool, size, stride } => {
            let (size, stride) = (lit(*size), lit(*stride));
            match pool {
                Pool::Max => quote!(#p::Op::MaxPool { size: #size, stride: #stride }),
                Pool::Avg => quote!(#p::Op::AvgPool { size: #size, stride: #stride }),
            }
        }
        Kind::GlobalAvgPool => quote!(#p::Op::GlobalAvgPool),
        Kind::Flatten => quote!(#p::Op::Flatten),
        Kind::Residual(_) => unreachable!("blocks are walked by their sequence"),
    }
}

fn residual(body: TokenStream, shortcut: Option<TokenStream>) -> TokenStream {
    let p = p();
    let shortcut = match shortcut {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    quote!(#p::Op::Residual { body: #body, shortcut: #shortcut })
}

/// The nodes of a sequence of the trained network, as a `&[Node]` expression.
fn training_nodes(layers: &[Layer], pre: &Prefix) -> TokenStream {
    let nodes = layers.iter().enumerate().map(|(i, l)| {
        let (key, name) = (state_dict_key(i, l), l.field.unraw().to_string());
        let op = match &l.kind {
            Kind::Residual(block) => {
                let body = training_nodes(&block.body, &pre.branch(&key, &name, "body"));
                let shortcut =
                    block.shortcut.as_deref().map(|s| training_nodes(s, &pre.branch(&key, &name, "shortcut")));
                residual(body, shortcut)
            }
            _ => op(l, None),
        };
        node(pre, &name, &key, (l.input, l.output()), op)
    });
    quote!(&[#(#nodes),*])
}

fn shapes(fl: &Folded) -> (Shape, Shape) {
    (fl.input(), fl.output())
}

/// The nodes of a folded plan, as a `&[Node]` expression (keys as the folded `StateDict`'s:
/// renumbered, names kept).
fn folded_nodes(plan: &[Folded], pre: &Prefix) -> TokenStream {
    let p = p();
    let nodes = plan.iter().enumerate().map(|(i, fl)| match fl {
        Folded::Linear { src, .. } => {
            node(pre, &src.field.unraw().to_string(), &state_dict_key(i, src), shapes(fl), op(src, Some(true)))
        }
        Folded::Affine { bns } => {
            let op = match bns[0].input {
                Shape::Image { .. } => quote!(#p::Op::ChannelAffine),
                Shape::Flat(_) => quote!(#p::Op::DiagonalAffine),
            };
            node(pre, &bns[0].field.unraw().to_string(), &state_dict_key(i, bns[0]), shapes(fl), op)
        }
        Folded::Kept(l) => node(pre, &l.field.unraw().to_string(), &state_dict_key(i, l), shapes(fl), op(l, None)),
        Folded::Plain(l) => node(pre, &l.field.unraw().to_string(), &i.to_string(), shapes(fl), op(l, None)),
        Folded::Block { src, body, shortcut, .. } => {
            let (key, name) = (state_dict_key(i, src), src.field.unraw().to_string());
            let body = folded_nodes(body, &pre.branch(&key, &name, "body"));
            let shortcut = shortcut.as_deref().map(|s| folded_nodes(s, &pre.branch(&key, &name, "shortcut")));
            node(pre, &name, &key, shapes(fl), residual(body, shortcut))
        }
    });
    quote!(&[#(#nodes),*])
}

/// The `Graph` impls of the network type and of the folded type.
pub(crate) fn graphs(m: &Model, n: &Names, plan: &[Folded]) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, .. } = n;
    let input = dims(m.input);
    let (train, fold) = (training_nodes(&m.layers, &Prefix::default()), folded_nodes(plan, &Prefix::default()));
    quote! {
        #cfgs
        impl #p::SealedGraph for #name {}
        #cfgs
        impl #p::Graph for #name {
            const INPUT: #p::Dims = #input;
            const NODES: &'static [#p::Node] = #train;
        }
        #cfgs
        impl #p::SealedGraph for #folded {}
        #cfgs
        impl #p::Graph for #folded {
            const INPUT: #p::Dims = #input;
            const NODES: &'static [#p::Node] = #fold;
        }
    }
}
