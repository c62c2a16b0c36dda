//! [`BatchNorm`]: Batch Normalization (Ioffe & Szegedy 2015, arXiv 1502.03167) over the
//! features of a fully connected layer: training with mini-batch statistics and exact
//! backward, population statistics (moving or cumulative average, or recomputed), eval,
//! and conversion to an [`Affine`] map for folding.

use core::fmt;

use generic_array::ArrayLength;
use typenum::U1;

use super::affine::Affine;
use crate::float::Float;
use crate::kernels::{self, zero, BnStats};
use crate::shape::{flat, flat_mut, Batch, Vector};
use crate::train::{Optimizer, Parameters};
use crate::zeroed::Zeroable;

/// How the population statistics follow the batch statistics during training.
///
/// Both update the mean with the batch mean and the variance with the *unbiased* batch
/// variance `m/(m−1)·σ²_B` (Algorithm 2, step 10), as PyTorch does.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Momentum<T = f32> {
    /// The paper's population statistics: `E[x]` is the mean of all batch means seen and
    /// `Var[x] = m/(m−1)·E_B[σ²_B]` (PyTorch's `momentum=None`). Uses the batch counter.
    Cumulative = 0,
    /// An exponential moving average, `s ← (1−m)·s + m·s_B` with the given `m ∈ (0, 1]`
    /// (PyTorch's default is `momentum=0.1`).
    Exponential(T) = 1,
}

/// Batch Normalization of `N` features.
///
/// Training (Algorithm 1), per feature over a mini-batch of `m` samples:
///
/// ```text
/// μ_B = (1/m) Σ x_i        σ²_B = (1/m) Σ (x_i − μ_B)²        (biased)
/// x̂_i = (x_i − μ_B) / √(σ²_B + ε)        y_i = γ·x̂_i + β
/// ```
///
/// Backward follows the paper's chain rule through μ_B and σ²_B (§3):
///
/// ```text
/// ∂ℓ/∂x̂_i = ∂ℓ/∂y_i · γ
/// ∂ℓ/∂σ²_B = Σ ∂ℓ/∂x̂_i · (x_i − μ_B) · (−½)(σ²_B + ε)^(−3/2)
/// ∂ℓ/∂μ_B = Σ ∂ℓ/∂x̂_i · (−1/√(σ²_B + ε)) + ∂ℓ/∂σ²_B · Σ −2(x_i − μ_B)/m
/// ∂ℓ/∂x_i = ∂ℓ/∂x̂_i /√(σ²_B + ε) + ∂ℓ/∂σ²_B · 2(x_i − μ_B)/m + ∂ℓ/∂μ_B /m
/// ∂ℓ/∂γ = Σ ∂ℓ/∂y_i · x̂_i        ∂ℓ/∂β = Σ ∂ℓ/∂y_i
/// ```
///
/// Inference uses the population statistics: `y = γ·(x − E[x])/√(Var[x] + ε) + β`, an
/// affine map ([`BatchNorm::to_affine`]).
///
/// The batch statistics are computed with a shifted two-pass algorithm (never
/// `E[x²] − E[x]²`), so inputs with a large mean and a tiny spread normalize correctly in
/// `f32`.
///
/// ```
/// use bn_core::{BatchNorm, BatchNormCache, Batch, generic_array::arr, typenum::{U1, U3}};
/// let mut bn = BatchNorm::<U1>::new();
/// let x: Batch<U3, U1> = arr![arr![1.0], arr![2.0], arr![3.0]];
/// let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
/// bn.forward_train(&x, &mut y, &mut cache);
/// // μ = 2, σ² = 2/3: x̂ = ±√1.5 (up to ε)
/// assert!((y[2][0] - 1.5f32.sqrt()).abs() < 1e-4 && y[1][0] == 0.0);
/// // running mean 0.9·0 + 0.1·2; running var 0.9·1 + 0.1·(3/2 · 2/3) (unbiased)
/// assert!((bn.running_mean[0] - 0.2).abs() < 1e-7 && (bn.running_var[0] - 1.0).abs() < 1e-7);
/// ```
#[repr(C)]
pub struct BatchNorm<N: ArrayLength, T: Float = f32> {
    /// Scale γ (initialized to 1).
    pub gamma: Vector<N, T>,
    /// Shift β (initialized to 0).
    pub beta: Vector<N, T>,
    /// Population mean `E[x]` (initialized to 0).
    pub running_mean: Vector<N, T>,
    /// Population variance `Var[x]`, unbiased (initialized to 1).
    pub running_var: Vector<N, T>,
    /// Number of training batches folded into the population statistics.
    pub num_batches_tracked: u64,
    /// ε added to the variance (default `1e-5`).
    pub eps: T,
    /// How the population statistics are averaged (default `Exponential(0.1)`).
    pub momentum: Momentum<T>,
    /// Whether γ and β are learned (default `true`). Without (PyTorch's `affine=False`) they
    /// stay 1 and 0: the optimizer leaves them alone and weights files have no `weight` or
    /// `bias` for the layer.
    pub affine: bool,
    /// Fine-tuning: whether a training step normalizes with the population statistics
    /// instead of the batch's (default [`Freeze::No`]); see [`Freeze`].
    pub freeze: Freeze,
    /// Batch Renormalization (Ioffe 2017, arXiv 1702.03275, Algorithm 1): training
    /// normalizes with the batch statistics corrected towards the moving ones by `r` and
    /// `d` (default `false`); see [`BatchNorm::forward_train`].
    pub renorm: bool,
    /// Batch Renormalization's current limit `r_max ≥ 1` (`r ∈ [1/r_max, r_max]`).
    pub rmax: T,
    /// Batch Renormalization's current limit `d_max ≥ 0` (`d ∈ [−d_max, d_max]`).
    pub dmax: T,
}

