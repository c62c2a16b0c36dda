//! The API of the generated types that only delegates to their trait impls (`Network`,
//! `Inference`, `StateDict`): the input traits, the inherent wrapper methods and constants,
//! and `Display`. The real expansion and the fallback (`crate::fallback`) both generate
//! them here, so the two cannot drift apart; only their types and trait impls differ.
//!
//! Every function returns whole items, each carrying the user's `#[cfg]`s.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::Ident;

use crate::model::Shape;
use crate::tokens::{lit, p, Names};

/// The docs and diagnostics of the input traits.
pub(crate) struct InputTexts {
    input_doc: String,
    input_msg: String,
    input_label: String,
    batch_doc: String,
    batch_msg: String,
    batch_label: String,
}

impl InputTexts {
    /// The texts of a network that takes `input` samples, or (in the fallback, where the
    /// input width is unknown) samples of any size.
    pub(crate) fn new(n: &Names, input: Option<Shape>) -> Self {
        let (name, t) = (n.name.unraw().to_string(), &n.scalar);
        let Some(shape) = input else {
            return InputTexts {
                input_doc: format!("One input sample of [`{name}`]: `[{t}; N]` or `GenericArray<{t}, N>`."),
                input_msg: format!("`{{Self}}` is not an input of `{name}`: it takes values of `{t}`"),
                input_label: format!("expected `[{t}; N]` or `GenericArray<{t}, N>`"),
                batch_doc: format!("A batch of inputs of [`{name}`]: `Batch<B, N, {t}>`."),
                batch_msg: format!("`{{Self}}` is not a batch of `{name}` inputs: it takes values of `{t}`"),
                batch_label: format!("expected `Batch<B, N, {t}>`"),
            };
        };
        let input = shape.len();
        let (values, nested) = match shape {
            Shape::Flat(_) => (input.to_string(), String::new()),
            Shape::Image { c, h, w } => {
                (format!("{c}×{h}×{w} = {input}"), format!(", `[[[{t}; {w}]; {h}]; {c}]` (C, H, W)"))
            }
        };
        InputTexts {
            input_doc: format!(
                "One input sample of [`{name}`]: `[{t}; {input}]`{nested} or `GenericArray<{t}, U{input}>`."
            ),
            input_msg: format!("`{{Self}}` is not an input of `{name}`: it takes {values} values of `{t}`"),
            input_label: format!("expected `[{t}; {input}]`{nested} or `GenericArray<{t}, U{input}>`"),
            batch_doc: format!("A batch of inputs of [`{name}`]: `Batch<B, U{input}, {t}>` for any batch size `B`."),
            batch_msg: format!(
                "`{{Self}}` is not a batch of `{name}` inputs: it takes {input} values of `{t}` per sample"
            ),
            batch_label: format!("expected `Batch<B, U{input}, {t}>`"),
        }
    }
}

/// `{Name}Input`, the trait of one input sample.
pub(crate) fn input_trait(n: &Names, texts: &InputTexts) -> TokenStream {
    let p = p();
    let Names { vis, cfgs, scalar: t, input_trait, in_ty, .. } = n;
    let InputTexts { input_doc, input_msg, input_label, .. } = texts;
    quote! {
        #cfgs
        #[doc = #input_doc]
        #[diagnostic::on_unimplemented(message = #input_msg, label = #input_label)]
        #vis trait #input_trait {
            /// The sample as bn-core's vector type.
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t>;
        }
    }
}

/// The input trait's impls for an array and a vector of the input width, and for an image
/// input the nested array `[[[T; W]; H]; C]` (the same values in the same order).
pub(crate) fn input_impls(n: &Names, input: Shape) -> TokenStream {
    let p = p();
    let Names { cfgs, scalar: t, input_trait, in_ty, .. } = n;
    let n_in = lit(input.len());
    let nested = match input {
        Shape::Flat(_) => TokenStream::new(),
        Shape::Image { c, h, w } => {
            let [c, h, w] = [c, h, w].map(lit);
            quote! {
                #cfgs
                impl #input_trait for [[[#t; #w]; #h]; #c] {
                    fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                        #p::image_as_vector(self)
                    }
                }
            }
        }
    };
    quote! {
        #nested
        #cfgs
        impl #input_trait for [#t; #n_in] {
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                #p::array_as_vector(self)
            }
        }
        #cfgs
        impl #input_trait for #p::Vector<#in_ty, #t> {
            fn as_vector(&self) -> &#p::Vector<#in_ty, #t> {
                self
            }
        }
    }
}

