//! Code generation for inference: the folded type's fields and `fold_into` body (from the
//! folding plan, [`Folded`]), and the one-sample and batched forward chains of both
//! `Inference` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Pool};
use crate::plan::Folded;
use crate::tokens::{conv_buffer_sizes, conv_geometry, p, pixels_ty, pool_geometry, width_ty, Names};

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
        let doc = format!("`{}`.", fl.describe());
        match fl {
            Folded::Linear { src, pre, post } => {
                let post = if post.is_empty() {
                    quote!(::core::option::Option::None)
                } else {
                    let e = composed_affine(post);
                    quote!(::core::option::Option::Some(&#e))
                };
                let sf = &src.field;
                if let Kind::Conv2d { .. } = src.kind {
                    let g = conv_geometry(src);
                    ffields.push(quote!(#[doc = #doc] pub #f: #p::Conv2d<#g, #t, true>,));
                    let ci = width_ty(src.input.channels());
                    let pre = if pre.is_empty() {
                        quote!(::core::option::Option::None)
                    } else {
                        let e = composed_affine(pre);
                        quote!(::core::option::Option::Some(&#e))
                    };
                    fold.push(quote!(self.#sf.fold_into::<#ci>(#pre, #post, &mut out.#f);));
                } else {
                    let (wi, wo) = (width_ty(fl.input().len()), width_ty(fl.output().len()));
                    ffields.push(quote!(#[doc = #doc] pub #f: #p::Dense<#wi, #wo, #t, true>,));
                    let pre = match pre.first().map(|b| pixels_ty(b.input)) {
                        None => quote!(::core::option::Option::None),
                        Some(None) => {
                            let e = composed_affine(pre);
                            quote!(::core::option::Option::Some(&#e))
                        }
                        // BNs over an image before `flatten`: per feature of each channel.
                        Some(Some(px)) => {
                            let e = composed_affine(pre);
                            quote!(::core::option::Option::Some(&#e.per_pixel::<#px, #wi>()))
                        }
                    };
                    fold.push(quote!(self.#sf.fold_into(#pre, #post, &mut out.#f);));
                }
            }
            Folded::Affine { bns } => {
                let wc = width_ty(fl.input().channels());
                ffields.push(quote!(#[doc = #doc] pub #f: #p::Affine<#wc, #t>,));
                let e = composed_affine(bns);
                fold.push(quote!(out.#f = #e;));
            }
            Folded::Kept(l) => {
                let Kind::LayerNorm { affine, .. } = l.kind else { unreachable!("only LayerNorm is kept") };
                let w = width_ty(l.input.len());
                ffields.push(quote!(#[doc = #doc] pub #f: #p::LayerNorm<#w, #t, #affine>,));
                fold.push(quote! {
                    out.#f.gamma.copy_from_slice(&self.#f.gamma);
                    out.#f.beta.copy_from_slice(&self.#f.beta);
                    out.#f.eps = self.#f.eps;
                });
            }
            Folded::Plain(_) => {}
        }
    }
    (ffields, fold)
}

/// What a zeroed folded model `m` needs before its tensors are loaded from a weights file:
/// each kept LayerNorm's declared ε (and γ = 1, β = 0, which a file without `affine` lacks).
pub(crate) fn folded_init(plan: &[Folded], t: &Ident) -> Vec<TokenStream> {
    let p = p();
    plan.iter()
        .filter_map(|fl| match fl {
            Folded::Kept(l) => {
                let Kind::LayerNorm { eps, .. } = l.kind else { return None };
                let f = &l.field;
                Some(quote! {
                    m.#f.reset();
                    m.#f.eps = <#t as #p::Float>::from_f64(#eps);
                })
            }
            _ => None,
        })
        .collect()
}

/// One step of a one-sample forward: `#call(src, dst #extra)`, after `#prelude` (which
/// declares scratch buffers), writing a vector of `width` values.
struct Step {
    call: TokenStream,
    extra: TokenStream,
    prelude: TokenStream,
    width: usize,
}

impl Step {
    fn new(call: TokenStream, width: usize) -> Self {
        Step { call, extra: TokenStream::new(), prelude: TokenStream::new(), width }
    }

    /// A conv step: its buffers `col{i}` on the stack, on a cache line of their own.
    fn conv(call: TokenStream, l: &Layer, t: &Ident, i: usize) -> Self {
        let p = p();
        let col = format_ident!("col{}", i);
        let g = conv_geometry(l);
        Step {
            call,
            extra: quote!(, &mut #col.0),
            prelude: quote!(let mut #col = #p::CacheAligned::<#p::Conv2dBuffers<#g, #t>>::zeroed();),
            width: l.output().len(),
        }
    }
}

/// Whether `a` is a ReLU and `b` a max pool: inference runs them as one pass
/// (`MaxPool2d::forward_one_relu`), the ReLU's output never stored.
fn relu_then_max_pool(a: Option<&Layer>, b: Option<&Layer>) -> bool {
    a.is_some_and(|a| matches!(a.kind, Kind::Activation(Act::ReLU)))
        && b.is_some_and(|b| matches!(b.kind, Kind::Pool { pool: Pool::Max, .. }))
}

/// Whether plan entries `i..i + 3` are a conv, a ReLU and a max pool: inference runs them
/// as one call (`Conv2d::forward_one_relu_max_pool`), the two intermediate outputs never
/// stored in full.
fn conv_relu_max_pool(plan: &[Folded], i: usize) -> bool {
    matches!(plan.get(i), Some(Folded::Linear { src, .. }) if matches!(src.kind, Kind::Conv2d { .. }))
        && relu_then_max_pool(plain(plan.get(i + 1)), plain(plan.get(i + 2)))
}

/// The layer of a plain plan entry.
fn plain<'a>(f: Option<&'a Folded<'_>>) -> Option<&'a Layer> {
    match f {
        Some(Folded::Plain(l)) => Some(l),
        _ => None,
    }
}

/// The call of a layer without parameters in a one-sample forward (`None` for `flatten`,
/// which computes nothing).
fn plain_call(l: &Layer, after_relu: bool) -> Option<TokenStream> {
    let p = p();
    match l.kind {
        Kind::Pool { pool: Pool::Max, .. } if after_relu => {
            let g = pool_geometry(l);
            Some(quote!(<#p::MaxPool2d<#g>>::forward_one_relu))
        }
        Kind::Activation(act) => {
            let at = format_ident!("{}", act.type_name());
            Some(quote!(<#p::#at as #p::Activation>::forward_one))
        }
        Kind::Pool { pool, .. } => {
            let g = pool_geometry(l);
            Some(match pool {
                Pool::Max => quote!(<#p::MaxPool2d<#g>>::forward_one),
                Pool::Avg => quote!(<#p::AvgPool2d<#g>>::forward_one),
            })
        }
        _ => None,
    }
}

/// The body of the training type's `Inference::forward_one`: the eval forward of one sample
/// (BNs with their population statistics), `h{k}` on the stack.
fn eval_chain(layers: &[Layer], t: &Ident) -> TokenStream {
    let steps = layers.iter().enumerate().filter_map(|(i, l)| {
        let f = &l.field;
        let width = l.output().len();
        Some(match l.kind {
            Kind::Dense { .. } => Step::new(quote!(self.#f.forward_one), width),
            Kind::Conv2d { .. } => Step::conv(quote!(self.#f.forward_one), l, t, i),
            Kind::BatchNorm { .. } => match pixels_ty(l.input) {
                None => Step::new(quote!(self.#f.forward_eval_one), width),
                Some(px) => Step::new(quote!(self.#f.forward_eval_one_channels::<#px, _>), width),
            },
            Kind::LayerNorm { .. } => Step::new(quote!(self.#f.forward_one), width),
            _ if relu_then_max_pool(Some(l), layers.get(i + 1)) => return None,
            _ => Step::new(plain_call(l, i > 0 && relu_then_max_pool(layers.get(i - 1), Some(l)))?, width),
        })
    });
    one_sample_chain(steps, t)
}

/// The body of the folded type's `Inference::forward_one`: one step per entry of the plan.
fn folded_eval_chain(plan: &[Folded], t: &Ident) -> TokenStream {
    let p = p();
    let steps = plan.iter().enumerate().filter_map(|(i, fl)| {
        let f = fl.field();
        let width = fl.output().len();
        // A ReLU and a max pool after a conv run inside the conv's call.
        if (i >= 1 && conv_relu_max_pool(plan, i - 1)) || (i >= 2 && conv_relu_max_pool(plan, i - 2)) {
            return None;
        }
        Some(match fl {
            Folded::Linear { src, .. } if conv_relu_max_pool(plan, i) => {
                let pool = plain(plan.get(i + 2)).expect("a pool (checked)");
                let (g, sum, wo) = (pool_geometry(pool), format_ident!("sum{}", i), width_ty(width));
                let mut step = Step::conv(quote!(self.#f.forward_one_relu_max_pool::<#g>), src, t, i);
                step.prelude.extend(quote!(let mut #sum = #p::CacheAligned::<#p::Vector<#wo, #t>>::zeroed();));
                let extra = step.extra.clone();
                step.extra = quote!(, &mut #sum.0 #extra);
                step.width = pool.output().len();
                step
            }
            Folded::Linear { src, .. } if matches!(src.kind, Kind::Conv2d { .. }) => {
                Step::conv(quote!(self.#f.forward_one), src, t, i)
            }
            Folded::Linear { .. } | Folded::Kept(_) => Step::new(quote!(self.#f.forward_one), width),
            Folded::Affine { .. } => match pixels_ty(fl.input()) {
                None => Step::new(quote!(self.#f.forward_one), width),
                Some(px) => Step::new(quote!(self.#f.forward_one_channels::<#px, _>), width),
            },
            Folded::Plain(l) if relu_then_max_pool(Some(l), plain(plan.get(i + 1))) => return None,
            Folded::Plain(l) => {
                let after_relu = i > 0 && relu_then_max_pool(plain(plan.get(i - 1)), Some(l));
                Step::new(plain_call(l, after_relu)?, width)
            }
        })
    });
    one_sample_chain(steps, t)
}

/// Temporaries of the batched folded forward stay under this many bytes on the stack.
const BATCH_TEMP_BYTES: usize = 128 * 1024;

/// Whether the batched chain works on the current activations in place (an activation) or
/// not at all (`flatten`): every other entry writes a new buffer.
fn in_place(f: &Folded) -> bool {
    matches!(f, Folded::Plain(l) if matches!(l.kind, Kind::Activation(_) | Kind::Flatten))
}

/// The elements of a conv's buffers (`bn_core::Conv2dBuffers`), 0 for other entries.
fn col_len(f: &Folded) -> usize {
    match f {
        Folded::Linear { src, .. } => match src.kind {
            Kind::Conv2d { kernel, .. } => {
                let (cols, padded) = conv_buffer_sizes(src);
                src.input.channels() * kernel.0 * kernel.1 * cols + padded
            }
            _ => 0,
        },
        _ => 0,
    }
}

/// The number of samples `C` that the batched folded forward puts through the layers at
/// once: a power of two up to 64 that keeps the per-layer temporaries (and the conv column
/// buffers, one of each) under [`BATCH_TEMP_BYTES`].
fn batch_chunk(plan: &[Folded], t: &Ident) -> usize {
    let scalar = if t == "f64" { 8 } else { 4 };
    // The last entry that writes a new buffer writes the output chunk directly.
    let last_linear = plan.iter().rposition(|f| !in_place(f));
    let temp_floats: usize = plan
        .iter()
        .enumerate()
        // A conv fused with the ReLU and pool after it has no batch temporary (one sample's
        // sums, counted with its buffers below).
        .filter(|(i, f)| !in_place(f) && Some(*i) != last_linear && !conv_relu_max_pool(plan, *i))
        .map(|(_, f)| f.output().len())
        .sum::<usize>()
        + if last_linear.is_none() { plan.first().map_or(0, |f| f.output().len()) } else { 0 };
    let sums: usize = (0..plan.len()).filter(|&i| conv_relu_max_pool(plan, i)).map(|i| plan[i].output().len()).sum();
    let cols: usize = (plan.iter().map(col_len).sum::<usize>() + sums) * scalar;
    let mut chunk = 64usize;
    while chunk > 1 && chunk * temp_floats.max(1) * scalar + cols > BATCH_TEMP_BYTES {
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
/// activations and writes a temporary, or the output chunk from the last such layer on;
/// activations work in place; `flatten` does nothing.
fn batch_chain(plan: &[Folded], t: &Ident, chunk: usize) -> Chain {
    let p = p();
    // The last entry that writes a new buffer writes the output chunk directly.
    let last_linear = plan.iter().rposition(|f| !in_place(f));
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
        // A ReLU and a max pool after a conv run inside the conv's call.
        if (i >= 1 && conv_relu_max_pool(plan, i - 1)) || (i >= 2 && conv_relu_max_pool(plan, i - 2)) {
            continue;
        }
        if conv_relu_max_pool(plan, i) {
            let (Folded::Linear { src, .. }, Some(pool)) = (f, plain(plan.get(i + 2))) else {
                unreachable!("a conv, a ReLU and a pool (checked)")
            };
            let field = f.field();
            let (col, sum) = (format_ident!("col{}", i), format_ident!("sum{}", i));
            let (g, pg) = (conv_geometry(src), pool_geometry(pool));
            let col_ty = quote!(#p::Conv2dBuffers<#g, #t>);
            let sum_ty = {
                let w = width_ty(src.output().len());
                quote!(#p::Vector<#w, #t>)
            };
            let dst = if last_linear.is_none_or(|l| i + 2 >= l) {
                Place::Output
            } else {
                let h = format_ident!("t{}", i);
                let w = width_ty(pool.output().len());
                temps.extend(quote!(let mut #h = #p::CacheAligned::<#p::Batch<#c_ty, #w, #t>>::zeroed();));
                params.extend(quote!(#h: &mut #p::Batch<#c_ty, #w, #t>,));
                args.extend(quote!(&mut #h.0,));
                views.extend(quote!(let #h = #p::sub_batch_mut::<#c_ty, C, #w, #t>(#h, 0);));
                Place::Temp(h)
            };
            temps.extend(quote! {
                let mut #col = #p::CacheAligned::<#col_ty>::zeroed();
                let mut #sum = #p::CacheAligned::<#sum_ty>::zeroed();
            });
            params.extend(quote!(#col: &mut #col_ty, #sum: &mut #sum_ty,));
            args.extend(quote!(&mut #col.0, &mut #sum.0,));
            let (src, dw) = (read(&cur), write(&dst));
            body.extend(quote!(this.#field.forward_relu_max_pool::<C, #pg>(#src, #dw, #sum, #col);));
            cur = dst;
            continue;
        }
        let to_output = last_linear.is_none_or(|l| i >= l);
        let mut new_place = |temps: &mut TokenStream| {
            if to_output {
                Place::Output
            } else {
                let h = format_ident!("t{}", i);
                let w = width_ty(f.output().len());
                temps.extend(quote!(let mut #h = #p::CacheAligned::<#p::Batch<#c_ty, #w, #t>>::zeroed();));
                params.extend(quote!(#h: &mut #p::Batch<#c_ty, #w, #t>,));
                args.extend(quote!(&mut #h.0,));
                views.extend(quote!(let #h = #p::sub_batch_mut::<#c_ty, C, #w, #t>(#h, 0);));
                Place::Temp(h)
            }
        };
        match f {
            Folded::Linear { src, .. } if matches!(src.kind, Kind::Conv2d { .. }) => {
                let field = f.field();
                let col = format_ident!("col{}", i);
                let g = conv_geometry(src);
                let col_ty = quote!(#p::Conv2dBuffers<#g, #t>);
                let dst = new_place(&mut temps);
                temps.extend(quote!(let mut #col = #p::CacheAligned::<#col_ty>::zeroed();));
                params.extend(quote!(#col: &mut #col_ty,));
                args.extend(quote!(&mut #col.0,));
                let (src, dw) = (read(&cur), write(&dst));
                body.extend(quote!(this.#field.forward(#src, #dw, #col);));
                cur = dst;
            }
            Folded::Linear { .. } | Folded::Affine { .. } | Folded::Kept(_) => {
                let field = f.field();
                let dst = new_place(&mut temps);
                let (src, dw) = (read(&cur), write(&dst));
                body.extend(match (f, pixels_ty(f.input())) {
                    (Folded::Affine { .. }, Some(px)) => quote!(this.#field.forward_channels::<#px, _, _>(#src, #dw);),
                    _ => quote!(this.#field.forward(#src, #dw);),
                });
                cur = dst;
            }
            Folded::Plain(l) if relu_then_max_pool(Some(l), plain(plan.get(i + 1))) => {}
            Folded::Plain(l) => match l.kind {
                Kind::Activation(act) => {
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
                Kind::Pool { pool, .. } => {
                    let g = pool_geometry(l);
                    let ty = match pool {
                        Pool::Max => quote!(#p::MaxPool2d<#g>),
                        Pool::Avg => quote!(#p::AvgPool2d<#g>),
                    };
                    let dst = new_place(&mut temps);
                    let (src, dw) = (read(&cur), write(&dst));
                    if i > 0 && relu_then_max_pool(plain(plan.get(i - 1)), Some(l)) {
                        body.extend(quote!(<#ty>::forward_relu(#src, #dw);));
                    } else {
                        body.extend(quote!(<#ty>::forward(#src, #dw);));
                    }
                    cur = dst;
                }
                _ => {}
            },
        }
    }
    match &cur {
        Place::Temp(h) => body.extend(quote!(ys.clone_from(#h);)),
        Place::Input => body.extend(quote!(ys.clone_from(xs);)),
        Place::Output => {}
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
/// own), the last layer writing `y` (which is `x`'s copy when no layer computes anything).
fn one_sample_chain(steps: impl Iterator<Item = Step>, t: &Ident) -> TokenStream {
    let p = p();
    let steps: Vec<_> = steps.collect();
    let n = steps.len();
    if n == 0 {
        return quote!(y.clone_from(x););
    }
    let mut out = TokenStream::new();
    for (i, Step { call, extra, prelude, width }) in steps.into_iter().enumerate() {
        let src = if i == 0 {
            quote!(x)
        } else {
            let h = format_ident!("h{}", i);
            quote!(&#h.0)
        };
        out.extend(prelude);
        if i + 1 == n {
            out.extend(quote!(#call(#src, y #extra);));
        } else {
            let h = format_ident!("h{}", i + 1);
            let w = width_ty(width);
            out.extend(quote! {
                let mut #h = #p::CacheAligned::<#p::Vector<#w, #t>>::zeroed();
                #call(#src, &mut #h.0 #extra);
            });
        }
    }
    out
}
