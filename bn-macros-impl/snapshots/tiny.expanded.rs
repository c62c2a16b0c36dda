// Expansion of:
//
// bn_core::network! {
//     /// A tiny network.
//     pub struct Tiny {
//         input: 2,
//         dense(3), batchnorm, relu,
//         dense(2),
//     }
// }
//
// Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p bn-macros-impl`.

/// A tiny network.
///
/// # Layers
/**```text
Tiny: 2 -> 2, f32, 20 parameters
  #  name        layer                              shape   params
  1  dense0      dense, no bias                     2 -> 3       6
  2  batchnorm1  batchnorm(eps 1e-5, momentum 0.1)  3            6
  3  relu2       relu                               3            0
  4  dense3      dense                              3 -> 2       8
folded:
  dense(2 => 3) with `batchnorm1` folded in
  relu
  dense(3 => 2)
```*/
#[repr(C, align(64))]
#[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
pub struct Tiny {
    ///Layer 1 `dense(3)`: 2 → 3, no bias.
    pub dense0: ::bn_core::__private::Dense<
        ::bn_core::__private::typenum::consts::U2,
        ::bn_core::__private::typenum::consts::U3,
        f32,
        false,
    >,
    ///Layer 2 `batchnorm`: 3 → 3.
    pub batchnorm1: ::bn_core::__private::BatchNorm<
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///Layer 4 `dense(2)`: 3 → 2.
    pub dense3: ::bn_core::__private::Dense<
        ::bn_core::__private::typenum::consts::U3,
        ::bn_core::__private::typenum::consts::U2,
        f32,
        true,
    >,
}
///Gradients of every parameter of [`Tiny`], one field per parameter layer (also SGD's momentum state).
#[repr(C, align(64))]
#[derive(::core::clone::Clone)]
pub struct TinyGrads {
    ///Gradients of `dense0` (`weight`; `bias` stays zero without a bias).
    pub dense0: ::bn_core::__private::Dense<
        ::bn_core::__private::typenum::consts::U2,
        ::bn_core::__private::typenum::consts::U3,
        f32,
        false,
    >,
    ///Gradients of `batchnorm1` (γ and β).
    pub batchnorm1: ::bn_core::__private::BatchNormGrads<
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///Gradients of `dense3` (`weight`; `bias` stays zero without a bias).
    pub dense3: ::bn_core::__private::Dense<
        ::bn_core::__private::typenum::consts::U3,
        ::bn_core::__private::typenum::consts::U2,
        f32,
        true,
    >,
}
///Training workspace of [`Tiny`] at batch size `B`: every layer's output `aK`, the gradient `dK` flowing into it, and the batch statistics `cK` of every BN (inline arrays, no heap), `K` the layer's index as in its field name (`dense0`, `batchnorm1`, …). Usually held by a [`Trainer`](::bn_core::Trainer).
#[repr(C, align(64))]
pub struct TinyWorkspace<B: ::bn_core::__private::ArrayLength> {
    ///Output of layer 0 (`dense0`).
    pub a0: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///`∂ℓ/∂a0`, the gradient with respect to the output of layer 0.
    pub d0: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///Output of layer 1 (`batchnorm1`).
    pub a1: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///`∂ℓ/∂a1`, the gradient with respect to the output of layer 1.
    pub d1: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///Batch statistics of layer 1 (`batchnorm1`).
    pub c1: ::bn_core::__private::BatchNormCache<
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///Output of layer 2 (`relu2`).
    pub a2: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///`∂ℓ/∂a2`, the gradient with respect to the output of layer 2.
    pub d2: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U3,
        f32,
    >,
    ///Output of layer 3 (`dense3`).
    pub a3: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    >,
    ///`∂ℓ/∂a3`, the gradient with respect to the output of layer 3.
    pub d3: ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    >,
}
/**The inference model of [`Tiny`] with every Batch Normalization folded away: plain data (`Copy`, `#[repr(C)]`, only `f32`s), built by [`Tiny::fold`].

```text
TinyFolded: dense(2 => 3) with `batchnorm1` folded in -> relu -> dense(3 => 2) (17 parameters)
```*/
#[repr(C)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::cmp::PartialEq
)]
pub struct TinyFolded {
    ///`dense(2 => 3) with `batchnorm1` folded in`.
    pub dense0: ::bn_core::__private::Dense<
        ::bn_core::__private::typenum::consts::U2,
        ::bn_core::__private::typenum::consts::U3,
        f32,
        true,
    >,
    ///`dense(3 => 2)`.
    pub dense3: ::bn_core::__private::Dense<
        ::bn_core::__private::typenum::consts::U3,
        ::bn_core::__private::typenum::consts::U2,
        f32,
        true,
    >,
}
unsafe impl ::bn_core::__private::Zeroable for Tiny {}
unsafe impl ::bn_core::__private::Zeroable for TinyGrads {}
unsafe impl ::bn_core::__private::Zeroable for TinyFolded {}
unsafe impl ::bn_core::__private::PlainData for TinyFolded {
    type Scalar = f32;
    const LEN: usize = 17;
}
const _: () = ::core::assert!(
    ::core::mem::size_of:: < TinyFolded > () == 17 * ::core::mem::size_of:: < f32 > (),
    "the folded model must be exactly its scalars, without padding"
);
unsafe impl<B: ::bn_core::__private::ArrayLength> ::bn_core::__private::Zeroable
for TinyWorkspace<B> {}
const _: () = {
    #[allow(dead_code)]
    fn _check<B: ::bn_core::__private::ArrayLength>() {
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::Dense<
                ::bn_core::__private::typenum::consts::U2,
                ::bn_core::__private::typenum::consts::U3,
                f32,
                false,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::BatchNorm<
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::BatchNormGrads<
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::Dense<
                ::bn_core::__private::typenum::consts::U3,
                ::bn_core::__private::typenum::consts::U2,
                f32,
                true,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::BatchNormCache<
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >();
        ::bn_core::__private::assert_zeroable::<
            ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U2,
                f32,
            >,
        >();
    }
};
///One input sample of [`Tiny`]: `[f32; 2]` or `GenericArray<f32, U2>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an input of `Tiny`: it takes 2 values of `f32`",
    label = "expected `[f32; 2]` or `GenericArray<f32, U2>`"
)]
pub trait TinyInput {
    /// The sample as bn-core's vector type.
    fn as_vector(
        &self,
    ) -> &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32>;
}
impl TinyInput for [f32; 2] {
    fn as_vector(
        &self,
    ) -> &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32> {
        ::bn_core::__private::array_as_vector(self)
    }
}
impl TinyInput
for ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32> {
    fn as_vector(
        &self,
    ) -> &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32> {
        self
    }
}
///A batch of inputs of [`Tiny`]: `Batch<B, U2, f32>` for any batch size `B`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a batch of `Tiny` inputs: it takes 2 values of `f32` per sample",
    label = "expected `Batch<B, U2, f32>`"
)]
pub trait TinyBatch {
    /// The batch size.
    type Size: ::bn_core::__private::ArrayLength;
    /// The batch as bn-core's batch type.
    fn as_batch(
        &self,
    ) -> &::bn_core::__private::Batch<
        Self::Size,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    >;
}
impl<B: ::bn_core::__private::ArrayLength> TinyBatch
for ::bn_core::__private::Batch<B, ::bn_core::__private::typenum::consts::U2, f32> {
    type Size = B;
    fn as_batch(
        &self,
    ) -> &::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    > {
        self
    }
}
impl ::bn_core::__private::Inference for Tiny {
    type Scalar = f32;
    type Input = ::bn_core::__private::typenum::consts::U2;
    type Output = ::bn_core::__private::typenum::consts::U2;
    /// Eval forward with the population statistics.
    fn forward_one(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32>,
        y: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        let mut h1 = ::bn_core::__private::CacheAligned::<
            ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U3, f32>,
        >::zeroed();
        self.dense0.forward_one(x, &mut h1.0);
        let mut h2 = ::bn_core::__private::CacheAligned::<
            ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U3, f32>,
        >::zeroed();
        self.batchnorm1.forward_eval_one(&h1.0, &mut h2.0);
        let mut h3 = ::bn_core::__private::CacheAligned::<
            ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U3, f32>,
        >::zeroed();
        <::bn_core::__private::ReLU as ::bn_core::__private::Activation>::forward_one(
            &h2.0,
            &mut h3.0,
        );
        self.dense3.forward_one(&h3.0, y);
    }
}
impl ::bn_core::__private::Inference for TinyFolded {
    type Scalar = f32;
    type Input = ::bn_core::__private::typenum::consts::U2;
    type Output = ::bn_core::__private::typenum::consts::U2;
    fn forward_one(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32>,
        y: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        let mut h1 = ::bn_core::__private::CacheAligned::<
            ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U3, f32>,
        >::zeroed();
        self.dense0.forward_one(x, &mut h1.0);
        let mut h2 = ::bn_core::__private::CacheAligned::<
            ::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U3, f32>,
        >::zeroed();
        <::bn_core::__private::ReLU as ::bn_core::__private::Activation>::forward_one(
            &h1.0,
            &mut h2.0,
        );
        self.dense3.forward_one(&h2.0, y);
    }
    /// Forward of a batch: chunks of samples through one matrix product per layer.
    fn forward_batch<B: ::bn_core::__private::ArrayLength>(
        &self,
        x: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
        y: &mut ::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        #[allow(clippy::too_many_arguments)]
        fn chain<
            B: ::bn_core::__private::ArrayLength,
            C: ::bn_core::__private::ArrayLength,
        >(
            this: &TinyFolded,
            x: &::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U2,
                f32,
            >,
            y: &mut ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U2,
                f32,
            >,
            start: usize,
            t0: &mut ::bn_core::__private::Batch<
                ::bn_core::__private::typenum::consts::U64,
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        ) {
            let xs = ::bn_core::__private::sub_batch::<
                B,
                C,
                ::bn_core::__private::typenum::consts::U2,
                f32,
            >(x, start);
            let ys = ::bn_core::__private::sub_batch_mut::<
                B,
                C,
                ::bn_core::__private::typenum::consts::U2,
                f32,
            >(y, start);
            let t0 = ::bn_core::__private::sub_batch_mut::<
                ::bn_core::__private::typenum::consts::U64,
                C,
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >(t0, 0);
            this.dense0.forward(xs, &mut *t0);
            <::bn_core::__private::ReLU as ::bn_core::__private::Activation>::apply(
                ::bn_core::__private::flat_mut(&mut *t0),
            );
            this.dense3.forward(&*t0, &mut *ys);
        }
        let mut t0 = ::bn_core::__private::CacheAligned::<
            ::bn_core::__private::Batch<
                ::bn_core::__private::typenum::consts::U64,
                ::bn_core::__private::typenum::consts::U3,
                f32,
            >,
        >::zeroed();
        let mut start = 0;
        while B::USIZE - start >= 64usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U64,
            >(self, x, y, start, &mut t0.0);
            start += 64usize;
        }
        if B::USIZE - start >= 32usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U32,
            >(self, x, y, start, &mut t0.0);
            start += 32usize;
        }
        if B::USIZE - start >= 16usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U16,
            >(self, x, y, start, &mut t0.0);
            start += 16usize;
        }
        if B::USIZE - start >= 8usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U8,
            >(self, x, y, start, &mut t0.0);
            start += 8usize;
        }
        if B::USIZE - start >= 4usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U4,
            >(self, x, y, start, &mut t0.0);
            start += 4usize;
        }
        if B::USIZE - start >= 2usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U2,
            >(self, x, y, start, &mut t0.0);
            start += 2usize;
        }
        if B::USIZE - start >= 1usize {
            chain::<
                B,
                ::bn_core::__private::typenum::consts::U1,
            >(self, x, y, start, &mut t0.0);
            start += 1usize;
        }
        let _ = start;
    }
}
impl ::bn_core::__private::Network for Tiny {
    type Grads = TinyGrads;
    type Workspace<B: ::bn_core::__private::ArrayLength> = TinyWorkspace<B>;
    type Folded = TinyFolded;
    const PARAMS: usize = 20;
    fn init_with(
        &mut self,
        init: ::core::option::Option<::bn_core::__private::Init>,
        rng: &mut ::bn_core::__private::Rng,
    ) {
        self.dense0.init(init.unwrap_or(::bn_core::__private::Init::HeNormal), rng);
        self.batchnorm1.reset();
        self.batchnorm1.eps = <f32 as ::bn_core::__private::Float>::from_f64(0.00001f64);
        self.batchnorm1.momentum = ::bn_core::__private::Momentum::Exponential(
            <f32 as ::bn_core::__private::Float>::from_f64(0.1f64),
        );
        self.dense3.init(init.unwrap_or(::bn_core::__private::Init::XavierNormal), rng);
    }
    fn forward_train<'w, B: ::bn_core::__private::ArrayLength>(
        &mut self,
        x: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
        ws: &'w mut TinyWorkspace<B>,
    ) -> &'w ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    > {
        self.dense0.forward_train(x, &mut ws.a0);
        self.batchnorm1.forward_train(&ws.a0, &mut ws.a1, &mut ws.c1);
        <::bn_core::__private::ReLU as ::bn_core::__private::Activation>::forward(
            &ws.a1,
            &mut ws.a2,
        );
        self.dense3.forward_train(&ws.a2, &mut ws.a3);
        &ws.a3
    }
    fn forward_eval<'w, B: ::bn_core::__private::ArrayLength>(
        &self,
        x: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
        ws: &'w mut TinyWorkspace<B>,
    ) -> &'w ::bn_core::__private::Batch<
        B,
        ::bn_core::__private::typenum::consts::U2,
        f32,
    > {
        self.dense0.forward(x, &mut ws.a0);
        self.batchnorm1.forward_eval(&ws.a0, &mut ws.a1);
        <::bn_core::__private::ReLU as ::bn_core::__private::Activation>::forward(
            &ws.a1,
            &mut ws.a2,
        );
        self.dense3.forward(&ws.a2, &mut ws.a3);
        &ws.a3
    }
    fn output_and_grad<B: ::bn_core::__private::ArrayLength>(
        ws: &mut TinyWorkspace<B>,
    ) -> (
        &::bn_core::__private::Batch<B, ::bn_core::__private::typenum::consts::U2, f32>,
        &mut ::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        (&ws.a3, &mut ws.d3)
    }
    fn backward<B: ::bn_core::__private::ArrayLength>(
        &self,
        x: &::bn_core::__private::Batch<
            B,
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
        ws: &mut TinyWorkspace<B>,
        grads: &mut TinyGrads,
    ) {
        self.dense3
            .backward(
                &ws.a2,
                &ws.d3,
                ::core::option::Option::Some(&mut ws.d2),
                &mut grads.dense3,
            );
        <::bn_core::__private::ReLU as ::bn_core::__private::Activation>::backward(
            &ws.a2,
            &ws.d2,
            &mut ws.d1,
        );
        self.batchnorm1
            .backward(&ws.a0, &ws.c1, &ws.d1, &mut ws.d0, &mut grads.batchnorm1);
        self.dense0.backward(x, &ws.d0, ::core::option::Option::None, &mut grads.dense0);
    }
    fn step<O: ::bn_core::__private::Optimizer<f32>>(
        &mut self,
        grads: &TinyGrads,
        state: &mut ::bn_core::__private::OptimizerState<TinyGrads>,
        opt: &O,
    ) {
        state.step += 1;
        let (m, v, w, step) = (&mut state.m, &mut state.v, &mut state.v_max, state.step);
        ::bn_core::__private::Parameters::step(
            &mut self.dense0,
            &grads.dense0,
            ::bn_core::__private::StateMut {
                m: &mut m.dense0,
                v: &mut v.dense0,
                v_max: &mut w.dense0,
                step,
            },
            opt,
        );
        ::bn_core::__private::Parameters::step(
            &mut self.batchnorm1,
            &grads.batchnorm1,
            ::bn_core::__private::StateMut {
                m: &mut m.batchnorm1,
                v: &mut v.batchnorm1,
                v_max: &mut w.batchnorm1,
                step,
            },
            opt,
        );
        ::bn_core::__private::Parameters::step(
            &mut self.dense3,
            &grads.dense3,
            ::bn_core::__private::StateMut {
                m: &mut m.dense3,
                v: &mut v.dense3,
                v_max: &mut w.dense3,
                step,
            },
            opt,
        );
    }
    fn visit_grads<F: ::core::ops::FnMut(&mut [f32], ::bn_core::__private::ParamKind)>(
        &self,
        grads: &mut TinyGrads,
        visit: &mut F,
    ) {
        ::bn_core::__private::Parameters::visit_grads(
            &self.dense0,
            &mut grads.dense0,
            visit,
        );
        ::bn_core::__private::Parameters::visit_grads(
            &self.batchnorm1,
            &mut grads.batchnorm1,
            visit,
        );
        ::bn_core::__private::Parameters::visit_grads(
            &self.dense3,
            &mut grads.dense3,
            visit,
        );
    }
    fn recompute_population_statistics<'a, B: ::bn_core::__private::ArrayLength>(
        &mut self,
        batches: impl ::core::iter::IntoIterator<
            Item = &'a ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U2,
                f32,
            >,
        >,
        ws: &mut TinyWorkspace<B>,
    ) {
        let saved_batchnorm1 = (
            self.batchnorm1.momentum,
            self.batchnorm1.freeze,
            self.batchnorm1.renorm,
        );
        self.batchnorm1.momentum = ::bn_core::__private::Momentum::Cumulative;
        self.batchnorm1.freeze = ::bn_core::__private::Freeze::No;
        self.batchnorm1.renorm = false;
        self.batchnorm1.reset_running_stats();
        for x in batches {
            <Self as ::bn_core::__private::Network>::forward_train(self, x, ws);
        }
        (self.batchnorm1.momentum, self.batchnorm1.freeze, self.batchnorm1.renorm) = saved_batchnorm1;
    }
    fn fold_into(&self, out: &mut TinyFolded) {
        self.dense0
            .fold_into(
                ::core::option::Option::None,
                ::core::option::Option::Some(&self.batchnorm1.to_affine()),
                &mut out.dense0,
            );
        self.dense3
            .fold_into(
                ::core::option::Option::None,
                ::core::option::Option::None,
                &mut out.dense3,
            );
    }
    fn freeze_batchnorm(&mut self, freeze: ::bn_core::__private::Freeze) {
        self.batchnorm1.freeze = freeze;
    }
    fn set_renorm_limits(&mut self, _: f32, _: f32) {}
}
impl Tiny {
    /// Input width.
    pub const INPUT: usize = 2;
    /// Output width.
    pub const OUTPUT: usize = 2;
    /// Number of trainable scalars.
    pub const PARAMS: usize = 20;
    /// The layer summary (also what `Display` prints).
    pub const SUMMARY: &'static str = "Tiny: 2 -> 2, f32, 20 parameters\n  #  name        layer                              shape   params\n  1  dense0      dense, no bias                     2 -> 3       6\n  2  batchnorm1  batchnorm(eps 1e-5, momentum 0.1)  3            6\n  3  relu2       relu                               3            0\n  4  dense3      dense                              3 -> 2       8\nfolded:\n  dense(2 => 3) with `batchnorm1` folded in\n  relu\n  dense(3 => 2)\n";
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
        X::Size: ::bn_core::__private::TrainBatch,
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
        X::Size: ::bn_core::__private::TrainBatch,
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
        X::Size: ::bn_core::__private::TrainBatch,
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
        X::Size: ::bn_core::__private::TrainBatch,
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
    pub fn recompute_population_statistics<'a, B: ::bn_core::__private::TrainBatch>(
        &mut self,
        batches: impl ::core::iter::IntoIterator<
            Item = &'a ::bn_core::__private::Batch<
                B,
                ::bn_core::__private::typenum::consts::U2,
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
    pub const INPUT: usize = 2;
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
impl ::bn_core::__private::StateDict for Tiny {
    type Scalar = f32;
    fn visit(
        &self,
        f: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorRef<'_, f32>,
        ),
    ) {
        ::bn_core::__private::LayerTensors::visit_layer(&self.dense0, "0", f);
        ::bn_core::__private::LayerTensors::visit_layer(&self.batchnorm1, "1", f);
        ::bn_core::__private::LayerTensors::visit_layer(&self.dense3, "3", f);
    }
    fn visit_mut(
        &mut self,
        f: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorMut<'_, f32>,
        ),
    ) {
        ::bn_core::__private::LayerTensors::visit_layer_mut(&mut self.dense0, "0", f);
        ::bn_core::__private::LayerTensors::visit_layer_mut(
            &mut self.batchnorm1,
            "1",
            f,
        );
        ::bn_core::__private::LayerTensors::visit_layer_mut(&mut self.dense3, "3", f);
    }
}
impl ::bn_core::__private::StateDict for TinyFolded {
    type Scalar = f32;
    fn visit(
        &self,
        f: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorRef<'_, f32>,
        ),
    ) {
        ::bn_core::__private::LayerTensors::visit_layer(&self.dense0, "0", f);
        ::bn_core::__private::LayerTensors::visit_layer(&self.dense3, "2", f);
    }
    fn visit_mut(
        &mut self,
        f: &mut dyn ::core::ops::FnMut(
            ::bn_core::__private::TensorName<'_>,
            ::bn_core::__private::TensorMut<'_, f32>,
        ),
    ) {
        ::bn_core::__private::LayerTensors::visit_layer_mut(&mut self.dense0, "0", f);
        ::bn_core::__private::LayerTensors::visit_layer_mut(&mut self.dense3, "2", f);
    }
}
::bn_core::__private::if_safetensors! {
    impl Tiny { #[doc =
    "The weights as a safetensors file, with the tensor names, shapes and dtypes of the `state_dict` of the equivalent PyTorch module (`torch.nn` as `nn`):\n\n```python\nnn.Sequential(\n    nn.Linear(2, 3, bias=False),\n    nn.BatchNorm1d(3),\n    nn.ReLU(),\n    nn.Linear(3, 2),\n)\n```\n\nIt loads with `module.load_state_dict(safetensors.torch.load_file(path))`. The tensors:\n\n```text\n0.weight               [3, 2]  F32\n1.weight               [3]     F32\n1.bias                 [3]     F32\n1.running_mean         [3]     F32\n1.running_var          [3]     F32\n1.num_batches_tracked  []      I64\n3.weight               [2, 3]  F32\n3.bias                 [2]     F32\n```"]
    pub fn save_safetensors(& self) -> ::bn_core::__private::Vec < u8 > { < Self as
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
    TinyFolded { #[doc =
    "The weights as a safetensors file, with the tensor names, shapes and dtypes of the `state_dict` of the equivalent PyTorch module (`torch.nn` as `nn`):\n\n```python\nnn.Sequential(\n    nn.Linear(2, 3),\n    nn.ReLU(),\n    nn.Linear(3, 2),\n)\n```\n\nIt loads with `module.load_state_dict(safetensors.torch.load_file(path))`. The tensors:\n\n```text\n0.weight  [3, 2]  F32\n0.bias    [3]     F32\n2.weight  [2, 3]  F32\n2.bias    [2]     F32\n```"]
    pub fn save_safetensors(& self) -> ::bn_core::__private::Vec < u8 > { < Self as
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
impl ::bn_core::__private::SealedGraph for Tiny {}
impl ::bn_core::__private::Graph for Tiny {
    const INPUT: ::bn_core::__private::Dims = ::bn_core::__private::Dims::Flat(2);
    const NODES: &'static [::bn_core::__private::Node] = &[
        ::bn_core::__private::Node {
            name: "dense0",
            key: "0",
            input: ::bn_core::__private::Dims::Flat(2),
            output: ::bn_core::__private::Dims::Flat(3),
            op: ::bn_core::__private::Op::Dense {
                output: 3,
                bias: false,
            },
        },
        ::bn_core::__private::Node {
            name: "batchnorm1",
            key: "1",
            input: ::bn_core::__private::Dims::Flat(3),
            output: ::bn_core::__private::Dims::Flat(3),
            op: ::bn_core::__private::Op::BatchNorm {
                eps: 0.00001f64,
                affine: true,
            },
        },
        ::bn_core::__private::Node {
            name: "relu2",
            key: "2",
            input: ::bn_core::__private::Dims::Flat(3),
            output: ::bn_core::__private::Dims::Flat(3),
            op: ::bn_core::__private::Op::ReLU,
        },
        ::bn_core::__private::Node {
            name: "dense3",
            key: "3",
            input: ::bn_core::__private::Dims::Flat(3),
            output: ::bn_core::__private::Dims::Flat(2),
            op: ::bn_core::__private::Op::Dense {
                output: 2,
                bias: true,
            },
        },
    ];
}
impl ::bn_core::__private::SealedGraph for TinyFolded {}
impl ::bn_core::__private::Graph for TinyFolded {
    const INPUT: ::bn_core::__private::Dims = ::bn_core::__private::Dims::Flat(2);
    const NODES: &'static [::bn_core::__private::Node] = &[
        ::bn_core::__private::Node {
            name: "dense0",
            key: "0",
            input: ::bn_core::__private::Dims::Flat(2),
            output: ::bn_core::__private::Dims::Flat(3),
            op: ::bn_core::__private::Op::Dense {
                output: 3,
                bias: true,
            },
        },
        ::bn_core::__private::Node {
            name: "relu2",
            key: "1",
            input: ::bn_core::__private::Dims::Flat(3),
            output: ::bn_core::__private::Dims::Flat(3),
            op: ::bn_core::__private::Op::ReLU,
        },
        ::bn_core::__private::Node {
            name: "dense3",
            key: "2",
            input: ::bn_core::__private::Dims::Flat(3),
            output: ::bn_core::__private::Dims::Flat(2),
            op: ::bn_core::__private::Op::Dense {
                output: 2,
                bias: true,
            },
        },
    ];
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
        f.write_str(
            "TinyFolded: dense(2 => 3) with `batchnorm1` folded in -> relu -> dense(3 => 2) (17 parameters)\n",
        )
    }
}
///The int8 model of [`Tiny`]: its folded model ([`TinyFolded`]) quantized with TFLite's scheme, integers only from the quantized input to the quantized output (see bn-core's `quant` module). Bytes only (`#[repr(C)]`, alignment 1, [`PlainData`](::bn_core::PlainData) with `u8` scalars, `Copy`), so [`embed!`](::bn_core::embed!) compiles it in. Made by [`TinyFolded::quantize`].
#[repr(C)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::cmp::PartialEq
)]
pub struct TinyQuantized {
    /// The input's scale and zero point.
    pub input: ::bn_core::__private::quant::PackedParams,
    ///`dense0` with its ReLU.
    pub dense0: ::bn_core::__private::quant::QDense<
        ::bn_core::__private::typenum::consts::U2,
        ::bn_core::__private::typenum::consts::U3,
    >,
    ///`dense3`.
    pub dense3: ::bn_core::__private::quant::QDense<
        ::bn_core::__private::typenum::consts::U3,
        ::bn_core::__private::typenum::consts::U2,
    >,
    /// The output's scale and zero point (to read the logits as reals).
    pub output: ::bn_core::__private::quant::PackedParams,
}
unsafe impl ::bn_core::__private::Zeroable for TinyQuantized {}
unsafe impl ::bn_core::__private::PlainData for TinyQuantized {
    type Scalar = u8;
    const LEN: usize = ::core::mem::size_of::<TinyQuantized>();
}
const _: () = ::core::assert!(
    ::core::mem::align_of:: < TinyQuantized > () == 1,
    "the quantized model must be bytes only"
);
impl TinyQuantized {
    /// The tensors with calibrated parameters, in the order of [`Ranges`](::bn_core::quant::Ranges):
    /// the input, then each dense, conv or affine layer's output.
    pub const TENSORS: [&'static str; 3] = ["input", "dense0", "dense3"];
    /// The int8 output (logits) of an int8 input, integers only.
    pub fn forward_q(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, i8>,
        y: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            i8,
        >,
    ) {
        let (mut a, mut b) = ([0i8; 3], [0i8; 3]);
        a[..2].copy_from_slice(x);
        y.copy_from_slice(&self.chain_q(&mut a, &mut b)[..2]);
    }
    /// The layers on the input in `a` (its first values), with `b` as the other
    /// buffer; returns the buffer that holds the output.
    fn chain_q<'a>(
        &self,
        mut a: &'a mut [i8; 3],
        mut b: &'a mut [i8; 3],
    ) -> &'a [i8; 3] {
        self.dense0
            .forward_q(
                ::bn_core::__private::quant::prefix::<
                    ::bn_core::__private::typenum::consts::U2,
                    i8,
                >(a),
                ::bn_core::__private::quant::prefix_mut::<
                    ::bn_core::__private::typenum::consts::U3,
                    i8,
                >(b),
            );
        ::core::mem::swap(&mut a, &mut b);
        self.dense3
            .forward_q(
                ::bn_core::__private::quant::prefix::<
                    ::bn_core::__private::typenum::consts::U3,
                    i8,
                >(a),
                ::bn_core::__private::quant::prefix_mut::<
                    ::bn_core::__private::typenum::consts::U2,
                    i8,
                >(b),
            );
        ::core::mem::swap(&mut a, &mut b);
        a
    }
    /// The int8 values of a real input (the model's input parameters).
    pub fn quantize_input(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32>,
        q: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            i8,
        >,
    ) {
        ::bn_core::__private::quant::quantize_values(self.input, x, q);
    }
}
impl ::bn_core::__private::quant::Int8Inference for TinyQuantized {
    fn forward_q(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, i8>,
        y: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            i8,
        >,
    ) {
        TinyQuantized::forward_q(self, x, y)
    }
    fn quantize_input(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32>,
        q: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            i8,
        >,
    ) {
        TinyQuantized::quantize_input(self, x, q)
    }
}
impl ::bn_core::__private::Inference for TinyQuantized {
    type Scalar = f32;
    type Input = ::bn_core::__private::typenum::consts::U2;
    type Output = ::bn_core::__private::typenum::consts::U2;
    /// The input quantized, [`forward_q`](Self::forward_q), the logits dequantized.
    fn forward_one(
        &self,
        x: &::bn_core::__private::Vector<::bn_core::__private::typenum::consts::U2, f32>,
        y: &mut ::bn_core::__private::Vector<
            ::bn_core::__private::typenum::consts::U2,
            f32,
        >,
    ) {
        let (mut a, mut b) = ([0i8; 3], [0i8; 3]);
        ::bn_core::__private::quant::quantize_values(self.input, x, &mut a[..2]);
        ::bn_core::__private::quant::dequantize_values(
            self.output,
            &self.chain_q(&mut a, &mut b)[..2],
            y,
        );
    }
}
::bn_core::__private::if_alloc! {
    impl TinyFolded { #[doc =
    "The range of every tensor of [`TinyQuantized::TENSORS`] over the `calibration` inputs, chosen by `observer`: the float model run layer by layer (a ReLU that the int8 model fuses into the layer before it is applied before observing). It allocates a buffer per convolution and two of the widest tensor; with `Observer::Percentile` it keeps every observed value."]
    #[doc = r""] #[doc = r" # Errors"] #[doc =
    r" `QuantizeError::NoCalibration` for no input, `NotFinite` for a NaN or an"] #[doc =
    r" infinity in a tensor, `BadPercentile`."] pub fn calibrate < C : TinyInput > (&
    self, calibration : & [C], observer : ::bn_core::__private::quant::Observer,) ->
    ::core::result::Result < ::bn_core::__private::quant::Ranges < 3 >,
    ::bn_core::__private::quant::QuantizeError > { let mut cal =
    ::bn_core::__private::quant::Calibrator:: < 3 > ::new(observer,
    TinyQuantized::TENSORS) ?; let (mut a0, mut b0) = (::bn_core::__private::Vec:: < f32
    > ::new(), ::bn_core::__private::Vec:: < f32 > ::new()); a0.resize(3, 0.0); b0
    .resize(3, 0.0); for x in calibration { let (mut a, mut b) = (& mut a0[..], & mut
    b0[..]); a[..2].copy_from_slice(x.as_vector()); cal.observe(0, & a[..2]) ?; self
    .dense0.forward_one(::bn_core::__private::quant::prefix:: <
    ::bn_core::__private::typenum::consts::U2, f32 > (a),
    ::bn_core::__private::quant::prefix_mut:: <
    ::bn_core::__private::typenum::consts::U3, f32 > (b)); ::core::mem::swap(& mut a, &
    mut b); < ::bn_core::__private::ReLU as ::bn_core::__private::Activation > ::apply(&
    mut a[..3]); cal.observe(1usize, & a[..3]) ?; self.dense3
    .forward_one(::bn_core::__private::quant::prefix:: <
    ::bn_core::__private::typenum::consts::U3, f32 > (a),
    ::bn_core::__private::quant::prefix_mut:: <
    ::bn_core::__private::typenum::consts::U2, f32 > (b)); ::core::mem::swap(& mut a, &
    mut b); cal.observe(2usize, & a[..2]) ?; } cal.finish() } #[doc =
    r" The int8 model with the tensors' parameters from `ranges` (usually"] #[doc =
    r" [`calibrate`](Self::calibrate)'s): each range widened to contain 0 and"] #[doc =
    r" mapped onto `[−128, 127]`; the weights of every output channel symmetric on"]
    #[doc =
    r" `[−127, 127]`; biases in `i32`; sigmoid and tanh as tables with TFLite's fixed"]
    #[doc = r" output parameters. Built in place on the heap."] #[doc = r""] #[doc =
    r" # Errors"] #[doc =
    r" `QuantizeError::BadRange`, or `Multiplier` naming the layer whose"] #[doc =
    r" requantization factor cannot be represented."] pub fn quantize_with(& self, ranges
    : & ::bn_core::__private::quant::Ranges < 3 >) -> ::core::result::Result <
    ::bn_core::__private::Box < TinyQuantized >,
    ::bn_core::__private::quant::QuantizeError > { let params = ranges.params() ?; let
    mut q = ::bn_core::__private::boxed_zeroed:: < TinyQuantized > (); let mut current =
    params[0]; q.input = ::bn_core::__private::quant::PackedParams::new(current); q
    .dense0.quantize_into(& self.dense0, current, params[1usize], true).map_err(| e | e
    .in_layer("dense0")) ?; current = params[1usize]; q.dense3.quantize_into(& self
    .dense3, current, params[2usize], false).map_err(| e | e.in_layer("dense3")) ?;
    current = params[2usize]; q.output =
    ::bn_core::__private::quant::PackedParams::new(current);
    ::core::result::Result::Ok(q) } #[doc =
    r" The int8 model calibrated on `calibration` (min/max ranges):"] #[doc =
    r" [`calibrate`](Self::calibrate) with `Observer::MinMax`, then"] #[doc =
    r" [`quantize_with`](Self::quantize_with)."] #[doc = r""] #[doc = r" # Errors"] #[doc
    = r" As those two."] pub fn quantize < C : TinyInput > (& self, calibration : & [C])
    -> ::core::result::Result < ::bn_core::__private::Box < TinyQuantized >,
    ::bn_core::__private::quant::QuantizeError > { let ranges = self
    .calibrate(calibration, ::bn_core::__private::quant::Observer::MinMax) ?; self
    .quantize_with(& ranges) } } impl ::bn_core::__private::quant::Quantize for
    TinyFolded { type Quantized = TinyQuantized; fn quantize(& self, calibration : &
    [::bn_core::__private::Vector < ::bn_core::__private::typenum::consts::U2, f32 >],)
    -> ::core::result::Result < ::bn_core::__private::Box < TinyQuantized >,
    ::bn_core::__private::quant::QuantizeError > { TinyFolded::quantize(self,
    calibration) } }
}
impl TinyQuantized {
    /// Input width.
    pub const INPUT: usize = 2;
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