/// `{Name}Batch`, the trait of a batch of inputs.
pub(crate) fn batch_trait(n: &Names, texts: &InputTexts) -> TokenStream {
    let p = p();
    let Names { vis, cfgs, scalar: t, batch_trait, in_ty, .. } = n;
    let InputTexts { batch_doc, batch_msg, batch_label, .. } = texts;
    quote! {
        #cfgs
        #[doc = #batch_doc]
        #[diagnostic::on_unimplemented(message = #batch_msg, label = #batch_label)]
        #vis trait #batch_trait {
            /// The batch size.
            type Size: #p::ArrayLength;
            /// The batch as bn-core's batch type.
            fn as_batch(&self) -> &#p::Batch<Self::Size, #in_ty, #t>;
        }
    }
}

/// The batch trait's impl for a batch of any size of the input width.
pub(crate) fn batch_impl(n: &Names) -> TokenStream {
    let p = p();
    let Names { cfgs, scalar: t, batch_trait, in_ty, .. } = n;
    quote! {
        #cfgs
        impl<B: #p::ArrayLength> #batch_trait for #p::Batch<B, #in_ty, #t> {
            type Size = B;
            fn as_batch(&self) -> &#p::Batch<B, #in_ty, #t> {
                self
            }
        }
    }
}

/// The values of the inherent constants.
pub(crate) struct Consts {
    /// Input width.
    pub(crate) input: usize,
    /// Output width.
    pub(crate) output: usize,
    /// Number of trainable scalars.
    pub(crate) params: usize,
    /// The layer summary.
    pub(crate) summary: String,
}

/// The network type's inherent constants and methods (all but the heap ones, see
/// [`alloc_methods`]).
pub(crate) fn network_methods(n: &Names, consts: &Consts) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, .. } = n;
    let (n_in, n_out, n_params, summary) = (lit(consts.input), lit(consts.output), lit(consts.params), &consts.summary);
    let training = training_methods(n);
    let eval_methods = inference_methods(n, "eval", "eval_batch", " (eval mode: the population statistics)");
    quote! {
        #cfgs
        impl #name {
            /// Input width.
            pub const INPUT: usize = #n_in;
            /// Output width.
            pub const OUTPUT: usize = #n_out;
            /// Number of trainable scalars.
            pub const PARAMS: usize = #n_params;
            /// The layer summary (also what `Display` prints).
            pub const SUMMARY: &'static str = #summary;

            #training

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
    }
}

/// The network type's inherent methods that allocate (with bn-core's `alloc` feature).
pub(crate) fn alloc_methods(n: &Names) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, .. } = n;
    quote! {
        #cfgs
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
    }
}

/// The folded type's inherent constants and methods.
pub(crate) fn folded_methods(n: &Names, consts: &Consts) -> TokenStream {
    inference_type_methods(n, &n.folded, consts, "")
}

/// The int8 model's inherent methods with `f32` values in and out (its integer forward is
/// generated with its layers).
pub(crate) fn quantized_methods(n: &Names, consts: &Consts) -> TokenStream {
    inference_type_methods(n, &n.quantized, consts, " (the input quantized, integers only, the logits dequantized)")
}

/// `INPUT`, `OUTPUT`, `forward`, `forward_batch` and `classify` on the inference type `ty`
/// (`mode` said in the methods' docs).
fn inference_type_methods(n: &Names, ty: &Ident, consts: &Consts, mode: &str) -> TokenStream {
    let cfgs = &n.cfgs;
    let (n_in, n_out) = (lit(consts.input), lit(consts.output));
    let methods = inference_methods(n, "forward", "forward_batch", mode);
    quote! {
        #cfgs
        impl #ty {
            /// Input width.
            pub const INPUT: usize = #n_in;
            /// Output width.
            pub const OUTPUT: usize = #n_out;

            #methods
        }
    }
}

