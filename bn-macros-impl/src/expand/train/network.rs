//! The `Network` impl of the network type.

use proc_macro2::TokenStream;
use quote::quote;

use super::layout::{a, d, Seq};
use super::steps::Steps;
use crate::model::Model;
use crate::tokens::{lit, p, Names, Scope};

/// The `Network` impl of the network type: training forward, eval forward, backward, optimizer
/// step, initialization, recomputation of the population statistics, and `fold_into` (whose
/// body, `fold`, comes from the folding plan).
pub(crate) fn network_impl(m: &Model, n: &Names, fold: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { cfgs, grads, ws, folded, in_ty, out_ty, .. } = n;
    let Model { name, scalar: t, layers, .. } = m;
    let n_params = lit(m.params());
    let seq = Seq::top(layers, Scope::top(name));
    let Steps { mut fwd, fwd_eval, mut bwd, step, visit, init, save_mom, restore_mom, freeze, renorm } =
        Steps::of(&seq, t);
    let dropout_state = if m.has_dropout() {
        // The masks of this forward from the state, which then moves on.
        fwd.insert(
            0,
            quote! {
                let mut rng = #p::Rng::seed(ws.dropout_state);
                ws.dropout_state = rng.next_u64();
            },
        );
        quote! {
            fn dropout_state<B: #p::ArrayLength>(ws: &mut #ws<B>) -> ::core::option::Option<&mut u64> {
                ::core::option::Option::Some(&mut ws.dropout_state)
            }
        }
    } else {
        TokenStream::new()
    };
    let (freeze_arg, renorm_args) = if freeze.is_empty() {
        (quote!(_), quote!(_: #t, _: #t))
    } else {
        (quote!(freeze), quote!(rmax: #t, dmax: #t))
    };
    let renorm_args = if renorm.is_empty() { quote!(_: #t, _: #t) } else { renorm_args };
    // Without parameters (only activations, pools, …), only the step count moves.
    let (step_args, visit_args) = if step.is_empty() {
        (quote!(_: &#grads, state: &mut #p::OptimizerState<#grads>, _: &O), quote!(_: &mut #grads, _: &mut F))
    } else {
        (
            quote!(grads: &#grads, state: &mut #p::OptimizerState<#grads>, opt: &O),
            quote!(grads: &mut #grads, visit: &mut F),
        )
    };
    let slots = (!step.is_empty())
        .then(|| quote!(let (m, v, w, step) = (&mut state.m, &mut state.v, &mut state.v_max, state.step);));
    bwd.reverse();
    // The last layer always has a buffer (`buffers`), and a network at least one layer.
    let last = seq.last_buf().unwrap_or(0);
    let (a_last, d_last) = (a(last), d(last));
    quote! {
        #cfgs
        impl #p::Network for #name {
            type Grads = #grads;
            type Workspace<B: #p::ArrayLength> = #ws<B>;
            type Folded = #folded;
            const PARAMS: usize = #n_params;

            fn init_with(&mut self, init: ::core::option::Option<#p::Init>, rng: &mut #p::Rng) {
                #(#init)*
            }

            fn forward_train<'w, B: #p::ArrayLength>(
                &mut self,
                x: &#p::Batch<B, #in_ty, #t>,
                ws: &'w mut #ws<B>,
            ) -> &'w #p::Batch<B, #out_ty, #t> {
                #(#fwd)*
                &ws.#a_last
            }

            fn forward_eval<'w, B: #p::ArrayLength>(
                &self,
                x: &#p::Batch<B, #in_ty, #t>,
                ws: &'w mut #ws<B>,
            ) -> &'w #p::Batch<B, #out_ty, #t> {
                #(#fwd_eval)*
                &ws.#a_last
            }

            fn output_and_grad<B: #p::ArrayLength>(
                ws: &mut #ws<B>,
            ) -> (&#p::Batch<B, #out_ty, #t>, &mut #p::Batch<B, #out_ty, #t>) {
                (&ws.#a_last, &mut ws.#d_last)
            }

            fn backward<B: #p::ArrayLength>(&self, x: &#p::Batch<B, #in_ty, #t>, ws: &mut #ws<B>, grads: &mut #grads) {
                #(#bwd)*
            }

            fn step<O: #p::Optimizer<#t>>(&mut self, #step_args) {
                state.step += 1;
                #slots
                #(#step)*
            }

            fn visit_grads<F: ::core::ops::FnMut(&mut [#t], #p::ParamKind)>(&self, #visit_args) {
                #(#visit)*
            }

            fn recompute_population_statistics<'a, B: #p::ArrayLength>(
                &mut self,
                batches: impl ::core::iter::IntoIterator<Item = &'a #p::Batch<B, #in_ty, #t>>,
                ws: &mut #ws<B>,
            ) {
                #(#save_mom)*
                for x in batches {
                    <Self as #p::Network>::forward_train(self, x, ws);
                }
                #(#restore_mom)*
            }

            fn fold_into(&self, out: &mut #folded) {
                #(#fold)*
            }

            fn freeze_batchnorm(&mut self, #freeze_arg: #p::Freeze) {
                #(#freeze)*
            }

            fn set_renorm_limits(&mut self, #renorm_args) {
                #(#renorm)*
            }

            #dropout_state
        }
    }
}
