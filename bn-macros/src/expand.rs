//! Code generation from a validated [`Model`]. The expansion is linear in the number of
//! layers: every loop over a width lives in `bn-core`, never in generated code.
//! Generated code names only `::core::…` and `::bn_core::__private::…`.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Kind, Layer, Model, Momentum};

/// The path of bn-core's re-exports for generated code.
fn p() -> TokenStream {
    quote!(::bn_core::__private)
}

/// The typenum type of a width: `U784` up to 1024 (typenum names those), the binary
/// `UInt<…, B1>` form beyond, so any width works.
fn width_ty(n: usize) -> TokenStream {
    let p = p();
    if n <= 1024 {
        let id = format_ident!("U{}", n);
        return quote!(#p::typenum::consts::#id);
    }
    let mut ty = quote!(#p::UTerm);
    for bit in (0..usize::BITS - n.leading_zeros()).rev() {
        let b = if (n >> bit) & 1 == 1 { quote!(#p::B1) } else { quote!(#p::B0) };
        ty = quote!(#p::UInt<#ty, #b>);
    }
    ty
}

fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// `1234567` → `1,234,567`.
fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One layer of the folded model.
pub(crate) enum Folded<'a> {
    /// A dense layer with the BNs folded into it from before (after an activation) and
    /// after (right behind it).
    Dense {
        src: &'a Layer,
        pre: Vec<&'a Layer>,
        post: Vec<&'a Layer>,
    },
    /// BNs with no dense neighbour: one affine layer.
    Affine {
        bns: Vec<&'a Layer>,
    },
    Act(&'a Layer),
}

/// The folding plan: BN → into the dense before it; otherwise into the dense right after it;
/// otherwise (composed with adjacent BNs) an affine layer. Never across an activation.
pub(crate) fn fold_plan(layers: &[Layer]) -> Vec<Folded<'_>> {
    let mut first: Vec<Folded> = Vec::new();
    for l in layers {
        match l.kind {
            Kind::Dense { .. } => first.push(Folded::Dense { src: l, pre: vec![], post: vec![] }),
            Kind::BatchNorm { .. } => match first.last_mut() {
                Some(Folded::Dense { post, .. }) => post.push(l),
                Some(Folded::Affine { bns }) => bns.push(l),
                _ => first.push(Folded::Affine { bns: vec![l] }),
            },
            Kind::Activation(_) => first.push(Folded::Act(l)),
        }
    }
    let mut out = Vec::new();
    let mut pending: Option<Vec<&Layer>> = None;
    for f in first {
        match f {
            Folded::Affine { bns } => pending = Some(bns),
            Folded::Dense { src, post, .. } => {
                out.push(Folded::Dense { src, pre: pending.take().unwrap_or_default(), post })
            }
            act => {
                if let Some(bns) = pending.take() {
                    out.push(Folded::Affine { bns });
                }
                out.push(act);
            }
        }
    }
    if let Some(bns) = pending {
        out.push(Folded::Affine { bns });
    }
    out
}

impl Folded<'_> {
    pub(crate) fn field(&self) -> Option<&Ident> {
        match self {
            Folded::Dense { src, .. } => Some(&src.field),
            Folded::Affine { bns } => Some(&bns[0].field),
            Folded::Act(_) => None,
        }
    }
    pub(crate) fn input(&self) -> usize {
        match self {
            Folded::Dense { src, .. } => src.input,
            Folded::Affine { bns } => bns[0].input,
            Folded::Act(l) => l.input,
        }
    }
    pub(crate) fn output(&self) -> usize {
        match self {
            Folded::Dense { src, .. } => src.output(),
            Folded::Affine { bns } => bns[0].input,
            Folded::Act(l) => l.input,
        }
    }
    fn describe(&self) -> String {
        match self {
            Folded::Dense { src, pre, post } => {
                let mut s = format!("dense({} => {})", src.input, src.output());
                let names: Vec<String> = pre.iter().chain(post).map(|b| format!("`{}`", b.field)).collect();
                if !names.is_empty() {
                    s.push_str(&format!(" with {} folded in", names.join(", ")));
                }
                s
            }
            Folded::Affine { bns } => {
                let names: Vec<String> = bns.iter().map(|b| format!("`{}`", b.field)).collect();
                format!("affine({}) from {}", bns[0].input, names.join(", "))
            }
            Folded::Act(l) => l.kind_name().to_string(),
        }
    }
}

/// `self.b0.to_affine().then(&self.b1.to_affine())…` for a run of BNs.
fn composed_affine(bns: &[&Layer]) -> TokenStream {
    let mut it = bns.iter().map(|b| &b.field);
    let first = it.next();
    let mut expr = quote!(self.#first.to_affine());
    for f in it {
        expr = quote!(#expr.then(&self.#f.to_affine()));
    }
    expr
}

fn layer_doc(index: usize, l: &Layer) -> String {
    let extra = match l.kind {
        Kind::Dense { bias: false, .. } => ", no bias",
        _ => "",
    };
    format!("Layer {} `{}`: {} → {}{extra}.", index + 1, l.text, l.input, l.output())
}

fn summary(m: &Model, plan: &[Folded]) -> (String, String) {
    let name = syn::ext::IdentExt::unraw(&m.name).to_string();
    let mut rows =
        vec![("#".to_string(), "name".to_string(), "layer".to_string(), "shape".to_string(), "params".to_string())];
    for (i, l) in m.layers.iter().enumerate() {
        let text = match l.kind {
            Kind::Dense { bias, .. } => format!("dense{}", if bias { "" } else { ", no bias" }),
            Kind::BatchNorm { eps, momentum } => {
                let mom = match momentum {
                    Momentum::Cumulative => "cumulative".to_string(),
                    Momentum::Exponential(v) => format!("{v}"),
                };
                format!("batchnorm(eps {eps:e}, momentum {mom})")
            }
            Kind::Activation(_) => l.kind_name().to_string(),
        };
        let shape = if l.input == l.output() && !matches!(l.kind, Kind::Dense { .. }) {
            format!("{}", l.input)
        } else {
            format!("{} -> {}", l.input, l.output())
        };
        rows.push((
            (i + 1).to_string(),
            syn::ext::IdentExt::unraw(&l.field).to_string(),
            text,
            shape,
            grouped(l.params()),
        ));
    }
    let w: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| [&r.0, &r.1, &r.2, &r.3, &r.4][c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = format!("{name}: {} -> {}, {}, {} parameters\n", m.input, m.output(), m.scalar, grouped(m.params()));
    for r in &rows {
        s.push_str(&format!(
            "  {:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}\n",
            r.0,
            r.1,
            r.2,
            r.3,
            r.4,
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        ));
    }
    let folded: Vec<String> = plan.iter().map(Folded::describe).collect();
    let fparams: usize = plan
        .iter()
        .map(|f| match f {
            Folded::Dense { src, .. } => src.input * src.output() + src.output(),
            Folded::Affine { bns } => 2 * bns[0].input,
            Folded::Act(_) => 0,
        })
        .sum();
    let fsummary = format!("{name}Folded: {} ({} parameters)", folded.join(" -> "), grouped(fparams));
    s.push_str("folded:\n");
    for f in &folded {
        s.push_str(&format!("  {f}\n"));
    }
    (s, fsummary)
}

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

pub fn expand(m: &Model) -> TokenStream {
    let p = p();
    let Model { attrs, vis, name, scalar: t, layers, .. } = m;
    // The user's `#[cfg]`s apply to every generated item, not only the struct.
    let cfgs: Vec<_> = attrs.iter().filter(|a| a.path().is_ident("cfg")).collect();
    let grads = format_ident!("{}Grads", name);
    let ws = format_ident!("{}Workspace", name);
    let folded = format_ident!("{}Folded", name);
    let input_trait = format_ident!("{}Input", name);
    let batch_trait = format_ident!("{}Batch", name);
    let n_in = lit(m.input);
    let n_out = lit(m.output());
    let n_params = lit(m.params());
    let in_ty = width_ty(m.input);
    let out_ty = width_ty(m.output());
    let plan = fold_plan(layers);
    let (summary, fsummary) = summary(m, &plan);
    let n_layers = layers.len();

    // ---- the training type's fields and gradients ----
    let mut fields = Vec::new();
    let mut grad_fields = Vec::new();
    let mut zero_checks = Vec::new();
    for (i, l) in layers.iter().enumerate() {
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

    // ---- the workspace: a{k} = output of layer k, d{k} = ∂ℓ/∂a{k}, c{k} = BN statistics ----
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

    // ---- training forward / backward / step / recompute / init ----
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
                let next_act = layers[i + 1..].iter().find_map(|n| match n.kind {
                    Kind::Activation(a) => Some(a),
                    Kind::Dense { .. } => Some(crate::model::Act::Sigmoid),
                    Kind::BatchNorm { .. } => None,
                });
                let default =
                    if next_act == Some(crate::model::Act::ReLU) { quote!(HeNormal) } else { quote!(XavierNormal) };
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
    let a_last = a(n_layers);
    let d_last = d(n_layers);

    // ---- eval forward, one sample: h{k} on the stack ----
    let eval = one_sample_chain(
        layers.iter().map(|l| {
            let f = &l.field;
            let call = match l.kind {
                Kind::Dense { .. } => quote!(self.#f.forward_one),
                Kind::BatchNorm { .. } => quote!(self.#f.forward_eval_one),
                Kind::Activation(act) => {
                    let at = format_ident!("{}", act.type_name());
                    quote!(<#p::#at as #p::Activation>::forward_one)
                }
            };
            (call, l.output())
        }),
        t,
    );

    // ---- the folded model ----
    let mut ffields = Vec::new();
    let mut fold = Vec::new();
    for fl in &plan {
        let Some(f) = fl.field() else { continue };
        let (wi, wo) = (width_ty(fl.input()), width_ty(fl.output()));
        let doc = format!("`{}`.", fl.describe());
        match fl {
            Folded::Dense { src, pre, post } => {
                ffields.push(quote!(#[doc = #doc] pub #f: #p::Dense<#wi, #wo, #t, true>,));
                let pre = if pre.is_empty() {
                    quote!(::core::option::Option::None)
                } else {
                    let e = composed_affine(pre);
                    quote!(::core::option::Option::Some(&#e))
                };
                let post = if post.is_empty() {
                    quote!(::core::option::Option::None)
                } else {
                    let e = composed_affine(post);
                    quote!(::core::option::Option::Some(&#e))
                };
                let sf = &src.field;
                fold.push(quote!(self.#sf.fold_into(#pre, #post, &mut out.#f);));
            }
            Folded::Affine { bns } => {
                ffields.push(quote!(#[doc = #doc] pub #f: #p::Affine<#wi, #t>,));
                let e = composed_affine(bns);
                fold.push(quote!(out.#f = #e;));
            }
            Folded::Act(_) => {}
        }
    }
    let folded_eval = one_sample_chain(
        plan.iter().map(|fl| {
            let call = match fl {
                Folded::Dense { .. } | Folded::Affine { .. } => {
                    let f = fl.field();
                    quote!(self.#f.forward_one)
                }
                Folded::Act(l) => {
                    let Kind::Activation(act) = l.kind else { unreachable!("activation plan entry") };
                    let at = format_ident!("{}", act.type_name());
                    quote!(<#p::#at as #p::Activation>::forward_one)
                }
            };
            (call, fl.output())
        }),
        t,
    );

    let folded_batch = folded_batch_chain(&plan, &folded, t, &in_ty, &out_ty);
    let inference = |one: &str, batch: &str, doc: &str| {
        inference_methods(
            &format_ident!("{}", one),
            &format_ident!("{}", batch),
            doc,
            &input_trait,
            &batch_trait,
            t,
            &out_ty,
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
    let folded_floats: usize = plan
        .iter()
        .map(|f| match f {
            Folded::Dense { src, .. } => src.input * src.output() + src.output(),
            Folded::Affine { bns } => 2 * bns[0].input,
            Folded::Act(_) => 0,
        })
        .sum();
    let folded_floats = lit(folded_floats);
    let io_items = crate::expand_io::expand(m, &plan);
    let train_bound = quote::quote_spanned!(name.span()=> X::Size: #p::TrainBatch);
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

/// The inherent wrappers of an [`Inference`] impl that take the readable input traits: a
/// one-sample forward returning the output, a batch forward, and `classify`.
fn inference_methods(
    one: &Ident,
    batch: &Ident,
    mode: &str,
    input_trait: &Ident,
    batch_trait: &Ident,
    t: &Ident,
    out_ty: &TokenStream,
) -> TokenStream {
    let p = p();
    let (one_doc, batch_doc) =
        (format!(" Forward of one sample{mode}."), format!(" Forward of a batch of any size{mode}."));
    let class_doc = format!(" The predicted class of one sample: the index of the largest output{mode}.");
    quote! {
        #[doc = #one_doc]
        pub fn #one<X: #input_trait + ?::core::marker::Sized>(&self, x: &X) -> #p::Vector<#out_ty, #t> {
            let mut y = <#p::Vector<#out_ty, #t> as #p::Zeroable>::zeroed();
            <Self as #p::Inference>::forward_one(self, x.as_vector(), &mut y);
            y
        }

        #[doc = #batch_doc]
        pub fn #batch<X: #batch_trait + ?::core::marker::Sized>(&self, x: &X, y: &mut #p::Batch<X::Size, #out_ty, #t>) {
            <Self as #p::Inference>::forward_batch(self, x.as_batch(), y)
        }

        #[doc = #class_doc]
        pub fn classify<X: #input_trait + ?::core::marker::Sized>(&self, x: &X) -> usize {
            <Self as #p::Inference>::classify(self, x.as_vector())
        }
    }
}

/// Temporaries of the batched folded forward stay under this many bytes on the stack.
const BATCH_TEMP_BYTES: usize = 128 * 1024;

/// The folded model's `forward_batch`: chunks of `C` samples go through the layers one
/// matrix product at a time (activations in place), the remaining samples one by one.
/// `C` (a power of two up to 64) keeps the per-layer temporaries under [`BATCH_TEMP_BYTES`].
/// The batched kernels sum in the same order as the one-sample ones, so the results are
/// identical to `forward_one` per sample.
fn folded_batch_chain(
    plan: &[Folded],
    folded: &Ident,
    t: &Ident,
    in_ty: &TokenStream,
    out_ty: &TokenStream,
) -> TokenStream {
    let p = p();
    let scalar = if t == "f64" { 8 } else { 4 };
    // The last op that is not an activation writes the output chunk directly.
    let last_linear = plan.iter().rposition(|f| !matches!(f, Folded::Act(_)));
    let temp_floats: usize = plan
        .iter()
        .enumerate()
        .filter(|(i, f)| !matches!(f, Folded::Act(_)) && Some(*i) != last_linear)
        .map(|(_, f)| f.output())
        .sum::<usize>()
        + if last_linear.is_none() { plan.first().map_or(0, Folded::output) } else { 0 };
    let mut chunk = 64usize;
    while chunk > 1 && chunk * temp_floats.max(1) * scalar > BATCH_TEMP_BYTES {
        chunk /= 2;
    }
    let c_ty = width_ty(chunk);
    let mut temps = TokenStream::new();
    let (mut params, mut args, mut views) = (TokenStream::new(), TokenStream::new(), TokenStream::new());
    let mut body = TokenStream::new();
    // Where the current activations are: the input chunk `xs`, a temporary, or `ys`.
    enum Place {
        Input,
        Temp(Ident),
        Output,
    }
    let read = |p: &Place| match p {
        Place::Input => quote!(xs),
        Place::Temp(h) => quote!(&*#h),
        Place::Output => quote!(&*ys),
    };
    let write = |p: &Place| match p {
        Place::Input => unreachable!("the input chunk is never written"),
        Place::Temp(h) => quote!(&mut *#h),
        Place::Output => quote!(&mut *ys),
    };
    let mut cur = Place::Input;
    for (i, f) in plan.iter().enumerate() {
        let to_output = last_linear.is_none_or(|l| i >= l);
        let mut new_place = |temps: &mut TokenStream| {
            if to_output {
                Place::Output
            } else {
                let h = format_ident!("t{}", i);
                let w = width_ty(f.output());
                temps.extend(quote!(let mut #h = #p::CacheAligned::<#p::Batch<#c_ty, #w, #t>>::zeroed();));
                params.extend(quote!(#h: &mut #p::Batch<#c_ty, #w, #t>,));
                args.extend(quote!(&mut #h.0,));
                views.extend(quote!(let #h = #p::sub_batch_mut::<#c_ty, C, #w, #t>(#h, 0);));
                Place::Temp(h)
            }
        };
        match f {
            Folded::Dense { .. } | Folded::Affine { .. } => {
                let field = f.field();
                let dst = new_place(&mut temps);
                let (src, dw) = (read(&cur), write(&dst));
                body.extend(quote!(this.#field.forward(#src, #dw);));
                cur = dst;
            }
            Folded::Act(l) => {
                let Kind::Activation(act) = l.kind else { unreachable!("activation plan entry") };
                let at = format_ident!("{}", act.type_name());
                if let Place::Input = cur {
                    // An activation first: out of the input chunk.
                    let dst = new_place(&mut temps);
                    let (src, dw) = (read(&cur), write(&dst));
                    body.extend(quote!(<#p::#at as #p::Activation>::forward(#src, #dw);));
                    cur = dst;
                } else {
                    let w = write(&cur);
                    body.extend(quote!(<#p::#at as #p::Activation>::apply(#p::flat_mut(#w));));
                }
            }
        }
    }
    if let Place::Temp(h) = &cur {
        body.extend(quote!(ys.clone_from(#h);));
    }
    // Chunks of `chunk` samples, then the rest in power-of-two chunks (60 = 32 + 16 + 8 + 4),
    // all through one generic chain that views the temporaries at the chunk's size.
    let mut sizes = Vec::new();
    let mut c = chunk;
    while c >= 1 {
        sizes.push(c);
        c /= 2;
    }
    let steps = sizes.iter().map(|&c| {
        let cty = width_ty(c);
        let repeat = if c == chunk { quote!(while) } else { quote!(if) };
        quote! {
            #repeat B::USIZE - start >= #c {
                chain::<B, #cty>(self, x, y, start, #args);
                start += #c;
            }
        }
    });
    quote! {
        /// Forward of a batch: chunks of samples through one matrix product per layer.
        fn forward_batch<B: #p::ArrayLength>(
            &self,
            x: &#p::Batch<B, #in_ty, #t>,
            y: &mut #p::Batch<B, #out_ty, #t>,
        ) {
            #[allow(clippy::too_many_arguments)]
            fn chain<B: #p::ArrayLength, C: #p::ArrayLength>(
                this: &#folded,
                x: &#p::Batch<B, #in_ty, #t>,
                y: &mut #p::Batch<B, #out_ty, #t>,
                start: usize,
                #params
            ) {
                let xs = #p::sub_batch::<B, C, #in_ty, #t>(x, start);
                let ys = #p::sub_batch_mut::<B, C, #out_ty, #t>(y, start);
                #views
                #body
            }
            #temps
            let mut start = 0;
            #(#steps)*
            let _ = start;
        }
    }
}

/// The body of a one-sample forward: `h1`, `h2`, … on the stack (each on a cache line of its
/// own), the last layer writing `y`.
fn one_sample_chain(steps: impl Iterator<Item = (TokenStream, usize)>, t: &Ident) -> TokenStream {
    let p = p();
    let steps: Vec<_> = steps.collect();
    let n = steps.len();
    let mut out = TokenStream::new();
    for (i, (call, width)) in steps.into_iter().enumerate() {
        let src = if i == 0 {
            quote!(x)
        } else {
            let h = format_ident!("h{}", i);
            quote!(&#h.0)
        };
        if i + 1 == n {
            out.extend(quote!(#call(#src, y);));
        } else {
            let h = format_ident!("h{}", i + 1);
            let w = width_ty(width);
            out.extend(quote! {
                let mut #h = #p::CacheAligned::<#p::Vector<#w, #t>>::zeroed();
                #call(#src, &mut #h.0);
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_beyond_typenum_names_are_binary() {
        let t = width_ty(1025).to_string().replace(' ', "");
        // 1025 = 0b10000000001
        assert_eq!(t.matches("B1").count(), 2);
        assert_eq!(t.matches("B0").count(), 9);
        assert!(width_ty(784).to_string().contains("U784"));
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(12), "12");
    }
}
