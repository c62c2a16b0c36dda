//! The statements of each layer in the `Network` methods. A residual block's statements are
//! its branches' (each a sequence, [`Seq`], with its own buffers), then the addition; its
//! backward is one statement (the branches' backwards, then the sum at the fork).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::layout::{argmax, c, conv_block, fused_with_relu, mask, next_activation, s, Seq};
use crate::model::{Act, Kind, Layer, Momentum, Pool};
use crate::tokens::{global_avgpool_ty, p, pixels_ty, pool_geometry};

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
    /// `visit_grads`.
    pub(super) visit: Vec<TokenStream>,
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

/// One layer's place: its index `k` (0-based, as in its buffers' names), its field in the
/// network and gradients types (`self.{f}`, `grads.{f}` with the sequence's path), its
/// input and output buffers, and the gradient buffers of both.
struct At {
    k: usize,
    /// `self.dense0`, `self.residual3.body.conv2d0`.
    f: TokenStream,
    /// `grads.dense0`, …
    g: TokenStream,
    /// The layer's `StateMut`: `StateMut { m: &mut m.dense0, … }` (`m`, `v`, `w` and `step`
    /// are the locals of `step`).
    st: TokenStream,
    /// The input, of type `&Batch` (`x`, `&ws.a2`).
    input: TokenStream,
    /// Where `∂ℓ/∂input` goes, of type `&mut Batch`.
    dx: TokenStream,
    /// Whether anyone needs `∂ℓ/∂input` (else a layer that can skip it does).
    wanted: bool,
    /// The output buffer and its gradient, as places.
    out: TokenStream,
    dout: TokenStream,
    /// The sequence's workspace, as a place (`ws`, `ws.residual3.body`).
    ws: TokenStream,
}