/// How a training step treats a [`BatchNorm`]: for fine-tuning, the normalization can be
/// frozen to the population statistics (what PyTorch users get with `bn.eval()` inside a
/// training loop, and Keras users with `trainable = False`).
///
/// Frozen, a training step computes `y = γ·(x − E[x])/√(Var[x] + ε) + β` exactly as the
/// eval path does, leaves `E[x]`, `Var[x]` and the batch counter untouched, and
/// backpropagates through that fixed affine map: `∂ℓ/∂x = ∂ℓ/∂y · γ/√(Var[x] + ε)`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Freeze {
    /// Training normalizes with the batch statistics (the default).
    #[default]
    No = 0,
    /// The population statistics normalize; γ and β still learn.
    Statistics = 1,
    /// The population statistics normalize and γ, β are fixed too: the layer is a constant
    /// affine map.
    All = 2,
}

/// What a training forward records for its backward.
///
/// The batch mean is kept as `shift + delta`, where `shift` is the batch's first sample and
/// `delta` the mean of `x − shift`: centering as `(x − shift) − delta` is exact to the
/// precision of the spread even when the mean is many orders of magnitude larger (a mean
/// of 1e4 rounded to `f32` is off by up to 5e-4, which would bias a feature with standard
/// deviation 1e-2 by 5 %).
#[repr(C)]
pub struct BatchNormCache<N: ArrayLength, T: Float = f32> {
    /// Batch mean μ_B (rounded; for reporting and the population statistics).
    pub mean: Vector<N, T>,
    /// Biased batch variance σ²_B.
    pub var: Vector<N, T>,
    /// `1/√(σ²_B + ε)`.
    pub inv_std: Vector<N, T>,
    /// The centering shift (the batch's first sample).
    pub shift: Vector<N, T>,
    /// `μ_B − shift`, accurately.
    pub delta: Vector<N, T>,
    /// Batch Renormalization's `r` (1 for plain BN).
    pub r: Vector<N, T>,
    /// Batch Renormalization's `d` (0 for plain BN).
    pub d: Vector<N, T>,
}

