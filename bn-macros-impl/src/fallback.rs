//! The fallback: what `network!` emits beside its errors. Like thiserror's fallback, it
//! declares the items that the real expansion declares, with unreachable bodies, so that
//! code using the network type-checks and the user sees the macro's errors only, not one
//! more error at every use of the network.
//!
//! The types have no layer fields and the trait impls unreachable bodies; the input traits
//! and every inherent method and constant come from the generators of the real expansion
//! (`expand::api`), so the two declare the same API. A width that the checks could not
//! establish is [`UNKNOWN_WIDTH`] in the types; the input traits then accept any width.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::Ident;

use crate::expand::api::{self, Consts, InputTexts};
use crate::model::{Outline, Shape};
use crate::tokens::{p, Cfgs, Names};

/// The width of the `Input` or `Output` type (and of `INPUT` or `OUTPUT`) when the checks
/// could not establish it.
const UNKNOWN_WIDTH: usize = 1;

/// The doc of the fallback's types and of the items that would document the layers.
const NOT_GENERATED: &str = "Not generated: the `network!` invocation has errors.";

/// The items of a network whose invocation has errors.
pub fn fallback(o: &Outline) -> TokenStream {
    let (input, output) = (o.input.map_or(UNKNOWN_WIDTH, Shape::len), o.output.unwrap_or(UNKNOWN_WIDTH));
    // The looser batch bound: code that uses the network reports nothing more.
    let n = Names::new(&o.vis, Cfgs::of(&o.attrs), &o.name, &o.scalar, (input, output), false);
    let name = o.name.unraw().to_string();
    let summary = format!("{name}: not generated, the `network!` invocation has errors\n");
    let texts = InputTexts::new(&n, o.input);
    let (input_trait, batch_trait) = (api::input_trait(&n, &texts), api::batch_trait(&n, &texts));
    let input_impls = match o.input {
        Some(shape) => {
            let (one, batch) = (api::input_impls(&n, shape), api::batch_impl(&n));
            quote!(#one #batch)
        }
        None => any_width_input_impls(&n),
    };
    let types = types(&n);
    let trait_impls = trait_impls(&n);
    let consts = Consts { input, output, params: 0, summary };
    let methods = api::network_methods(&n, &consts);
    let alloc_methods = api::alloc_methods(&n);
    let folded_methods = api::folded_methods(&n, &consts);
    let display = api::display(&n, &n.name, quote!(Self::SUMMARY));
    let file_methods = api::file_methods(&n, &[NOT_GENERATED.to_string(), NOT_GENERATED.to_string()], &[]);
    let onnx_methods = api::onnx_methods(&n);
    let folded_summary = format!("{name}Folded: not generated, the `network!` invocation has errors\n");
    let folded_display = api::display(&n, &n.folded, quote!(#folded_summary));
    let mut quantized = crate::expand::quant_fallback(&n, NOT_GENERATED);
    // Its `f32` methods take the network's input trait: only an `f32` network has them.
    if o.scalar == "f32" {
        quantized.extend(api::quantized_methods(&n, &consts));
    }
    quote! {
        #types
        #input_trait
        #batch_trait
        #input_impls
        #trait_impls
        #methods
        #alloc_methods
        #folded_methods
        #display
        #file_methods
        #onnx_methods
        #folded_display
        #quantized
    }
}

/// The four types without layers (the folded type is zero scalars of the right alignment),
/// with the traits the real ones derive, and their `Zeroable` and `PlainData` impls.
fn types(n: &Names) -> TokenStream {
    let p = p();
    let Names { vis, cfgs, name, scalar: t, grads, ws, folded, .. } = n;
    let doc = NOT_GENERATED;
    quote! {
        #cfgs
        #[doc = #doc]
        #[allow(dead_code)]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #name {}

        #cfgs
        #[doc = #doc]
        #[allow(dead_code)]
        #[derive(::core::clone::Clone)]
        #vis struct #grads {}

        #cfgs
        #[doc = #doc]
        #[allow(dead_code)]
        #vis struct #ws<B: #p::ArrayLength> {
            _batch: ::core::marker::PhantomData<B>,
        }

        #cfgs
        #[doc = #doc]
        #[allow(dead_code)]
        #[repr(C)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #folded {
            _scalars: [#t; 0],
        }

        #cfgs
        // SAFETY: no fields.
        unsafe impl #p::Zeroable for #name {}
        #cfgs
        // SAFETY: no fields.
        unsafe impl #p::Zeroable for #grads {}
        #cfgs
        // SAFETY: only a `PhantomData`.
        unsafe impl<B: #p::ArrayLength> #p::Zeroable for #ws<B> {}
        #cfgs
        // SAFETY: only an empty array of scalars.
        unsafe impl #p::Zeroable for #folded {}
        #cfgs
        // SAFETY: `#[repr(C)]`, zero scalars and the alignment of one.
        unsafe impl #p::PlainData for #folded {
            type Scalar = #t;
            const LEN: usize = 0;
        }
    }
}

/// The input traits' impls when the input width is unknown: for every width.
fn any_width_input_impls(n: &Names) -> TokenStream {
    let p = p();
    let Names { cfgs, scalar: t, input_trait, batch_trait, in_ty, .. } = n;
    quote! {
        #cfgs
        impl<const N: usize> #input_trait for [#t; N] {
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                ::core::unreachable!()
            }
        }
        #cfgs
        impl<W: #p::ArrayLength> #input_trait for #p::Vector<W, #t> {
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                ::core::unreachable!()
            }
        }
        #cfgs
        impl<B: #p::ArrayLength, W: #p::ArrayLength> #batch_trait for #p::Batch<B, W, #t> {
            type Size = B;
            fn as_batch(&self) -> &#p::Batch<B, #in_ty, #t> {
                ::core::unreachable!()
            }
        }
    }
}

