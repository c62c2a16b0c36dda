//! Where each layer's buffers live in the workspace, and which layers run fused.
//!
//! The buffers of layer `k` (0-based, the index in its default field name: `dense0`,
//! `batchnorm1`, …) are numbered `k` too: its output `a{k}`, the gradient `d{k}` with
//! respect to it, its statistics `c{k}`, a conv's buffers `s{k}`, a dropout's mask `m{k}`, a
//! max pool's argmax `i{k}`; `dx` is the gradient with respect to the network's input.
//!
//! A residual block's branches are sequences of their own ([`Seq`]), with their buffers in
//! the block's workspace (`ws.residual3.body.a0`, …), numbered within the branch. Both read
//! the block's input; the block writes its output `a{k}` (or, fused with the ReLU after it,
//! the ReLU's). The gradient of the block's output `d{k}` is the gradient of both branches'
//! outputs, so the branches have no buffer for it: their last layers read the block's. The
//! body writes the gradient of the block's input; the shortcut writes its own `dx`, which the
//! block then adds (the identity adds `d{k}`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Act, Kind, Layer, Pool, Shape};
use crate::tokens::Scope;

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

/// Whether layer `i` is a BN over images, or a residual block, right before a ReLU: the two
/// run fused (bn-core's `forward_train_channels` and `backward_channels` with `Fused::ReLU`;
/// `Residual::add_relu` and `relu_backward`), and the output before the ReLU is never stored.
pub(super) fn fused_with_relu(layers: &[Layer], i: usize) -> bool {
    let bn_or_block = match layers[i].kind {
        Kind::BatchNorm { .. } => matches!(layers[i].input, Shape::Image { .. }),
        Kind::Residual(_) => true,
        _ => false,
    };
    bn_or_block && layers.get(i + 1).is_some_and(|next| matches!(next.kind, Kind::Activation(Act::ReLU)))
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
/// layer's own index, or `None` for the sequence's input itself. `flatten` computes nothing:
/// its output is its input's buffer (unless every layer is a `flatten`: then the last one
/// copies, so that the output has a buffer). A BN or a block fused with the ReLU after it
/// writes the ReLU's buffer.
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

/// Whether the layer takes an optional `dx` and computes none for the network's input (a
/// block passes that on to its branches).
pub(super) fn skips_input_gradient(l: &Layer) -> bool {
    matches!(
        l.kind,
        Kind::Dense { .. } | Kind::Conv2d { .. } | Kind::LayerNorm { .. } | Kind::GroupNorm { .. } | Kind::Residual(_)
    )
}

/// The activation that the output of a linear layer at `i` meets first (looking past BN,
/// normalizations, dropout, pools, `flatten` and blocks), `then` if none in `layers`: its
/// default initialization is He before a ReLU, Xavier otherwise (a linear layer counts as
/// a sigmoid).
pub(super) fn next_activation(layers: &[Layer], i: usize, then: Option<Act>) -> Option<Act> {
    layers[i + 1..]
        .iter()
        .find_map(|next| match next.kind {
            Kind::Activation(act) => Some(act),
            Kind::Dense { .. } | Kind::Conv2d { .. } => Some(Act::Sigmoid),
            Kind::BatchNorm { .. }
            | Kind::LayerNorm { .. }
            | Kind::GroupNorm { .. }
            | Kind::Dropout { .. }
            | Kind::Pool { .. }
            | Kind::GlobalAvgPool
            | Kind::Flatten
            | Kind::Residual(_) => None,
        })
        .or(then)
}

/// Where the gradient with respect to a sequence's input goes.
#[derive(Clone)]
pub(super) enum DInput {
    /// Nowhere: the input is the network's. The layers that can skip it do; the others write
    /// the sequence's own `dx`.
    Unwanted,
    /// The sequence's own `dx`, which its block then adds into the gradient of the block's
    /// input (a shortcut's).
    Own,
    /// This place (a body's: the gradient of its block's input).
    Parent(TokenStream),
}

/// A sequence of layers as training sees it: the network's, or a branch of a block.
pub(super) struct Seq<'a> {
    pub(super) layers: &'a [Layer],
    pub(super) scope: Scope,
    /// The input, as an expression of type `&Batch` (`x`, `&ws.a2`).
    pub(super) input: TokenStream,
    pub(super) dinput: DInput,
    /// The gradient of the sequence's output when its block provides it (a place, `ws.d3`):
    /// the sequence then has no buffer of its own for it.
    pub(super) dout: Option<TokenStream>,
    /// The activation after the sequence, for the default initialization of its last layers.
    pub(super) then: Option<Act>,
    /// [`buffers`] of the layers.
    pub(super) bufs: Vec<Option<usize>>,
}

