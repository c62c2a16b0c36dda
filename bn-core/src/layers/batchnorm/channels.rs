//! Batch Normalization over the channels of images (PyTorch's `BatchNorm2d`; Ioffe & Szegedy
//! 2015, §3.2): each of the `N` channels of a batch of images is normalized with the mean
//! and biased variance of all its `m' = B·S` values (`S` pixels in each of `B` samples),
//! optionally with a ReLU fused after it ([`Fused`]).

use generic_array::ArrayLength;

use super::layer::{BatchNorm, BatchNormCache, BatchNormGrads};
use super::modes::Path;
use crate::float::Float;
use crate::kernels;
use crate::shape::{flat, flat_mut, Batch, Vector};

/// What a Batch Normalization over channels applies to its output in the same pass (see
/// [`BatchNorm::forward_train_channels`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fused {
    /// Nothing: `y = BN(x)`.
    Nothing,
    /// A ReLU: `y = max(BN(x), 0)`, without storing `BN(x)` (what `network!` runs for a
    /// `batchnorm, relu` pair over images); bit for bit the two layers one after the other.
    ReLU,
}

impl<N: ArrayLength, T: Float> BatchNorm<N, T> {
    /// Training forward over the channels of images (PyTorch's `BatchNorm2d`, §3.2 of the
    /// paper): `x` is a batch of `N × S`-pixel images (`X = N·S` values per sample, channel
    /// after channel), and each channel is normalized with the mean and biased variance of
    /// all its `m' = B·S` values; the population statistics take the unbiased `m'/(m'−1)`.
    /// Otherwise as [`forward_train`](Self::forward_train), which is the case `S = 1`.
    /// With [`Fused::ReLU`], `y = max(BN(x), 0)` in the same pass.
    ///
    /// ```
    /// use bn_core::{Batch, BatchNorm, BatchNormCache, Fused, generic_array::arr, typenum::{U1, U2}};
    /// // 2 samples of one channel of 2 pixels: the channel's 4 values are 1, 3, 5, 7.
    /// let mut bn = BatchNorm::<U1, f64>::new().with_eps(0.0);
    /// let x: Batch<U2, U2, f64> = arr![arr![1.0, 3.0], arr![5.0, 7.0]];
    /// let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
    /// bn.forward_train_channels::<U2, _, _>(&x, &mut y, &mut cache, Fused::Nothing);
    /// assert_eq!((cache.mean[0], cache.var[0]), (4.0, 5.0));
    /// assert!((y[1][1] - 3.0 / 5f64.sqrt()).abs() < 1e-15);
    /// // Var[x] = 0.9·1 + 0.1·(4/3 · 5): m' = 4 values.
    /// assert!((bn.running_var[0] - (0.9 + 0.1 * 20.0 / 3.0)).abs() < 1e-15);
    ///
    /// // Fused with a ReLU: x̂ = (x − 4)/√5, the two below the mean become 0.
    /// let mut bn = BatchNorm::<U1, f64>::new().with_eps(0.0);
    /// bn.forward_train_channels::<U2, _, _>(&x, &mut y, &mut cache, Fused::ReLU);
    /// assert_eq!((y[0][0], y[0][1]), (0.0, 0.0));
    /// assert!((y[1][1] - 3.0 / 5f64.sqrt()).abs() < 1e-15);
    /// ```
    #[inline(always)]
    pub fn forward_train_channels<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &mut self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut BatchNormCache<N, T>,
        fused: Fused,
    ) {
        match fused {
            Fused::Nothing => self.channels_forward::<S, B, X, false>(x, y, cache),
            Fused::ReLU => self.channels_forward::<S, B, X, true>(x, y, cache),
        }
    }

    #[inline]
    fn channels_forward<S: ArrayLength, B: ArrayLength, X: ArrayLength, const RELU: bool>(
        &mut self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut BatchNormCache<N, T>,
    ) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "forward_train_channels: a sample must be N channels of S pixels") };
        const { assert!(B::USIZE * S::USIZE >= 2, "forward_train_channels needs at least 2 values per channel") };
        let path = if RELU { Path::ChannelsRelu } else { Path::Channels };
        self.train_forward::<B, S>(flat(x), flat_mut(y), cache, path);
    }

    /// Backward over the channels of images (see
    /// [`forward_train_channels`](Self::forward_train_channels), with the same `fused`): the
    /// paper's equations per channel with `m' = B·S`. `x` and `cache` are those of the
    /// forward and `dy` the gradient with respect to its output; with [`Fused::ReLU`] the
    /// normalized values are recomputed from `x` (their sign is the ReLU's derivative), so
    /// the output is not read, and the result is bit for bit the ReLU's backward followed by
    /// the BN's.
    ///
    /// ```
    /// use bn_core::{Batch, BatchNorm, BatchNormCache, BatchNormGrads, Fused, generic_array::arr, typenum::{U1, U2}};
    /// let mut bn = BatchNorm::<U1, f64>::new().with_eps(0.0);
    /// let x: Batch<U2, U2, f64> = arr![arr![1.0, 3.0], arr![5.0, 7.0]];
    /// let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
    /// bn.forward_train_channels::<U2, _, _>(&x, &mut y, &mut cache, Fused::Nothing);
    /// // ℓ = Σ y: shifting every value of a channel does not change its normalized values.
    /// let dy: Batch<U2, U2, f64> = arr![arr![1.0, 1.0], arr![1.0, 1.0]];
    /// let (mut dx, mut grads) = (Batch::default(), BatchNormGrads::default());
    /// bn.backward_channels::<U2, _, _>(&x, &cache, &dy, &mut dx, &mut grads, Fused::Nothing);
    /// assert!(dx.iter().flatten().all(|v: &f64| v.abs() < 1e-15));
    /// assert_eq!(grads.beta[0], 4.0); // ∂ℓ/∂β = Σ ∂ℓ/∂y
    /// ```
    #[inline(always)]
    pub fn backward_channels<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, X, T>,
        dx: &mut Batch<B, X, T>,
        grads: &mut BatchNormGrads<N, T>,
        fused: Fused,
    ) {
        match fused {
            Fused::Nothing => self.channels_backward::<S, B, X, false>(x, cache, dy, dx, grads),
            Fused::ReLU => self.channels_backward::<S, B, X, true>(x, cache, dy, dx, grads),
        }
    }

    #[inline]
    fn channels_backward<S: ArrayLength, B: ArrayLength, X: ArrayLength, const RELU: bool>(
        &self,
        x: &Batch<B, X, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, X, T>,
        dx: &mut Batch<B, X, T>,
        grads: &mut BatchNormGrads<N, T>,
    ) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "backward_channels: a sample must be N channels of S pixels") };
        let path = if RELU { Path::ChannelsRelu } else { Path::Channels };
        self.train_backward::<B, S>(flat(x), cache, flat(dy), flat_mut(dx), grads, path);
    }

    /// Eval forward of one image (`N` channels of `S` pixels), with the population
    /// statistics: `y = γ·(x − E[x])/√(Var[x] + ε) + β` per channel.
    ///
    /// ```
    /// use bn_core::{BatchNorm, Vector, generic_array::arr, typenum::{U2, U4}};
    /// let mut bn = BatchNorm::<U2, f64>::new().with_eps(0.0);
    /// (bn.running_mean, bn.running_var, bn.beta) = (arr![1.0, -1.0], arr![4.0, 1.0], arr![0.0, 0.5]);
    /// // Two channels of two pixels each.
    /// let (x, mut y): (Vector<U4, f64>, _) = (arr![3.0, 1.0, 0.0, -1.0], Vector::default());
    /// bn.forward_eval_one_channels::<U2, _>(&x, &mut y);
    /// assert_eq!(y, arr![1.0, 0.0, 1.5, 0.5]);
    /// ```
    #[inline]
    pub fn forward_eval_one_channels<S: ArrayLength, X: ArrayLength>(&self, x: &Vector<X, T>, y: &mut Vector<X, T>) {
        const {
            assert!(
                X::USIZE == N::USIZE * S::USIZE,
                "forward_eval_one_channels: a sample must be N channels of S pixels"
            )
        };
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for ((xc, yc), k) in x.chunks_exact(S::USIZE).zip(y.chunks_exact_mut(S::USIZE)).zip(0..N::USIZE) {
                    let inv_std = T::ONE / (self.running_var[k] + self.eps).sqrt();
                    let (g, mu, b) = (self.gamma[k], self.running_mean[k], self.beta[k]);
                    for (yv, &xv) in yc.iter_mut().zip(xc) {
                        *yv = g * (xv - mu) * inv_std + b;
                    }
                }
            },
        )
    }

    /// Eval forward of a batch of images (any batch size):
    /// [`forward_eval_one_channels`](Self::forward_eval_one_channels) for each.
    #[inline]
    pub fn forward_eval_channels<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
    ) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_eval_one_channels::<S, X>(xb, yb);
        }
    }

    /// [`forward_train_channels`](Self::forward_train_channels) with [`Fused::Nothing`].
    #[deprecated(note = "renamed to `forward_train_channels(x, y, cache, Fused::Nothing)`")]
    #[inline]
    pub fn forward_train_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &mut self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut BatchNormCache<N, T>,
    ) {
        self.forward_train_channels::<S, B, X>(x, y, cache, Fused::Nothing)
    }

    /// [`backward_channels`](Self::backward_channels) with [`Fused::Nothing`].
    #[deprecated(note = "renamed to `backward_channels(x, cache, dy, dx, grads, Fused::Nothing)`")]
    #[inline]
    pub fn backward_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, X, T>,
        dx: &mut Batch<B, X, T>,
        grads: &mut BatchNormGrads<N, T>,
    ) {
        self.backward_channels::<S, B, X>(x, cache, dy, dx, grads, Fused::Nothing)
    }

    /// [`forward_train_channels`](Self::forward_train_channels) with [`Fused::ReLU`].
    #[deprecated(note = "renamed to `forward_train_channels(x, y, cache, Fused::ReLU)`")]
    #[inline]
    pub fn forward_train_2d_relu<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &mut self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut BatchNormCache<N, T>,
    ) {
        self.forward_train_channels::<S, B, X>(x, y, cache, Fused::ReLU)
    }

    /// [`backward_channels`](Self::backward_channels) with [`Fused::ReLU`].
    #[deprecated(note = "renamed to `backward_channels(x, cache, dy, dx, grads, Fused::ReLU)`")]
    #[inline]
    pub fn backward_2d_relu<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, X, T>,
        dx: &mut Batch<B, X, T>,
        grads: &mut BatchNormGrads<N, T>,
    ) {
        self.backward_channels::<S, B, X>(x, cache, dy, dx, grads, Fused::ReLU)
    }

    /// [`forward_eval_one_channels`](Self::forward_eval_one_channels).
    #[deprecated(note = "renamed to `forward_eval_one_channels`")]
    #[inline]
    pub fn forward_eval_one_2d<S: ArrayLength, X: ArrayLength>(&self, x: &Vector<X, T>, y: &mut Vector<X, T>) {
        self.forward_eval_one_channels::<S, X>(x, y)
    }

    /// [`forward_eval_channels`](Self::forward_eval_channels).
    #[deprecated(note = "renamed to `forward_eval_channels`")]
    #[inline]
    pub fn forward_eval_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
    ) {
        self.forward_eval_channels::<S, B, X>(x, y)
    }
}