impl<N: ArrayLength, T: Float> BatchNormCache<N, T> {
    /// `x − μ_B` for feature `k`, accurately.
    #[inline(always)]
    pub fn center(&self, k: usize, x: T) -> T {
        (x - self.shift[k]) - self.delta[k]
    }

    /// The cache as the kernels' statistics operands.
    #[inline(always)]
    pub(crate) fn as_stats(&mut self) -> BnStats<'_, T> {
        BnStats {
            mean: &mut self.mean,
            var: &mut self.var,
            inv_std: &mut self.inv_std,
            shift: &mut self.shift,
            delta: &mut self.delta,
        }
    }
}

/// Gradients of a [`BatchNorm`]'s parameters.
#[repr(C)]
pub struct BatchNormGrads<N: ArrayLength, T: Float = f32> {
    /// `∂ℓ/∂γ`.
    pub gamma: Vector<N, T>,
    /// `∂ℓ/∂β`.
    pub beta: Vector<N, T>,
}

impl<N: ArrayLength, T: Float> BatchNorm<N, T> {
    /// Number of features.
    pub const FEATURES: usize = N::USIZE;
    /// Number of trainable scalars (γ and β).
    pub const PARAMS: usize = 2 * N::USIZE;
    /// The default ε, `1e-5` (PyTorch's).
    pub const DEFAULT_EPS: f64 = 1e-5;
    /// The default momentum, `0.1` on the new value (PyTorch's).
    pub const DEFAULT_MOMENTUM: f64 = 0.1;
    /// The default Batch Renormalization limit `r_max` (the paper's final value).
    pub const DEFAULT_RMAX: f64 = 3.0;
    /// The default Batch Renormalization limit `d_max` (the paper's final value).
    pub const DEFAULT_DMAX: f64 = 5.0;

    /// γ = 1, β = 0, `E[x]` = 0, `Var[x]` = 1, ε = 1e-5, momentum 0.1 (on the stack).
    pub fn new() -> Self {
        let mut bn = Self::zeroed();
        bn.reset();
        bn
    }

    /// Sets ε.
    pub fn with_eps(mut self, eps: T) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum.
    pub fn with_momentum(mut self, momentum: Momentum<T>) -> Self {
        self.momentum = momentum;
        self
    }

    /// Batch Renormalization with the limits `r_max ≥ 1`, `d_max ≥ 0` (see
    /// [`forward_train`](Self::forward_train)).
    pub fn with_renorm(mut self, rmax: T, dmax: T) -> Self {
        (self.renorm, self.rmax, self.dmax) = (true, rmax, dmax);
        self
    }

    /// Without learned γ and β (PyTorch's `affine=False`): they are reset to 1 and 0.
    pub fn without_affine(mut self) -> Self {
        self.affine = false;
        self.gamma.iter_mut().for_each(|g| *g = T::ONE);
        zero(&mut self.beta);
        self
    }

    /// Resets everything to the defaults of [`BatchNorm::new`], in place: γ = 1, β = 0,
    /// fresh population statistics, ε 1e-5, momentum 0.1, affine, not frozen, no
    /// renormalization (limits 3 and 5).
    pub fn reset(&mut self) {
        self.gamma.iter_mut().for_each(|g| *g = T::ONE);
        zero(&mut self.beta);
        self.eps = T::from_f64(Self::DEFAULT_EPS);
        self.momentum = Momentum::Exponential(T::from_f64(Self::DEFAULT_MOMENTUM));
        self.affine = true;
        self.freeze = Freeze::No;
        self.renorm = false;
        self.rmax = T::from_f64(Self::DEFAULT_RMAX);
        self.dmax = T::from_f64(Self::DEFAULT_DMAX);
        self.reset_running_stats();
    }

    /// Resets the population statistics (`E[x]` = 0, `Var[x]` = 1, no batch tracked).
    pub fn reset_running_stats(&mut self) {
        zero(&mut self.running_mean);
        self.running_var.iter_mut().for_each(|v| *v = T::ONE);
        self.num_batches_tracked = 0;
    }

