//! Code generation for training: the fields of the network and of its gradients, the
//! workspace, and the `Network` impl (forward, backward, optimizer step, initialization,
//! population statistics, folding).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Momentum, Pool, Shape};
use crate::tokens::{conv_geometry, lit, p, pixels_ty, pool_geometry, width_ty, Names};

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

/// The workspace field `s{k}`: the column buffers of layer `k`, a conv.
fn s(k: usize) -> Ident {
    format_ident!("s{}", k)
}

/// The workspace field `i{k}`: where each output of layer `k`, a max pool, came from.
fn argmax(k: usize) -> Ident {
    format_ident!("i{}", k)
}

/// Whether layer `i` is a BN over images right before a ReLU: the two run fused (bn-core's
/// `forward_train_channels` and `backward_channels` with `Fused::ReLU`), and the BN's
/// output is never stored.
fn fused_with_relu(layers: &[Layer], i: usize) -> bool {
    matches!(layers[i].kind, Kind::BatchNorm { .. })
        && matches!(layers[i].input, Shape::Image { .. })
        && layers.get(i + 1).is_some_and(|next| matches!(next.kind, Kind::Activation(Act::ReLU)))
}

/// Whether layers `i..i + 4` are `conv2d, batchnorm, relu, maxpool` (the BN over the
/// conv's image, not renormalizing): they train as one block, a sample at a time (bn-core's
/// `ConvBlock`).
fn conv_block(layers: &[Layer], i: usize) -> bool {
    let kind = |j: usize| layers.get(j).map(|l| &l.kind);
    matches!(kind(i), Some(Kind::Conv2d { .. }))
        && matches!(kind(i + 1), Some(Kind::BatchNorm { renorm: None, .. }))
        && matches!(kind(i + 2), Some(Kind::Activation(Act::ReLU)))
        && matches!(kind(i + 3), Some(Kind::Pool { pool: Pool::Max, .. }))
}

/// Where each layer's output lives in the workspace: `a{k}` for layer `k` (1-based), or `0`
/// for the input itself. `flatten` computes nothing: its output is its input's buffer (unless
/// every layer is a `flatten`: then the last one copies, so that the output has a buffer). A
/// BN fused with the ReLU after it writes the ReLU's buffer.
fn buffers(layers: &[Layer]) -> Vec<usize> {
    let mut out = Vec::with_capacity(layers.len());
    let mut cur = 0;
    for (i, l) in layers.iter().enumerate() {
        let alias = matches!(l.kind, Kind::Flatten) && !(i + 1 == layers.len() && cur == 0);
        if fused_with_relu(layers, i) {
            cur = i + 2;
        } else if !alias {
            cur = i + 1;
        }
        out.push(cur);
    }
    out
}

/// Whether the layer takes an optional `dx` and computes none for the network's input.
fn skips_input_gradient(l: &Layer) -> bool {
    matches!(l.kind, Kind::Dense { .. } | Kind::Conv2d { .. } | Kind::LayerNorm { .. })
}

/// The workspace field `m{k}`: the mask of layer `k`, a dropout.
fn mask(k: usize) -> Ident {
    format_ident!("m{}", k)
}

/// The workspace's fields (`a{k}` = output of layer k, `d{k}` = ∂ℓ/∂a{k}, `c{k}` = BN
/// statistics, `s{k}` = a conv's column buffers; `d0` = ∂ℓ/∂x unless the first computing
/// layer is dense or conv), and the assertions that their types are `Zeroable`.
pub(crate) fn workspace_fields(m: &Model, n: &Names) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let p = p();
    let Names { in_ty, .. } = n;
    let Model { scalar: t, layers, .. } = m;
    let bufs = buffers(layers);
    let mut ws_fields = Vec::new();
    let mut ws_checks = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let k = i + 1;
        if bufs[i] == k {
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
    let first = (0..layers.len()).find(|&i| bufs[i] == i + 1);
    if first.is_some_and(|i| !skips_input_gradient(&layers[i])) {
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
    /// `freeze_batchnorm`: each BN's `freeze` set.
    freeze: Vec<TokenStream>,
    /// `set_renorm_limits`: each renormalizing BN's limits set.
    renorm: Vec<TokenStream>,
}

/// One layer's place in the workspace: its index `k` (1-based), field, input and output
/// buffers, and the gradient buffers of both.
struct At<'a> {
    k: usize,
    f: &'a Ident,
    /// The input (`x` or `&ws.a{j}`) and where `∂ℓ/∂input` goes (`&mut ws.d{j}`).
    input: TokenStream,
    dx: TokenStream,
    /// The output buffer and its gradient.
    out: Ident,
    dout: Ident,
}

