//! The statements of each layer in the `Network` methods.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::layout::{a, argmax, buffers, c, conv_block, d, dx, fused_with_relu, mask, s};
use crate::model::{Act, Kind, Layer, Model, Momentum, Pool};
use crate::tokens::{p, pixels_ty, pool_geometry};

/// The statements of the `Network` methods, one (or a few) per layer, in layer order.
#[derive(Default)]
pub(super) struct Steps {
    /// `forward_train`.
    pub(super) fwd: Vec<TokenStream>,
    /// `forward_eval`.
    pub(super) fwd_eval: Vec<TokenStream>,
    /// `backward` (in layer order: reversed when used).
    pub(super) bwd: Vec<TokenStream>,
    /// `step`.
    pub(super) step: Vec<TokenStream>,
    /// `init_with`.
    pub(super) init: Vec<TokenStream>,
    /// `recompute_population_statistics`, before the batches: each BN's momentum saved and
    /// set to cumulative, its population statistics reset.
    pub(super) save_mom: Vec<TokenStream>,
    /// `recompute_population_statistics`, after the batches: each BN's momentum restored.
    pub(super) restore_mom: Vec<TokenStream>,
    /// `freeze_batchnorm`: each BN's `freeze` set.
    pub(super) freeze: Vec<TokenStream>,
    /// `set_renorm_limits`: each renormalizing BN's limits set.
    pub(super) renorm: Vec<TokenStream>,
}

/// One layer's place in the workspace: its index `k` (0-based, as in its buffers' names),
/// field, input and output buffers, and the gradient buffers of both.
struct At<'a> {
    k: usize,
    f: &'a Ident,
    /// The input (`x` or `&ws.a{j}`) and where `∂ℓ/∂input` goes (`&mut ws.dx` or
    /// `&mut ws.d{j}`).
    input: TokenStream,
    dx: TokenStream,
    /// The output buffer and its gradient.
    out: Ident,
    dout: Ident,
}