    /// The mini-batch mean and biased variance of every feature (Algorithm 1, lines 1–2).
    ///
    /// Shifted two-pass: the data are first shifted by the first sample (which makes the
    /// sum of a large-mean, small-spread feature exact enough), then the variance is the
    /// corrected two-pass sum `(Σd² − (Σd)²/m)/m` with `d = x − μ`. Never `E[x²] − E[x]²`.
    pub fn batch_statistics<B: ArrayLength>(x: &Batch<B, N, T>, mean: &mut Vector<N, T>, var: &mut Vector<N, T>) {
        let mut cache = BatchNormCache::<N, T>::zeroed();
        kernels::bn_statistics::<T, B, N>(flat(x), &mut cache.as_stats());
        *mean = cache.mean;
        *var = cache.var;
    }

    /// Training forward (Algorithm 1): normalizes with the batch statistics, writes `y`,
    /// records what [`backward`](Self::backward) needs in `cache`, and folds the batch
    /// statistics into the population statistics according to [`momentum`](Self::momentum).
    ///
    /// The batch size `B` must be at least 2 (a compile-time check: the batch variance of
    /// one sample is zero; `network!` states it as the bound [`TrainBatch`](crate::TrainBatch)).
    ///
    /// [`Frozen`](Freeze), the layer normalizes with the population statistics instead and
    /// tracks nothing. With [`renorm`](Self::renorm) (Batch Renormalization, Algorithm 1 of
    /// Ioffe 2017), with `σ_B = √(σ²_B + ε)` and the moving `μ`, `σ = √(Var[x] + ε)`:
    ///
    /// ```text
    /// r = clip(σ_B/σ, 1/r_max, r_max)      d = clip((μ_B − μ)/σ, −d_max, d_max)
    /// y = γ·(x̂·r + d) + β                  (r, d constants for the backward)
    /// μ ← μ + α(μ_B − μ)                   σ ← σ + α(σ_B − σ)
    /// ```
    ///
    /// with `α` the momentum (`1/n` for the n-th batch when cumulative). `σ` is stored as
    /// `Var[x] = σ² − ε`, so inference, folding and PyTorch's eval (`√(running_var + ε)`)
    /// all use exactly `σ`. With `r = 1`, `d = 0` the output is BN's, bit for bit.
    #[inline]
    pub fn forward_train<B: ArrayLength>(
        &mut self,
        x: &Batch<B, N, T>,
        y: &mut Batch<B, N, T>,
        cache: &mut BatchNormCache<N, T>,
    ) {
        const { assert!(B::USIZE >= 2, "BatchNorm::forward_train needs a batch of at least 2 samples") };
        self.train_forward::<B, U1>(flat(x), flat_mut(y), cache, Path::Features);
    }

    /// Folds one batch's statistics (mean and *biased* variance over `m` samples) into the
    /// population statistics, with the unbiased correction `m/(m−1)`.
    pub fn track(&mut self, m: usize, mean: &Vector<N, T>, biased_var: &Vector<N, T>) {
        self.num_batches_tracked += 1;
        let factor = match self.momentum {
            Momentum::Exponential(f) => f,
            Momentum::Cumulative => T::ONE / T::from_f64(self.num_batches_tracked as f64),
        };
        let unbias = if m > 1 { T::from_usize(m) / T::from_usize(m - 1) } else { T::ONE };
        let keep = T::ONE - factor;
        for k in 0..N::USIZE {
            self.running_mean[k] = keep * self.running_mean[k] + factor * mean[k];
            self.running_var[k] = keep * self.running_var[k] + factor * unbias * biased_var[k];
        }
    }

