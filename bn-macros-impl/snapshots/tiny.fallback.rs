// What `network!` emits for an invocation with errors:
//
// bn_core::network! {
//     pub struct Tiny {
//         input: 0,
//         dense(3), batchnorm, relu,
//         dense(2),
//     }
// }
//
// The input width is unknown (the input traits accept any width); the output width is 2.
// Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p bn-macros-impl`.

::core::compile_error! {
    "the input width must be at least 1, found 0"
}
///Not generated: the `network!` invocation has errors.
#[allow(dead_code)]
#[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
pub struct Tiny {}
///Not generated: the `network!` invocation has errors.
#[allow(dead_code)]
#[derive(::core::clone::Clone)]
pub struct TinyGrads {}
///Not generated: the `network!` invocation has errors.
#[allow(dead_code)]
pub struct TinyWorkspace<B: ::bn_core::__private::ArrayLength> {
    _batch: ::core::marker::PhantomData<B>,
}
///Not generated: the `network!` invocation has errors.
#[allow(dead_code)]
#[repr(C)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::cmp::PartialEq
)]
pub struct TinyFolded {
    _scalars: [f32; 0],
}
unsafe impl ::bn_core::__private::Zeroable for Tiny {}
unsafe impl ::bn_core::__private::Zeroable for TinyGrads {}
unsafe impl<B: ::bn_core::__private::ArrayLength> ::bn_core::__private::Zeroable
for TinyWorkspace<B> {}
unsafe impl ::bn_core::__private::Zeroable for TinyFolded {}
unsafe impl ::bn_core::__private::PlainData for TinyFolded {
    type Scalar = f32;
    const LEN: usize = 0;
}
///One input sample of [`Tiny`]: `[f32; N]` or `GenericArray<f32, N>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an input of `Tiny`: it takes values of `f32`",
    label = "expected `[f32; N]` or `GenericArray<f32, N>`"
)]
pub trait TinyInput {
    /// The sample as bn-core's vector type.
    fn as_vector(
        &self,
    ) -> &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32>;
}
///A batch of inputs of [`Tiny`]: `Batch<B, N, f32>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a batch of `Tiny` inputs: it takes values of `f32`",
    label = "expected `Batch<B, N, f32>`"
)]
pub trait TinyBatch {
    /// The batch size.
    type Size: ::bn_core::__private::ArrayLength;
    /// The batch as bn-core's batch type.
    fn as_batch(
        &self,
    ) -> &::bn_core::__private::Batch<
        Self::Size,
        ::bn_core::__private::typenum::consts::U1,
        f32,
    >;
}
impl<const N: usize> TinyInput for [f32; N] {
    fn as_vector(
        &self,
    ) -> &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32> {
        ::core::unreachable!()
    }
}
impl<W: ::bn_core::__private::ArrayLength> TinyInput
for ::bn_core::__private::Vector<W, f32> {
    fn as_vector(
        &self,
    ) -> &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32> {
        ::core::unreachable!()
    }
}
impl<
    B: ::bn_core::__private::ArrayLength,
    W: ::bn_core::__private::ArrayLength,
