//! Code generation from a validated [`Model`]. The expansion is linear in the number of
//! layers: every loop over a width lives in `bn-core`, never in generated code.
//! Generated code names only `::core::…` and `::bn_core::__private::…`.
//!
//! This module assembles the items; `train` generates the training path (fields,
//! workspace, `Network` impl), `infer` the folded type and the inference chains,
//! `io` the weights files and `summary` the layer summaries. Each of them imports only the
//! shared helpers (`tokens`, `plan`, `model`), never this module or a sibling.

mod infer;
mod io;
mod summary;
mod train;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::Model;
use crate::plan::{fold_plan, folded_scalars};
use crate::tokens::{lit, p, Names};
use infer::{eval_chain, folded_batch_chain, folded_eval_chain, folded_fields, inference_methods};
use summary::summary;
use train::{network_impl, param_fields, training_methods, workspace_fields};

/// The stub emitted beside the errors, so the user sees the macro's errors, not a cascade
/// of "cannot find type". (Uses of the network's methods still fail: the stub has none.)
pub fn stub(stub: &crate::check::Stub) -> TokenStream {
    let crate::check::Stub { vis, name, cfgs } = stub;
    quote! {
        #(#cfgs)*
        #[allow(dead_code)]
        #vis struct #name;
    }
}

