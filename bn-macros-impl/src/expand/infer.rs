//! Code generation for inference: the folded type's fields and `fold_into` body (from the
//! folding plan, [`Folded`]), and the one-sample and batched forward chains of both
//! `Inference` impls. A residual block is a step of its sequence's chain that runs its
//! branches' chains (into buffers of their own) and adds their outputs.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Pool};
use crate::plan::Folded;
use crate::tokens::{
    conv_buffer_sizes, conv_geometry, global_avgpool_ty, groupnorm_geometry, nested_struct, p, pixels_ty,
    pool_geometry, width_ty, Names, Part, Scope,
};

/// `self.b0.to_affine().then(&self.b1.to_affine())…` for a run of BNs of the sequence at
/// `path`.
fn composed_affine(bns: &[&Layer], path: &TokenStream) -> TokenStream {
    let mut it = bns.iter().map(|b| &b.field);
    let first = it.next();
    let mut expr = quote!(self #path.#first.to_affine());
    for f in it {
        expr = quote!(#expr.then(&self #path.#f.to_affine()));
    }
    expr
}

/// The `Inference` impls of the network type (the eval forward, with the population
/// statistics) and of the folded type.
pub(crate) fn inference_impls(m: &Model, n: &Names, plan: &[Folded]) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, scalar: t, in_ty, out_ty, .. } = n;
    let top = Scope::top(name);
    let eval = one_sample_chain(eval_steps(&m.layers, &top, t), &quote!(x), &Dst::y(), &top, t);
    let folded_eval = one_sample_chain(folded_steps(plan, &top, t), &quote!(x), &Dst::y(), &top, t);
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

/// The folded type's fields, the folded types of its blocks and branches, and the body of
/// `Network::fold_into` that fills them from the training type's layers (`self`) into `out`.
#[derive(Default)]
pub(crate) struct FoldedFields {
    pub(crate) fields: Vec<TokenStream>,
    pub(crate) fold: Vec<TokenStream>,
    pub(crate) items: TokenStream,
}

/// [`FoldedFields`] of the network's plan.
pub(crate) fn folded_fields(plan: &[Folded], n: &Names) -> FoldedFields {
    let mut out = FoldedFields::default();
    folded_fields_of(plan, &Scope::top(&n.name), n, &mut out);
    out
}

/// [`FoldedFields`] of the plan of one sequence, into `out`. The folded types mirror the
/// training types: the same field names and paths.
fn folded_fields_of(plan: &[Folded], scope: &Scope, n: &Names, out: &mut FoldedFields) {
    let p = p();
    let t = &n.scalar;
    let path = &scope.path;
    for fl in plan {
        let Some(f) = fl.field() else { continue };
        let doc = format!("`{}`.", fl.describe());
        match fl {
            Folded::Linear { src, pre, post } => {
                let post = if post.is_empty() {
                    quote!(::core::option::Option::None)
                } else {
                    let e = composed_affine(post, path);
                    quote!(::core::option::Option::Some(&#e))
                };
                let sf = &src.field;
                if let Kind::Conv2d { .. } = src.kind {
                    let g = conv_geometry(src);
                    out.fields.push(quote!(#[doc = #doc] pub #f: #p::Conv2d<#g, #t, true>,));
                    let ci = width_ty(src.input.channels());
                    let pre = if pre.is_empty() {
                        quote!(::core::option::Option::None)
                    } else {
                        let e = composed_affine(pre, path);
                        quote!(::core::option::Option::Some(&#e))
                    };
                    out.fold.push(quote!(self #path.#sf.fold_into::<#ci>(#pre, #post, &mut out #path.#f);));
                } else {
                    let (wi, wo) = (width_ty(fl.input().len()), width_ty(fl.output().len()));
                    out.fields.push(quote!(#[doc = #doc] pub #f: #p::Dense<#wi, #wo, #t, true>,));
                    let pre = match pre.first().map(|b| pixels_ty(b.input)) {
                        None => quote!(::core::option::Option::None),
                        Some(None) => {
                            let e = composed_affine(pre, path);
                            quote!(::core::option::Option::Some(&#e))
                        }
                        // BNs over an image before `flatten`: per feature of each channel.
                        Some(Some(px)) => {
                            let e = composed_affine(pre, path);
                            quote!(::core::option::Option::Some(&#e.per_pixel::<#px, #wi>()))
                        }
                    };
                    out.fold.push(quote!(self #path.#sf.fold_into(#pre, #post, &mut out #path.#f);));
                }
            }
            Folded::Affine { bns } => {
                let wc = width_ty(fl.input().channels());
                out.fields.push(quote!(#[doc = #doc] pub #f: #p::Affine<#wc, #t>,));
                let e = composed_affine(bns, path);
                out.fold.push(quote!(out #path.#f = #e;));
            }
            Folded::Kept(l) => {
                let ty = match l.kind {
                    Kind::GroupNorm { affine, .. } => {
                        let (wc, g, _) = groupnorm_geometry(l);
                        quote!(#p::GroupNorm<#wc, #g, #t, #affine>)
                    }
                    Kind::LayerNorm { affine, .. } => {
                        let w = width_ty(l.input.len());
                        quote!(#p::LayerNorm<#w, #t, #affine>)
                    }
                    _ => unreachable!("only LayerNorm and GroupNorm are kept"),
                };
                out.fields.push(quote!(#[doc = #doc] pub #f: #ty,));
                out.fold.push(quote! {
                    out #path.#f.gamma.copy_from_slice(&self #path.#f.gamma);
                    out #path.#f.beta.copy_from_slice(&self #path.#f.beta);
                    out #path.#f.eps = self #path.#f.eps;
                });
            }
            Folded::Block { index, body, shortcut, .. } => {
                let bs = scope.block(*index, f);
                let ty = bs.part(Part::Folded);
                out.fields.push(quote!(#[doc = #doc] pub #f: #ty,));
                let mut fields = Vec::new();
                for (name, branch) in [("body", Some(body)), ("shortcut", shortcut.as_ref())] {
                    let Some(branch) = branch else { continue };
                    let s = bs.branch(name);
                    let mut inner = FoldedFields::default();
                    folded_fields_of(branch, &s, n, &mut inner);
                    let (field, sty) = (format_ident!("{}", name), s.part(Part::Folded));
                    let bdoc = format!("The folded {name}.");
                    fields.push(quote!(#[doc = #bdoc] pub #field: #sty,));
                    let sdoc = format!("The folded layers of `{}`.", s.shown.trim_end_matches('.'));
                    out.items.extend(nested_struct(n, Part::Folded, &sty, &sdoc, &inner.fields));
                    out.items.extend(inner.items);
                    out.fold.extend(inner.fold);
                }
                let bdoc = format!("The folded residual block `{}`.", bs.shown.trim_end_matches('.'));
                out.items.extend(nested_struct(n, Part::Folded, &ty, &bdoc, &fields));
            }
            Folded::Plain(_) => {}
        }
    }
}

/// What a zeroed folded model `m` needs before its tensors are loaded from a weights file:
/// each kept LayerNorm's and GroupNorm's declared ε (and γ = 1, β = 0, which a file without
/// `affine` lacks), in blocks too.
pub(crate) fn folded_init(plan: &[Folded], n: &Names) -> Vec<TokenStream> {
    let mut out = Vec::new();
    folded_init_of(plan, &Scope::top(&n.name), &n.scalar, &mut out);
    out
}

/// [`folded_init`] of one sequence's plan, into `out`.
fn folded_init_of(plan: &[Folded], scope: &Scope, t: &Ident, out: &mut Vec<TokenStream>) {
    let p = p();
    let path = &scope.path;
    for fl in plan {
        match fl {
            Folded::Kept(l) => {
                let (Kind::LayerNorm { eps, .. } | Kind::GroupNorm { eps, .. }) = l.kind else { continue };
                let f = &l.field;
                out.push(quote! {
                    m #path.#f.reset();
                    m #path.#f.eps = <#t as #p::Float>::from_f64(#eps);
                });
            }
            Folded::Block { src, index, body, shortcut } => {
                let bs = scope.block(*index, &src.field);
                folded_init_of(body, &bs.branch("body"), t, out);
                if let Some(shortcut) = shortcut {
                    folded_init_of(shortcut, &bs.branch("shortcut"), t, out);
                }
            }
            _ => {}
        }
    }
}

/// One step of a one-sample forward, writing a vector of `width` values.
struct Step {
    kind: StepKind,
    width: usize,
}

enum StepKind {
    /// `#call(src, dst #extra)`, after `#prelude` (which declares scratch buffers).
    Call { call: TokenStream, extra: TokenStream, prelude: TokenStream },
    /// A residual block: its branches' steps, each into a buffer of its own, then their sum
    /// (`relu`: with the ReLU after the block).
    Block { scope: Scope, body: Vec<Step>, shortcut: Option<Vec<Step>>, relu: bool },
}

impl Step {
    fn new(call: TokenStream, width: usize) -> Self {
        Step { kind: StepKind::Call { call, extra: TokenStream::new(), prelude: TokenStream::new() }, width }
    }

    /// A conv step: its buffers `col{i}` on the stack, on a cache line of their own.
    fn conv(call: TokenStream, l: &Layer, t: &Ident, i: usize, scope: &Scope) -> Self {
        let p = p();
        let col = scope.local("col", i);
        let g = conv_geometry(l);
        let kind = StepKind::Call {
            call,
            extra: quote!(, &mut #col.0),
            prelude: quote!(let mut #col = #p::CacheAligned::<#p::Conv2dBuffers<#g, #t>>::zeroed();),
        };
        Step { kind, width: l.output().len() }
    }
}

/// Where a one-sample chain writes its output: `y` (a `&mut Vector`), or a buffer's vector.
struct Dst {
    /// As an argument, of type `&mut Vector`.
    arg: TokenStream,
    /// As a method receiver (`y`, `r3_body.0`).
    recv: TokenStream,
}

impl Dst {
    /// The output parameter `y`.
    fn y() -> Self {
        Dst { arg: quote!(y), recv: quote!(y) }
    }

    /// The vector of the `CacheAligned` buffer `name`.
    fn buffer(name: &Ident) -> Self {
        Dst { arg: quote!(&mut #name.0), recv: quote!(#name.0) }
    }
}

/// Whether `a` is a ReLU and `b` a max pool: inference runs them as one pass
/// (`MaxPool2d::forward_one_relu`), the ReLU's output never stored.
fn relu_then_max_pool(a: Option<&Layer>, b: Option<&Layer>) -> bool {
    a.is_some_and(|a| matches!(a.kind, Kind::Activation(Act::ReLU)))
        && b.is_some_and(|b| matches!(b.kind, Kind::Pool { pool: Pool::Max, .. }))
}

/// Whether `l` is a ReLU right after a residual block (`block` the layer before it): the
/// block adds and applies it in one pass.
fn relu_after_block(block: Option<&Layer>, l: &Layer) -> bool {
    matches!(l.kind, Kind::Activation(Act::ReLU)) && block.is_some_and(|b| matches!(b.kind, Kind::Residual(_)))
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

/// The layer of a plan entry that is a block.
fn block_of<'a>(f: Option<&'a Folded<'_>>) -> Option<&'a Layer> {
    match f {
        Some(Folded::Block { src, .. }) => Some(src),
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
        Kind::GlobalAvgPool => {
            let ty = global_avgpool_ty(l);
            Some(quote!(<#ty>::forward_one))
        }
        _ => None,
    }
}

/// The steps of the training type's `Inference::forward_one` for the sequence `layers` in
/// `scope`: the eval forward of one sample (BNs with their population statistics).
fn eval_steps(layers: &[Layer], scope: &Scope, t: &Ident) -> Vec<Step> {
    let path = &scope.path;
    layers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let f = &l.field;
            let width = l.output().len();
            let previous = i.checked_sub(1).map(|j| &layers[j]);
            Some(match &l.kind {
                Kind::Dense { .. } => Step::new(quote!(self #path.#f.forward_one), width),
                Kind::Conv2d { .. } => Step::conv(quote!(self #path.#f.forward_one), l, t, i, scope),
                Kind::BatchNorm { .. } => match pixels_ty(l.input) {
                    None => Step::new(quote!(self #path.#f.forward_eval_one), width),
                    Some(px) => Step::new(quote!(self #path.#f.forward_eval_one_channels::<#px, _>), width),
                },
                Kind::LayerNorm { .. } => Step::new(quote!(self #path.#f.forward_one), width),
                Kind::GroupNorm { .. } => {
                    let px = pixels_ty(l.input).expect("a GroupNorm over images (checked)");
                    Step::new(quote!(self #path.#f.forward_one::<#px, _>), width)
                }
                Kind::Residual(block) => {
                    let bs = scope.block(i, f);
                    let body = eval_steps(&block.body, &bs.branch("body"), t);
                    let shortcut = block.shortcut.as_ref().map(|s| eval_steps(s, &bs.branch("shortcut"), t));
                    let relu = layers.get(i + 1).is_some_and(|next| relu_after_block(Some(l), next));
                    Step { kind: StepKind::Block { scope: bs, body, shortcut, relu }, width }
                }
                _ if relu_after_block(previous, l) => return None,
                _ if relu_then_max_pool(Some(l), layers.get(i + 1)) => return None,
                _ => Step::new(plain_call(l, relu_then_max_pool(previous, Some(l)))?, width),
            })
        })
        .collect()
}

/// The steps of the folded type's `Inference::forward_one`: one step per entry of the plan
/// of a sequence in `scope`.
fn folded_steps(plan: &[Folded], scope: &Scope, t: &Ident) -> Vec<Step> {
    let p = p();
    let path = &scope.path;
    plan.iter()
        .enumerate()
        .filter_map(|(i, fl)| {
            let f = fl.field();
            let width = fl.output().len();
            // A ReLU and a max pool after a conv run inside the conv's call.
            if (i >= 1 && conv_relu_max_pool(plan, i - 1)) || (i >= 2 && conv_relu_max_pool(plan, i - 2)) {
                return None;
            }
            let previous = i.checked_sub(1).and_then(|j| block_of(plan.get(j)));
            Some(match fl {
                Folded::Linear { src, .. } if conv_relu_max_pool(plan, i) => {
                    let pool = plain(plan.get(i + 2)).expect("a pool (checked)");
                    let (g, sum, wo) = (pool_geometry(pool), scope.local("sum", i), width_ty(width));
                    let mut step = Step::conv(quote!(self #path.#f.forward_one_relu_max_pool::<#g>), src, t, i, scope);
                    if let StepKind::Call { prelude, extra, .. } = &mut step.kind {
                        prelude.extend(quote!(let mut #sum = #p::CacheAligned::<#p::Vector<#wo, #t>>::zeroed();));
                        *extra = quote!(, &mut #sum.0 #extra);
                    }
                    step.width = pool.output().len();
                    step
                }
                Folded::Linear { src, .. } if matches!(src.kind, Kind::Conv2d { .. }) => {
                    Step::conv(quote!(self #path.#f.forward_one), src, t, i, scope)
                }
                Folded::Kept(l) if matches!(l.kind, Kind::GroupNorm { .. }) => {
                    let px = pixels_ty(l.input).expect("a GroupNorm over images (checked)");
                    Step::new(quote!(self #path.#f.forward_one::<#px, _>), width)
                }
                Folded::Linear { .. } | Folded::Kept(_) => Step::new(quote!(self #path.#f.forward_one), width),
                Folded::Affine { .. } => match pixels_ty(fl.input()) {
                    None => Step::new(quote!(self #path.#f.forward_one), width),
                    Some(px) => Step::new(quote!(self #path.#f.forward_one_channels::<#px, _>), width),
                },
                Folded::Block { src, index, body, shortcut } => {
                    let bs = scope.block(*index, &src.field);
                    let body = folded_steps(body, &bs.branch("body"), t);
                    let shortcut = shortcut.as_ref().map(|s| folded_steps(s, &bs.branch("shortcut"), t));
                    let relu = plain(plan.get(i + 1)).is_some_and(|next| relu_after_block(Some(src), next));
                    Step { kind: StepKind::Block { scope: bs, body, shortcut, relu }, width }
                }
                Folded::Plain(l) if relu_after_block(previous, l) => return None,
                Folded::Plain(l) if relu_then_max_pool(Some(l), plain(plan.get(i + 1))) => return None,
                Folded::Plain(l) => {
                    let after_relu = i > 0 && relu_then_max_pool(plain(plan.get(i - 1)), Some(l));
                    Step::new(plain_call(l, after_relu)?, width)
                }
            })
        })
        .collect()
}

/// Temporaries of the batched folded forward stay under this many bytes on the stack.
const BATCH_TEMP_BYTES: usize = 128 * 1024;

/// Whether the batched chain works on the current activations in place (an activation) or
/// not at all (`flatten`): every other entry writes a new buffer.
fn in_place(f: &Folded) -> bool {
    matches!(f, Folded::Plain(l) if matches!(l.kind, Kind::Activation(_) | Kind::Flatten))
}

/// Where the current activations of the batched chain are: a batch that may only be read
/// (the input chunk `xs`, or a block's input inside its branches), a temporary (a view
/// `&mut Batch<C, W>`), or the chain's output.
#[derive(Clone)]
enum Place {
    /// Of type `&Batch<C, W>`.
    ReadOnly(TokenStream),
    Temp(Ident),
    /// The output chunk `ys`.
    Output,
}

impl Place {
    /// As an argument of type `&Batch`.
    fn read(&self) -> TokenStream {
        match self {
            Place::ReadOnly(e) => e.clone(),
            Place::Temp(h) => quote!(&*#h),
            Place::Output => quote!(&*ys),
        }
    }

    /// As an argument of type `&mut Batch` (`None` for a read-only batch).
    fn write(&self) -> Option<TokenStream> {
        match self {
            Place::ReadOnly(_) => None,
            Place::Temp(h) => Some(quote!(&mut *#h)),
            Place::Output => Some(quote!(&mut *ys)),
        }
    }

    /// As a method receiver.
    fn recv(&self) -> TokenStream {
        match self {
            Place::ReadOnly(e) => e.clone(),
            Place::Temp(h) => quote!(#h),
            Place::Output => quote!(ys),
        }
    }
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
    /// The values per sample of the temporaries (the chunk multiplies them).
    temp_floats: usize,
    /// The scalars of the one-sample buffers (a conv's columns, sums).
    buffer_floats: usize,
}

impl Chain {
    /// A new temporary `name` of `width` values per sample: allocated at the chunk size
    /// `c_ty`, passed to the chain, viewed at `C`.
    fn temp(&mut self, name: Ident, width: usize, c_ty: &TokenStream, t: &Ident) -> Place {
        let p = p();
        let w = width_ty(width);
        self.temps.extend(quote!(let mut #name = #p::CacheAligned::<#p::Batch<#c_ty, #w, #t>>::zeroed();));
        self.params.extend(quote!(#name: &mut #p::Batch<#c_ty, #w, #t>,));
        self.args.extend(quote!(&mut #name.0,));
        self.views.extend(quote!(let #name = #p::sub_batch_mut::<#c_ty, C, #w, #t>(#name, 0);));
        self.temp_floats += width;
        Place::Temp(name)
    }

    /// A one-sample buffer `name` of type `ty` (`len` scalars), passed to the chain as is.
    fn buffer(&mut self, name: &Ident, ty: TokenStream, len: usize) {
        let p = p();
        self.temps.extend(quote!(let mut #name = #p::CacheAligned::<#ty>::zeroed();));
        self.params.extend(quote!(#name: &mut #ty,));
        self.args.extend(quote!(&mut #name.0,));
        self.buffer_floats += len;
    }
}

/// The steps of the batched chain of one sequence's plan at chunk size `c_ty`, reading
/// `input` and writing `output`: each entry reads the current activations and writes a
/// temporary, or `output` from the last such entry on; activations work in place (except on
/// a read-only batch); `flatten` does nothing; a block runs its branches into temporaries
/// of their own and adds them.
fn batch_chain(plan: &[Folded], scope: &Scope, t: &Ident, c_ty: &TokenStream, io: (Place, Place), ch: &mut Chain) {
    let p = p();
    let (input, output) = io;
    let path = &scope.path;
    // The last entry that writes a new buffer writes the output directly.
    let last_linear = plan.iter().rposition(|f| !in_place(f));
    let mut cur = input;
    for (i, f) in plan.iter().enumerate() {
        // A ReLU and a max pool after a conv run inside the conv's call; a ReLU after a
        // block inside the block's addition.
        if (i >= 1 && conv_relu_max_pool(plan, i - 1)) || (i >= 2 && conv_relu_max_pool(plan, i - 2)) {
            continue;
        }
        if let Folded::Plain(l) = f {
            if relu_after_block(i.checked_sub(1).and_then(|j| block_of(plan.get(j))), l) {
                continue;
            }
        }
        let to_output = last_linear.is_none_or(|l| i >= l);
        let field = f.field();
        if conv_relu_max_pool(plan, i) {
            let (Folded::Linear { src, .. }, Some(pool)) = (f, plain(plan.get(i + 2))) else {
                unreachable!("a conv, a ReLU and a pool (checked)")
            };
            let (col, sum) = (scope.local("col", i), scope.local("sum", i));
            let (g, pg) = (conv_geometry(src), pool_geometry(pool));
            let dst = if last_linear.is_none_or(|l| i + 2 >= l) {
                output.clone()
            } else {
                ch.temp(scope.local("t", i), pool.output().len(), c_ty, t)
            };
            let w = width_ty(src.output().len());
            ch.buffer(&col, quote!(#p::Conv2dBuffers<#g, #t>), col_len(f));
            ch.buffer(&sum, quote!(#p::Vector<#w, #t>), src.output().len());
            let (src, dw) = (cur.read(), dst.write());
            ch.body.extend(quote!(this #path.#field.forward_relu_max_pool::<C, #pg>(#src, #dw, #sum, #col);));
            cur = dst;
            continue;
        }
        let new_place = |ch: &mut Chain| {
            if to_output {
                output.clone()
            } else {
                ch.temp(scope.local("t", i), f.output().len(), c_ty, t)
            }
        };
        match f {
            Folded::Linear { src, .. } if matches!(src.kind, Kind::Conv2d { .. }) => {
                let col = scope.local("col", i);
                let g = conv_geometry(src);
                let dst = new_place(ch);
                ch.buffer(&col, quote!(#p::Conv2dBuffers<#g, #t>), col_len(f));
                let (src, dw) = (cur.read(), dst.write());
                ch.body.extend(quote!(this #path.#field.forward(#src, #dw, #col);));
                cur = dst;
            }
            Folded::Linear { .. } | Folded::Affine { .. } | Folded::Kept(_) => {
                let dst = new_place(ch);
                let (src, dw) = (cur.read(), dst.write());
                ch.body.extend(match (f, pixels_ty(f.input())) {
                    (Folded::Affine { .. }, Some(px)) => {
                        quote!(this #path.#field.forward_channels::<#px, _, _>(#src, #dw);)
                    }
                    (Folded::Kept(l), Some(px)) if matches!(l.kind, Kind::GroupNorm { .. }) => {
                        quote!(this #path.#field.forward::<#px, _, _>(#src, #dw);)
                    }
                    _ => quote!(this #path.#field.forward(#src, #dw);),
                });
                cur = dst;
            }
            Folded::Block { src, index, body, shortcut } => {
                let bs = scope.block(*index, &src.field);
                let width = src.output().len();
                let block_in = Place::ReadOnly(cur.read());
                let b_out = ch.temp(format_ident!("{}_body", bs.tag), width, c_ty, t);
                batch_chain(body, &bs.branch("body"), t, c_ty, (block_in.clone(), b_out.clone()), ch);
                let s_out = match shortcut {
                    Some(shortcut) => {
                        let s_out = ch.temp(format_ident!("{}_shortcut", bs.tag), width, c_ty, t);
                        batch_chain(shortcut, &bs.branch("shortcut"), t, c_ty, (block_in.clone(), s_out.clone()), ch);
                        s_out
                    }
                    None => block_in,
                };
                let dst = new_place(ch);
                let (a, b, dw) = (b_out.read(), s_out.read(), dst.write());
                let relu = plain(plan.get(i + 1)).is_some_and(|next| relu_after_block(Some(src), next));
                ch.body.extend(if relu {
                    quote!(#p::Residual::add_relu(#a, #b, #dw);)
                } else {
                    quote!(#p::Residual::add(#a, #b, #dw);)
                });
                cur = dst;
            }
            Folded::Plain(l) if relu_then_max_pool(Some(l), plain(plan.get(i + 1))) => {}
            Folded::Plain(l) => match l.kind {
                Kind::Activation(act) => {
                    let at = format_ident!("{}", act.type_name());
                    match cur.write() {
                        Some(w) => ch.body.extend(quote!(<#p::#at as #p::Activation>::apply(#p::flat_mut(#w));)),
                        None => {
                            // An activation of a read-only batch: out of it.
                            let dst = new_place(ch);
                            let (src, dw) = (cur.read(), dst.write());
                            ch.body.extend(quote!(<#p::#at as #p::Activation>::forward(#src, #dw);));
                            cur = dst;
                        }
                    }
                }
                Kind::Pool { pool, .. } => {
                    let g = pool_geometry(l);
                    let ty = match pool {
                        Pool::Max => quote!(#p::MaxPool2d<#g>),
                        Pool::Avg => quote!(#p::AvgPool2d<#g>),
                    };
                    let dst = new_place(ch);
                    let (src, dw) = (cur.read(), dst.write());
                    if i > 0 && relu_then_max_pool(plain(plan.get(i - 1)), Some(l)) {
                        ch.body.extend(quote!(<#ty>::forward_relu(#src, #dw);));
                    } else {
                        ch.body.extend(quote!(<#ty>::forward(#src, #dw);));
                    }
                    cur = dst;
                }
                Kind::GlobalAvgPool => {
                    let ty = global_avgpool_ty(l);
                    let dst = new_place(ch);
                    let (src, dw) = (cur.read(), dst.write());
                    ch.body.extend(quote!(<#ty>::forward(#src, #dw);));
                    cur = dst;
                }
                _ => {}
            },
        }
    }
    // Nothing wrote the output (every entry works in place, or none computes): copy.
    if !matches!((&cur, &output), (Place::Output, Place::Output))
        && !matches!((&cur, &output), (Place::Temp(a), Place::Temp(b)) if a == b)
    {
        let (recv, src) = (output.recv(), cur.read());
        ch.body.extend(quote!(#recv.clone_from(#src);));
    }
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
/// once: a power of two up to 64 that keeps the chain's temporaries (and its one-sample
/// buffers) under [`BATCH_TEMP_BYTES`].
fn batch_chunk(chain: &Chain, t: &Ident) -> usize {
    let scalar = if t == "f64" { 8 } else { 4 };
    let buffers = chain.buffer_floats * scalar;
    let mut chunk = 64usize;
    while chunk > 1 && chunk * chain.temp_floats.max(1) * scalar + buffers > BATCH_TEMP_BYTES {
        chunk /= 2;
    }
    chunk
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
    let top = Scope::top(folded);
    let io = || (Place::ReadOnly(quote!(xs)), Place::Output);
    // The chain's sizes, measured at any chunk size, give the chunk size.
    let mut measured = Chain::default();
    batch_chain(plan, &top, t, &width_ty(64), io(), &mut measured);
    let chunk = batch_chunk(&measured, t);
    let mut chain = Chain::default();
    batch_chain(plan, &top, t, &width_ty(chunk), io(), &mut chain);
    let Chain { temps, params, args, views, body, .. } = chain;
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

/// The body of a one-sample forward of `steps` from `src` (a `&Vector`) into `dst`:
/// temporaries `h1`, `h2`, … (with the scope's tag) on the stack, each on a cache line of
/// its own, the last step writing `dst` (which is `src`'s copy when no step computes
/// anything). A block's branches write buffers of their own, then the block adds them into
/// the step's destination.
fn one_sample_chain(steps: Vec<Step>, src: &TokenStream, dst: &Dst, scope: &Scope, t: &Ident) -> TokenStream {
    let p = p();
    let n = steps.len();
    if n == 0 {
        let recv = &dst.recv;
        return quote!(#recv.clone_from(#src););
    }
    let mut out = TokenStream::new();
    for (i, Step { kind, width }) in steps.into_iter().enumerate() {
        let src = if i == 0 {
            src.clone()
        } else {
            let h = scope.local("h", i);
            quote!(&#h.0)
        };
        let dst = if i + 1 == n {
            Dst { arg: dst.arg.clone(), recv: dst.recv.clone() }
        } else {
            let h = scope.local("h", i + 1);
            let w = width_ty(width);
            out.extend(quote!(let mut #h = #p::CacheAligned::<#p::Vector<#w, #t>>::zeroed();));
            Dst::buffer(&h)
        };
        let arg = &dst.arg;
        match kind {
            StepKind::Call { call, extra, prelude } => {
                out.extend(prelude);
                out.extend(quote!(#call(#src, #arg #extra);));
            }
            StepKind::Block { scope: bs, body, shortcut, relu } => {
                let w = width_ty(width);
                let buffer = |name: &Ident| quote!(let mut #name = #p::CacheAligned::<#p::Vector<#w, #t>>::zeroed(););
                let b = format_ident!("{}_body", bs.tag);
                out.extend(buffer(&b));
                out.extend(one_sample_chain(body, &src, &Dst::buffer(&b), &bs.branch("body"), t));
                let s_out = match shortcut {
                    Some(shortcut) => {
                        let s = format_ident!("{}_shortcut", bs.tag);
                        out.extend(buffer(&s));
                        out.extend(one_sample_chain(shortcut, &src, &Dst::buffer(&s), &bs.branch("shortcut"), t));
                        quote!(&#s.0)
                    }
                    None => src.clone(),
                };
                out.extend(if relu {
                    quote!(#p::Residual::add_relu_one(&#b.0, #s_out, #arg);)
                } else {
                    quote!(#p::Residual::add_one(&#b.0, #s_out, #arg);)
                });
            }
        }
    }
    out
}