> TinyBatch for ::bn_core::__private::Batch<B, W, f32> {
    type Size = B;
    fn as_batch(
        &self,
    ) -> &::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U1,
        f32,
    > {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::Inference for Tiny {
    type Scalar = f32;
    type Input = ::bn_core::__private::typenum::consts::U1;
    type Output = ::bn_core::__private::typenum::consts::U2;
    fn forward_one(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::Inference for TinyFolded {
    type Scalar = f32;
    type Input = ::bn_core::__private::typenum::consts::U1;
    type Output = ::bn_core::__private::typenum::consts::U2;
    fn forward_one(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::Network for Tiny {
    type Grads = TinyGrads;
    type Workspace<B: ::bn_core::__private::ArrayLength> = TinyWorkspace<B>;
    type Folded = TinyFolded;
    const PARAMS: usize = 0;
    fn init_with(
        &mut self,
        _: ::core::option::Option<::bn_core::__private::Init>,
        _: &mut ::bn_core::__private::Rng,
    ) {
        ::core::unreachable!()
    }
    fn forward_train<'w, B: ::bn_core::__private::ArrayLength>(
        &mut self,
        _: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U1,
            f32,
        >,
        _: &'w mut TinyWorkspace<B>,
    ) -> &'w ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    > {
        ::core::unreachable!()
    }
    fn forward_eval<'w, B: ::bn_core::__private::ArrayLength>(
        &self,
        _: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U1,
            f32,
        >,
        _: &'w mut TinyWorkspace<B>,
    ) -> &'w ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    > {
        ::core::unreachable!()
    }
    fn output_and_grad<B: ::bn_core::__private::ArrayLength>(
        _: &mut TinyWorkspace<B>,
    ) -> (
        &::bn_core::__private::Batch<B, ::bn_core::__private::typenum::consts::U2, f32>,
        &mut ::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        ::core::unreachable!()
    }
    fn backward<B: ::bn_core::__private::ArrayLength>(
        &self,
        _: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U1,
            f32,
        >,
        _: &mut TinyWorkspace<B>,
        _: &mut TinyGrads,
    ) {
        ::core::unreachable!()
    }
    fn step<O: ::bn_core::__private::Optimizer<f32>>(
        &mut self,
        _: &TinyGrads,
        _: &mut ::bn_core::__private::OptimizerState<TinyGrads>,
        _: &O,
    ) {
        ::core::unreachable!()
    }
    fn visit_grads<F: ::core::ops::FnMut(&mut [f32], ::bn_core::__private::ParamKind)>(
        &self,
        _: &mut TinyGrads,
        _: &mut F,
    ) {
        ::core::unreachable!()
    }
    fn recompute_population_statistics<'a, B: ::bn_core::__private::ArrayLength>(
        &mut self,
        _: impl ::core::iter::IntoIterator<
            Item = &'a ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U1,
                f32,
            >,
        >,
        _: &mut TinyWorkspace<B>,
    ) {
        ::core::unreachable!()
    }
    fn fold_into(&self, _: &mut TinyFolded) {
        ::core::unreachable!()
    }
    fn freeze_batchnorm(&mut self, _: ::bn_core::__private::Freeze) {
        ::core::unreachable!()
    }
    fn set_renorm_limits(&mut self, _: f32, _: f32) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::StateDict for Tiny {
    type Scalar = f32;
    fn visit(
        &self,
        _: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorRef<'_, f32>,
        ),
    ) {
        ::core::unreachable!()
    }
    fn visit_mut(
        &mut self,
        _: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorMut<'_, f32>,
        ),
    ) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::StateDict for TinyFolded {
    type Scalar = f32;
    fn visit(
        &self,
        _: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorRef<'_, f32>,
        ),
    ) {
        ::core::unreachable!()
    }
    fn visit_mut(
        &mut self,
        _: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorMut<'_, f32>,
        ),
    ) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::SealedGraph for Tiny {}