/// The `Inference`, `Network`, `StateDict` and `Graph` impls, every method unreachable.
fn trait_impls(n: &Names) -> TokenStream {
    let (inference, folded_inference) = (inference_impl(n, &n.name), inference_impl(n, &n.folded));
    let network = network_impl(n);
    let (state_dict, folded_state_dict) = (state_dict_impl(n, &n.name), state_dict_impl(n, &n.folded));
    let (graph, folded_graph) = (graph_impl(n, &n.name), graph_impl(n, &n.folded));
    quote! {
        #inference
        #folded_inference
        #network
        #state_dict
        #folded_state_dict
        #graph
        #folded_graph
    }
}

/// `Graph` for `ty`: no layers.
fn graph_impl(n: &Names, ty: &Ident) -> TokenStream {
    let p = p();
    let cfgs = &n.cfgs;
    quote! {
        #cfgs
        impl #p::SealedGraph for #ty {}
        #cfgs
        impl #p::Graph for #ty {
            const INPUT: #p::Dims = #p::Dims::Flat(#UNKNOWN_WIDTH);
            const NODES: &'static [#p::Node] = &[];
        }
    }
}

/// `Inference` for `ty`.
fn inference_impl(n: &Names, ty: &Ident) -> TokenStream {
    let p = p();
    let Names { cfgs, scalar: t, in_ty, out_ty, .. } = n;
    quote! {
        #cfgs
        impl #p::Inference for #ty {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            fn forward_one(&self, _: &#p::Vector<#in_ty, #t>, _: &mut #p::Vector<#out_ty, #t>) {
                ::core::unreachable!()
            }
        }
    }
}

/// `StateDict` for `ty`.
fn state_dict_impl(n: &Names, ty: &Ident) -> TokenStream {
    let p = p();
    let Names { cfgs, scalar: t, .. } = n;
    quote! {
        #cfgs
        impl #p::StateDict for #ty {
            type Scalar = #t;
            fn visit(&self, _: &mut dyn ::core::ops::FnMut(#p::TensorName<'_>, #p::TensorRef<'_, #t>)) {
                ::core::unreachable!()
            }
            fn visit_mut(&mut self, _: &mut dyn ::core::ops::FnMut(#p::TensorName<'_>, #p::TensorMut<'_, #t>)) {
                ::core::unreachable!()
            }
        }
    }
}

/// `Network` for the network type.
fn network_impl(n: &Names) -> TokenStream {
    let p = p();
    let Names { cfgs, name, scalar: t, grads, ws, folded, in_ty, out_ty, .. } = n;
    quote! {
        #cfgs
        impl #p::Network for #name {
            type Grads = #grads;
            type Workspace<B: #p::ArrayLength> = #ws<B>;
            type Folded = #folded;
            const PARAMS: usize = 0;

            fn init_with(&mut self, _: ::core::option::Option<#p::Init>, _: &mut #p::Rng) {
                ::core::unreachable!()
            }

            fn forward_train<'w, B: #p::ArrayLength>(
                &mut self,
                _: &#p::Batch<B, #in_ty, #t>,
                _: &'w mut #ws<B>,
            ) -> &'w #p::Batch<B, #out_ty, #t> {
                ::core::unreachable!()
            }

            fn forward_eval<'w, B: #p::ArrayLength>(
                &self,
                _: &#p::Batch<B, #in_ty, #t>,
                _: &'w mut #ws<B>,
            ) -> &'w #p::Batch<B, #out_ty, #t> {
                ::core::unreachable!()
            }

            fn output_and_grad<B: #p::ArrayLength>(
                _: &mut #ws<B>,
            ) -> (&#p::Batch<B, #out_ty, #t>, &mut #p::Batch<B, #out_ty, #t>) {
                ::core::unreachable!()
            }

            fn backward<B: #p::ArrayLength>(&self, _: &#p::Batch<B, #in_ty, #t>, _: &mut #ws<B>, _: &mut #grads) {
                ::core::unreachable!()
            }

            fn step<O: #p::Optimizer<#t>>(&mut self, _: &#grads, _: &mut #p::OptimizerState<#grads>, _: &O) {
                ::core::unreachable!()
            }

            fn visit_grads<F: ::core::ops::FnMut(&mut [#t], #p::ParamKind)>(&self, _: &mut #grads, _: &mut F) {
                ::core::unreachable!()
            }

            fn recompute_population_statistics<'a, B: #p::ArrayLength>(
                &mut self,
                _: impl ::core::iter::IntoIterator<Item = &'a #p::Batch<B, #in_ty, #t>>,
                _: &mut #ws<B>,
            ) {
                ::core::unreachable!()
            }

            fn fold_into(&self, _: &mut #folded) {
                ::core::unreachable!()
            }

            fn freeze_batchnorm(&mut self, _: #p::Freeze) {
                ::core::unreachable!()
            }

            fn set_renorm_limits(&mut self, _: #t, _: #t) {
                ::core::unreachable!()
            }
        }
    }
}
