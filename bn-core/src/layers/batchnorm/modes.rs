//! How a [`BatchNorm`] trains: the training forward and backward over features
//! ([`BatchNorm::forward_train`], [`BatchNorm::backward`]), with the batch statistics
//! (Algorithm 1 of Ioffe & Szegedy 2015), frozen to the population statistics ([`Freeze`]),
//! or with Batch Renormalization (Ioffe 2017, arXiv 1702.03275, Algorithm 1). Every training
//! entry point of the layer, over features or over channels, comes here; plain BN goes
//! straight to the kernels.

use generic_array::ArrayLength;
use typenum::U1;

use super::layer::{BatchNorm, BatchNormCache, BatchNormGrads, Momentum};
use crate::float::Float;
use crate::kernels::{self, BnBackward, BnTrain};
use crate::layers::activation::{Activation, ReLU};
use crate::shape::{flat, flat_mut, Batch, Vector};
use crate::train::Freeze;

/// Replacements for γ and β.
type GammaBeta<'a, N, T> = (&'a Vector<N, T>, &'a Vector<N, T>);

/// Which training entry point: over features (`S = 1`), over the channels of images, or
/// over the channels of images followed by a fused ReLU.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    Features,
    Channels,
    ChannelsRelu,
}

impl<N: ArrayLength, T: Float> BatchNorm<N, T> {
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
}

impl<N: ArrayLength, T: Float> BatchNorm<N, T> {
    /// The training forward of `B` samples of `N` channels of `S` values each.
    #[inline(always)]
    pub(super) fn train_forward<B: ArrayLength, S: ArrayLength>(
        &mut self,
        x: &[T],
        y: &mut [T],
        cache: &mut BatchNormCache<N, T>,
        path: Path,
    ) {
        if self.freeze != Freeze::No {
            self.frozen_forward(S::USIZE, x, y, cache, path == Path::ChannelsRelu);
            return;
        }
        self.batch_forward::<B, S>(x, y, cache, path, None);
        if self.renorm {
            if self.renorm_factors(cache) {
                // Normalize again with γ·r and γ·d + β (the same statistics, recomputed).
                let mut gamma = Vector::<N, T>::default();
                let mut beta = Vector::<N, T>::default();
                for k in 0..N::USIZE {
                    gamma[k] = self.gamma[k] * cache.r[k];
                    beta[k] = self.gamma[k] * cache.d[k] + self.beta[k];
                }
                self.batch_forward::<B, S>(x, y, cache, path, Some((&gamma, &beta)));
            }
            self.track_renorm(&cache.mean, &cache.var);
        } else {
            self.track(B::USIZE * S::USIZE, &cache.mean, &cache.var);
        }
    }

    /// The kernels' training forward with γ and β (or the given replacements).
    #[inline(always)]
    fn batch_forward<B: ArrayLength, S: ArrayLength>(
        &self,
        x: &[T],
        y: &mut [T],
        cache: &mut BatchNormCache<N, T>,
        path: Path,
        affine: Option<GammaBeta<'_, N, T>>,
    ) {
        let (gamma, beta) = affine.unwrap_or((&self.gamma, &self.beta));
        let args = BnTrain { eps: self.eps, x, gamma, beta, y, stats: cache.as_stats() };
        match path {
            Path::Features => kernels::bn_forward_train::<T, B, N>(args),
            Path::Channels => kernels::channels::bn_forward_train::<T, B, N, S>(args),
            Path::ChannelsRelu => kernels::channels::bn_forward_train_then::<T, B, N, S>(args, ReLU::f),
        }
    }

    /// Batch Renormalization's `r` and `d` from the batch statistics in `cache` and the
    /// moving `μ`, `σ` (into `cache.r`, `cache.d`). Returns whether any differs from plain
    /// BN's `r = 1`, `d = 0`.
    fn renorm_factors(&self, cache: &mut BatchNormCache<N, T>) -> bool {
        let (rmax, dmax) = (self.rmax, self.dmax);
        let mut changed = false;
        for k in 0..N::USIZE {
            let sigma = (self.running_var[k] + self.eps).sqrt();
            let sigma_b = (cache.var[k] + self.eps).sqrt();
            let r = clip(sigma_b / sigma, T::ONE / rmax, rmax);
            let d = clip((cache.mean[k] - self.running_mean[k]) / sigma, -dmax, dmax);
            (cache.r[k], cache.d[k]) = (r, d);
            changed |= r != T::ONE || d != T::ZERO;
        }
        changed
    }

    /// Batch Renormalization's moving averages: `μ ← μ + α(μ_B − μ)`, `σ ← σ + α(σ_B − σ)`,
    /// with `σ` stored as `Var[x] = σ² − ε`.
    fn track_renorm(&mut self, mean: &Vector<N, T>, biased_var: &Vector<N, T>) {
        self.num_batches_tracked += 1;
        let alpha = match self.momentum {
            Momentum::Exponential(a) => a,
            Momentum::Cumulative => T::ONE / T::from_f64(self.num_batches_tracked as f64),
        };
        for k in 0..N::USIZE {
            let sigma = (self.running_var[k] + self.eps).sqrt();
            let sigma_b = (biased_var[k] + self.eps).sqrt();
            let sigma = sigma + alpha * (sigma_b - sigma);
            self.running_mean[k] = self.running_mean[k] + alpha * (mean[k] - self.running_mean[k]);
            self.running_var[k] = sigma * sigma - self.eps;
        }
    }