impl Steps {
    /// The statements of every layer.
    fn of(m: &Model) -> Self {
        let mut steps = Steps::default();
        let bufs = buffers(&m.layers);
        for (i, l) in m.layers.iter().enumerate() {
            let prev = if i == 0 { 0 } else { bufs[i - 1] };
            let (input, dx) = if prev == 0 {
                let d0 = d(0);
                (quote!(x), quote!(&mut ws.#d0))
            } else {
                let (ap, dp) = (a(prev), d(prev));
                (quote!(&ws.#ap), quote!(&mut ws.#dp))
            };
            let at = At { k: i + 1, f: &l.field, input, dx, out: a(bufs[i]), dout: d(bufs[i]) };
            let (fwd_len, bwd_len) = (steps.fwd.len(), steps.bwd.len());
            match l.kind {
                Kind::Dense { .. } | Kind::Conv2d { .. } => steps.linear(m, i, prev == 0, &at),
                Kind::BatchNorm { .. } => steps.batchnorm(m, l, &at, fused_with_relu(&m.layers, i)),
                Kind::LayerNorm { eps, .. } => steps.layernorm(m, eps, &at, prev == 0),
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
                steps.conv_block(m, i, prev, &at);
            } else if (1..=3).any(|back| i >= back && conv_block(&m.layers, i - back)) {
                steps.fwd.truncate(fwd_len);
                steps.bwd.truncate(bwd_len);
            }
        }
        steps
    }

    /// The training statements of the block `conv2d, batchnorm, relu, maxpool` at layers
    /// `i..i + 4`: the conv's output `a{i+1}` is kept for the backward; the BN's and ReLU's
    /// outputs are never stored (one sample at a time through `a{i+3}[0]` and `d{i+3}[0]`,
    /// the ReLU's buffers); the pool writes `a{i+4}` and `i{i+4}`.
    fn conv_block(&mut self, m: &Model, i: usize, prev: usize, at: &At) {
        let p = p();
        let (conv, bn, pool) = (&m.layers[i], &m.layers[i + 1], &m.layers[i + 3]);
        let (fc, fb) = (&conv.field, &bn.field);
        let (g, px) = (pool_geometry(pool), pixels_ty(bn.input).expect("a BN over images (checked)"));
        let ty = quote!(#p::ConvBlock::<#g, #px>);
        let (sums, ck, sk) = (a(i + 1), c(i + 2), s(i + 1));
        let (act, dact) = (a(i + 3), d(i + 3));
        let (out, dout, ik) = (a(i + 4), d(i + 4), argmax(i + 4));
        let input = &at.input;
        let dx = if prev == 0 {
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

/// The `Network` impl of the network type: training forward, eval forward, backward, optimizer
/// step, initialization, recomputation of the population statistics, and `fold_into` (whose
/// body, `fold`, comes from the folding plan).
pub(crate) fn network_impl(m: &Model, n: &Names, fold: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { cfgs, grads, ws, folded, in_ty, out_ty, .. } = n;
    let Model { name, scalar: t, layers, .. } = m;
    let n_params = lit(m.params());
    let Steps { mut fwd, fwd_eval, mut bwd, step, init, save_mom, restore_mom, freeze, renorm } = Steps::of(m);
    let dropout = layers.iter().any(|l| matches!(l.kind, Kind::Dropout { .. }));
    let dropout_state = if dropout {
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
    bwd.reverse();
    let last = buffers(layers).last().copied().unwrap_or(0);
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

            fn step<O: #p::Optimizer<#t>>(&mut self, grads: &#grads, state: &mut #grads, opt: &O) {
                #(#step)*
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
