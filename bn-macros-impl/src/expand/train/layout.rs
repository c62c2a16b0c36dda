//! Where each layer's buffers live in the workspace, and which layers run fused.
//!
//! The buffers of layer `k` (0-based, the index in its default field name: `dense0`,
//! `batchnorm1`, …) are numbered `k` too: its output `a{k}`, the gradient `d{k}` with
//! respect to it, its statistics `c{k}`, a conv's buffers `s{k}`, a dropout's mask `m{k}`, a
//! max pool's argmax `i{k}`; `dx` is the gradient with respect to the network's input.

use quote::format_ident;
use syn::Ident;

use crate::model::{Act, Kind, Layer, Pool, Shape};

/// The workspace field `a{k}`: the output of layer `k`.
pub(super) fn a(k: usize) -> Ident {
    format_ident!("a{}", k)
}

/// The workspace field `d{k}`: the gradient with respect to `a{k}`.
pub(super) fn d(k: usize) -> Ident {
    format_ident!("d{}", k)
}

/// The workspace field `dx`: the gradient with respect to the network's input.
pub(super) fn dx() -> Ident {
    format_ident!("dx")
}

/// The workspace field `c{k}`: the batch statistics of layer `k`, a BN.
pub(super) fn c(k: usize) -> Ident {
    format_ident!("c{}", k)
}

/// The workspace field `s{k}`: the column buffers of layer `k`, a conv.
pub(super) fn s(k: usize) -> Ident {
    format_ident!("s{}", k)
}

/// The workspace field `i{k}`: where each output of layer `k`, a max pool, came from.
pub(super) fn argmax(k: usize) -> Ident {
    format_ident!("i{}", k)
}

/// The workspace field `m{k}`: the mask of layer `k`, a dropout.
pub(super) fn mask(k: usize) -> Ident {
    format_ident!("m{}", k)
}

/// Whether layer `i` is a BN over images right before a ReLU: the two run fused (bn-core's
/// `forward_train_channels` and `backward_channels` with `Fused::ReLU`), and the BN's
/// output is never stored.
pub(super) fn fused_with_relu(layers: &[Layer], i: usize) -> bool {
    matches!(layers[i].kind, Kind::BatchNorm { .. })
        && matches!(layers[i].input, Shape::Image { .. })
        && layers.get(i + 1).is_some_and(|next| matches!(next.kind, Kind::Activation(Act::ReLU)))
}

/// Whether layers `i..i + 4` are `conv2d, batchnorm, relu, maxpool` (the BN over the
/// conv's image, not renormalizing): they train as one block, a sample at a time (bn-core's
/// `ConvBlock`).
pub(super) fn conv_block(layers: &[Layer], i: usize) -> bool {
    let kind = |j: usize| layers.get(j).map(|l| &l.kind);
    matches!(kind(i), Some(Kind::Conv2d { .. }))
        && matches!(kind(i + 1), Some(Kind::BatchNorm { renorm: None, .. }))
        && matches!(kind(i + 2), Some(Kind::Activation(Act::ReLU)))
        && matches!(kind(i + 3), Some(Kind::Pool { pool: Pool::Max, .. }))
}

/// Where each layer's output lives in the workspace: `Some(k)` for `a{k}`, usually the
/// layer's own index, or `None` for the network's input itself. `flatten` computes nothing:
/// its output is its input's buffer (unless every layer is a `flatten`: then the last one
/// copies, so that the output has a buffer). A BN fused with the ReLU after it writes the
/// ReLU's buffer.
pub(super) fn buffers(layers: &[Layer]) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(layers.len());
    let mut cur = None;
    for (i, l) in layers.iter().enumerate() {
        let alias = matches!(l.kind, Kind::Flatten) && !(i + 1 == layers.len() && cur.is_none());
        if fused_with_relu(layers, i) {
            cur = Some(i + 1);
        } else if !alias {
            cur = Some(i);
        }
        out.push(cur);
    }
    out
}

/// Whether the layer takes an optional `dx` and computes none for the network's input.
pub(super) fn skips_input_gradient(l: &Layer) -> bool {
    matches!(l.kind, Kind::Dense { .. } | Kind::Conv2d { .. } | Kind::LayerNorm { .. })
}
