//! Code generation from a validated [`Model`]. The expansion is linear in the number of
//! layers: every loop over a width lives in `bn-core`, never in generated code.
//! Generated code names only `::core::…` and `::bn_core::__private::…`.
//!
//! This module assembles the items and writes the types; `train` generates the training
//! path (fields, workspace, `Network` impl), `infer` the folded type's fields and the
//! `Inference` impls, `io` the `StateDict` impls, `summary` the layer summaries, and `api`
//! the input traits and inherent methods (shared with the fallback). Each of them imports
//! only the shared helpers (`tokens`, `plan`, `model`), never this module or a sibling.

pub(crate) mod api;
mod graph;
mod infer;
mod io;
mod quant;
pub(crate) use quant::fallback as quant_fallback;
mod summary;
mod train;

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;

use crate::model::Model;
use crate::plan::{fold_plan, folded_scalars};
use crate::tokens::{lit, p, Names};
use api::{Consts, InputTexts};

/// Every item generated for a valid network: the network, gradients, workspace and folded
/// types, the input traits, and their impls.
pub fn expand(m: &Model) -> TokenStream {
    let n = Names::of(m);
    let plan = fold_plan(&m.layers);
    let (summary, fsummary) = summary::summary(m, &plan);
    let docs = Docs::new(&n, &summary, &fsummary);
    let params = train::param_fields(m, &n);
    let ws = train::workspace_fields(m, &n);
    let mut checks = params.checks;
    checks.extend(ws.checks);
    let folded = infer::folded_fields(&plan, &n);
    let mut nested = params.items;
    nested.extend(ws.items);
    nested.extend(folded.items);
    let fields = Fields { net: params.fields, grads: params.grads, ws: ws.fields, folded: folded.fields };
    let fold = folded.fold;
    let types = types(m, &n, &docs, &fields);
    let layouts = layouts(&n, folded_scalars(&plan), &checks);
    let texts = InputTexts::new(&n, Some(m.input));
    let (input_trait, input_impls) = (api::input_trait(&n, &texts), api::input_impls(&n, m.input));
    let (batch_trait, batch_impl) = (api::batch_trait(&n, &texts), api::batch_impl(&n));
    let inference = infer::inference_impls(m, &n, &plan);
    let network = train::network_impl(m, &n, &fold);
    let consts = Consts { input: m.input.len(), output: m.output().len(), params: m.params(), summary };
    let (methods, alloc_methods) = (api::network_methods(&n, &consts), api::alloc_methods(&n));
    let folded_methods = api::folded_methods(&n, &consts);
    let display = api::display(&n, &n.name, quote!(Self::SUMMARY));
    let (state_dicts, save_docs) = io::state_dicts(m, &n, &plan);
    let file_methods = api::file_methods(&n, &save_docs, &infer::folded_init(&plan, &n));
    let (graphs, onnx_methods) = (graph::graphs(m, &n, &plan), api::onnx_methods(&n));
    let fsummary_nl = format!("{fsummary}\n");
    let folded_display = api::display(&n, &n.folded, quote!(#fsummary_nl));
    let (mut quantized, quantizable) = quant::quantized(m, &n, &plan);
    if quantizable {
        quantized.extend(api::quantized_methods(&n, &consts));
    }
    quote! {
        #types
        #nested
        #layouts
        #input_trait
        #input_impls
        #batch_trait
        #batch_impl
        #inference
        #network
        #methods
        #alloc_methods
        #folded_methods
        #display
        #state_dicts
        #file_methods
        #graphs
        #onnx_methods
        #folded_display
        #quantized
    }
}

/// The docs of the generated types.
struct Docs {
    /// The network type's `# Layers` section: the summary.
    summary: String,
    grads: String,
    ws: String,
    folded: String,
}

impl Docs {
    /// The docs, given the network's summary and the folded type's one-line summary.
    fn new(n: &Names, summary: &str, fsummary: &str) -> Self {
        let (name, t) = (n.name.unraw().to_string(), &n.scalar);
        Docs {
            summary: format!("```text\n{summary}```"),
            grads: format!(
                "Gradients of every parameter of [`{name}`], one field per parameter layer (also SGD's momentum \
                 state)."
            ),
            ws: format!(
                "Training workspace of [`{name}`] at batch size `B`: every layer's output `aK`, the gradient \
                 `dK` flowing into it, and the batch statistics `cK` of every BN (inline arrays, no heap), \
                 `K` the layer's index as in its field name (`dense0`, `batchnorm1`, …). Usually held by a \
                 [`Trainer`](::bn_core::Trainer)."
            ),
            folded: format!(
                "The inference model of [`{name}`] with every Batch Normalization folded away: plain data \
                 (`Copy`, `#[repr(C)]`, only `{t}`s), built by [`{name}::fold`].\n\n```text\n{fsummary}\n```"
            ),
        }
    }
}

/// The fields of the four types.
struct Fields {
    net: Vec<TokenStream>,
    grads: Vec<TokenStream>,
    ws: Vec<TokenStream>,
    folded: Vec<TokenStream>,
}

/// The four types: the network (with the user's attributes), its gradients, its training
/// workspace and its folded model.
fn types(m: &Model, n: &Names, docs: &Docs, fields: &Fields) -> TokenStream {
    let p = p();
    let Names { vis, cfgs, name, grads, ws, folded, .. } = n;
    let Fields { net: fields, grads: grad_fields, ws: ws_fields, folded: ffields } = fields;
    let attrs = &m.attrs;
    let Docs { summary, grads: grads_doc, ws: ws_doc, folded: folded_doc } = docs;
    quote! {
        #(#attrs)*
        ///
        /// # Layers
        #[doc = #summary]
        #[repr(C, align(64))]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #name {
            #(#fields)*
        }

        #cfgs
        #[doc = #grads_doc]
        #[repr(C, align(64))]
        #[derive(::core::clone::Clone)]
        #vis struct #grads {
            #(#grad_fields)*
        }

        #cfgs
        #[doc = #ws_doc]
        #[repr(C, align(64))]
        #vis struct #ws<B: #p::ArrayLength> {
            #(#ws_fields)*
        }

        #cfgs
        #[doc = #folded_doc]
        #[repr(C)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #folded {
            #(#ffields)*
        }
    }
}