    /// Frozen: the population statistics in `cache`, as the backward reads them: the mean
    /// and shift `E[x]`, `delta = 0`, the variance `Var[x]` and `inv_std = 1/√(Var[x] + ε)`,
    /// and Batch Renormalization's `r = 1`, `d = 0`. (Every frozen training path fills the
    /// cache here, so that they all normalize with the same bits as eval.)
    pub(in crate::layers) fn fill_frozen_cache(&self, cache: &mut BatchNormCache<N, T>) {
        for k in 0..N::USIZE {
            let inv_std = T::ONE / (self.running_var[k] + self.eps).sqrt();
            (cache.mean[k], cache.var[k], cache.inv_std[k]) = (self.running_mean[k], self.running_var[k], inv_std);
            (cache.shift[k], cache.delta[k], cache.r[k], cache.d[k]) = (self.running_mean[k], T::ZERO, T::ONE, T::ZERO);
        }
    }

    /// Frozen: the eval path's affine map, `y = γ·(x − E[x])·(1/√(Var[x] + ε)) + β` (then the
    /// ReLU), with the population statistics recorded in `cache` for the backward.
    fn frozen_forward(&self, s: usize, x: &[T], y: &mut [T], cache: &mut BatchNormCache<N, T>, relu: bool) {
        self.fill_frozen_cache(cache);
        let n = N::USIZE;
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (xs, ys) in x.chunks_exact(n * s).zip(y.chunks_exact_mut(n * s)) {
                    for k in 0..n {
                        let (g, mu, is, b) = (self.gamma[k], cache.mean[k], cache.inv_std[k], self.beta[k]);
                        for (yv, &xv) in ys[k * s..(k + 1) * s].iter_mut().zip(&xs[k * s..(k + 1) * s]) {
                            let z = g * (xv - mu) * is + b;
                            *yv = if relu { ReLU::f(z) } else { z };
                        }
                    }
                }
            },
        )
    }

    /// The training backward of `B` samples of `N` channels of `S` values each.
    #[inline(always)]
    pub(super) fn train_backward<B: ArrayLength, S: ArrayLength>(
        &self,
        x: &[T],
        cache: &BatchNormCache<N, T>,
        dy: &[T],
        dx: &mut [T],
        grads: &mut BatchNormGrads<N, T>,
        path: Path,
    ) {
        if self.freeze != Freeze::No {
            self.frozen_backward(S::USIZE, x, cache, dy, dx, grads, path == Path::ChannelsRelu);
            return;
        }
        let (mut scaled, mut shifted) = (Vector::<N, T>::default(), Vector::<N, T>::default());
        let (gamma, beta) = if self.renorm {
            for k in 0..N::USIZE {
                scaled[k] = self.gamma[k] * cache.r[k];
                shifted[k] = self.gamma[k] * cache.d[k] + self.beta[k];
            }
            (&scaled, &shifted)
        } else {
            (&self.gamma, &self.beta)
        };
        let args = BnBackward {
            x,
            dy,
            gamma,
            inv_std: &cache.inv_std,
            shift: &cache.shift,
            delta: &cache.delta,
            dx,
            dgamma: &mut grads.gamma,
            dbeta: &mut grads.beta,
        };
        match path {
            Path::Features => kernels::bn_backward::<T, B, N>(args),
            Path::Channels => kernels::channels::bn_backward::<T, B, N, S>(args),
            // ReLU'(z) from z: 1 above 0, 0 at 0, below, and for NaN (as from its output).
            Path::ChannelsRelu => kernels::channels::bn_backward_then::<T, B, N, S>(args, beta, ReLU::df_from_output),
        }
        if self.renorm {
            // ∂ℓ/∂γ = Σ ∂ℓ/∂y·(x̂·r + d); the kernel summed ∂ℓ/∂y·x̂ and ∂ℓ/∂y.
            for k in 0..N::USIZE {
                grads.gamma[k] = cache.r[k] * grads.gamma[k] + cache.d[k] * grads.beta[k];
            }
        }
    }

    /// Frozen: through the fixed affine map, `∂ℓ/∂x = g·γ/√(Var[x] + ε)` with `g` the
    /// output's gradient (times the ReLU's derivative, recomputed from the input);
    /// `∂ℓ/∂γ = Σ g·x̂`, `∂ℓ/∂β = Σ g`.
    #[allow(clippy::too_many_arguments)]
    fn frozen_backward(
        &self,
        s: usize,
        x: &[T],
        cache: &BatchNormCache<N, T>,
        dy: &[T],
        dx: &mut [T],
        grads: &mut BatchNormGrads<N, T>,
        relu: bool,
    ) {
        let n = N::USIZE;
        kernels::zero(&mut grads.gamma);
        kernels::zero(&mut grads.beta);
        let chunks = x.chunks_exact(n * s).zip(dy.chunks_exact(n * s)).zip(dx.chunks_exact_mut(n * s));
        for ((xs, dys), dxs) in chunks {
            for k in 0..n {
                let (g, mu, is, b) = (self.gamma[k], cache.mean[k], cache.inv_std[k], self.beta[k]);
                let (mut sg, mut sgx) = (T::ZERO, T::ZERO);
                let range = k * s..(k + 1) * s;
                for ((&xv, &d), dxv) in xs[range.clone()].iter().zip(&dys[range.clone()]).zip(&mut dxs[range]) {
                    let d = if relu { d * ReLU::df_from_output(g * (xv - mu) * is + b) } else { d };
                    sg += d;
                    sgx += d * ((xv - mu) * is);
                    *dxv = d * g * is;
                }
                grads.gamma[k] += sgx;
                grads.beta[k] += sg;
            }
        }
    }
}

/// `v` clipped to `[lo, hi]` (NaN stays NaN).
fn clip<T: Float>(v: T, lo: T, hi: T) -> T {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}
