//! Code generation for the int8 model: `{Name}Quantized` (bytes only: `PlainData` with `u8`
//! scalars), its integer forward, and the folded type's `calibrate`, `quantize_with` and
//! `quantize`. Each step of the quantized chain is one entry of the fold plan; a ReLU right
//! after a dense, conv or affine layer becomes that layer's clamp. A network with a layer
//! that int8 inference does not compute gets a `quantize` whose bound fails where it is
//! called, naming the layer kind.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Pool};
use crate::plan::Folded;
use crate::tokens::{conv_geometry, global_avgpool_ty, lit, p, pixels_ty, pool_geometry, width_ty, Names};

/// One step of the int8 chain.
enum Step<'a> {
    /// A dense or conv layer (its BNs folded in), with a fused ReLU when `relu`.
    Linear { src: &'a Layer, field: &'a Ident, relu: bool },
    /// BNs that fold into no linear layer, with a fused ReLU when `relu`.
    Affine { fl: &'a Folded<'a>, field: &'a Ident, relu: bool },
    /// Sigmoid or tanh: a table.
    Table { l: &'a Layer, act: Act },
    /// A ReLU after anything else: `max(x, z)`.
    Relu(&'a Layer),
    /// A pool or `flatten`.
    Plain(&'a Layer),
}

impl Step<'_> {
    /// The widths of the step's input and output.
    fn widths(&self) -> (usize, usize) {
        match self {
            Step::Linear { src, .. } => (src.input.len(), src.output().len()),
            Step::Affine { fl, .. } => (fl.input().len(), fl.output().len()),
            Step::Table { l, .. } | Step::Relu(l) | Step::Plain(l) => (l.input.len(), l.output().len()),
        }
    }

    /// What runs step `i` on the buffer `a` into `b`: the callee and the arguments after
    /// those two, in the int8 chain (`int8`) or in the float model's (calibration, where conv
    /// `i` uses the buffers `col{i}`); `None` for `flatten`, which computes nothing.
    fn call(&self, i: usize, int8: bool) -> Option<(TokenStream, TokenStream)> {
        let p = p();
        let method = if int8 { quote!(forward_q) } else { quote!(forward_one) };
        Some(match self {
            Step::Linear { src, field, .. } => {
                let conv_buffers = !int8 && matches!(src.kind, Kind::Conv2d { .. });
                let col = format_ident!("col{}", i);
                (quote!(self.#field.#method), if conv_buffers { quote!(, &mut #col) } else { TokenStream::new() })
            }
            Step::Affine { fl, field, .. } => match pixels_ty(fl.input()).filter(|_| !int8) {
                // The float affine map reads an image's values per channel.
                Some(px) => (quote!(self.#field.forward_one_channels::<#px, _>), TokenStream::new()),
                None => (quote!(self.#field.#method), TokenStream::new()),
            },
            Step::Table { l, .. } if int8 => {
                let f = &l.field;
                (quote!(self.#f.forward_q), TokenStream::new())
            }
            Step::Table { act, .. } => {
                let at = format_ident!("{}", act.type_name());
                (quote!(<#p::#at as #p::Activation>::forward_one), TokenStream::new())
            }
            Step::Relu(l) if int8 => {
                let f = &l.field;
                (quote!(<#p::ReLU>::forward_q), quote!(, self.#f))
            }
            Step::Relu(_) => (quote!(<#p::ReLU as #p::Activation>::forward_one), TokenStream::new()),
            Step::Plain(l) => {
                let (ty, max) = match l.kind {
                    Kind::Flatten => return None,
                    Kind::Pool { pool, .. } => {
                        let g = pool_geometry(l);
                        match pool {
                            Pool::Max => (quote!(#p::MaxPool2d<#g>), true),
                            Pool::Avg => (quote!(#p::AvgPool2d<#g>), false),
                        }
                    }
                    _ => (global_avgpool_ty(l), false),
                };
                // The int8 max pool takes its floor: none here (a ReLU is its own step).
                (quote!(<#ty>::#method), if max && int8 { quote!(, -128) } else { TokenStream::new() })
            }
        })
    }
}

/// The int8 chain of a network's plan, or the kind of the first layer it cannot compute
/// (a type of `bn_core::quant::refused`).
fn steps<'a>(m: &Model, plan: &'a [Folded<'a>]) -> Result<Vec<Step<'a>>, &'static str> {
    if m.scalar != "f32" {
        return Err("F64Network");
    }
    let is_relu =
        |f: Option<&Folded>| matches!(f, Some(Folded::Plain(l)) if matches!(l.kind, Kind::Activation(Act::ReLU)));
    let mut out = Vec::new();
    let mut fused = false;
    for (i, fl) in plan.iter().enumerate() {
        if std::mem::take(&mut fused) {
            continue;
        }
        let relu = is_relu(plan.get(i + 1));
        out.push(match fl {
            Folded::Linear { src, .. } => {
                fused = relu;
                Step::Linear { src, field: fl.field().expect("a linear layer has a field"), relu }
            }
            Folded::Affine { .. } => {
                fused = relu;
                Step::Affine { fl, field: fl.field().expect("an affine layer has a field"), relu }
            }
            Folded::Plain(l) => match l.kind {
                Kind::Activation(Act::ReLU) => Step::Relu(l),
                Kind::Activation(act) => Step::Table { l, act },
                _ => Step::Plain(l),
            },
            Folded::Kept(l) => {
                return Err(if matches!(l.kind, Kind::LayerNorm { .. }) { "LayerNorm" } else { "GroupNorm" })
            }
            Folded::Block { .. } => return Err("ResidualBlock"),
        });
    }
    Ok(out)
}

/// Whether the steps at `i` are a conv and a max pool, which the int8 chain runs as one
/// call (`QConv2d::forward_q_max_pool`), the conv's output never stored.
fn conv_then_max_pool(steps: &[Step], i: usize) -> bool {
    matches!(
        (steps.get(i), steps.get(i + 1)),
        (Some(Step::Linear { src, .. }), Some(Step::Plain(pool)))
            if matches!(src.kind, Kind::Conv2d { .. }) && matches!(pool.kind, Kind::Pool { pool: Pool::Max, .. })
    )
}

/// The widest tensor that the int8 chain stores (the input included; not a conv's output
/// that goes straight into its max pool): the size of its two stack buffers.
fn widest_int8(m: &Model, steps: &[Step]) -> usize {
    let stored = (0..steps.len()).filter(|&i| !conv_then_max_pool(steps, i)).map(|i| steps[i].widths().1);
    stored.chain([m.input.len()]).max().unwrap_or(0)
}

/// The widest tensor of the float chain (the input included): the size of calibration's two
/// buffers.
fn widest(m: &Model, plan: &[Folded]) -> usize {
    plan.iter().map(|f| f.output().len()).chain([m.input.len()]).max().unwrap_or(0)
}

/// Everything generated for the int8 model of a valid network (but the inherent methods
/// that `api` shares with the fallback), and whether the network has one.
pub(crate) fn quantized(m: &Model, n: &Names, plan: &[Folded]) -> (TokenStream, bool) {
    match steps(m, plan) {
        Ok(steps) => {
            let max_q = widest_int8(m, &steps);
            (Gen { m, n, steps, max: widest(m, plan), max_q }.items(), true)
        }
        Err(kind) => (refused(n, kind), false),
    }
}

/// The folded type's `quantize` of a network that int8 inference cannot compute: a bound
/// that nothing implements, whose message names the layer kind.
fn refused(n: &Names, kind: &str) -> TokenStream {
    let p = p();
    let Names { cfgs, folded, input_trait, .. } = n;
    let kind = format_ident!("{}", kind);
    quote! {
        #cfgs
        impl #folded {
            /// Not available: this network has a layer that int8 inference does not compute
            /// (calling it is a compile error that names the layer kind).
            pub fn quantize<C: #input_trait>(&self, _calibration: &[C]) -> !
            where
                C: #p::quant::Unquantizable<#p::quant::refused::#kind>,
            {
                ::core::unreachable!()
            }
        }
    }
}

/// The generator of a quantizable network.
struct Gen<'a> {
    m: &'a Model,
    n: &'a Names,
    steps: Vec<Step<'a>>,
    /// The widest tensor (calibration's buffers).
    max: usize,
    /// The widest tensor the int8 chain stores (its buffers).
    max_q: usize,
}

impl Gen<'_> {
    fn items(&self) -> TokenStream {
        let p = p();
        let Names { vis, cfgs, name, folded, quantized, in_ty, out_ty, .. } = self.n;
        let fields = self.fields();
        let names = self.tensor_names();
        let count = lit(names.len());
        let int8_steps = self.int8_steps();
        let (max, input, output) = (lit(self.max_q), lit(self.m.input.len()), lit(self.m.output().len()));
        let doc = format!(
            "The int8 model of [`{}`]: its folded model ([`{folded}`]) quantized with TFLite's scheme, \
             integers only from the quantized input to the quantized output (see bn-core's `quant` \
             module). Bytes only (`#[repr(C)]`, alignment 1, [`PlainData`](::bn_core::PlainData) with \
             `u8` scalars, `Copy`), so [`embed!`](::bn_core::embed!) compiles it in. Made by \
             [`{folded}::quantize`].",
            name.unraw()
        );
        let calibration = self.calibration(&names);
        quote! {
            #cfgs
            #[doc = #doc]
            #[repr(C)]
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
            #vis struct #quantized {
                /// The input's scale and zero point.
                pub input: #p::quant::PackedParams,
                #(#fields)*
                /// The output's scale and zero point (to read the logits as reals).
                pub output: #p::quant::PackedParams,
            }

            #cfgs
            // SAFETY: every field is bytes (`i8` arrays and little-endian numbers), asserted
            // below to have alignment 1, so all zeros is a valid value.
            unsafe impl #p::Zeroable for #quantized {}
            #cfgs
            // SAFETY: `#[repr(C)]` over fields of alignment 1 (asserted below): no padding,
            // and every field is valid for any bytes (`i8`, `LeI32`, `LeF32`).
            unsafe impl #p::PlainData for #quantized {
                type Scalar = u8;
                const LEN: usize = ::core::mem::size_of::<#quantized>();
            }
            #cfgs
            const _: () = ::core::assert!(
                ::core::mem::align_of::<#quantized>() == 1,
                "the quantized model must be bytes only"
            );

            #cfgs
            impl #quantized {
                /// The tensors with calibrated parameters, in the order of [`Ranges`](::bn_core::quant::Ranges):
                /// the input, then each dense, conv or affine layer's output.
                pub const TENSORS: [&'static str; #count] = [#(#names),*];

                /// The int8 output (logits) of an int8 input, integers only.
                pub fn forward_q(&self, x: &#p::Vector<#in_ty, i8>, y: &mut #p::Vector<#out_ty, i8>) {
                    let (mut a, mut b) = ([0i8; #max], [0i8; #max]);
                    a[..#input].copy_from_slice(x);
                    y.copy_from_slice(&self.chain_q(&mut a, &mut b)[..#output]);
                }

                /// The layers on the input in `a` (its first values), with `b` as the other
                /// buffer; returns the buffer that holds the output.
                fn chain_q<'a>(&self, mut a: &'a mut [i8; #max], mut b: &'a mut [i8; #max]) -> &'a [i8; #max] {
                    #int8_steps
                    a
                }

                /// The int8 values of a real input (the model's input parameters).
                pub fn quantize_input(&self, x: &#p::Vector<#in_ty, f32>, q: &mut #p::Vector<#in_ty, i8>) {
                    #p::quant::quantize_values(self.input, x, q);
                }
            }

            #cfgs
            impl #p::quant::Int8Inference for #quantized {
                fn forward_q(&self, x: &#p::Vector<#in_ty, i8>, y: &mut #p::Vector<#out_ty, i8>) {
                    #quantized::forward_q(self, x, y)
                }
                fn quantize_input(&self, x: &#p::Vector<#in_ty, f32>, q: &mut #p::Vector<#in_ty, i8>) {
                    #quantized::quantize_input(self, x, q)
                }
            }

            #cfgs
            impl #p::Inference for #quantized {
                type Scalar = f32;
                type Input = #in_ty;
                type Output = #out_ty;
                /// The input quantized, [`forward_q`](Self::forward_q), the logits dequantized.
                fn forward_one(&self, x: &#p::Vector<#in_ty, f32>, y: &mut #p::Vector<#out_ty, f32>) {
                    let (mut a, mut b) = ([0i8; #max], [0i8; #max]);
                    #p::quant::quantize_values(self.input, x, &mut a[..#input]);
                    #p::quant::dequantize_values(self.output, &self.chain_q(&mut a, &mut b)[..#output], y);
                }
            }

            #calibration
        }
    }

    /// The names of the calibrated tensors.
    fn tensor_names(&self) -> Vec<String> {
        let mut names = vec!["input".to_string()];
        for s in &self.steps {
            match s {
                Step::Linear { field, .. } | Step::Affine { field, .. } => names.push(field.unraw().to_string()),
                _ => {}
            }
        }
        names
    }

    /// The fields of the quantized type.
    fn fields(&self) -> Vec<TokenStream> {
        let p = p();
        self.steps
            .iter()
            .filter_map(|s| {
                Some(match s {
                    Step::Linear { src, field, relu } => {
                        let doc = format!("`{}`{}.", field.unraw(), if *relu { " with its ReLU" } else { "" });
                        let ty = if let Kind::Conv2d { .. } = src.kind {
                            let g = conv_geometry(src);
                            quote!(#p::quant::QConv2d<#g>)
                        } else {
                            let (wi, wo) = (width_ty(src.input.len()), width_ty(src.output().len()));
                            quote!(#p::quant::QDense<#wi, #wo>)
                        };
                        quote!(#[doc = #doc] pub #field: #ty,)
                    }
                    Step::Affine { fl, field, relu } => {
                        let doc = format!("`{}`{}.", fl.describe(), if *relu { " with its ReLU" } else { "" });
                        let wc = width_ty(fl.input().channels());
                        quote!(#[doc = #doc] pub #field: #p::quant::QAffine<#wc>,)
                    }
                    Step::Table { l, act } => {
                        let f = &l.field;
                        let doc = format!("`{}`: a table ({}).", f.unraw(), act.type_name());
                        quote!(#[doc = #doc] pub #f: #p::quant::Lut,)
                    }
                    Step::Relu(l) => {
                        let f = &l.field;
                        let doc = format!("`{}`: the zero point it clamps at.", f.unraw());
                        quote!(#[doc = #doc] pub #f: i8,)
                    }
                    Step::Plain(_) => return None,
                })
            })
            .collect()
    }

    /// The int8 chain: each step reads `a` and writes `b`, then the two swap. A conv followed
    /// by a max pool runs as one call (`QConv2d::forward_q_max_pool`: the same bytes).
    fn int8_steps(&self) -> TokenStream {
        let p = p();
        let mut out = TokenStream::new();
        let mut fused = false;
        for (i, s) in self.steps.iter().enumerate() {
            if std::mem::take(&mut fused) {
                continue;
            }
            let (call, extra, wo) = match (s, self.steps.get(i + 1)) {
                (Step::Linear { field, .. }, Some(pool @ Step::Plain(l))) if conv_then_max_pool(&self.steps, i) => {
                    fused = true;
                    let g = pool_geometry(l);
                    (quote!(self.#field.forward_q_max_pool::<#g>), TokenStream::new(), pool.widths().1)
                }
                _ => match s.call(i, true) {
                    Some((call, extra)) => (call, extra, s.widths().1),
                    None => continue,
                },
            };
            let (wi, wo) = (width_ty(s.widths().0), width_ty(wo));
            out.extend(quote! {
                #call(#p::quant::prefix::<#wi, i8>(a), #p::quant::prefix_mut::<#wo, i8>(b) #extra);
                ::core::mem::swap(&mut a, &mut b);
            });
        }
        out
    }

    /// The folded type's `calibrate`, `quantize_with` and `quantize` (with `alloc`).
    fn calibration(&self, names: &[String]) -> TokenStream {
        let p = p();
        let Names { cfgs, folded, quantized, input_trait, in_ty, .. } = self.n;
        let count = lit(names.len());
        let (max, input) = (lit(self.max), lit(self.m.input.len()));
        let mut prelude = TokenStream::new();
        let mut float = TokenStream::new();
        let mut build = TokenStream::new();
        let mut k = 0usize;
        for (i, s) in self.steps.iter().enumerate() {
            if let Step::Linear { src: l @ Layer { kind: Kind::Conv2d { .. }, .. }, .. } = s {
                let (g, col) = (conv_geometry(l), format_ident!("col{}", i));
                prelude.extend(quote!(let mut #col = #p::boxed_zeroed::<#p::Conv2dBuffers<#g, f32>>();));
            }
            if let Some((call, extra)) = s.call(i, false) {
                let (wi, wo) = s.widths();
                let (wi, wo) = (width_ty(wi), width_ty(wo));
                float.extend(quote! {
                    #call(#p::quant::prefix::<#wi, f32>(a), #p::quant::prefix_mut::<#wo, f32>(b) #extra);
                    ::core::mem::swap(&mut a, &mut b);
                });
            }
            match s {
                Step::Linear { field, relu, .. } | Step::Affine { field, relu, .. } => {
                    k += 1;
                    float.extend(observe(k, s.widths().1, *relu));
                    let name = field.unraw().to_string();
                    build.extend(quote! {
                        q.#field.quantize_into(&self.#field, current, params[#k], #relu).map_err(|e| e.in_layer(#name))?;
                        current = params[#k];
                    });
                }
                Step::Table { l, act } => {
                    let f = &l.field;
                    let table = format_ident!("{}", act.type_name().to_lowercase());
                    let params = format_ident!("{}_OUTPUT", act.type_name().to_uppercase());
                    build.extend(quote! {
                        q.#f = #p::quant::Lut::#table(current);
                        current = #p::quant::Lut::#params;
                    });
                }
                Step::Relu(l) => {
                    let f = &l.field;
                    build.extend(quote!(q.#f = current.zero_point as i8;));
                }
                Step::Plain(_) => {}
            }
        }
        let calibrate_doc = format!(
            "The range of every tensor of [`{q}::TENSORS`] over the `calibration` inputs, chosen by \
             `observer`: the float model run layer by layer (a ReLU that the int8 model fuses into the \
             layer before it is applied before observing). It allocates a buffer per convolution and \
             two of the widest tensor; with `Observer::Percentile` it keeps every observed value.",
            q = quantized.unraw()
        );
        let ranges = quote!(#p::quant::Ranges<#count>);
        let result = quote!(::core::result::Result);
        let error = quote!(#p::quant::QuantizeError);
        quote! {
            #cfgs
            #p::if_alloc! {
                impl #folded {
                    #[doc = #calibrate_doc]
                    ///
                    /// # Errors
                    /// `QuantizeError::NoCalibration` for no input, `NotFinite` for a NaN or an
                    /// infinity in a tensor, `BadPercentile`.
                    pub fn calibrate<C: #input_trait>(
                        &self,
                        calibration: &[C],
                        observer: #p::quant::Observer,
                    ) -> #result<#ranges, #error> {
                        let mut cal = #p::quant::Calibrator::<#count>::new(observer, #quantized::TENSORS)?;
                        let (mut a0, mut b0) = (#p::Vec::<f32>::new(), #p::Vec::<f32>::new());
                        a0.resize(#max, 0.0);
                        b0.resize(#max, 0.0);
                        #prelude
                        for x in calibration {
                            let (mut a, mut b) = (&mut a0[..], &mut b0[..]);
                            a[..#input].copy_from_slice(x.as_vector());
                            cal.observe(0, &a[..#input])?;
                            #float
                        }
                        cal.finish()
                    }

                    /// The int8 model with the tensors' parameters from `ranges` (usually
                    /// [`calibrate`](Self::calibrate)'s): each range widened to contain 0 and
                    /// mapped onto `[−128, 127]`; the weights of every output channel symmetric on
                    /// `[−127, 127]`; biases in `i32`; sigmoid and tanh as tables with TFLite's fixed
                    /// output parameters. Built in place on the heap.
                    ///
                    /// # Errors
                    /// `QuantizeError::BadRange`, or `Multiplier` naming the layer whose
                    /// requantization factor cannot be represented.
                    pub fn quantize_with(&self, ranges: &#ranges) -> #result<#p::Box<#quantized>, #error> {
                        let params = ranges.params()?;
                        let mut q = #p::boxed_zeroed::<#quantized>();
                        let mut current = params[0];
                        q.input = #p::quant::PackedParams::new(current);
                        #build
                        q.output = #p::quant::PackedParams::new(current);
                        ::core::result::Result::Ok(q)
                    }

                    /// The int8 model calibrated on `calibration` (min/max ranges):
                    /// [`calibrate`](Self::calibrate) with `Observer::MinMax`, then
                    /// [`quantize_with`](Self::quantize_with).
                    ///
                    /// # Errors
                    /// As those two.
                    pub fn quantize<C: #input_trait>(&self, calibration: &[C]) -> #result<#p::Box<#quantized>, #error> {
                        let ranges = self.calibrate(calibration, #p::quant::Observer::MinMax)?;
                        self.quantize_with(&ranges)
                    }
                }

                impl #p::quant::Quantize for #folded {
                    type Quantized = #quantized;
                    fn quantize(
                        &self,
                        calibration: &[#p::Vector<#in_ty, f32>],
                    ) -> #result<#p::Box<#quantized>, #error> {
                        #folded::quantize(self, calibration)
                    }
                }
            }
        }
    }
}

/// Observing tensor `k` (the `width` values in `a`), after the fused ReLU if `relu`.
fn observe(k: usize, width: usize, relu: bool) -> TokenStream {
    let p = p();
    let width = lit(width);
    let relu = relu.then(|| quote!(<#p::ReLU as #p::Activation>::apply(&mut a[..#width]);));
    quote! {
        #relu
        cal.observe(#k, &a[..#width])?;
    }
}

/// The fallback's int8 items: the quantized type without fields and the methods of both
/// types with unreachable bodies (the same signatures as [`Gen::items`] with one tensor), so
/// that code that quantizes a network whose invocation has errors reports nothing more.
pub(crate) fn fallback(n: &Names, doc: &str) -> TokenStream {
    let p = p();
    let Names { vis, cfgs, folded, quantized, input_trait, in_ty, out_ty, .. } = n;
    let (result, error, ranges) =
        (quote!(::core::result::Result), quote!(#p::quant::QuantizeError), quote!(#p::quant::Ranges<1>));
    // `Quantize` needs `f32` inference: only an `f32` network's folded type has it.
    let quantize_impl = (n.scalar == "f32").then(|| {
        quote! {
            impl #p::quant::Quantize for #folded {
                type Quantized = #quantized;
                fn quantize(&self, _: &[#p::Vector<#in_ty, f32>]) -> #result<#p::Box<#quantized>, #error> {
                    ::core::unreachable!()
                }
            }
        }
    });
    quote! {
        #cfgs
        #[doc = #doc]
        #[allow(dead_code)]
        #[repr(C)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #quantized {}
        #cfgs
        // SAFETY: no fields.
        unsafe impl #p::Zeroable for #quantized {}
        #cfgs
        // SAFETY: `#[repr(C)]`, no fields, alignment 1.
        unsafe impl #p::PlainData for #quantized {
            type Scalar = u8;
            const LEN: usize = 0;
        }
        #cfgs
        impl #quantized {
            #[doc = #doc]
            pub const TENSORS: [&'static str; 1] = ["input"];
            #[doc = #doc]
            pub fn forward_q(&self, _: &#p::Vector<#in_ty, i8>, _: &mut #p::Vector<#out_ty, i8>) {
                ::core::unreachable!()
            }
            #[doc = #doc]
            pub fn quantize_input(&self, _: &#p::Vector<#in_ty, f32>, _: &mut #p::Vector<#in_ty, i8>) {
                ::core::unreachable!()
            }
        }
        #cfgs
        impl #p::quant::Int8Inference for #quantized {
            fn forward_q(&self, _: &#p::Vector<#in_ty, i8>, _: &mut #p::Vector<#out_ty, i8>) {
                ::core::unreachable!()
            }
            fn quantize_input(&self, _: &#p::Vector<#in_ty, f32>, _: &mut #p::Vector<#in_ty, i8>) {
                ::core::unreachable!()
            }
        }
        #cfgs
        impl #p::Inference for #quantized {
            type Scalar = f32;
            type Input = #in_ty;
            type Output = #out_ty;
            fn forward_one(&self, _: &#p::Vector<#in_ty, f32>, _: &mut #p::Vector<#out_ty, f32>) {
                ::core::unreachable!()
            }
        }
        #cfgs
        #p::if_alloc! {
            impl #folded {
                #[doc = #doc]
                pub fn calibrate<C: #input_trait>(&self, _: &[C], _: #p::quant::Observer) -> #result<#ranges, #error> {
                    ::core::unreachable!()
                }
                #[doc = #doc]
                pub fn quantize_with(&self, _: &#ranges) -> #result<#p::Box<#quantized>, #error> {
                    ::core::unreachable!()
                }
                #[doc = #doc]
                pub fn quantize<C: #input_trait>(&self, _: &[C]) -> #result<#p::Box<#quantized>, #error> {
                    ::core::unreachable!()
                }
            }

            #quantize_impl
        }
    }
}