/// `Display` for `ty`, writing the `&str` expression `text`.
pub(crate) fn display(n: &Names, ty: &Ident, text: TokenStream) -> TokenStream {
    let cfgs = &n.cfgs;
    quote! {
        #cfgs
        impl ::core::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#text)
            }
        }
    }
}

/// The doc of the network type's `load_safetensors`.
const LOAD_DOC: &str = "A network loaded from a safetensors file (see `save_safetensors` for the names), built \
     on the heap. Each BN's ε and momentum are the declared ones (they are not in a \
     `state_dict`).\n\n# Errors\nA `LoadError` that names the tensor and says what was expected and found.";

/// The doc of the folded type's `load_safetensors`.
const FOLDED_LOAD_DOC: &str = "A folded model loaded from a safetensors file (see `save_safetensors` for the names), \
     built on the heap. Each LayerNorm's ε is the declared one (it is not in a `state_dict`).\n\n# Errors\nA `LoadError` that names the tensor and says what was expected and found.";

/// The inherent methods that read and write safetensors files, for both types, wrapped in
/// `__private::if_safetensors!` so that they exist only when bn-core has its `safetensors`
/// feature. `save_docs` are the docs of the two `save_safetensors`.
/// `folded_init`: statements that give the zeroed folded model `m` what a weights file does
/// not carry (each kept LayerNorm's declared ε, and γ = 1, β = 0 without `affine`).
pub(crate) fn file_methods(n: &Names, save_docs: &[String; 2], folded_init: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, .. } = n;
    let train = file_methods_of(name, &save_docs[0], quote!(<Self as #p::Network>::new_boxed(0)), LOAD_DOC);
    let folded_body = quote!({
        let mut m = #p::boxed_zeroed::<Self>();
        #(#folded_init)*
        m
    });
    let fold = file_methods_of(folded, &save_docs[1], folded_body, FOLDED_LOAD_DOC);
    quote! {
        #cfgs
        #p::if_safetensors! {
            #train
            #fold
        }
    }
}

/// `save_onnx` on the network type and on the folded type, when bn-core has its `onnx`
/// feature (shared with the fallback).
pub(crate) fn onnx_methods(n: &Names) -> TokenStream {
    let p = p();
    let Names { cfgs, name, folded, .. } = n;
    quote! {
        #cfgs
        #p::if_onnx! {
            impl #name {
                /// The network as an ONNX file (opset 17) for inference: BN with its
                /// population statistics, dropout left out, the tensors under their
                /// weights-file names (see `bn_core::save_onnx`).
                pub fn save_onnx(&self) -> #p::Vec<u8> {
                    #p::save_onnx(self)
                }
            }
            impl #folded {
                /// The folded model as an ONNX file (opset 17): no BN left, the tensors
                /// under their weights-file names (see `bn_core::save_onnx`).
                pub fn save_onnx(&self) -> #p::Vec<u8> {
                    #p::save_onnx(self)
                }
            }
        }
    }
}

/// The file methods of one type; `load_body` makes the zeroed model to load into.
fn file_methods_of(ty: &Ident, save_doc: &str, load_body: TokenStream, load_doc: &str) -> TokenStream {
    let p = p();
    quote! {
        impl #ty {
            #[doc = #save_doc]
            pub fn save_safetensors(&self) -> #p::Vec<u8> {
                <Self as #p::StateDict>::save_safetensors(self)
            }

            #[doc = #load_doc]
            pub fn load_safetensors(bytes: &[u8]) -> ::core::result::Result<#p::Box<Self>, #p::LoadError> {
                let mut model: #p::Box<Self> = #load_body;
                <Self as #p::StateDict>::load_safetensors_into(&mut *model, bytes)?;
                ::core::result::Result::Ok(model)
            }

            /// Overwrites the tensors with those of a safetensors file (see `save_safetensors`
            /// for the names). Everything is checked before anything is written: on error,
            /// `self` is unchanged.
            pub fn load_safetensors_into(&mut self, bytes: &[u8]) -> ::core::result::Result<(), #p::LoadError> {
                <Self as #p::StateDict>::load_safetensors_into(self, bytes)
            }
        }
    }
}

