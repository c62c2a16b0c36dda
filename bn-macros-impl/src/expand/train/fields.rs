//! The fields of the network type, of its gradients and of its workspace.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::layout::{a, argmax, buffers, c, conv_block, d, dx, fused_with_relu, mask, s, skips_input_gradient};
use crate::model::{Kind, Layer, Model, Pool};
use crate::tokens::{conv_geometry, p, width_ty, Names};

/// The doc of a layer's field in the network type.
fn layer_doc(index: usize, l: &Layer) -> String {
    let extra = match l.kind {
        Kind::Dense { bias: false, .. } | Kind::Conv2d { bias: false, .. } => ", no bias",
        _ => "",
    };
    format!("Layer {} `{}`: {} → {}{extra}.", index + 1, l.text, l.input.show(), l.output().show())
}

/// The type of a parameter layer's field in the network type (and of its gradients), or
/// `None` for a layer without parameters.
fn param_types(l: &Layer, t: &Ident) -> Option<(TokenStream, TokenStream)> {
    let p = p();
    match l.kind {
        Kind::Dense { bias, .. } => {
            let (wi, wo) = (width_ty(l.input.len()), width_ty(l.output().len()));
            let ty = quote!(#p::Dense<#wi, #wo, #t, #bias>);
            Some((ty.clone(), ty))
        }
        Kind::Conv2d { bias, .. } => {
            let g = conv_geometry(l);
            let ty = quote!(#p::Conv2d<#g, #t, #bias>);
            Some((ty.clone(), ty))
        }
        Kind::BatchNorm { .. } => {
            let wc = width_ty(l.input.channels());
            Some((quote!(#p::BatchNorm<#wc, #t>), quote!(#p::BatchNormGrads<#wc, #t>)))
        }
        Kind::LayerNorm { affine, .. } => {
            let w = width_ty(l.input.len());
            Some((quote!(#p::LayerNorm<#w, #t, #affine>), quote!(#p::LayerNormGrads<#w, #t>)))
        }
        Kind::Activation(_) | Kind::Pool { .. } | Kind::Flatten | Kind::Dropout { .. } => None,
    }
}

/// The fields of the network type and of its gradients type, and the assertions that every
/// field type is `Zeroable`.
pub(crate) fn param_fields(m: &Model) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>) {
    let p = p();
    let t = &m.scalar;
    let mut fields = Vec::new();
    let mut grad_fields = Vec::new();
    let mut zero_checks = Vec::new();
    for (i, l) in m.layers.iter().enumerate() {
        let Some((ty, gty)) = param_types(l, t) else { continue };
        let f = &l.field;
        let doc = layer_doc(i, l);
        fields.push(quote!(#[doc = #doc] pub #f: #ty,));
        let gdoc = match l.kind {
            Kind::BatchNorm { .. } | Kind::LayerNorm { .. } => format!("Gradients of `{f}` (γ and β)."),
            _ => format!("Gradients of `{f}` (`weight`; `bias` stays zero without a bias)."),
        };
        grad_fields.push(quote!(#[doc = #gdoc] pub #f: #gty,));
        zero_checks.push(match l.kind {
            Kind::BatchNorm { .. } | Kind::LayerNorm { .. } => {
                quote!(#p::assert_zeroable::<#ty>(); #p::assert_zeroable::<#gty>();)
            }
            _ => quote!(#p::assert_zeroable::<#ty>();),
        });
    }
    (fields, grad_fields, zero_checks)
}

/// The workspace's fields (`a{k}` = output of layer k, `d{k}` = ∂ℓ/∂a{k}, `c{k}` = BN
/// statistics, `s{k}` = a conv's column buffers; `dx` = ∂ℓ/∂x unless the first computing
/// layer is dense or conv), and the assertions that their types are `Zeroable`.
pub(crate) fn workspace_fields(m: &Model, n: &Names) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let p = p();
    let Names { in_ty, .. } = n;
    let Model { scalar: t, layers, .. } = m;
    let bufs = buffers(layers);
    let mut ws_fields = Vec::new();
    let mut ws_checks = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let k = i;
        if bufs[i] == Some(k) {
            let wo = width_ty(l.output().len());
            let (ak, dk) = (a(k), d(k));
            // The ReLU of a `conv2d, batchnorm, relu, maxpool` block: layers `k − 2 ..= k + 1`.
            let in_block = (i >= 2 && conv_block(layers, i - 2)).then_some(2);
            let adoc = match in_block {
                Some(back) => format!(
                    "Output of layer {k} (`{}`) in `forward_eval`. Training runs layers {}–{} (`{}` to `{}`) \
                     as one block, a sample at a time, and does not store it (its first sample is scratch).",
                    l.field,
                    k - back,
                    k - back + 3,
                    layers[i - back].field,
                    layers[i - back + 3].field
                ),
                None if i > 0 && fused_with_relu(layers, i - 1) => format!(
                    "Output of layer {k} (`{}`), fused with layer {} (`{}`): its output is not stored.",
                    l.field,
                    k - 1,
                    layers[i - 1].field
                ),
                None => format!("Output of layer {k} (`{}`).", l.field),
            };
            let ddoc = match in_block {
                Some(_) => format!(
                    "`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}: not stored in training (a \
                     block's scratch, see `a{k}`)."
                ),
                None if conv_block(layers, i) => format!(
                    "`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}: not written in training (its \
                     block computes it a sample at a time)."
                ),
                None => format!("`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}."),
            };
            ws_fields.push(
                quote!(#[doc = #adoc] pub #ak: #p::Batch<B, #wo, #t>, #[doc = #ddoc] pub #dk: #p::Batch<B, #wo, #t>,),
            );
            ws_checks.push(quote!(#p::assert_zeroable::<#p::Batch<B, #wo, #t>>();));
        }
        match l.kind {
            Kind::BatchNorm { .. } => {
                let ck = c(k);
                let cdoc = format!("Batch statistics of layer {k} (`{}`).", l.field);
                let wc = width_ty(l.input.channels());
                ws_fields.push(quote!(#[doc = #cdoc] pub #ck: #p::BatchNormCache<#wc, #t>,));
                ws_checks.push(quote!(#p::assert_zeroable::<#p::BatchNormCache<#wc, #t>>();));
            }
            Kind::LayerNorm { .. } => {
                let ck = c(k);
                let cdoc = format!("Per-sample statistics of layer {k} (`{}`).", l.field);
                ws_fields.push(quote!(#[doc = #cdoc] pub #ck: #p::LayerNormCache<B, #t>,));
                ws_checks.push(quote!(#p::assert_zeroable::<#p::LayerNormCache<B, #t>>();));
            }
            Kind::Dropout { .. } => {
                let mk = mask(k);
                let mdoc = format!("The mask of layer {k} (`{}`): 0 or 1/(1 − p) per value.", l.field);
                let wo = width_ty(l.output().len());
                ws_fields.push(quote!(#[doc = #mdoc] pub #mk: #p::Batch<B, #wo, #t>,));
            }
            Kind::Pool { pool: Pool::Max, .. } => {
                let ik = argmax(k);
                let idoc = format!("Where each output of layer {k} (`{}`) came from.", l.field);
                let wo = width_ty(l.output().len());
                ws_fields.push(quote!(#[doc = #idoc] pub #ik: #p::Batch<B, #wo, #t>,));
                ws_checks.push(quote!(#p::assert_zeroable::<#p::Batch<B, #wo, #t>>();));
            }
            Kind::Conv2d { .. } => {
                let sk = s(k);
                let sdoc = format!("The buffers of layer {k} (`{}`), a convolution.", l.field);
                let g = conv_geometry(l);
                ws_fields.push(quote!(#[doc = #sdoc] pub #sk: #p::Conv2dScratch<#g, #t>,));
                ws_checks.push(quote!(#p::assert_zeroable::<#p::Conv2dScratch<#g, #t>>();));
            }
            _ => {}
        }
    }
    if layers.iter().any(|l| matches!(l.kind, Kind::Dropout { .. })) {
        ws_fields.push(quote! {
            /// The random state of the dropout masks (`Trainer::seed` sets it): each
            /// training forward draws every mask from `Rng::seed(dropout_state)`, then
            /// advances it.
            pub dropout_state: u64,
        });
    }
    // The first layer that computes something reads the network's input.
    let first = (0..layers.len()).find(|&i| bufs[i] == Some(i));
    if first.is_some_and(|i| !skips_input_gradient(&layers[i])) {
        let dx = dx();
        ws_fields.push(
            quote!(#[doc = "`∂ℓ/∂x`, the gradient with respect to the input."] pub #dx: #p::Batch<B, #in_ty, #t>,),
        );
    }
    (ws_fields, ws_checks)
}