impl ::bn_core::__private::Graph for Tiny {
    const INPUT: ::bn_core::__private::Dims = ::bn_core::__private::Dims::Flat(1usize);
    const NODES: &'static [::bn_core::__private::Node] = &[];
}
impl ::bn_core::__private::SealedGraph for TinyFolded {}
impl ::bn_core::__private::Graph for TinyFolded {
    const INPUT: ::bn_core::__private::Dims = ::bn_core::__private::Dims::Flat(1usize);
    const NODES: &'static [::bn_core::__private::Node] = &[];
}
impl Tiny {
    /// Input width.
    pub const INPUT: usize = 1;
    /// Output width.
    pub const OUTPUT: usize = 2;
    /// Number of trainable scalars.
    pub const PARAMS: usize = 0;
    /// The layer summary (also what `Display` prints).
    pub const SUMMARY: &'static str = "Tiny: not generated, the `network!` invocation has errors\n";
    /// A network initialized from `seed` with each dense layer's default scheme (He
    /// before ReLU, Xavier otherwise), built on the stack: for small networks; see
    /// `new_boxed` for big ones.
    pub fn new(seed: u64) -> Self {
        <Self as ::bn_core::__private::Network>::new(seed)
    }
    /// Re-initializes every parameter in place from `seed` (default schemes); BNs get
    /// γ = 1, β = 0, fresh population statistics and their declared ε and momentum.
    pub fn init(&mut self, seed: u64) {
        <Self as ::bn_core::__private::Network>::init_with(
            self,
            ::core::option::Option::None,
            &mut ::bn_core::__private::Rng::seed(seed),
        );
    }
    /// Like [`init`](Self::init), drawing every dense layer's weights from `init`.
    pub fn init_with(&mut self, init: ::bn_core::__private::Init, seed: u64) {
        <Self as ::bn_core::__private::Network>::init_with(
            self,
            ::core::option::Option::Some(init),
            &mut ::bn_core::__private::Rng::seed(seed),
        );
    }
    /// Training forward on a batch of at least 2 samples (batch statistics; population
    /// statistics updated). Returns the output, kept in `ws` for the backward.
    pub fn forward_train<'w, X: TinyBatch + ?::core::marker::Sized>(
        &mut self,
        x: &X,
        ws: &'w mut TinyWorkspace<X::Size>,
    ) -> &'w ::bn_core::__private::Batch<
        X::Size,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    >
    where
        X::Size: ::bn_core::__private::NonEmptyBatch,
    {
        <Self as ::bn_core::__private::Network>::forward_train(self, x.as_batch(), ws)
    }
    /// Eval forward of a batch (population statistics) that keeps every layer's
    /// output in `ws` (`ws.aK` is the output of layer K, counted from 0 as in the field
    /// names `dense0`, `batchnorm1`, …), e.g. to inspect activations.
    pub fn forward_eval<'w, X: TinyBatch + ?::core::marker::Sized>(
        &self,
        x: &X,
        ws: &'w mut TinyWorkspace<X::Size>,
    ) -> &'w ::bn_core::__private::Batch<
        X::Size,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    > {
        <Self as ::bn_core::__private::Network>::forward_eval(self, x.as_batch(), ws)
    }
    /// Backward from `ws.d{last}` (`∂ℓ/∂output`) for the input of the last training
    /// forward; overwrites `grads`.
    pub fn backward<X: TinyBatch + ?::core::marker::Sized>(
        &self,
        x: &X,
        ws: &mut TinyWorkspace<X::Size>,
        grads: &mut TinyGrads,
    )
    where
        X::Size: ::bn_core::__private::NonEmptyBatch,
    {
        <Self as ::bn_core::__private::Network>::backward(self, x.as_batch(), ws, grads)
    }
    /// Applies the optimizer to every parameter (the step count of `state` first moves on).
    pub fn step<O: ::bn_core::__private::Optimizer<f32>>(
        &mut self,
        grads: &TinyGrads,
        state: &mut ::bn_core::__private::OptimizerState<TinyGrads>,
        opt: &O,
    ) {
        <Self as ::bn_core::__private::Network>::step(self, grads, state, opt)
    }
    /// Clips the gradients by their global norm, as PyTorch's `clip_grad_norm_`; returns
    /// the norm before clipping.
    pub fn clip_grad_norm(&self, grads: &mut TinyGrads, max_norm: f32) -> f32 {
        <Self as ::bn_core::__private::Network>::clip_grad_norm(self, grads, max_norm)
    }
    /// One training step (forward, loss, backward, optimizer); returns the loss.
    pub fn train_step<X, L, O>(
        &mut self,
        x: &X,
        target: &L::Target,
        loss: &L,
        opt: &O,
        trainer: &mut ::bn_core::__private::Trainer<Self, X::Size>,
    ) -> f32
    where
        X: TinyBatch + ?::core::marker::Sized,
        X::Size: ::bn_core::__private::NonEmptyBatch,
        L: ::bn_core::__private::Loss<
            X::Size,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
        O: ::bn_core::__private::Optimizer<f32>,
    {
        <Self as ::bn_core::__private::Network>::train_step(
            self,
            x.as_batch(),
            target,
            loss,
            opt,
            trainer,
        )
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
        max_norm: f32,
        trainer: &mut ::bn_core::__private::Trainer<Self, X::Size>,
    ) -> (f32, f32)
    where
        X: TinyBatch + ?::core::marker::Sized,
        X::Size: ::bn_core::__private::NonEmptyBatch,
        L: ::bn_core::__private::Loss<
            X::Size,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
        O: ::bn_core::__private::Optimizer<f32>,
    {
        <Self as ::bn_core::__private::Network>::train_step_clipped(
            self,
            x.as_batch(),
            target,
            loss,
            opt,
            max_norm,
            trainer,
        )
    }
    /// Recomputes every BN's population statistics over `batches` with the parameters
    /// frozen (Algorithm 2, steps 8–11).
    pub fn recompute_population_statistics<'a, B: ::bn_core::__private::NonEmptyBatch>(
        &mut self,
        batches: impl ::core::iter::IntoIterator<
            Item = &'a ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U1,
                f32,
            >,
        >,
        ws: &mut TinyWorkspace<B>,
    ) {
        <Self as ::bn_core::__private::Network>::recompute_population_statistics(
            self,
            batches,
            ws,
        )
    }
    /// Freezes (or unfreezes) every BN layer for fine-tuning: `Freeze::Statistics`
    /// normalizes training batches with the population statistics (which stay as they
    /// are) and backpropagates through that fixed affine map, as PyTorch's `bn.eval()`
    /// in a training loop; `Freeze::All` also fixes γ and β. Each BN field's `freeze`
    /// sets one layer. Does nothing without BN layers.
    pub fn freeze_batchnorm(&mut self, freeze: ::bn_core::__private::Freeze) {
        <Self as ::bn_core::__private::Network>::freeze_batchnorm(self, freeze)
    }
    /// Sets the current limits `rmax ≥ 1`, `dmax ≥ 0` of every Batch Renormalization
    /// layer (`batchnorm(renorm(...))`; the declared limits hold until this is called).
    /// Ioffe 2017 starts from 1 and 0 (plain BN) and relaxes them during training. Each
    /// such field's `rmax` and `dmax` set one layer. Does nothing without such layers.
    pub fn set_renorm_limits(&mut self, rmax: f32, dmax: f32) {
        <Self as ::bn_core::__private::Network>::set_renorm_limits(self, rmax, dmax)
    }
    /// Forward of one sample (eval mode: the population statistics).
    pub fn eval<X: TinyInput + ?::core::marker::Sized>(
        &self,
        x: &X,
    ) -> ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32> {
        let mut y = <::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        > as ::bn_core::__private::Zeroable>::zeroed();
        <Self as ::bn_core::__private::Inference>::forward_one(
            self,
            x.as_vector(),
            &mut y,
        );
        y
    }
    /// Forward of a batch of any size (eval mode: the population statistics).
    pub fn eval_batch<X: TinyBatch + ?::core::marker::Sized>(
        &self,
        x: &X,
        y: &mut ::bn_core::__private::Batch<
            X::Size,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        <Self as ::bn_core::__private::Inference>::forward_batch(self, x.as_batch(), y)
    }
    /// The predicted class of one sample: the index of the largest output (eval mode: the population statistics).
    pub fn classify<X: TinyInput + ?::core::marker::Sized>(&self, x: &X) -> usize {
        <Self as ::bn_core::__private::Inference>::classify(self, x.as_vector())
    }
    /// The inference model with every BN folded away (on the stack; see
    /// `fold_boxed` for big networks).
    pub fn fold(&self) -> TinyFolded {
        <Self as ::bn_core::__private::Network>::fold(self)
    }
    /// Writes the folded model into `out`.
    pub fn fold_into(&self, out: &mut TinyFolded) {
        <Self as ::bn_core::__private::Network>::fold_into(self, out)
    }
}
::bn_core::__private::if_alloc! {
    impl Tiny { #[doc =
    r" A network initialized from `seed`, allocated zeroed on the heap and"] #[doc =
    r" initialized in place (no stack temporary of the network's size)."] pub fn
    new_boxed(seed : u64) -> ::bn_core::__private::Box < Self > { < Self as
    ::bn_core::__private::Network > ::new_boxed(seed) } #[doc =
    r" The folded model, built directly on the heap."] pub fn fold_boxed(& self) ->
    ::bn_core::__private::Box < TinyFolded > { < Self as ::bn_core::__private::Network >
    ::fold_boxed(self) } }
}
impl TinyFolded {
    /// Input width.
    pub const INPUT: usize = 1;
    /// Output width.
    pub const OUTPUT: usize = 2;
    /// Forward of one sample.
    pub fn forward<X: TinyInput + ?::core::marker::Sized>(
        &self,
        x: &X,
    ) -> ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32> {
        let mut y = <::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        > as ::bn_core::__private::Zeroable>::zeroed();
        <Self as ::bn_core::__private::Inference>::forward_one(
            self,
            x.as_vector(),
            &mut y,
        );
        y
    }
    /// Forward of a batch of any size.
    pub fn forward_batch<X: TinyBatch + ?::core::marker::Sized>(
        &self,
        x: &X,
        y: &mut ::bn_core::__private::Batch<
            X::Size,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        <Self as ::bn_core::__private::Inference>::forward_batch(self, x.as_batch(), y)
    }
    /// The predicted class of one sample: the index of the largest output.
    pub fn classify<X: TinyInput + ?::core::marker::Sized>(&self, x: &X) -> usize {
        <Self as ::bn_core::__private::Inference>::classify(self, x.as_vector())
    }
}
impl ::core::fmt::Display for Tiny {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str(Self::SUMMARY)
    }
}
::bn_core::__private::if_safetensors! {
    impl Tiny { #[doc = "Not generated: the `network!` invocation has errors."] pub fn
    save_safetensors(& self) -> ::bn_core::__private::Vec < u8 > { < Self as
    ::bn_core::__private::StateDict > ::save_safetensors(self) } #[doc =
    "A network loaded from a safetensors file (see `save_safetensors` for the names), built on the heap. Each BN's ε and momentum are the declared ones (they are not in a `state_dict`).\n\n# Errors\nA `LoadError` that names the tensor and says what was expected and found."]
    pub fn load_safetensors(bytes : & [u8]) -> ::core::result::Result <
    ::bn_core::__private::Box < Self >, ::bn_core::__private::LoadError > { let mut model
    : ::bn_core::__private::Box < Self > = < Self as ::bn_core::__private::Network >
    ::new_boxed(0); < Self as ::bn_core::__private::StateDict > ::load_safetensors_into(&
    mut * model, bytes) ?; ::core::result::Result::Ok(model) } #[doc =
    r" Overwrites the tensors with those of a safetensors file (see `save_safetensors`"]
    #[doc =
    r" for the names). Everything is checked before anything is written: on error,"]
    #[doc = r" `self` is unchanged."] pub fn load_safetensors_into(& mut self, bytes : &
    [u8]) -> ::core::result::Result < (), ::bn_core::__private::LoadError > { < Self as
    ::bn_core::__private::StateDict > ::load_safetensors_into(self, bytes) } } impl
    TinyFolded { #[doc = "Not generated: the `network!` invocation has errors."] pub fn
    save_safetensors(& self) -> ::bn_core::__private::Vec < u8 > { < Self as
    ::bn_core::__private::StateDict > ::save_safetensors(self) } #[doc =
    "A folded model loaded from a safetensors file (see `save_safetensors` for the names), built on the heap. Each LayerNorm's ε is the declared one (it is not in a `state_dict`).\n\n# Errors\nA `LoadError` that names the tensor and says what was expected and found."]
    pub fn load_safetensors(bytes : & [u8]) -> ::core::result::Result <
    ::bn_core::__private::Box < Self >, ::bn_core::__private::LoadError > { let mut model
    : ::bn_core::__private::Box < Self > = { let mut m =
    ::bn_core::__private::boxed_zeroed:: < Self > (); m }; < Self as
    ::bn_core::__private::StateDict > ::load_safetensors_into(& mut * model, bytes) ?;
    ::core::result::Result::Ok(model) } #[doc =
    r" Overwrites the tensors with those of a safetensors file (see `save_safetensors`"]
    #[doc =
    r" for the names). Everything is checked before anything is written: on error,"]
    #[doc = r" `self` is unchanged."] pub fn load_safetensors_into(& mut self, bytes : &
    [u8]) -> ::core::result::Result < (), ::bn_core::__private::LoadError > { < Self as
    ::bn_core::__private::StateDict > ::load_safetensors_into(self, bytes) } }
}
::bn_core::__private::if_onnx! {
    impl Tiny { #[doc =
    r" The network as an ONNX file (opset 17) for inference: BN with its"] #[doc =
    r" population statistics, dropout left out, the tensors under their"] #[doc =
    r" weights-file names (see `bn_core::save_onnx`)."] pub fn save_onnx(& self) ->
    ::bn_core::__private::Vec < u8 > { ::bn_core::__private::save_onnx(self) } } impl
    TinyFolded { #[doc =
    r" The folded model as an ONNX file (opset 17): no BN left, the tensors"] #[doc =
    r" under their weights-file names (see `bn_core::save_onnx`)."] pub fn save_onnx(&
    self) -> ::bn_core::__private::Vec < u8 > { ::bn_core::__private::save_onnx(self) } }
}
impl ::core::fmt::Display for TinyFolded {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str("TinyFolded: not generated, the `network!` invocation has errors\n")
    }
}
///Not generated: the `network!` invocation has errors.
#[allow(dead_code)]
#[repr(C)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::cmp::PartialEq
)]
pub struct TinyQuantized {}
unsafe impl ::bn_core::__private::Zeroable for TinyQuantized {}
unsafe impl ::bn_core::__private::PlainData for TinyQuantized {
    type Scalar = u8;
    const LEN: usize = 0;
}
impl TinyQuantized {
    ///Not generated: the `network!` invocation has errors.
    pub const TENSORS: [&'static str; 1] = ["input"];
    ///Not generated: the `network!` invocation has errors.
    pub fn forward_q(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, i8>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            i8,
        >,
    ) {
        ::core::unreachable!()
    }
    ///Not generated: the `network!` invocation has errors.
    pub fn quantize_input(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U1,
            i8,
        >,
    ) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::quant::Int8Inference for TinyQuantized {
    fn forward_q(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, i8>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            i8,
        >,
    ) {
        ::core::unreachable!()
    }
    fn quantize_input(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U1,
            i8,
        >,
    ) {
        ::core::unreachable!()
    }
}
impl ::bn_core::__private::Inference for TinyQuantized {
    type Scalar = f32;
    type Input = ::bn_core::__private::typenum::consts::U1;
    type Output = ::bn_core::__private::typenum::consts::U2;
    fn forward_one(
        &self,
        _: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U1, f32>,
        _: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        ::core::unreachable!()
    }
}
::bn_core::__private::if_alloc! {
    impl TinyFolded { #[doc = "Not generated: the `network!` invocation has errors."] pub
    fn calibrate < C : TinyInput > (& self, _ : & [C], _ :
    ::bn_core::__private::quant::Observer) -> ::core::result::Result <
    ::bn_core::__private::quant::Ranges < 1 >, ::bn_core::__private::quant::QuantizeError
    > { ::core::unreachable!() } #[doc =
    "Not generated: the `network!` invocation has errors."] pub fn quantize_with(& self,
    _ : & ::bn_core::__private::quant::Ranges < 1 >) -> ::core::result::Result <
    ::bn_core::__private::Box < TinyQuantized >,
    ::bn_core::__private::quant::QuantizeError > { ::core::unreachable!() } #[doc =
    "Not generated: the `network!` invocation has errors."] pub fn quantize < C :
    TinyInput > (& self, _ : & [C]) -> ::core::result::Result < ::bn_core::__private::Box
    < TinyQuantized >, ::bn_core::__private::quant::QuantizeError > {
    ::core::unreachable!() } } impl ::bn_core::__private::quant::Quantize for TinyFolded
    { type Quantized = TinyQuantized; fn quantize(& self, _ : &
    [::bn_core::__private::Vector < ::bn_core::__private::typenum::consts::U1, f32 >]) ->
    ::core::result::Result < ::bn_core::__private::Box < TinyQuantized >,
    ::bn_core::__private::quant::QuantizeError > { ::core::unreachable!() } }
}
impl TinyQuantized {
    /// Input width.
    pub const INPUT: usize = 1;
    /// Output width.
    pub const OUTPUT: usize = 2;
    /// Forward of one sample (the input quantized, integers only, the logits dequantized).
    pub fn forward<X: TinyInput + ?::core::marker::Sized>(
        &self,
        x: &X,
    ) -> ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32> {
        let mut y = <::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        > as ::bn_core::__private::Zeroable>::zeroed();
        <Self as ::bn_core::__private::Inference>::forward_one(
            self,
            x.as_vector(),
            &mut y,
        );
        y
    }
    /// Forward of a batch of any size (the input quantized, integers only, the logits dequantized).
    pub fn forward_batch<X: TinyBatch + ?::core::marker::Sized>(
        &self,
        x: &X,
        y: &mut ::bn_core::__private::Batch<
            X::Size,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        <Self as ::bn_core::__private::Inference>::forward_batch(self, x.as_batch(), y)
    }
    /// The predicted class of one sample: the index of the largest output (the input quantized, integers only, the logits dequantized).
    pub fn classify<X: TinyInput + ?::core::marker::Sized>(&self, x: &X) -> usize {
        <Self as ::bn_core::__private::Inference>::classify(self, x.as_vector())
    }
}
