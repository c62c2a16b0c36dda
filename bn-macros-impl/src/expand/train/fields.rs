//! The fields of the network type, of its gradients and of its workspace, and the types of
//! its residual blocks and their branches (which hold their layers' fields the same way).

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::layout::{a, argmax, c, conv_block, d, dx, fused_with_relu, mask, s, Seq};
use crate::model::{Kind, Layer, Model, Pool};
use crate::tokens::{conv_geometry, groupnorm_geometry, nested_struct, p, width_ty, Names, Part, Scope};

/// The doc of a layer's field in the network type.
fn layer_doc(index: usize, l: &Layer, scope: &Scope) -> String {
    let extra = match l.kind {
        Kind::Dense { bias: false, .. } | Kind::Conv2d { bias: false, .. } => ", no bias",
        _ => "",
    };
    let within =
        if scope.shown.is_empty() { String::new() } else { format!(" of `{}`", scope.shown.trim_end_matches('.')) };
    match l.kind {
        Kind::Residual(_) => format!(
            "Layer {}{within} `residual`: {} → {}, its `body` and `shortcut`.",
            index + 1,
            l.input.show(),
            l.output().show()
        ),
        _ => format!("Layer {}{within} `{}`: {} → {}{extra}.", index + 1, l.text, l.input.show(), l.output().show()),
    }
}