impl<'a> Seq<'a> {
    /// The network's own layers.
    pub(super) fn top(layers: &'a [Layer], scope: Scope) -> Self {
        Seq { layers, scope, input: quote!(x), dinput: DInput::Unwanted, dout: None, then: None, bufs: buffers(layers) }
    }

    /// The workspace field `field` of this sequence, as a place.
    pub(super) fn ws(&self, field: &Ident) -> TokenStream {
        let path = &self.scope.path;
        quote!(ws #path.#field)
    }

    /// The buffer holding the sequence's output.
    pub(super) fn last_buf(&self) -> Option<usize> {
        self.bufs.last().copied().flatten()
    }

    /// The place of the output buffer `a{k}`.
    pub(super) fn out(&self, k: usize) -> TokenStream {
        self.ws(&a(k))
    }

    /// The place of the gradient `d{k}` of buffer `k`: the block's, for the sequence's
    /// output in a branch.
    pub(super) fn grad(&self, k: usize) -> TokenStream {
        match &self.dout {
            Some(dout) if Some(k) == self.last_buf() => dout.clone(),
            _ => self.ws(&d(k)),
        }
    }

    /// Whether the workspace holds `d{k}` for the output buffer `k`.
    pub(super) fn owns_grad(&self, k: usize) -> bool {
        self.dout.is_none() || Some(k) != self.last_buf()
    }

    /// The input of layer `i` (an expression of type `&Batch`), where `∂ℓ/∂input` goes (of
    /// type `&mut Batch`), and whether anyone needs that gradient (else a layer that can
    /// skip it does).
    pub(super) fn input_of(&self, i: usize) -> (TokenStream, TokenStream, bool) {
        match if i == 0 { None } else { self.bufs[i - 1] } {
            Some(j) => {
                let (aj, dj) = (self.out(j), self.grad(j));
                (quote!(&#aj), quote!(&mut #dj), true)
            }
            None => {
                let input = self.input.clone();
                match &self.dinput {
                    DInput::Parent(dx) => (input, dx.clone(), true),
                    DInput::Own => {
                        let dx = self.ws(&dx());
                        (input, quote!(&mut #dx), true)
                    }
                    DInput::Unwanted => {
                        let dx = self.ws(&dx());
                        (input, quote!(&mut #dx), false)
                    }
                }
            }
        }
    }

    /// Whether the sequence's workspace has its own `dx`: a shortcut's, or where the
    /// network's input needs a buffer for a gradient that nobody reads (the first layer that
    /// computes something cannot skip it).
    pub(super) fn owns_dx(&self) -> bool {
        match self.dinput {
            DInput::Own => true,
            DInput::Parent(_) => false,
            DInput::Unwanted => {
                // The first layer that computes something (not a `flatten` of the input).
                let first = (0..self.layers.len()).find(|&i| self.bufs[i].is_some());
                first.is_some_and(|i| !skips_input_gradient(&self.layers[i]))
            }
        }
    }

    /// The place of the gradient of block `i`'s output (before the ReLU it is fused with).
    pub(super) fn block_grad(&self, i: usize) -> TokenStream {
        if fused_with_relu(self.layers, i) {
            self.ws(&d(i))
        } else {
            self.grad(i)
        }
    }

    /// The branches of block `i` (a residual layer of this sequence), as sequences.
    pub(super) fn branches(&self, i: usize) -> (Seq<'a>, Option<Seq<'a>>) {
        let l = &self.layers[i];
        let Kind::Residual(block) = &l.kind else { unreachable!("a residual block") };
        let scope = self.scope.block(i, &l.field);
        let (input, dx, wanted) = self.input_of(i);
        let dout = Some(self.block_grad(i));
        let then = next_activation(self.layers, i, self.then);
        let branch = |layers: &'a [Layer], name: &str, dinput: DInput| Seq {
            layers,
            scope: scope.branch(name),
            input: input.clone(),
            dinput,
            dout: dout.clone(),
            then,
            bufs: buffers(layers),
        };
        let body = branch(&block.body, "body", if wanted { DInput::Parent(dx) } else { DInput::Unwanted });
        let shortcut = block
            .shortcut
            .as_deref()
            .map(|s| branch(s, "shortcut", if wanted { DInput::Own } else { DInput::Unwanted }));
        (body, shortcut)
    }
}