    /// Recomputes the population statistics from scratch over `batches`, with the
    /// parameters frozen (Algorithm 2, steps 8–11): `E[x]` = the mean of the batch means
    /// and `Var[x]` = `m/(m−1)` × the mean of the batch variances, whatever the momentum.
    ///
    /// For a layer inside a network, feed it the batches *as they arrive at this layer*
    /// (the generated networks do that for every layer at once).
    pub fn recompute_population_statistics<'a, B: ArrayLength>(
        &mut self,
        batches: impl IntoIterator<Item = &'a Batch<B, N, T>>,
    ) where
        Batch<B, N, T>: 'a,
    {
        let momentum = self.momentum;
        self.momentum = Momentum::Cumulative;
        self.reset_running_stats();
        let (mut mean, mut var) = (Vector::<N, T>::default(), Vector::<N, T>::default());
        for x in batches {
            Self::batch_statistics(x, &mut mean, &mut var);
            self.track(B::USIZE, &mean, &var);
        }
        self.momentum = momentum;
    }

    /// Backward through the batch statistics (the paper's equations above): writes `∂ℓ/∂x`
    /// into `dx` and overwrites `grads` with `∂ℓ/∂γ`, `∂ℓ/∂β`. `x` and `cache` are those of
    /// the training forward. Frozen, through the fixed affine map; with `renorm`, with `r`
    /// and `d` as constants (`∂ℓ/∂x̂ = ∂ℓ/∂y·γ·r`, `∂ℓ/∂γ = Σ ∂ℓ/∂y·(x̂·r + d)`).
    #[inline]
    pub fn backward<B: ArrayLength>(
        &self,
        x: &Batch<B, N, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, N, T>,
        dx: &mut Batch<B, N, T>,
        grads: &mut BatchNormGrads<N, T>,
    ) {
        self.train_backward::<B, U1>(flat(x), cache, flat(dy), flat_mut(dx), grads, Path::Features);
    }

    /// Eval forward for one sample, with the population statistics.
    #[inline]
    pub fn forward_eval_one(&self, x: &Vector<N, T>, y: &mut Vector<N, T>) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || self.forward_eval_one_impl(x, y),
        )
    }

    #[inline(always)]
    fn forward_eval_one_impl(&self, x: &Vector<N, T>, y: &mut Vector<N, T>) {
        for k in 0..N::USIZE {
            let inv_std = T::ONE / (self.running_var[k] + self.eps).sqrt();
            y[k] = self.gamma[k] * (x[k] - self.running_mean[k]) * inv_std + self.beta[k];
        }
    }

    /// Eval forward for a batch, with the population statistics (any batch size).
    #[inline]
    pub fn forward_eval<B: ArrayLength>(&self, x: &Batch<B, N, T>, y: &mut Batch<B, N, T>) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (xb, yb) in x.iter().zip(y.iter_mut()) {
                    self.forward_eval_one_impl(xb, yb);
                }
            },
        )
    }

    /// Training forward over the channels of images (PyTorch's `BatchNorm2d`, §3.2 of the
    /// paper): `x` is a batch of `N × S`-pixel images (`X = N·S` values per sample, channel
    /// after channel), and each channel is normalized with the mean and biased variance of
    /// all its `m' = B·S` values; the population statistics take the unbiased `m'/(m'−1)`.
    /// Otherwise as [`forward_train`](Self::forward_train), which is the case `S = 1`.
    ///
    /// ```
    /// use bn_core::{Batch, BatchNorm, BatchNormCache, generic_array::arr, typenum::{U1, U2, U4}};
    /// // 2 samples of one channel of 2 pixels: the channel's 4 values are 1, 3, 5, 7.
    /// let mut bn = BatchNorm::<U1, f64>::new().with_eps(0.0);
    /// let x: Batch<U2, U2, f64> = arr![arr![1.0, 3.0], arr![5.0, 7.0]];
    /// let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
    /// bn.forward_train_2d::<U2, _, _>(&x, &mut y, &mut cache);
    /// assert_eq!((cache.mean[0], cache.var[0]), (4.0, 5.0));
    /// assert!((y[1][1] - 3.0 / 5f64.sqrt()).abs() < 1e-15);
    /// // Var[x] = 0.9·1 + 0.1·(4/3 · 5): m' = 4 values.
    /// assert!((bn.running_var[0] - (0.9 + 0.1 * 20.0 / 3.0)).abs() < 1e-15);
    /// # let _: U4;
    /// ```
    #[inline]
    pub fn forward_train_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &mut self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut BatchNormCache<N, T>,
    ) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "forward_train_2d: a sample must be N channels of S pixels") };
        const { assert!(B::USIZE * S::USIZE >= 2, "forward_train_2d needs at least 2 values per channel") };
        self.train_forward::<B, S>(flat(x), flat_mut(y), cache, Path::Images);
    }

    /// Backward over the channels of images (see [`forward_train_2d`](Self::forward_train_2d)):
    /// the paper's equations per channel with `m' = B·S`.
    #[inline]
    pub fn backward_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, X, T>,
        dx: &mut Batch<B, X, T>,
        grads: &mut BatchNormGrads<N, T>,
    ) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "backward_2d: a sample must be N channels of S pixels") };
        self.train_backward::<B, S>(flat(x), cache, flat(dy), flat_mut(dx), grads, Path::Images);
    }

    /// [`forward_train_2d`](Self::forward_train_2d) followed by a ReLU, in one pass:
    /// `y = max(BN(x), 0)`, without storing `BN(x)` (what `network!` runs for a `batchnorm,
    /// relu` pair over images). Bit for bit the two layers one after the other.
    ///
    /// ```
    /// # use bn_core::typenum::{U1, U2};
    /// use bn_core::{Batch, BatchNorm, BatchNormCache, generic_array::arr};
    /// let mut bn = BatchNorm::<U1, f64>::new();
    /// bn.eps = 0.0;
    /// let x: Batch<U2, U2, f64> = arr![arr![1.0, 3.0], arr![5.0, 7.0]];
    /// let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
    /// bn.forward_train_2d_relu::<U2, _, _>(&x, &mut y, &mut cache);
    /// // x̂ = (x − 4)/√5: the two below the mean become 0.
    /// assert_eq!((y[0][0], y[0][1]), (0.0, 0.0));
    /// assert!((y[1][1] - 3.0 / 5f64.sqrt()).abs() < 1e-15);
    /// ```
    #[inline]
    pub fn forward_train_2d_relu<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &mut self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut BatchNormCache<N, T>,
    ) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "forward_train_2d_relu: a sample must be N channels of S pixels") };
        const { assert!(B::USIZE * S::USIZE >= 2, "forward_train_2d_relu needs at least 2 values per channel") };
        self.train_forward::<B, S>(flat(x), flat_mut(y), cache, Path::ImagesRelu);
    }

    /// The backward of [`forward_train_2d_relu`](Self::forward_train_2d_relu): `dy` is the
    /// gradient with respect to its output; the normalized values are recomputed from `x`
    /// (their sign is the ReLU's derivative), so the output is not read. Bit for bit the
    /// ReLU's backward followed by [`backward_2d`](Self::backward_2d).
    #[inline]
    pub fn backward_2d_relu<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        cache: &BatchNormCache<N, T>,
        dy: &Batch<B, X, T>,
        dx: &mut Batch<B, X, T>,
        grads: &mut BatchNormGrads<N, T>,
    ) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "backward_2d_relu: a sample must be N channels of S pixels") };
        self.train_backward::<B, S>(flat(x), cache, flat(dy), flat_mut(dx), grads, Path::ImagesRelu);
    }

    /// Eval forward of one image (`N` channels of `S` pixels), with the population
    /// statistics.
    #[inline]
    pub fn forward_eval_one_2d<S: ArrayLength, X: ArrayLength>(&self, x: &Vector<X, T>, y: &mut Vector<X, T>) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "forward_eval_one_2d: a sample must be N channels of S pixels") };
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

    /// Eval forward of a batch of images (any batch size).
    #[inline]
    pub fn forward_eval_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
    ) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_eval_one_2d::<S, X>(xb, yb);
        }
    }

    /// The inference-mode layer as an affine map: `a = γ/√(Var[x]+ε)`, `b = β − a·E[x]`.
    pub fn to_affine(&self) -> Affine<N, T> {
        let mut out = Affine::zeroed();
        for k in 0..N::USIZE {
            let a = self.gamma[k] / (self.running_var[k] + self.eps).sqrt();
            out.scale[k] = a;
            out.shift[k] = self.beta[k] - a * self.running_mean[k];
        }
        out
    }
}

