//! Code generation for training: the fields of the network and of its gradients, the
//! workspace, and the `Network` impl (forward, backward, optimizer step, initialization,
//! population statistics, folding).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Momentum};
use crate::tokens::{lit, p, width_ty, Names};

/// The doc of a layer's field in the network type.
fn layer_doc(index: usize, l: &Layer) -> String {
    let extra = match l.kind {
        Kind::Dense { bias: false, .. } => ", no bias",
        _ => "",
    };
    format!("Layer {} `{}`: {} → {}{extra}.", index + 1, l.text, l.input, l.output())
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
        let f = &l.field;
        let doc = layer_doc(i, l);
        let (wi, wo) = (width_ty(l.input), width_ty(l.output()));
        match l.kind {
            Kind::Dense { bias, .. } => {
                let ty = quote!(#p::Dense<#wi, #wo, #t, #bias>);
                fields.push(quote!(#[doc = #doc] pub #f: #ty,));
                let gdoc = format!("Gradients of `{f}` (`weight`; `bias` stays zero without a bias).");
                grad_fields.push(quote!(#[doc = #gdoc] pub #f: #ty,));
                zero_checks.push(quote!(#p::assert_zeroable::<#ty>();));
            }
            Kind::BatchNorm { .. } => {
                let ty = quote!(#p::BatchNorm<#wi, #t>);
                fields.push(quote!(#[doc = #doc] pub #f: #ty,));
                let gdoc = format!("Gradients of `{f}` (γ and β).");
                grad_fields.push(quote!(#[doc = #gdoc] pub #f: #p::BatchNormGrads<#wi, #t>,));
                zero_checks
                    .push(quote!(#p::assert_zeroable::<#ty>(); #p::assert_zeroable::<#p::BatchNormGrads<#wi, #t>>();));
            }
            Kind::Activation(_) => {}
        }
    }
    (fields, grad_fields, zero_checks)
}

/// The workspace field `a{k}`: the output of layer `k` (1-based).
fn a(k: usize) -> Ident {
    format_ident!("a{}", k)
}

/// The workspace field `d{k}`: the gradient with respect to `a{k}` (`d0`: to the input).
fn d(k: usize) -> Ident {
    format_ident!("d{}", k)
}

/// The workspace field `c{k}`: the batch statistics of layer `k`, a BN.
fn c(k: usize) -> Ident {
    format_ident!("c{}", k)
}

/// The workspace's fields (`a{k}` = output of layer k, `d{k}` = ∂ℓ/∂a{k}, `c{k}` = BN
/// statistics; `d0` = ∂ℓ/∂x unless the first layer is dense), and the assertions that their
/// types are `Zeroable`.
pub(crate) fn workspace_fields(m: &Model, n: &Names) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let p = p();
    let Names { in_ty, .. } = n;
    let Model { scalar: t, layers, .. } = m;
    let first_is_dense = matches!(layers[0].kind, Kind::Dense { .. });
    let mut ws_fields = Vec::new();
    let mut ws_checks = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let k = i + 1;
        let wo = width_ty(l.output());
        let (ak, dk) = (a(k), d(k));
        let adoc = format!("Output of layer {k} (`{}`).", l.field);
        let ddoc = format!("`∂ℓ/∂a{k}`, the gradient with respect to the output of layer {k}.");
        ws_fields.push(
            quote!(#[doc = #adoc] pub #ak: #p::Batch<B, #wo, #t>, #[doc = #ddoc] pub #dk: #p::Batch<B, #wo, #t>,),
        );
        ws_checks.push(quote!(#p::assert_zeroable::<#p::Batch<B, #wo, #t>>();));
        if let Kind::BatchNorm { .. } = l.kind {
            let ck = c(k);
            let cdoc = format!("Batch statistics of layer {k} (`{}`).", l.field);
            let wi = width_ty(l.input);
            ws_fields.push(quote!(#[doc = #cdoc] pub #ck: #p::BatchNormCache<#wi, #t>,));
            ws_checks.push(quote!(#p::assert_zeroable::<#p::BatchNormCache<#wi, #t>>();));
        }
    }
    if !first_is_dense {
        let d0 = d(0);
        ws_fields.push(
            quote!(#[doc = "`∂ℓ/∂x`, the gradient with respect to the input."] pub #d0: #p::Batch<B, #in_ty, #t>,),
        );
    }
    (ws_fields, ws_checks)
}

/// The statements of the `Network` methods, one (or a few) per layer, in layer order.
#[derive(Default)]
struct Steps {
    /// `forward_train`.
    fwd: Vec<TokenStream>,
    /// `forward_eval`.
    fwd_eval: Vec<TokenStream>,
    /// `backward` (in layer order: reversed when used).
    bwd: Vec<TokenStream>,
    /// `step`.
    step: Vec<TokenStream>,
    /// `init_with`.
    init: Vec<TokenStream>,
    /// `recompute_population_statistics`, before the batches: each BN's momentum saved and
    /// set to cumulative, its population statistics reset.
    save_mom: Vec<TokenStream>,
    /// `recompute_population_statistics`, after the batches: each BN's momentum restored.
    restore_mom: Vec<TokenStream>,
}

impl Steps {
    /// The statements of every layer.
    fn of(m: &Model) -> Self {
        let mut steps = Steps::default();
        for (i, l) in m.layers.iter().enumerate() {
            let k = i + 1;
            // The layer's input, and where the gradient with respect to it goes.
            let (input, dx) = if k == 1 {
                let d0 = d(0);
                (quote!(x), quote!(&mut ws.#d0))
            } else {
                let (ap, dp) = (a(k - 1), d(k - 1));
                (quote!(&ws.#ap), quote!(&mut ws.#dp))
            };
            match l.kind {
                Kind::Dense { .. } => steps.dense(m, i, &input, &dx),
                Kind::BatchNorm { eps, momentum } => steps.batchnorm(m, i, eps, momentum, &input, &dx),
                Kind::Activation(act) => steps.activation(k, act, &input, &dx),
            }
        }
        steps
    }

    /// Layer `i` (0-based), a dense layer.
    fn dense(&mut self, m: &Model, i: usize, input: &TokenStream, dx: &TokenStream) {
        let p = p();
        let (k, f) = (i + 1, &m.layers[i].field);
        let (ak, dk) = (a(k), d(k));
        self.fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#ak);));
        self.fwd_eval.push(quote!(self.#f.forward(#input, &mut ws.#ak);));
        let dx = if k == 1 { quote!(::core::option::Option::None) } else { quote!(::core::option::Option::Some(#dx)) };
        self.bwd.push(quote!(self.#f.backward(#input, &ws.#dk, #dx, &mut grads.#f);));
        self.step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
        // Default init: He before a ReLU (looking past BN), Xavier otherwise.
        let next_act = m.layers[i + 1..].iter().find_map(|next| match next.kind {
            Kind::Activation(act) => Some(act),
            Kind::Dense { .. } => Some(Act::Sigmoid),
            Kind::BatchNorm { .. } => None,
        });
        let default = if next_act == Some(Act::ReLU) { quote!(HeNormal) } else { quote!(XavierNormal) };
        self.init.push(quote!(self.#f.init(init.unwrap_or(#p::Init::#default), rng);));
    }

    /// Layer `k` (1-based), an activation: no parameters.
    fn activation(&mut self, k: usize, act: Act, input: &TokenStream, dx: &TokenStream) {
        let p = p();
        let (ak, dk) = (a(k), d(k));
        let at = format_ident!("{}", act.type_name());
        self.fwd.push(quote!(<#p::#at as #p::Activation>::forward(#input, &mut ws.#ak);));
        self.fwd_eval.push(quote!(<#p::#at as #p::Activation>::forward(#input, &mut ws.#ak);));
        self.bwd.push(quote!(<#p::#at as #p::Activation>::backward(&ws.#ak, &ws.#dk, #dx);));
    }

    /// Layer `i` (0-based), a BN with its declared ε and momentum.
    fn batchnorm(&mut self, m: &Model, i: usize, eps: f64, momentum: Momentum, input: &TokenStream, dx: &TokenStream) {
        let p = p();
        let t = &m.scalar;
        let (k, f) = (i + 1, &m.layers[i].field);
        let (ak, dk, ck) = (a(k), d(k), c(k));
        self.fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#ak, &mut ws.#ck);));
        self.fwd_eval.push(quote!(self.#f.forward_eval(#input, &mut ws.#ak);));
        self.bwd.push(quote!(self.#f.backward(#input, &ws.#ck, &ws.#dk, #dx, &mut grads.#f);));
        self.step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
        let mom = match momentum {
            Momentum::Cumulative => quote!(#p::Momentum::Cumulative),
            Momentum::Exponential(v) => quote!(#p::Momentum::Exponential(<#t as #p::Float>::from_f64(#v))),
        };
        self.init.push(quote! {
            self.#f.reset();
            self.#f.eps = <#t as #p::Float>::from_f64(#eps);
            self.#f.momentum = #mom;
        });
        let saved = format_ident!("momentum_{}", f);
        self.save_mom.push(quote! {
            let #saved = self.#f.momentum;
            self.#f.momentum = #p::Momentum::Cumulative;
            self.#f.reset_running_stats();
        });
        self.restore_mom.push(quote!(self.#f.momentum = #saved;));
    }
}

/// The `Network` impl of the network type: training forward, eval forward, backward, optimizer
/// step, initialization, recomputation of the population statistics, and `fold_into` (whose
/// body, `fold`, comes from the folding plan).
pub(crate) fn network_impl(m: &Model, n: &Names, fold: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { cfgs, grads, ws, folded, in_ty, out_ty, .. } = n;
    let Model { name, scalar: t, layers, .. } = m;
    let n_params = lit(m.params());
    let Steps { fwd, fwd_eval, mut bwd, step, init, save_mom, restore_mom } = Steps::of(m);
    bwd.reverse();
    let a_last = a(layers.len());
    let d_last = d(layers.len());
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

            fn forward_train<'w, B: #p::TrainBatch>(
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

            fn backward<B: #p::TrainBatch>(&self, x: &#p::Batch<B, #in_ty, #t>, ws: &mut #ws<B>, grads: &mut #grads) {
                #(#bwd)*
            }

            fn step<O: #p::Optimizer<#t>>(&mut self, grads: &#grads, state: &mut #grads, opt: &O) {
                #(#step)*
            }

            fn recompute_population_statistics<'a, B: #p::TrainBatch>(
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
        }
    }
}
