//! Code generation for training: the fields of the network and of its gradients, the
//! workspace, the `Network` impl (forward, backward, optimizer step, initialization,
//! population statistics, folding) and the inherent methods that wrap it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

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

/// The workspace's fields (`a{k}` = output of layer k, `d{k}` = ∂ℓ/∂a{k}, `c{k}` = BN
/// statistics; `d0` = ∂ℓ/∂x unless the first layer is dense), and the assertions that their
/// types are `Zeroable`.
pub(crate) fn workspace_fields(n: &Names) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let p = p();
    let Names { m, in_ty, .. } = n;
    let Model { scalar: t, layers, .. } = m;
    let first_is_dense = matches!(layers[0].kind, Kind::Dense { .. });
    let a = |k: usize| format_ident!("a{}", k);
    let d = |k: usize| format_ident!("d{}", k);
    let c = |k: usize| format_ident!("c{}", k);
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

/// The `Network` impl of the network type: training forward, eval forward, backward, optimizer
/// step, initialization, recomputation of the population statistics, and `fold_into` (whose
/// body, `fold`, comes from the folding plan).
pub(crate) fn network_impl(n: &Names, fold: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { m, grads, ws, folded, in_ty, out_ty, .. } = n;
    let Model { name, scalar: t, layers, .. } = m;
    let n_params = lit(m.params());
    let a = |k: usize| format_ident!("a{}", k);
    let d = |k: usize| format_ident!("d{}", k);
    let c = |k: usize| format_ident!("c{}", k);
    let mut fwd = Vec::new();
    let mut fwd_eval = Vec::new();
    let mut bwd = Vec::new();
    let mut step = Vec::new();
    let mut init = Vec::new();
    let mut save_mom = Vec::new();
    let mut restore_mom = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let k = i + 1;
        let f = &l.field;
        let (ak, dk) = (a(k), d(k));
        let input = if k == 1 {
            quote!(x)
        } else {
            let ap = a(k - 1);
            quote!(&ws.#ap)
        };
        let dx = if k == 1 {
            let d0 = d(0);
            quote!(&mut ws.#d0)
        } else {
            let dp = d(k - 1);
            quote!(&mut ws.#dp)
        };
        match l.kind {
            Kind::Dense { .. } => {
                fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#ak);));
                fwd_eval.push(quote!(self.#f.forward(#input, &mut ws.#ak);));
                let dx = if k == 1 {
                    quote!(::core::option::Option::None)
                } else {
                    quote!(::core::option::Option::Some(#dx))
                };
                bwd.push(quote!(self.#f.backward(#input, &ws.#dk, #dx, &mut grads.#f);));
                step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
                // Default init: He before a ReLU (looking past BN), Xavier otherwise.
                let next_act = layers[i + 1..].iter().find_map(|next| match next.kind {
                    Kind::Activation(act) => Some(act),
                    Kind::Dense { .. } => Some(Act::Sigmoid),
                    Kind::BatchNorm { .. } => None,
                });
                let default = if next_act == Some(Act::ReLU) { quote!(HeNormal) } else { quote!(XavierNormal) };
                init.push(quote!(self.#f.init(init.unwrap_or(#p::Init::#default), rng);));
            }
            Kind::BatchNorm { eps, momentum } => {
                let ck = c(k);
                fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#ak, &mut ws.#ck);));
                fwd_eval.push(quote!(self.#f.forward_eval(#input, &mut ws.#ak);));
                bwd.push(quote!(self.#f.backward(#input, &ws.#ck, &ws.#dk, #dx, &mut grads.#f);));
                step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
                let mom = match momentum {
                    Momentum::Cumulative => quote!(#p::Momentum::Cumulative),
                    Momentum::Exponential(v) => quote!(#p::Momentum::Exponential(<#t as #p::Float>::from_f64(#v))),
                };
                init.push(quote! {
                    self.#f.reset();
                    self.#f.eps = <#t as #p::Float>::from_f64(#eps);
                    self.#f.momentum = #mom;
                });
                let saved = format_ident!("momentum_{}", f);
                save_mom.push(quote! {
                    let #saved = self.#f.momentum;
                    self.#f.momentum = #p::Momentum::Cumulative;
                    self.#f.reset_running_stats();
                });
                restore_mom.push(quote!(self.#f.momentum = #saved;));
            }
            Kind::Activation(act) => {
                let at = format_ident!("{}", act.type_name());
                fwd.push(quote!(<#p::#at as #p::Activation>::forward(#input, &mut ws.#ak);));
                fwd_eval.push(quote!(<#p::#at as #p::Activation>::forward(#input, &mut ws.#ak);));
                bwd.push(quote!(<#p::#at as #p::Activation>::backward(&ws.#ak, &ws.#dk, #dx);));
            }
        }
    }
    bwd.reverse();
    let a_last = a(layers.len());
    let d_last = d(layers.len());
    quote! {
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

/// The network type's inherent methods that wrap its `Network` impl for construction and
/// training (`new` to `recompute_population_statistics`), taking the readable batch trait.
pub(crate) fn training_methods(n: &Names) -> TokenStream {
    let p = p();
    let Names { m, grads, ws, batch_trait, in_ty, out_ty, .. } = n;
    let Model { name, scalar: t, .. } = m;
    let train_bound = quote::quote_spanned!(name.span()=> X::Size: #p::TrainBatch);
    quote! {
        /// A network initialized from `seed` with each dense layer's default scheme (He
        /// before ReLU, Xavier otherwise), built on the stack: for small networks; see
        /// `new_boxed` for big ones.
        pub fn new(seed: u64) -> Self {
            <Self as #p::Network>::new(seed)
        }

        /// Re-initializes every parameter in place from `seed` (default schemes); BNs get
        /// γ = 1, β = 0, fresh population statistics and their declared ε and momentum.
        pub fn init(&mut self, seed: u64) {
            <Self as #p::Network>::init_with(self, ::core::option::Option::None, &mut #p::Rng::seed(seed));
        }

        /// Like [`init`](Self::init), drawing every dense layer's weights from `init`.
        pub fn init_with(&mut self, init: #p::Init, seed: u64) {
            <Self as #p::Network>::init_with(self, ::core::option::Option::Some(init), &mut #p::Rng::seed(seed));
        }

        /// Training forward on a batch of at least 2 samples (batch statistics; population
        /// statistics updated). Returns the output, kept in `ws` for the backward.
        pub fn forward_train<'w, X: #batch_trait + ?::core::marker::Sized>(
            &mut self,
            x: &X,
            ws: &'w mut #ws<X::Size>,
        ) -> &'w #p::Batch<X::Size, #out_ty, #t>
        where
            #train_bound,
        {
            <Self as #p::Network>::forward_train(self, x.as_batch(), ws)
        }

        /// Eval forward of a batch (population statistics) that keeps every layer's
        /// output in `ws` (`ws.aK` is the output of layer K), e.g. to inspect activations.
        pub fn forward_eval<'w, X: #batch_trait + ?::core::marker::Sized>(
            &self,
            x: &X,
            ws: &'w mut #ws<X::Size>,
        ) -> &'w #p::Batch<X::Size, #out_ty, #t> {
            <Self as #p::Network>::forward_eval(self, x.as_batch(), ws)
        }

        /// Backward from `ws.d{last}` (`∂ℓ/∂output`) for the input of the last training
        /// forward; overwrites `grads`.
        pub fn backward<X: #batch_trait + ?::core::marker::Sized>(&self, x: &X, ws: &mut #ws<X::Size>, grads: &mut #grads)
        where
            #train_bound,
        {
            <Self as #p::Network>::backward(self, x.as_batch(), ws, grads)
        }

        /// Applies the optimizer to every parameter.
        pub fn step<O: #p::Optimizer<#t>>(&mut self, grads: &#grads, state: &mut #grads, opt: &O) {
            <Self as #p::Network>::step(self, grads, state, opt)
        }

        /// One training step (forward, loss, backward, optimizer); returns the loss.
        pub fn train_step<X, L, O>(
            &mut self,
            x: &X,
            target: &L::Target,
            loss: &L,
            opt: &O,
            trainer: &mut ::bn_core::__private::Trainer<Self, X::Size>,
        ) -> #t
        where
            X: #batch_trait + ?::core::marker::Sized,
            #train_bound,
            L: ::bn_core::__private::Loss<X::Size, #out_ty, #t>,
            O: #p::Optimizer<#t>,
        {
            <Self as #p::Network>::train_step(self, x.as_batch(), target, loss, opt, trainer)
        }

        /// Recomputes every BN's population statistics over `batches` with the parameters
        /// frozen (Algorithm 2, steps 8–11).
        pub fn recompute_population_statistics<'a, B: #p::TrainBatch>(
            &mut self,
            batches: impl ::core::iter::IntoIterator<Item = &'a #p::Batch<B, #in_ty, #t>>,
            ws: &mut #ws<B>,
        ) {
            <Self as #p::Network>::recompute_population_statistics(self, batches, ws)
        }
    }
}