impl<N: ArrayLength, T: Float> Parameters<T> for BatchNorm<N, T> {
    type Grads = BatchNormGrads<N, T>;

    /// Updates γ and β, unless the layer has none ([`affine`](BatchNorm::affine) false) or
    /// they are frozen ([`Freeze::All`]).
    fn step<O: Optimizer<T>>(&mut self, grads: &Self::Grads, state: &mut Self::Grads, opt: &O) {
        if self.affine && self.freeze != Freeze::All {
            opt.update(&mut self.gamma, &grads.gamma, &mut state.gamma);
            opt.update(&mut self.beta, &grads.beta, &mut state.beta);
        }
    }
}

// SAFETY: arrays of floats, a u64, floats, bools (0 is `false`), and `repr(u8)` enums whose
// tag 0 is a field-less variant (`Momentum::Cumulative`, `Freeze::No`).
unsafe impl<N: ArrayLength, T: Float> Zeroable for BatchNorm<N, T> {}
// SAFETY: arrays of floats.
unsafe impl<N: ArrayLength, T: Float> Zeroable for BatchNormCache<N, T> {}
// SAFETY: arrays of floats.
unsafe impl<N: ArrayLength, T: Float> Zeroable for BatchNormGrads<N, T> {}

impl<N: ArrayLength, T: Float> Default for BatchNorm<N, T> {
    fn default() -> Self {
        Self::new()
    }
}
impl<N: ArrayLength, T: Float> Default for BatchNormCache<N, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}
impl<N: ArrayLength, T: Float> Default for BatchNormGrads<N, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<N: ArrayLength, T: Float> Clone for BatchNorm<N, T> {
    fn clone(&self) -> Self {
        BatchNorm {
            gamma: self.gamma.clone(),
            beta: self.beta.clone(),
            running_mean: self.running_mean.clone(),
            running_var: self.running_var.clone(),
            num_batches_tracked: self.num_batches_tracked,
            eps: self.eps,
            momentum: self.momentum,
            affine: self.affine,
            freeze: self.freeze,
            renorm: self.renorm,
            rmax: self.rmax,
            dmax: self.dmax,
        }
    }
}
impl<N: ArrayLength, T: Float> Copy for BatchNorm<N, T> where Vector<N, T>: Copy {}
impl<N: ArrayLength, T: Float> Clone for BatchNormGrads<N, T> {
    fn clone(&self) -> Self {
        BatchNormGrads { gamma: self.gamma.clone(), beta: self.beta.clone() }
    }
}

impl<N: ArrayLength, T: Float> PartialEq for BatchNorm<N, T> {
    fn eq(&self, o: &Self) -> bool {
        self.gamma == o.gamma
            && self.beta == o.beta
            && self.running_mean == o.running_mean
            && self.running_var == o.running_var
            && self.num_batches_tracked == o.num_batches_tracked
            && self.eps == o.eps
            && self.momentum == o.momentum
            && self.affine == o.affine
            && self.freeze == o.freeze
            && self.renorm == o.renorm
            && self.rmax == o.rmax
            && self.dmax == o.dmax
    }
}

impl<N: ArrayLength, T: Float> fmt::Debug for BatchNorm<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BatchNorm<{}, {}> {{ eps: {}, momentum: {:?}, batches: {} }}",
            N::USIZE,
            T::NAME,
            self.eps,
            self.momentum,
            self.num_batches_tracked
        )
    }
}

#[cfg(test)]
mod mode_tests;
mod modes;
#[cfg(test)]
mod tests;

use modes::Path;
