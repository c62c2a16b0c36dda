//! The [`BatchNorm`] type, its cache and gradients; its population statistics (moving or
//! cumulative average, or recomputed), eval over features, and conversion to an
//! [`Affine`] map for folding.

use core::fmt;

use generic_array::ArrayLength;

use crate::float::Float;
use crate::kernels::{self, zero, BnStats};
use crate::layers::affine::Affine;
use crate::shape::{flat, Batch, Vector};
use crate::train::{Freeze, Optimizer, ParamKind, Parameters, StateMut};
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
    fn step<O: Optimizer<T>>(&mut self, grads: &Self::Grads, mut state: StateMut<'_, Self::Grads>, opt: &O) {
        if self.affine && self.freeze != Freeze::All {
            opt.update(&mut self.gamma, &grads.gamma, state.slots(|g| &mut g.gamma[..]), ParamKind::Norm);
            opt.update(&mut self.beta, &grads.beta, state.slots(|g| &mut g.beta[..]), ParamKind::Norm);
        }
    }

    /// γ, then β, when [`step`](Parameters::step) updates them.
    fn visit_grads<F: FnMut(&mut [T], ParamKind)>(&self, tensors: &mut Self::Grads, visit: &mut F) {
        if self.affine && self.freeze != Freeze::All {
            visit(&mut tensors.gamma, ParamKind::Norm);
            visit(&mut tensors.beta, ParamKind::Norm);
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