/// The `Zeroable` and `PlainData` impls of the types, and the compile-time assertions that
/// justify them: every field type is `Zeroable` (`checks`), the folded model is exactly
/// `folded_floats` scalars.
fn layouts(n: &Names, folded_floats: usize, checks: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { cfgs, name, grads, ws, folded, scalar: t, .. } = n;
    let folded_floats = lit(folded_floats);
    quote! {
        #cfgs
        // SAFETY: every field is one of bn-core's `Zeroable` types, asserted by `_check` below.
        unsafe impl #p::Zeroable for #name {}
        #cfgs
        // SAFETY: as above.
        unsafe impl #p::Zeroable for #grads {}
        #cfgs
        // SAFETY: as above.
        unsafe impl #p::Zeroable for #folded {}
        #cfgs
        // SAFETY: `#[repr(C)]` with only `Dense<_, _, #t, true>` and `Affine<_, #t>` fields,
        // which are `#[repr(C)]` pairs of `#t` arrays: no padding, every bit pattern valid. The
        // size is asserted to be exactly `LEN` scalars below.
        unsafe impl #p::PlainData for #folded {
            type Scalar = #t;
            const LEN: usize = #folded_floats;
        }
        #cfgs
        const _: () = ::core::assert!(
            ::core::mem::size_of::<#folded>() == #folded_floats * ::core::mem::size_of::<#t>(),
            "the folded model must be exactly its scalars, without padding"
        );

        #cfgs
        // SAFETY: every field is a `Batch` of floats or a `BatchNormCache`, asserted below.
        unsafe impl<B: #p::ArrayLength> #p::Zeroable for #ws<B> {}
        #cfgs
        const _: () = {
            #[allow(dead_code)]
            fn _check<B: #p::ArrayLength>() {
                #(#checks)*
            }
        };
    }
}