impl At {
    /// `Some(dx)`, or `None` when nobody needs the input gradient.
    fn optional_dx(&self) -> TokenStream {
        let dx = &self.dx;
        if self.wanted {
            quote!(::core::option::Option::Some(#dx))
        } else {
            quote!(::core::option::Option::None)
        }
    }
}

impl Steps {
    /// The statements of every layer of `seq` (in `t`, the scalar type), blocks included.
    pub(super) fn of(seq: &Seq, t: &Ident) -> Self {
        let mut steps = Steps::default();
        let path = &seq.scope.path;
        for (i, l) in seq.layers.iter().enumerate() {
            // Only a `flatten` of the sequence's input has no buffer: nothing to compute.
            let Some(cur) = seq.bufs[i] else { continue };
            let (input, dx, wanted) = seq.input_of(i);
            let f = &l.field;
            let at = At {
                k: i,
                f: quote!(self #path.#f),
                g: quote!(grads #path.#f),
                st: {
                    let p = p();
                    quote!(#p::StateMut { m: &mut m #path.#f, v: &mut v #path.#f, v_max: &mut w #path.#f, step })
                },
                input,
                dx,
                wanted,
                out: seq.out(cur),
                dout: seq.grad(cur),
                ws: quote!(ws #path),
            };
            let (fwd_len, bwd_len) = (steps.fwd.len(), steps.bwd.len());
            match l.kind {
                Kind::Dense { .. } | Kind::Conv2d { .. } => steps.linear(seq, i, &at),
                Kind::BatchNorm { .. } => steps.batchnorm(seq, l, &at, t),
                Kind::LayerNorm { eps, .. } => steps.layernorm(eps, &at, t),
                Kind::GroupNorm { eps, .. } => steps.groupnorm(l, eps, &at, t),
                Kind::Dropout { p } => steps.dropout(p, &at, t),
                // Computed by the BN or block before it.
                Kind::Activation(Act::ReLU) if i > 0 && fused_with_relu(seq.layers, i - 1) => {}
                Kind::Activation(act) => steps.activation(act, &at),
                Kind::Pool { pool, .. } => steps.pool(l, pool, &at),
                Kind::GlobalAvgPool => steps.global_avgpool(l, &at),
                Kind::Flatten => steps.flatten(&at, seq.bufs[i] == if i == 0 { None } else { seq.bufs[i - 1] }),
                Kind::Residual(_) => steps.residual(seq, i, &at, t),
            }
            // A `conv2d, batchnorm, relu, maxpool` block trains as one (bn-core's
            // `ConvBlock`): its first layer's training statements become the block's, the
            // others' go (their eval forward, optimizer step and initialization stay).
            if conv_block(seq.layers, i) {
                steps.fwd.truncate(fwd_len);
                steps.bwd.truncate(bwd_len);
                steps.conv_block(seq, i, &at);
            } else if (1..=3).any(|back| i >= back && conv_block(seq.layers, i - back)) {
                steps.fwd.truncate(fwd_len);
                steps.bwd.truncate(bwd_len);
            }
        }
        steps
    }

    /// The optimizer step and the gradients' visit of a layer with parameters.
    fn parameters(&mut self, at: &At) {
        let p = p();
        let At { f, g, st, .. } = at;
        self.step.push(quote!(#p::Parameters::step(&mut #f, &#g, #st, opt);));
        self.visit.push(quote!(#p::Parameters::visit_grads(&#f, &mut #g, visit);));
    }

    /// The residual block at layer `i`: each branch's statements, then the sum of their
    /// outputs (with the ReLU after the block, fused); backward, the ReLU's, each branch's
    /// (the body writes the gradient of the block's input, the shortcut its own), then the
    /// shortcut's (or the identity's) gradient added to it.
    fn residual(&mut self, seq: &Seq, i: usize, at: &At, t: &Ident) {
        let p = p();
        let (body, shortcut) = seq.branches(i);
        let (body_steps, short_steps) = (Steps::of(&body, t), shortcut.as_ref().map(|s| Steps::of(s, t)));
        let out_of = |branch: &Seq| {
            let k = branch.last_buf().unwrap_or(0);
            let a = branch.out(k);
            quote!(&#a)
        };
        let (b_out, s_out) = (out_of(&body), shortcut.as_ref().map_or_else(|| at.input.clone(), out_of));
        let relu = fused_with_relu(seq.layers, i);
        let out = &at.out;
        let add = if relu {
            quote!(#p::Residual::add_relu(#b_out, #s_out, &mut #out);)
        } else {
            quote!(#p::Residual::add(#b_out, #s_out, &mut #out);)
        };
        let grad = seq.block_grad(i);
        let mut bwd = TokenStream::new();
        if relu {
            let dout = &at.dout;
            bwd.extend(quote!(#p::Residual::relu_backward(&#out, &#dout, &mut #grad);));
        }
        let branch_steps = std::iter::once(body_steps).chain(short_steps);
        for mut steps in branch_steps {
            self.fwd.append(&mut steps.fwd);
            self.fwd_eval.append(&mut steps.fwd_eval);
            steps.bwd.reverse();
            bwd.extend(steps.bwd);
            self.step.append(&mut steps.step);
            self.visit.append(&mut steps.visit);
            self.init.append(&mut steps.init);
            self.save_mom.append(&mut steps.save_mom);
            self.restore_mom.append(&mut steps.restore_mom);
            self.freeze.append(&mut steps.freeze);
            self.renorm.append(&mut steps.renorm);
        }
        self.fwd.push(add.clone());
        self.fwd_eval.push(add);
        if at.wanted {
            let dx = &at.dx;
            let added = match &shortcut {
                Some(s) => {
                    let own = s.ws(&super::layout::dx());
                    quote!(&#own)
                }
                None => quote!(&#grad),
            };
            bwd.extend(quote!(#p::Residual::accumulate(#dx, #added);));
        }
        self.bwd.push(bwd);
    }

    /// The training statements of the block `conv2d, batchnorm, relu, maxpool` at layers
    /// `i..i + 4`: the conv's output `a{i}` is kept for the backward; the BN's and ReLU's
    /// outputs are never stored (one sample at a time through `a{i+2}[0]` and `d{i+2}[0]`,
    /// the ReLU's buffers); the pool writes `a{i+3}` and `i{i+3}`.
    fn conv_block(&mut self, seq: &Seq, i: usize, at: &At) {
        let p = p();
        let path = &seq.scope.path;
        let (conv, bn, pool) = (&seq.layers[i], &seq.layers[i + 1], &seq.layers[i + 3]);
        let (fc, fb) = (&conv.field, &bn.field);
        let (g, px) = (pool_geometry(pool), pixels_ty(bn.input).expect("a BN over images (checked)"));
        let ty = quote!(#p::ConvBlock::<#g, #px>);
        let (sums, ck, sk) = (seq.out(i), seq.ws(&c(i + 1)), seq.ws(&s(i)));
        let (act, dact) = (seq.out(i + 2), seq.grad(i + 2));
        let (out, dout, ik) = (seq.out(i + 3), seq.grad(i + 3), seq.ws(&argmax(i + 3)));
        let input = &at.input;
        let dx = at.optional_dx();
        self.fwd.push(quote! {
            #ty::forward_train(
                &self #path.#fc, &mut self #path.#fb, #input, &mut #sums, &mut #ck,
                &mut #out, &mut #ik, &mut #act[0], &mut #sk.forward,
            );
        });
        self.bwd.push(quote! {
            #ty::backward(
                &self #path.#fc, &self #path.#fb, #input, &#sums, &#ck, &#ik, &#dout, #dx,
                &mut grads #path.#fc, &mut grads #path.#fb, &mut #sk, &mut #act[0], &mut #dact[0],
            );
        });
    }

    /// Layer `i` (0-based), a dense or conv layer.
    fn linear(&mut self, seq: &Seq, i: usize, at: &At) {
        let p = p();
        let l = &seq.layers[i];
        let At { k, f, g, input, out, dout, .. } = at;
        let dx = at.optional_dx();
        if let Kind::Conv2d { .. } = l.kind {
            let sk = seq.ws(&s(*k));
            self.fwd.push(quote!(#f.forward(#input, &mut #out, &mut #sk.forward);));
            self.fwd_eval.push(quote!(#f.forward(#input, &mut #out, &mut #sk.forward);));
            self.bwd.push(quote!(#f.backward(#input, &#dout, #dx, &mut #g, &mut #sk);));
        } else {
            self.fwd.push(quote!(#f.forward_train(#input, &mut #out);));
            self.fwd_eval.push(quote!(#f.forward(#input, &mut #out);));
            self.bwd.push(quote!(#f.backward(#input, &#dout, #dx, &mut #g);));
        }
        self.parameters(at);
        // Default init: He before a ReLU (looking past BN, pools, flatten and blocks, and
        // out of a branch), Xavier otherwise.
        let default = if next_activation(seq.layers, i, seq.then) == Some(Act::ReLU) {
            quote!(HeNormal)
        } else {
            quote!(XavierNormal)
        };
        self.init.push(quote!(#f.init(init.unwrap_or(#p::Init::#default), rng);));
    }

    /// An activation: no parameters.
    fn activation(&mut self, act: Act, at: &At) {
        let p = p();
        let At { input, dx, out, dout, .. } = at;
        let ty = format_ident!("{}", act.type_name());
        self.fwd.push(quote!(<#p::#ty as #p::Activation>::forward(#input, &mut #out);));
        self.fwd_eval.push(quote!(<#p::#ty as #p::Activation>::forward(#input, &mut #out);));
        self.bwd.push(quote!(<#p::#ty as #p::Activation>::backward(&#out, &#dout, #dx);));
    }

    /// A pool: no parameters; max pooling records where each output came from.
    fn pool(&mut self, l: &Layer, pool: Pool, at: &At) {
        let p = p();
        let At { k, input, dx, out, dout, ws, .. } = at;
        let g = pool_geometry(l);
        match pool {
            Pool::Max => {
                let (ty, ik) = (quote!(#p::MaxPool2d<#g>), argmax(*k));
                self.fwd.push(quote!(<#ty>::forward_train(#input, &mut #out, &mut #ws.#ik);));
                self.fwd_eval.push(quote!(<#ty>::forward(#input, &mut #out);));
                self.bwd.push(quote!(<#ty>::backward(&#ws.#ik, &#dout, #dx);));
            }
            Pool::Avg => {
                let ty = quote!(#p::AvgPool2d<#g>);
                self.fwd.push(quote!(<#ty>::forward(#input, &mut #out);));
                self.fwd_eval.push(quote!(<#ty>::forward(#input, &mut #out);));
                self.bwd.push(quote!(<#ty>::backward(&#dout, #dx);));
            }
        }
    }

    /// `global_avgpool`: no parameters, the same forward in training and eval.
    fn global_avgpool(&mut self, l: &Layer, at: &At) {
        let At { input, dx, out, dout, .. } = at;
        let ty = global_avgpool_ty(l);
        self.fwd.push(quote!(<#ty>::forward(#input, &mut #out);));
        self.fwd_eval.push(quote!(<#ty>::forward(#input, &mut #out);));
        self.bwd.push(quote!(<#ty>::backward(&#dout, #dx);));
    }

    /// `flatten`: nothing to compute (its output is its input's buffer), unless it is the
    /// sequence's only kind of layer (`alias` false): then it copies.
    fn flatten(&mut self, at: &At, alias: bool) {
        if alias {
            return;
        }
        let At { input, dx, out, dout, .. } = at;
        self.fwd.push(quote!(#out.clone_from(#input);));
        self.fwd_eval.push(quote!(#out.clone_from(#input);));
        self.bwd.push(quote!((#dx).clone_from(&#dout);));
    }

    /// A LayerNorm: the same forward in training and eval.
    fn layernorm(&mut self, eps: f64, at: &At, t: &Ident) {
        let p = p();
        let At { k, f, g, input, out, dout, ws, .. } = at;
        let ck = c(*k);
        let dx = at.optional_dx();
        self.fwd.push(quote!(#f.forward_train(#input, &mut #out, &mut #ws.#ck);));
        self.fwd_eval.push(quote!(#f.forward(#input, &mut #out);));
        self.bwd.push(quote!(#f.backward(#input, &#ws.#ck, &#dout, #dx, &mut #g);));
        self.parameters(at);
        self.init.push(quote! {
            #f.reset();
            #f.eps = <#t as #p::Float>::from_f64(#eps);
        });
    }

    /// A GroupNorm over an image: the same forward in training and eval, per sample.
    fn groupnorm(&mut self, l: &Layer, eps: f64, at: &At, t: &Ident) {
        let p = p();
        let At { k, f, g, input, out, dout, ws, .. } = at;
        let ck = c(*k);
        let dx = at.optional_dx();
        let px = pixels_ty(l.input).expect("a GroupNorm over images (checked)");
        self.fwd.push(quote!(#f.forward_train::<#px, _, _>(#input, &mut #out, &mut #ws.#ck);));
        self.fwd_eval.push(quote!(#f.forward::<#px, _, _>(#input, &mut #out);));
        self.bwd.push(quote!(#f.backward::<#px, _, _>(#input, &#ws.#ck, &#dout, #dx, &mut #g);));
        self.parameters(at);
        self.init.push(quote! {
            #f.reset();
            #f.eps = <#t as #p::Float>::from_f64(#eps);
        });
    }

    /// Inverted dropout with probability `p`: the mask from the training forward's `rng`;
    /// a copy in eval.
    fn dropout(&mut self, prob: f64, at: &At, t: &Ident) {
        let p = p();
        let At { k, input, dx, out, dout, ws, .. } = at;
        let mk = mask(*k);
        self.fwd.push(quote! {
            #p::Dropout::forward_train(<#t as #p::Float>::from_f64(#prob), #input, &mut #out, &mut #ws.#mk, &mut rng);
        });
        self.fwd_eval.push(quote!(#p::flat_mut(&mut #out).copy_from_slice(#p::flat(#input));));
        self.bwd.push(quote!(#p::Dropout::backward(&#ws.#mk, &#dout, #dx);));
    }

    /// A BN with its declared options, over features or over the channels of images; fused
    /// with the ReLU after it (over images), writing that ReLU's output.
    fn batchnorm(&mut self, seq: &Seq, l: &Layer, at: &At, t: &Ident) {
        let Kind::BatchNorm { eps, momentum, affine, renorm } = l.kind else { unreachable!("a BN") };
        let p = p();
        let At { k, f, g, input, dx, out, dout, ws, .. } = at;
        let relu = fused_with_relu(seq.layers, *k);
        let ck = c(*k);
        match (pixels_ty(l.input), relu) {
            (None, _) => {
                self.fwd.push(quote!(#f.forward_train(#input, &mut #out, &mut #ws.#ck);));
                self.fwd_eval.push(quote!(#f.forward_eval(#input, &mut #out);));
                self.bwd.push(quote!(#f.backward(#input, &#ws.#ck, &#dout, #dx, &mut #g);));
            }
            (Some(px), relu) => {
                let fused = if relu { quote!(#p::Fused::ReLU) } else { quote!(#p::Fused::Nothing) };
                self.fwd.push(quote!(
                    #f.forward_train_channels::<#px, _, _>(#input, &mut #out, &mut #ws.#ck, #fused);
                ));
                self.fwd_eval.push(quote!(#f.forward_eval_channels::<#px, _, _>(#input, &mut #out);));
                if relu {
                    self.fwd_eval.push(quote!(<#p::ReLU as #p::Activation>::apply(#p::flat_mut(&mut #out));));
                }
                self.bwd.push(quote!(
                    #f.backward_channels::<#px, _, _>(#input, &#ws.#ck, &#dout, #dx, &mut #g, #fused);
                ));
            }
        }
        self.parameters(at);
        let mom = match momentum {
            Momentum::Cumulative => quote!(#p::Momentum::Cumulative),
            Momentum::Exponential(v) => quote!(#p::Momentum::Exponential(<#t as #p::Float>::from_f64(#v))),
        };
        let mut options = quote! {
            #f.eps = <#t as #p::Float>::from_f64(#eps);
            #f.momentum = #mom;
        };
        if !affine {
            options.extend(quote!(#f.affine = false;));
        }
        if let Some((rmax, dmax)) = renorm {
            options.extend(quote! {
                #f.renorm = true;
                #f.rmax = <#t as #p::Float>::from_f64(#rmax);
                #f.dmax = <#t as #p::Float>::from_f64(#dmax);
            });
        }
        self.init.push(quote! {
            #f.reset();
            #options
        });
        // Algorithm 2: plain BN statistics, also of frozen and renormalizing layers.
        let saved = format_ident!("saved_{}{}", seq.scope.tag, l.field);
        self.save_mom.push(quote! {
            let #saved = (#f.momentum, #f.freeze, #f.renorm);
            #f.momentum = #p::Momentum::Cumulative;
            #f.freeze = #p::Freeze::No;
            #f.renorm = false;
            #f.reset_running_stats();
        });
        self.restore_mom.push(quote!((#f.momentum, #f.freeze, #f.renorm) = #saved;));
        self.freeze.push(quote!(#f.freeze = freeze;));
        if renorm.is_some() {
            self.renorm.push(quote!(#f.rmax = rmax; #f.dmax = dmax;));
        }
    }
}