/// The network type's inherent methods that wrap its `Network` impl for construction and
/// training (`new` to `recompute_population_statistics`), taking the readable batch trait.
fn training_methods(n: &Names) -> TokenStream {
    let p = p();
    let Names { name, scalar: t, grads, ws, batch_trait, in_ty, out_ty, train_batch, .. } = n;
    let train_bound = quote_spanned!(name.span()=> X::Size: #train_batch);
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
        /// output in `ws` (`ws.aK` is the output of layer K, counted from 0 as in the field
        /// names `dense0`, `batchnorm1`, …), e.g. to inspect activations.
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

        /// Applies the optimizer to every parameter (the step count of `state` first moves on).
        pub fn step<O: #p::Optimizer<#t>>(&mut self, grads: &#grads, state: &mut #p::OptimizerState<#grads>, opt: &O) {
            <Self as #p::Network>::step(self, grads, state, opt)
        }

        /// Clips the gradients by their global norm, as PyTorch's `clip_grad_norm_`; returns
        /// the norm before clipping.
        pub fn clip_grad_norm(&self, grads: &mut #grads, max_norm: #t) -> #t {
            <Self as #p::Network>::clip_grad_norm(self, grads, max_norm)
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

        /// [`train_step`](Self::train_step) with the gradients clipped by their global norm
        /// (`clip_grad_norm`) before the optimizer; returns the loss and the norm before
        /// clipping.
        pub fn train_step_clipped<X, L, O>(
            &mut self,
            x: &X,
            target: &L::Target,
            loss: &L,
            opt: &O,
            max_norm: #t,
            trainer: &mut ::bn_core::__private::Trainer<Self, X::Size>,
        ) -> (#t, #t)
        where
            X: #batch_trait + ?::core::marker::Sized,
            #train_bound,
            L: ::bn_core::__private::Loss<X::Size, #out_ty, #t>,
            O: #p::Optimizer<#t>,
        {
            <Self as #p::Network>::train_step_clipped(self, x.as_batch(), target, loss, opt, max_norm, trainer)
        }

        /// Recomputes every BN's population statistics over `batches` with the parameters
        /// frozen (Algorithm 2, steps 8–11).
        pub fn recompute_population_statistics<'a, B: #train_batch>(
            &mut self,
            batches: impl ::core::iter::IntoIterator<Item = &'a #p::Batch<B, #in_ty, #t>>,
            ws: &mut #ws<B>,
        ) {
            <Self as #p::Network>::recompute_population_statistics(self, batches, ws)
        }

        /// Freezes (or unfreezes) every BN layer for fine-tuning: `Freeze::Statistics`
        /// normalizes training batches with the population statistics (which stay as they
        /// are) and backpropagates through that fixed affine map, as PyTorch's `bn.eval()`
        /// in a training loop; `Freeze::All` also fixes γ and β. Each BN field's `freeze`
        /// sets one layer. Does nothing without BN layers.
        pub fn freeze_batchnorm(&mut self, freeze: #p::Freeze) {
            <Self as #p::Network>::freeze_batchnorm(self, freeze)
        }

        /// Sets the current limits `rmax ≥ 1`, `dmax ≥ 0` of every Batch Renormalization
        /// layer (`batchnorm(renorm(...))`; the declared limits hold until this is called).
        /// Ioffe 2017 starts from 1 and 0 (plain BN) and relaxes them during training. Each
        /// such field's `rmax` and `dmax` set one layer. Does nothing without such layers.
        pub fn set_renorm_limits(&mut self, rmax: #t, dmax: #t) {
            <Self as #p::Network>::set_renorm_limits(self, rmax, dmax)
        }
    }
}

/// The inherent wrappers of an `Inference` impl that take the readable input traits: a
/// one-sample forward (`one`) returning the output, a batch forward (`batch`), and
/// `classify`. `mode` ends their docs.
fn inference_methods(n: &Names, one: &str, batch: &str, mode: &str) -> TokenStream {
    let p = p();
    let Names { scalar: t, input_trait, batch_trait, out_ty, .. } = n;
    let (one, batch) = (format_ident!("{}", one), format_ident!("{}", batch));
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