/// Every item generated for a valid network: the network, gradients, workspace and folded
/// types, the input traits, and their impls.
pub fn expand(m: &Model) -> TokenStream {
    let p = p();
    let Model { attrs, vis, name, scalar: t, layers, .. } = m;
    // The user's `#[cfg]`s apply to every generated item, not only the struct.
    let cfgs: Vec<_> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let names = Names::new(m);
    let Names { grads, ws, folded, input_trait, batch_trait, in_ty, out_ty, .. } = &names;
    let n_in = lit(m.input);
    let n_out = lit(m.output());
    let n_params = lit(m.params());
    let plan = fold_plan(layers);
    let (summary, fsummary) = summary(m, &plan);

    let (fields, grad_fields, zero_checks) = param_fields(m);
    let (ws_fields, ws_checks) = workspace_fields(&names);
    let eval = eval_chain(layers, t);
    let (ffields, fold) = folded_fields(&plan, t);
    let folded_eval = folded_eval_chain(&plan, t);
    let folded_batch = folded_batch_chain(&plan, folded, t, in_ty, out_ty);
    let network = network_impl(&names, &fold);
    let training = training_methods(&names);
    let inference = |one: &str, batch: &str, doc: &str| {
        inference_methods(
            &format_ident!("{}", one),
            &format_ident!("{}", batch),
            doc,
            input_trait,
            batch_trait,
            t,
            out_ty,
        )
    };
    let eval_methods = inference("eval", "eval_batch", " (eval mode: the population statistics)");
    let folded_methods = inference("forward", "forward_batch", "");

    let name_str = syn::ext::IdentExt::unraw(name).to_string();
    let ws_doc = format!(
        "Training workspace of [`{name_str}`] at batch size `B`: every layer's output `aK`, the gradient \
         `dK` flowing into it, and the batch statistics `cK` of every BN (inline arrays, no heap). \
         Usually held by a [`Trainer`](::bn_core::Trainer)."
    );
    let grads_doc = format!(
        "Gradients of every parameter of [`{name_str}`], one field per parameter layer (also SGD's momentum state)."
    );
    let folded_doc = format!(
        "The inference model of [`{name_str}`] with every Batch Normalization folded away: plain data \
         (`Copy`, `#[repr(C)]`, only `{t}`s), built by [`{name_str}::fold`].\n\n```text\n{fsummary}\n```"
    );
    let input_doc =
        format!("One input sample of [`{name_str}`]: `[{t}; {}]` or `GenericArray<{t}, U{}>`.", m.input, m.input);
    let batch_doc =
        format!("A batch of inputs of [`{name_str}`]: `Batch<B, U{}, {t}>` for any batch size `B`.", m.input);
    let input_msg = format!("`{{Self}}` is not an input of `{name_str}`: it takes {} values of `{t}`", m.input);
    let input_label = format!("expected `[{t}; {}]` or `GenericArray<{t}, U{}>`", m.input, m.input);
    let batch_msg =
        format!("`{{Self}}` is not a batch of `{name_str}` inputs: it takes {} values of `{t}` per sample", m.input);
    let batch_label = format!("expected `Batch<B, U{}, {t}>`", m.input);
    let summary_doc = format!("```text\n{summary}```");
    let folded_floats = lit(folded_scalars(&plan));
    let io_items = io::expand(m, &plan);
    let fsummary_nl = format!("{fsummary}\n");

    quote! {
        #(#attrs)*
        ///
        /// # Layers
        #[doc = #summary_doc]
        #[repr(C, align(64))]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #name {
            #(#fields)*
        }

        #(#cfgs)*
        #[doc = #grads_doc]
        #[repr(C, align(64))]
        #[derive(::core::clone::Clone)]
        #vis struct #grads {
            #(#grad_fields)*
        }

        #(#cfgs)*
        #[doc = #ws_doc]
        #[repr(C, align(64))]
        #vis struct #ws<B: #p::ArrayLength> {
            #(#ws_fields)*
        }

        #(#cfgs)*
        #[doc = #folded_doc]
        #[repr(C)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #folded {
            #(#ffields)*
        }

        #(#cfgs)*
        // SAFETY: every field is one of bn-core's `Zeroable` types, asserted by `_check` below.
        unsafe impl #p::Zeroable for #name {}
        #(#cfgs)*
        // SAFETY: as above.
        unsafe impl #p::Zeroable for #grads {}
        #(#cfgs)*
        // SAFETY: as above.
        unsafe impl #p::Zeroable for #folded {}
        #(#cfgs)*
        // SAFETY: `#[repr(C)]` with only `Dense<_, _, #t, true>` and `Affine<_, #t>` fields,
        // which are `#[repr(C)]` pairs of `#t` arrays: no padding, every bit pattern valid. The
        // size is asserted to be exactly `LEN` scalars below.
        unsafe impl #p::PlainData for #folded {
            type Scalar = #t;
            const LEN: usize = #folded_floats;
        }
        #(#cfgs)*
        const _: () = ::core::assert!(
            ::core::mem::size_of::<#folded>() == #folded_floats * ::core::mem::size_of::<#t>(),
            "the folded model must be exactly its scalars, without padding"
        );

        #(#cfgs)*
        // SAFETY: every field is a `Batch` of floats or a `BatchNormCache`, asserted below.
        unsafe impl<B: #p::ArrayLength> #p::Zeroable for #ws<B> {}
        #(#cfgs)*
        const _: () = {
            #[allow(dead_code)]
            fn _check<B: #p::ArrayLength>() {
                #(#zero_checks)*
                #(#ws_checks)*
            }
        };

        #(#cfgs)*
        #[doc = #input_doc]
        #[diagnostic::on_unimplemented(message = #input_msg, label = #input_label)]
        #vis trait #input_trait {
            /// The sample as bn-core's vector type.
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t>;
        }
        #(#cfgs)*
        impl #input_trait for [#t; #n_in] {
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                #p::array_as_vector(self)
            }
        }
        #(#cfgs)*
        impl #input_trait for #p::Vector<#in_ty, #t> {
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                self
            }
        }

        #(#cfgs)*
        #[doc = #batch_doc]
        #[diagnostic::on_unimplemented(message = #batch_msg, label = #batch_label)]
        #vis trait #batch_trait {
            /// The batch size.
            type Size: #p::ArrayLength;
            /// The batch as bn-core's batch type.
            fn as_batch(&self) -> &#p::Batch<Self::Size, #in_ty, #t>;
        }
        #(#cfgs)*
        impl<B: #p::ArrayLength> #batch_trait for #p::Batch<B, #in_ty, #t> {
            type Size = B;
            fn as_batch(&self) -> &#p::Batch<B, #in_ty, #t> {
                self
            }
        }

        #(#cfgs)*
        impl #p::Inference for #name {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            /// Eval forward with the population statistics.
            fn forward_one(&self, x: &#p::Vector<#in_ty, #t>, y: &mut #p::Vector<#out_ty, #t>) {
                #eval
            }
        }

        #(#cfgs)*
        impl #p::Inference for #folded {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            fn forward_one(&self, x: &#p::Vector<#in_ty, #t>, y: &mut #p::Vector<#out_ty, #t>) {
                #folded_eval
            }
            #folded_batch
        }

        #(#cfgs)*
        #network

        #(#cfgs)*
        impl #name {
            /// Input width.
            pub const INPUT: usize = #n_in;
            /// Output width.
            pub const OUTPUT: usize = #n_out;
            /// Number of trainable scalars.
            pub const PARAMS: usize = #n_params;
            /// The layer summary (also what `Display` prints).
            pub const SUMMARY: &'static str = #summary;

            #training

            #eval_methods

            /// The inference model with every BN folded away (on the stack; see
            /// `fold_boxed` for big networks).
            pub fn fold(&self) -> #folded {
                <Self as #p::Network>::fold(self)
            }

            /// Writes the folded model into `out`.
            pub fn fold_into(&self, out: &mut #folded) {
                <Self as #p::Network>::fold_into(self, out)
            }
        }

        #(#cfgs)*
        #p::if_alloc! {
            impl #name {
                /// A network initialized from `seed`, allocated zeroed on the heap and
                /// initialized in place (no stack temporary of the network's size).
                pub fn new_boxed(seed: u64) -> #p::Box<Self> {
                    <Self as #p::Network>::new_boxed(seed)
                }

                /// The folded model, built directly on the heap.
                pub fn fold_boxed(&self) -> #p::Box<#folded> {
                    <Self as #p::Network>::fold_boxed(self)
                }
            }
        }

        #(#cfgs)*
        impl #folded {
            /// Input width.
            pub const INPUT: usize = #n_in;
            /// Output width.
            pub const OUTPUT: usize = #n_out;

            #folded_methods
        }

        #(#cfgs)*
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(Self::SUMMARY)
            }
        }

        #io_items

        #(#cfgs)*
        impl ::core::fmt::Display for #folded {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#fsummary_nl)
            }
        }
    }
}
