//! Code generation for inference: the folded type's fields and `fold_into` body (from the
//! folding plan, [`Folded`]), and the one-sample and batched forward chains of both
//! `Inference` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Kind, Layer, Model};
use crate::plan::Folded;
use crate::tokens::{p, width_ty, Names};

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

/// The `Inference` impls of the network type (the eval forward, with the population
/// statistics) and of the folded type.
pub(crate) fn inference_impls(m: &Model, n: &Names, plan: &[Folded]) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, scalar: t, in_ty, out_ty, .. } = n;
    let eval = eval_chain(&m.layers, t);
    let folded_eval = folded_eval_chain(plan, t);
    let folded_batch = folded_batch_chain(plan, folded, t, in_ty, out_ty);
    quote! {
        #cfgs
        impl #p::Inference for #name {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            /// Eval forward with the population statistics.
            fn forward_one(&self, x: &#p::Vector<#in_ty, #t>, y: &mut #p::Vector<#out_ty, #t>) {
                #eval
            }
        }

        #cfgs
        impl #p::Inference for #folded {
            type Scalar = #t;
            type Input = #in_ty;
            type Output = #out_ty;
            fn forward_one(&self, x: &#p::Vector<#in_ty, #t>, y: &mut #p::Vector<#out_ty, #t>) {
                #folded_eval
            }
            #folded_batch
        }
    }
}

/// The folded type's fields, and the body of `Network::fold_into` that fills them from the
/// training type's layers (`self`) into `out`.
pub(crate) fn folded_fields(plan: &[Folded], t: &Ident) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let p = p();
    let mut ffields = Vec::new();
    let mut fold = Vec::new();
    for fl in plan {
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
    (ffields, fold)
}

/// The body of the training type's `Inference::forward_one`: the eval forward of one sample
/// (BNs with their population statistics), `h{k}` on the stack.
fn eval_chain(layers: &[Layer], t: &Ident) -> TokenStream {
    let p = p();
    one_sample_chain(
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
    )
}

/// The body of the folded type's `Inference::forward_one`: one step per entry of the plan.
fn folded_eval_chain(plan: &[Folded], t: &Ident) -> TokenStream {
    let p = p();
    one_sample_chain(
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
    )
}

/// Temporaries of the batched folded forward stay under this many bytes on the stack.
const BATCH_TEMP_BYTES: usize = 128 * 1024;

/// The number of samples `C` that the batched folded forward puts through the layers at
/// once: a power of two up to 64 that keeps the per-layer temporaries under
/// [`BATCH_TEMP_BYTES`].
fn batch_chunk(plan: &[Folded], t: &Ident) -> usize {
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
    chunk
}

/// The pieces of the batched chain over one chunk of `C` samples.
#[derive(Default)]
struct Chain {
    /// The temporaries, allocated once at the full chunk size.
    temps: TokenStream,
    /// The chain's parameters that receive them.
    params: TokenStream,
    /// The arguments that pass them.
    args: TokenStream,
    /// The views of them at the chunk's size `C`.
    views: TokenStream,
    /// One step per entry of the plan.
    body: TokenStream,
}

/// The steps of the batched chain at chunk size `chunk`: each layer reads the current
/// activations and writes a temporary, or the output chunk from the last linear layer on;
/// activations work in place.
fn batch_chain(plan: &[Folded], t: &Ident, chunk: usize) -> Chain {
    let p = p();
    // The last op that is not an activation writes the output chunk directly.
    let last_linear = plan.iter().rposition(|f| !matches!(f, Folded::Act(_)));
    let c_ty = width_ty(chunk);
    let Chain { mut temps, mut params, mut args, mut views, mut body } = Chain::default();
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
    Chain { temps, params, args, views, body }
}

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
    let chunk = batch_chunk(plan, t);
    let Chain { temps, params, args, views, body } = batch_chain(plan, t, chunk);
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