impl Steps {
    /// The statements of every layer.
    pub(super) fn of(m: &Model) -> Self {
        let mut steps = Steps::default();
        let bufs = buffers(&m.layers);
        for (i, l) in m.layers.iter().enumerate() {
            let prev = if i == 0 { None } else { bufs[i - 1] };
            // Only a `flatten` of the network's input has no buffer: nothing to compute.
            let Some(cur) = bufs[i] else { continue };
            let (input, dx) = match prev {
                None => {
                    let dx = dx();
                    (quote!(x), quote!(&mut ws.#dx))
                }
                Some(j) => {
                    let (aj, dj) = (a(j), d(j));
                    (quote!(&ws.#aj), quote!(&mut ws.#dj))
                }
            };
            let first = prev.is_none();
            let at = At { k: i, f: &l.field, input, dx, out: a(cur), dout: d(cur) };
            let (fwd_len, bwd_len) = (steps.fwd.len(), steps.bwd.len());
            match l.kind {
                Kind::Dense { .. } | Kind::Conv2d { .. } => steps.linear(m, i, first, &at),
                Kind::BatchNorm { .. } => steps.batchnorm(m, l, &at, fused_with_relu(&m.layers, i)),
                Kind::LayerNorm { eps, .. } => steps.layernorm(m, eps, &at, first),
                Kind::Dropout { p } => steps.dropout(m, p, &at),
                // Computed by the BN before it.
                Kind::Activation(Act::ReLU) if i > 0 && fused_with_relu(&m.layers, i - 1) => {}
                Kind::Activation(act) => steps.activation(act, &at),
                Kind::Pool { pool, .. } => steps.pool(l, pool, &at),
                Kind::Flatten => steps.flatten(&at, bufs[i] == prev),
            }
            // A `conv2d, batchnorm, relu, maxpool` block trains as one (bn-core's
            // `ConvBlock`): its first layer's training statements become the block's, the
            // others' go (their eval forward, optimizer step and initialization stay).
            if conv_block(&m.layers, i) {
                steps.fwd.truncate(fwd_len);
                steps.bwd.truncate(bwd_len);
                steps.conv_block(m, i, first, &at);
            } else if (1..=3).any(|back| i >= back && conv_block(&m.layers, i - back)) {
                steps.fwd.truncate(fwd_len);
                steps.bwd.truncate(bwd_len);
            }
        }
        steps
    }

    /// The training statements of the block `conv2d, batchnorm, relu, maxpool` at layers
    /// `i..i + 4`: the conv's output `a{i}` is kept for the backward; the BN's and ReLU's
    /// outputs are never stored (one sample at a time through `a{i+2}[0]` and `d{i+2}[0]`,
    /// the ReLU's buffers); the pool writes `a{i+3}` and `i{i+3}`; `first`: the block's
    /// input is the network's (no input gradient).
    fn conv_block(&mut self, m: &Model, i: usize, first: bool, at: &At) {
        let p = p();
        let (conv, bn, pool) = (&m.layers[i], &m.layers[i + 1], &m.layers[i + 3]);
        let (fc, fb) = (&conv.field, &bn.field);
        let (g, px) = (pool_geometry(pool), pixels_ty(bn.input).expect("a BN over images (checked)"));
        let ty = quote!(#p::ConvBlock::<#g, #px>);
        let (sums, ck, sk) = (a(i), c(i + 1), s(i));
        let (act, dact) = (a(i + 2), d(i + 2));
        let (out, dout, ik) = (a(i + 3), d(i + 3), argmax(i + 3));
        let input = &at.input;
        let dx = if first {
            quote!(::core::option::Option::None)
        } else {
            let dx = &at.dx;
            quote!(::core::option::Option::Some(#dx))
        };
        self.fwd.push(quote! {
            #ty::forward_train(
                &self.#fc, &mut self.#fb, #input, &mut ws.#sums, &mut ws.#ck,
                &mut ws.#out, &mut ws.#ik, &mut ws.#act[0], &mut ws.#sk.forward,
            );
        });
        self.bwd.push(quote! {
            #ty::backward(
                &self.#fc, &self.#fb, #input, &ws.#sums, &ws.#ck, &ws.#ik, &ws.#dout, #dx,
                &mut grads.#fc, &mut grads.#fb, &mut ws.#sk, &mut ws.#act[0], &mut ws.#dact[0],
            );
        });
    }

    /// Layer `i` (0-based), a dense or conv layer; `first`: its input is the network's.
    fn linear(&mut self, m: &Model, i: usize, first: bool, at: &At) {
        let p = p();
        let l = &m.layers[i];
        let At { k, f, input, dx, out, dout } = at;
        let dx = if first { quote!(::core::option::Option::None) } else { quote!(::core::option::Option::Some(#dx)) };
        if let Kind::Conv2d { .. } = l.kind {
            let sk = s(*k);
            self.fwd.push(quote!(self.#f.forward(#input, &mut ws.#out, &mut ws.#sk.forward);));
            self.fwd_eval.push(quote!(self.#f.forward(#input, &mut ws.#out, &mut ws.#sk.forward);));
            self.bwd.push(quote!(self.#f.backward(#input, &ws.#dout, #dx, &mut grads.#f, &mut ws.#sk);));
        } else {
            self.fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#out);));
            self.fwd_eval.push(quote!(self.#f.forward(#input, &mut ws.#out);));
            self.bwd.push(quote!(self.#f.backward(#input, &ws.#dout, #dx, &mut grads.#f);));
        }
        self.step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
        // Default init: He before a ReLU (looking past BN, pools and flatten), Xavier
        // otherwise.
        let next_act = m.layers[i + 1..].iter().find_map(|next| match next.kind {
            Kind::Activation(act) => Some(act),
            Kind::Dense { .. } | Kind::Conv2d { .. } => Some(Act::Sigmoid),
            Kind::BatchNorm { .. }
            | Kind::LayerNorm { .. }
            | Kind::Dropout { .. }
            | Kind::Pool { .. }
            | Kind::Flatten => None,
        });
        let default = if next_act == Some(Act::ReLU) { quote!(HeNormal) } else { quote!(XavierNormal) };
        self.init.push(quote!(self.#f.init(init.unwrap_or(#p::Init::#default), rng);));
    }

    /// An activation: no parameters.
    fn activation(&mut self, act: Act, at: &At) {
        let p = p();
        let At { input, dx, out, dout, .. } = at;
        let ty = format_ident!("{}", act.type_name());
        self.fwd.push(quote!(<#p::#ty as #p::Activation>::forward(#input, &mut ws.#out);));
        self.fwd_eval.push(quote!(<#p::#ty as #p::Activation>::forward(#input, &mut ws.#out);));
        self.bwd.push(quote!(<#p::#ty as #p::Activation>::backward(&ws.#out, &ws.#dout, #dx);));
    }

    /// A pool: no parameters; max pooling records where each output came from.
    fn pool(&mut self, l: &Layer, pool: Pool, at: &At) {
        let p = p();
        let At { k, input, dx, out, dout, .. } = at;
        let g = pool_geometry(l);
        match pool {
            Pool::Max => {
                let (ty, ik) = (quote!(#p::MaxPool2d<#g>), argmax(*k));
                self.fwd.push(quote!(<#ty>::forward_train(#input, &mut ws.#out, &mut ws.#ik);));
                self.fwd_eval.push(quote!(<#ty>::forward(#input, &mut ws.#out);));
                self.bwd.push(quote!(<#ty>::backward(&ws.#ik, &ws.#dout, #dx);));
            }
            Pool::Avg => {
                let ty = quote!(#p::AvgPool2d<#g>);
                self.fwd.push(quote!(<#ty>::forward(#input, &mut ws.#out);));
                self.fwd_eval.push(quote!(<#ty>::forward(#input, &mut ws.#out);));
                self.bwd.push(quote!(<#ty>::backward(&ws.#dout, #dx);));
            }
        }
    }

    /// `flatten`: nothing to compute (its output is its input's buffer), unless it is the
    /// network's only kind of layer (`alias` false): then it copies.
    fn flatten(&mut self, at: &At, alias: bool) {
        if alias {
            return;
        }
        let At { input, dx, out, dout, .. } = at;
        self.fwd.push(quote!(ws.#out.clone_from(#input);));
        self.fwd_eval.push(quote!(ws.#out.clone_from(#input);));
        self.bwd.push(quote!((#dx).clone_from(&ws.#dout);));
    }

    /// A LayerNorm: the same forward in training and eval; `first`: its input is the
    /// network's (no input gradient).
    fn layernorm(&mut self, m: &Model, eps: f64, at: &At, first: bool) {
        let p = p();
        let t = &m.scalar;
        let At { k, f, input, dx, out, dout } = at;
        let ck = c(*k);
        let dx = if first { quote!(::core::option::Option::None) } else { quote!(::core::option::Option::Some(#dx)) };
        self.fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#out, &mut ws.#ck);));
        self.fwd_eval.push(quote!(self.#f.forward(#input, &mut ws.#out);));
        self.bwd.push(quote!(self.#f.backward(#input, &ws.#ck, &ws.#dout, #dx, &mut grads.#f);));
        self.step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
        self.init.push(quote! {
            self.#f.reset();
            self.#f.eps = <#t as #p::Float>::from_f64(#eps);
        });
    }

    /// Inverted dropout with probability `p`: the mask from the training forward's `rng`;
    /// a copy in eval.
    fn dropout(&mut self, m: &Model, prob: f64, at: &At) {
        let p = p();
        let t = &m.scalar;
        let At { k, input, dx, out, dout, .. } = at;
        let mk = mask(*k);
        self.fwd.push(quote! {
            #p::Dropout::forward_train(<#t as #p::Float>::from_f64(#prob), #input, &mut ws.#out, &mut ws.#mk, &mut rng);
        });
        self.fwd_eval.push(quote!(#p::flat_mut(&mut ws.#out).copy_from_slice(#p::flat(#input));));
        self.bwd.push(quote!(#p::Dropout::backward(&ws.#mk, &ws.#dout, #dx);));
    }

    /// A BN with its declared options, over features or over the channels of images;
    /// `relu`: fused with the ReLU after it (over images), writing that ReLU's output.
    fn batchnorm(&mut self, m: &Model, l: &Layer, at: &At, relu: bool) {
        let Kind::BatchNorm { eps, momentum, affine, renorm } = l.kind else { unreachable!("a BN") };
        let p = p();
        let t = &m.scalar;
        let At { k, f, input, dx, out, dout } = at;
        let ck = c(*k);
        match (pixels_ty(l.input), relu) {
            (None, _) => {
                self.fwd.push(quote!(self.#f.forward_train(#input, &mut ws.#out, &mut ws.#ck);));
                self.fwd_eval.push(quote!(self.#f.forward_eval(#input, &mut ws.#out);));
                self.bwd.push(quote!(self.#f.backward(#input, &ws.#ck, &ws.#dout, #dx, &mut grads.#f);));
            }
            (Some(px), relu) => {
                let fused = if relu { quote!(#p::Fused::ReLU) } else { quote!(#p::Fused::Nothing) };
                self.fwd.push(quote!(
                    self.#f.forward_train_channels::<#px, _, _>(#input, &mut ws.#out, &mut ws.#ck, #fused);
                ));
                self.fwd_eval.push(quote!(self.#f.forward_eval_channels::<#px, _, _>(#input, &mut ws.#out);));
                if relu {
                    self.fwd_eval.push(quote!(<#p::ReLU as #p::Activation>::apply(#p::flat_mut(&mut ws.#out));));
                }
                self.bwd.push(quote!(
                    self.#f.backward_channels::<#px, _, _>(#input, &ws.#ck, &ws.#dout, #dx, &mut grads.#f, #fused);
                ));
            }
        }
        self.step.push(quote!(#p::Parameters::step(&mut self.#f, &grads.#f, &mut state.#f, opt);));
        let mom = match momentum {
            Momentum::Cumulative => quote!(#p::Momentum::Cumulative),
            Momentum::Exponential(v) => quote!(#p::Momentum::Exponential(<#t as #p::Float>::from_f64(#v))),
        };
        let mut options = quote! {
            self.#f.eps = <#t as #p::Float>::from_f64(#eps);
            self.#f.momentum = #mom;
        };
        if !affine {
            options.extend(quote!(self.#f.affine = false;));
        }
        if let Some((rmax, dmax)) = renorm {
            options.extend(quote! {
                self.#f.renorm = true;
                self.#f.rmax = <#t as #p::Float>::from_f64(#rmax);
                self.#f.dmax = <#t as #p::Float>::from_f64(#dmax);
            });
        }
        self.init.push(quote! {
            self.#f.reset();
            #options
        });
        // Algorithm 2: plain BN statistics, also of frozen and renormalizing layers.
        let saved = format_ident!("saved_{}", f);
        self.save_mom.push(quote! {
            let #saved = (self.#f.momentum, self.#f.freeze, self.#f.renorm);
            self.#f.momentum = #p::Momentum::Cumulative;
            self.#f.freeze = #p::Freeze::No;
            self.#f.renorm = false;
            self.#f.reset_running_stats();
        });
        self.restore_mom.push(quote!((self.#f.momentum, self.#f.freeze, self.#f.renorm) = #saved;));
        self.freeze.push(quote!(self.#f.freeze = freeze;));
        if renorm.is_some() {
            self.renorm.push(quote!(self.#f.rmax = rmax; self.#f.dmax = dmax;));
        }
    }
}