/// The type of a parameter layer's field in the network type (and of its gradients), or
/// `None` for a layer without parameters. (A block's types are its own, see [`Fields`].)
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
        Kind::GroupNorm { affine, .. } => {
            let (wc, g, _) = groupnorm_geometry(l);
            Some((quote!(#p::GroupNorm<#wc, #g, #t, #affine>), quote!(#p::GroupNormGrads<#wc, #t>)))
        }
        Kind::Activation(_)
        | Kind::Pool { .. }
        | Kind::Flatten
        | Kind::Dropout { .. }
        | Kind::GlobalAvgPool
        | Kind::Residual(_) => None,
    }
}

/// The fields of one part of a sequence's types, the types of its blocks and branches
/// (nested items), and the assertions that every field type of bn-core is `Zeroable`.
#[derive(Default)]
pub(crate) struct Fields {
    pub(crate) fields: Vec<TokenStream>,
    pub(crate) grads: Vec<TokenStream>,
    pub(crate) checks: Vec<TokenStream>,
    pub(crate) items: TokenStream,
}

/// The fields of the network type and of its gradients type (with the types of its blocks),
/// and the assertions that every field type is `Zeroable`.
pub(crate) fn param_fields(m: &Model, n: &Names) -> Fields {
    let mut out = Fields::default();
    param_fields_of(&m.layers, &Scope::top(&m.name), n, &mut out);
    out
}

/// [`param_fields`] of the sequence `layers` in `scope` (the network's, or a branch's),
/// into `out`.
fn param_fields_of(layers: &[Layer], scope: &Scope, n: &Names, out: &mut Fields) {
    let p = p();
    let t = &n.scalar;
    for (i, l) in layers.iter().enumerate() {
        let f = &l.field;
        let doc = layer_doc(i, l, scope);
        if let Kind::Residual(block) = &l.kind {
            let bs = scope.block(i, f);
            let (ty, gty) = (bs.part(Part::Net), bs.part(Part::Grads));
            out.fields.push(quote!(#[doc = #doc] pub #f: #ty,));
            let gdoc = format!("Gradients of `{f}`, branch by branch.");
            out.grads.push(quote!(#[doc = #gdoc] pub #f: #gty,));
            let (mut fields, mut grads) = (Vec::new(), Vec::new());
            for (name, branch) in [("body", Some(&block.body)), ("shortcut", block.shortcut.as_ref())] {
                let Some(branch) = branch else { continue };
                let s = bs.branch(name);
                let mut inner = Fields::default();
                param_fields_of(branch, &s, n, &mut inner);
                let field = quote::format_ident!("{}", name);
                let (sty, sgty) = (s.part(Part::Net), s.part(Part::Grads));
                let what = if name == "body" { "The body" } else { "The shortcut" };
                let (bdoc, bgdoc) = (format!("{what}: its layers."), format!("{what}'s gradients."));
                fields.push(quote!(#[doc = #bdoc] pub #field: #sty,));
                grads.push(quote!(#[doc = #bgdoc] pub #field: #sgty,));
                let shown = s.shown.trim_end_matches('.');
                let sdoc = format!("The layers of `{shown}` (a branch of a residual block of [`{}`]).", n.name);
                let sgdoc = format!("The gradients of `{shown}`.");
                out.items.extend(nested_struct(n, Part::Net, &sty, &sdoc, &inner.fields));
                out.items.extend(nested_struct(n, Part::Grads, &sgty, &sgdoc, &inner.grads));
                out.items.extend(inner.items);
                out.checks.extend(inner.checks);
            }
            let shown = bs.shown.trim_end_matches('.');
            let bdoc = format!(
                "The residual block `{shown}` of [`{}`]: `y = body(x) + {}`.",
                n.name,
                if block.shortcut.is_some() { "shortcut(x)" } else { "x" }
            );
            out.items.extend(nested_struct(n, Part::Net, &ty, &bdoc, &fields));
            out.items.extend(nested_struct(n, Part::Grads, &gty, &format!("The gradients of `{shown}`."), &grads));
            continue;
        }
        let Some((ty, gty)) = param_types(l, t) else { continue };
        out.fields.push(quote!(#[doc = #doc] pub #f: #ty,));
        let gdoc = match l.kind {
            Kind::BatchNorm { .. } | Kind::LayerNorm { .. } | Kind::GroupNorm { .. } => {
                format!("Gradients of `{f}` (γ and β).")
            }
            _ => format!("Gradients of `{f}` (`weight`; `bias` stays zero without a bias)."),
        };
        out.grads.push(quote!(#[doc = #gdoc] pub #f: #gty,));
        out.checks.push(match l.kind {
            Kind::BatchNorm { .. } | Kind::LayerNorm { .. } | Kind::GroupNorm { .. } => {
                quote!(#p::assert_zeroable::<#ty>(); #p::assert_zeroable::<#gty>();)
            }
            _ => quote!(#p::assert_zeroable::<#ty>();),
        });
    }
}

/// The workspace's fields (`a{k}` = output of layer k, `d{k}` = ∂ℓ/∂a{k}, `c{k}` = BN
/// statistics, `s{k}` = a conv's column buffers; `dx` = ∂ℓ/∂x unless the first computing
/// layer is dense or conv), the workspace types of the blocks and branches, and the
/// assertions that the buffers' types are `Zeroable`.
pub(crate) fn workspace_fields(m: &Model, n: &Names) -> Fields {
    let mut out = Fields::default();
    let seq = Seq::top(&m.layers, Scope::top(&m.name));
    workspace_fields_of(&seq, n, &mut out);
    if m.has_dropout() {
        out.fields.push(quote! {
            /// The random state of the dropout masks (`Trainer::seed` sets it): each
            /// training forward draws every mask from `Rng::seed(dropout_state)`, then
            /// advances it.
            pub dropout_state: u64,
        });
    }
    input_gradient_field(&seq, n, &mut out);
    out
}

/// The sequence's own `dx`, if it has one (see [`Seq::owns_dx`]).
fn input_gradient_field(seq: &Seq, n: &Names, out: &mut Fields) {
    let p = p();
    let t = &n.scalar;
    if seq.owns_dx() {
        let (dx, w) = (dx(), width_ty(seq.layers.first().map_or(0, |l| l.input.len())));
        let doc = if seq.scope.shown.is_empty() {
            "`∂ℓ/∂x`, the gradient with respect to the input."
        } else {
            "`∂ℓ/∂x`, the gradient of this branch with respect to the block's input."
        };
        out.fields.push(quote!(#[doc = #doc] pub #dx: #p::Batch<B, #w, #t>,));
    }
}

/// [`workspace_fields`] of one sequence, into `out` (`fields`; `grads` stays empty).
fn workspace_fields_of(seq: &Seq, n: &Names, out: &mut Fields) {
    let p = p();
    let t = &n.scalar;
    let layers = seq.layers;
    let within = if seq.scope.shown.is_empty() {
        String::new()
    } else {
        format!(" of `{}`", seq.scope.shown.trim_end_matches('.'))
    };
    for (i, l) in layers.iter().enumerate() {
        let k = i;
        if seq.bufs[i] == Some(k) {
            let wo = width_ty(l.output().len());
            let (ak, dk) = (a(k), d(k));
            // The ReLU of a `conv2d, batchnorm, relu, maxpool` block: layers `k − 2 ..= k + 1`.
            let in_block = (i >= 2 && conv_block(layers, i - 2)).then_some(2);
            let adoc = match in_block {
                Some(back) => format!(
                    "Output of layer {k}{within} (`{}`) in `forward_eval`. Training runs layers {}–{} (`{}` to \
                     `{}`) as one block, a sample at a time, and does not store it (its first sample is scratch).",
                    l.field,
                    k - back,
                    k - back + 3,
                    layers[i - back].field,
                    layers[i - back + 3].field
                ),
                None if i > 0 && fused_with_relu(layers, i - 1) => format!(
                    "Output of layer {k}{within} (`{}`), fused with layer {} (`{}`): its output is not stored.",
                    l.field,
                    k - 1,
                    layers[i - 1].field
                ),
                None => format!("Output of layer {k}{within} (`{}`).", l.field),
            };
            out.fields.push(quote!(#[doc = #adoc] pub #ak: #p::Batch<B, #wo, #t>,));
            if seq.owns_grad(k) {
                let ddoc = match in_block {
                    Some(_) => format!(
                        "`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}: not stored in training \
                         (a block's scratch, see `a{k}`)."
                    ),
                    None if conv_block(layers, i) => format!(
                        "`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}: not written in training \
                         (its block computes it a sample at a time)."
                    ),
                    None => format!("`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}."),
                };
                out.fields.push(quote!(#[doc = #ddoc] pub #dk: #p::Batch<B, #wo, #t>,));
            }
            out.checks.push(quote!(#p::assert_zeroable::<#p::Batch<B, #wo, #t>>();));
        }
        match &l.kind {
            Kind::BatchNorm { .. } => {
                let ck = c(k);
                let cdoc = format!("Batch statistics of layer {k} (`{}`).", l.field);
                let wc = width_ty(l.input.channels());
                out.fields.push(quote!(#[doc = #cdoc] pub #ck: #p::BatchNormCache<#wc, #t>,));
                out.checks.push(quote!(#p::assert_zeroable::<#p::BatchNormCache<#wc, #t>>();));
            }
            Kind::LayerNorm { .. } => {
                let ck = c(k);
                let cdoc = format!("Per-sample statistics of layer {k} (`{}`).", l.field);
                out.fields.push(quote!(#[doc = #cdoc] pub #ck: #p::LayerNormCache<B, #t>,));
                out.checks.push(quote!(#p::assert_zeroable::<#p::LayerNormCache<B, #t>>();));
            }
            Kind::GroupNorm { .. } => {
                let ck = c(k);
                let cdoc = format!("Per-sample, per-group statistics of layer {k} (`{}`).", l.field);
                let (_, g, _) = groupnorm_geometry(l);
                out.fields.push(quote!(#[doc = #cdoc] pub #ck: #p::GroupNormCache<B, #g, #t>,));
                out.checks.push(quote!(#p::assert_zeroable::<#p::GroupNormCache<B, #g, #t>>();));
            }
            Kind::Dropout { .. } => {
                let mk = mask(k);
                let mdoc = format!("The mask of layer {k} (`{}`): 0 or 1/(1 − p) per value.", l.field);
                let wo = width_ty(l.output().len());
                out.fields.push(quote!(#[doc = #mdoc] pub #mk: #p::Batch<B, #wo, #t>,));
            }
            Kind::Pool { pool: Pool::Max, .. } => {
                let ik = argmax(k);
                let idoc = format!("Where each output of layer {k} (`{}`) came from.", l.field);
                let wo = width_ty(l.output().len());
                out.fields.push(quote!(#[doc = #idoc] pub #ik: #p::Batch<B, #wo, #t>,));
                out.checks.push(quote!(#p::assert_zeroable::<#p::Batch<B, #wo, #t>>();));
            }
            Kind::Conv2d { .. } => {
                let sk = s(k);
                let sdoc = format!("The buffers of layer {k} (`{}`), a convolution.", l.field);
                let g = conv_geometry(l);
                out.fields.push(quote!(#[doc = #sdoc] pub #sk: #p::Conv2dScratch<#g, #t>,));
                out.checks.push(quote!(#p::assert_zeroable::<#p::Conv2dScratch<#g, #t>>();));
            }
            Kind::Residual(_) => {
                let f = &l.field;
                if fused_with_relu(layers, i) {
                    let (dk, wo) = (d(k), width_ty(l.output().len()));
                    let ddoc = format!(
                        "`∂ℓ/∂(body + shortcut)` of layer {k} (`{f}`), before the ReLU fused with it (whose output \
                         is the block's)."
                    );
                    out.fields.push(quote!(#[doc = #ddoc] pub #dk: #p::Batch<B, #wo, #t>,));
                }
                let bs = seq.scope.block(i, f);
                let ty = bs.part(Part::Workspace);
                let doc = format!("The buffers of layer {k} (`{f}`), a residual block: those of its branches.");
                out.fields.push(quote!(#[doc = #doc] pub #f: #ty<B>,));
                let (body, shortcut) = seq.branches(i);
                let mut fields = Vec::new();
                for (name, branch) in [("body", Some(body)), ("shortcut", shortcut)] {
                    let Some(branch) = branch else { continue };
                    let mut inner = Fields::default();
                    workspace_fields_of(&branch, n, &mut inner);
                    input_gradient_field(&branch, n, &mut inner);
                    let field = quote::format_ident!("{}", name);
                    let sty = branch.scope.part(Part::Workspace);
                    let bdoc = format!(
                        "The buffers of the {name}, numbered within it; the gradient of its output is the block's."
                    );
                    fields.push(quote!(#[doc = #bdoc] pub #field: #sty<B>,));
                    let shown = branch.scope.shown.trim_end_matches('.');
                    let sdoc = format!("The training buffers of `{shown}` at batch size `B`.");
                    out.items.extend(nested_struct(n, Part::Workspace, &sty, &sdoc, &inner.fields));
                    out.items.extend(inner.items);
                    out.checks.extend(inner.checks);
                }
                let shown = bs.shown.trim_end_matches('.');
                let bdoc = format!("The training buffers of `{shown}` at batch size `B`.");
                out.items.extend(nested_struct(n, Part::Workspace, &ty, &bdoc, &fields));
                continue;
            }
            _ => {}
        }
    }
}
