//! [`GroupNorm`]: Group Normalization (Wu & He 2018, arXiv 1803.08494) over groups of
//! channels of one image, with its exact backward. The same computation trains and
//! evaluates: there are no population statistics.

use core::fmt;
use core::marker::PhantomData;

use generic_array::ArrayLength;

use super::centering::Centering;
use crate::float::Float;
use crate::kernels::{self, zero};
use crate::shape::{Batch, Vector};
use crate::train::{Optimizer, ParamKind, Parameters, StateMut};
use crate::zeroed::Zeroable;

/// Group Normalization over the `C` channels of an image split into `G` groups (PyTorch's
/// `nn.GroupNorm(G, C, eps, affine)`), the standard remedy for Batch Normalization's
/// small-batch weakness in CNNs.
///
/// An image has `C` channels of `S = H·W` pixels, stored flat in C, H, W order (`X = C·S`
/// values a sample). A group is `C/G` consecutive channels, a contiguous run of `(C/G)·S`
/// values. Per sample and group (Wu & He 2018, §3.1, eqs. 1–3):
///
/// ```text
/// μ = mean of the group's values        σ² = mean of (x − μ)² over them        (biased)
/// x̂ = (x − μ) / √(σ² + ε)        y = γ_c · x̂ + β_c        (γ, β: one per channel c)
/// ```
///
/// Backward, per sample and group, with `g = ∂ℓ/∂y · γ_c` and `σ = √(σ² + ε)`, means over
/// the group:
///
/// ```text
/// ∂ℓ/∂x = (1/σ) · (g − mean(g) − x̂ · mean(g · x̂))
/// ∂ℓ/∂γ_c = Σ_b Σ_pixels ∂ℓ/∂y · x̂        ∂ℓ/∂β_c = Σ_b Σ_pixels ∂ℓ/∂y
/// ```
///
/// `G = 1` is [`LayerNorm`](crate::LayerNorm) over `[C, H, W]` with γ and β shared by each
/// channel's pixels; `G = C` is instance normalization. The statistics are a sample's own, so
/// training and inference compute the same thing and any batch size works, 1 included. They
/// are computed with LayerNorm's shifted two-pass algorithm (never `E[x²] − E[x]²`), so a
/// group with a large mean and a tiny spread normalizes correctly in `f32`.
///
/// The pixels per channel `S` and the sample size `X` are type parameters of the methods;
/// `X = C·S`, `G ≥ 1` and `G` dividing `C` are checked at compile time.
///
/// With `AFFINE = false` (PyTorch's `affine=False`) the output is `x̂`: `gamma` and `beta`
/// keep their storage (so the type's layout does not depend on it) but are ignored, never
/// trained, and not part of a `state_dict`.
///
/// The layer is `#[repr(C)]` and only scalars of `T` (`2C + 1` of them: γ, β, ε, without
/// padding), so it can be a field of a [`PlainData`](crate::PlainData) folded model.
///
/// ```
/// use bn_core::{GroupNorm, generic_array::arr, typenum::{U2, U4}};
/// // 2 channels of 2 pixels, 2 groups (one channel each), ε = 0.
/// let gn = GroupNorm::<U2, U2, f64>::new().with_eps(0.0);
/// let mut y = Default::default();
/// // Group 0: [1, 3], μ = 2, σ² = 1. Group 1: [10, 14], μ = 12, σ² = 4.
/// gn.forward_one::<U2, U4>(&arr![1.0, 3.0, 10.0, 14.0], &mut y);
/// assert_eq!(y, arr![-1.0, 1.0, -1.0, 1.0]);
/// ```
///
/// A number of groups that does not divide the channels is a compile-time error ("GroupNorm:
/// the number of groups G must divide the channels C"):
///
/// ```compile_fail,E0080
/// use bn_core::{GroupNorm, typenum::{U1, U3, U4}};
/// let gn = GroupNorm::<U4, U3>::new();
/// gn.forward_one::<U1, U4>(&Default::default(), &mut Default::default());
/// ```
#[repr(C)]
pub struct GroupNorm<C: ArrayLength, G: ArrayLength, T: Float = f32, const AFFINE: bool = true> {
    /// Per-channel scale γ (initialized to 1; ignored without `AFFINE`).
    pub gamma: Vector<C, T>,
    /// Per-channel shift β (initialized to 0; ignored without `AFFINE`).
    pub beta: Vector<C, T>,
    /// ε added to the variance (default `1e-5`).
    pub eps: T,
    groups: PhantomData<G>,
}

/// What a training forward of a [`GroupNorm`] records for its backward: each sample's
/// statistics, per group.
#[repr(C)]
pub struct GroupNormCache<B: ArrayLength, G: ArrayLength, T: Float = f32> {
    /// The mean μ of each sample's groups (rounded; the backward re-centers from the input,
    /// exactly as the forward did).
    pub mean: Batch<B, G, T>,
    /// `1/√(σ² + ε)` of each sample's groups.
    pub inv_std: Batch<B, G, T>,
}

/// Gradients of a [`GroupNorm`]'s parameters (zero without `AFFINE`).
#[repr(C)]
pub struct GroupNormGrads<C: ArrayLength, T: Float = f32> {
    /// `∂ℓ/∂γ`.
    pub gamma: Vector<C, T>,
    /// `∂ℓ/∂β`.
    pub beta: Vector<C, T>,
}

impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> GroupNorm<C, G, T, AFFINE> {
    /// Number of channels `C`.
    pub const CHANNELS: usize = C::USIZE;
    /// Number of groups `G`.
    pub const GROUPS: usize = G::USIZE;
    /// Number of trainable scalars: γ and β (`2C`) with `AFFINE`, else 0.
    pub const PARAMS: usize = if AFFINE { 2 * C::USIZE } else { 0 };
    /// The default ε, `1e-5` (PyTorch's).
    pub const DEFAULT_EPS: f64 = 1e-5;

    /// γ = 1, β = 0, ε = 1e-5 (on the stack).
    pub fn new() -> Self {
        let mut gn = Self::zeroed();
        gn.reset();
        gn
    }

    /// Sets ε.
    pub fn with_eps(mut self, eps: T) -> Self {
        self.eps = eps;
        self
    }

    /// Resets everything to the defaults of [`GroupNorm::new`], in place.
    pub fn reset(&mut self) {
        self.gamma.iter_mut().for_each(|g| *g = T::ONE);
        zero(&mut self.beta);
        self.eps = T::from_f64(Self::DEFAULT_EPS);
    }

    /// The number of values of a group, `(C/G)·S`, after the compile-time checks of the
    /// shapes.
    #[inline(always)]
    fn group_len<S: ArrayLength, X: ArrayLength>() -> usize {
        const {
            assert!(G::USIZE > 0, "GroupNorm: the number of groups G must be at least 1");
            assert!(C::USIZE > 0, "GroupNorm: an image must have at least one channel");
            assert!(C::USIZE % G::USIZE == 0, "GroupNorm: the number of groups G must divide the channels C");
            assert!(S::USIZE > 0, "GroupNorm: a channel must have at least one pixel (S > 0)");
            assert!(X::USIZE == C::USIZE * S::USIZE, "GroupNorm: a sample must be X = C·S values");
        };
        C::USIZE / G::USIZE * S::USIZE
    }

    /// Normalizes one sample `x` (`C·S` values) into `y`, group by group, and hands each
    /// group's index, mean and `1/√(σ² + ε)` to `stats`. The one computation of every
    /// forward.
    #[inline(always)]
    fn normalize<S: ArrayLength, X: ArrayLength>(&self, x: &[T], y: &mut [T], mut stats: impl FnMut(usize, T, T)) {
        let len = Self::group_len::<S, X>();
        let per_group = C::USIZE / G::USIZE;
        let groups = x.chunks_exact(len).zip(y.chunks_exact_mut(len));
        for (g, (xg, yg)) in groups.enumerate() {
            let c = Centering::of(xg);
            let inv_std = c.inv_std(xg, self.eps);
            if AFFINE {
                let channels = xg.chunks_exact(S::USIZE).zip(yg.chunks_exact_mut(S::USIZE));
                let params = self.gamma[g * per_group..].iter().zip(&self.beta[g * per_group..]);
                for ((xc, yc), (&gamma, &beta)) in channels.zip(params) {
                    for (y, &x) in yc.iter_mut().zip(xc) {
                        *y = gamma * (c.center(x) * inv_std) + beta;
                    }
                }
            } else {
                for (y, &x) in yg.iter_mut().zip(xg) {
                    *y = c.center(x) * inv_std;
                }
            }
            stats(g, c.mean(), inv_std);
        }
    }

    /// Training forward: normalizes every sample's groups with their own statistics, writes
    /// `y`, and records each group's mean and `1/√(σ² + ε)` in `cache` for
    /// [`backward`](Self::backward). Any batch size, 1 included; row `b` of `y` is bit for
    /// bit [`forward_one`](Self::forward_one) of row `b` of `x`.
    #[inline]
    pub fn forward_train<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
        cache: &mut GroupNormCache<B, G, T>,
    ) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                let rows = x.iter().zip(y.iter_mut()).zip(cache.mean.iter_mut().zip(cache.inv_std.iter_mut()));
                for ((xb, yb), (mean, inv_std)) in rows {
                    self.normalize::<S, X>(xb, yb, |g, m, s| {
                        mean[g] = m;
                        inv_std[g] = s;
                    });
                }
            },
        )
    }

    /// Backward (the equations above): overwrites `grads` with `∂ℓ/∂γ` and `∂ℓ/∂β` (zero
    /// without `AFFINE`) and, when asked, writes `∂ℓ/∂x` into `dx` (`None` skips the input
    /// gradient). `x` and `cache` are those of the training forward; `x − μ` is recomputed
    /// from `x` exactly as the forward computed it.
    #[inline]
    pub fn backward<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        cache: &GroupNormCache<B, G, T>,
        dy: &Batch<B, X, T>,
        dx: Option<&mut Batch<B, X, T>>,
        grads: &mut GroupNormGrads<C, T>,
    ) {
        zero(&mut grads.gamma);
        zero(&mut grads.beta);
        if !AFFINE && dx.is_none() {
            return;
        }
        let len = Self::group_len::<S, X>();
        let (s, per_group, n) = (S::USIZE, C::USIZE / G::USIZE, T::from_usize(len));
        let mut dx = dx;
        // γ_c, or 1 without AFFINE.
        let gamma = |ch: usize| if AFFINE { self.gamma[ch] } else { T::ONE };
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (b, (xb, dyb)) in x.iter().zip(dy.iter()).enumerate() {
                    for g in 0..G::USIZE {
                        let at = g * len..(g + 1) * len;
                        let (xg, dyg) = (&xb[at.clone()], &dyb[at.clone()]);
                        let c = Centering::of(xg);
                        let inv_std = cache.inv_std[b][g];
                        // g = dy · γ_c; Σg, Σg·x̂ over the group, and the parameter gradients.
                        let (mut sg, mut sgx) = (T::ZERO, T::ZERO);
                        for (k, (xc, dyc)) in xg.chunks_exact(s).zip(dyg.chunks_exact(s)).enumerate() {
                            let ch = g * per_group + k;
                            let (gm, mut sdx, mut sd) = (gamma(ch), T::ZERO, T::ZERO);
                            for (&x, &d) in xc.iter().zip(dyc) {
                                let xh = c.center(x) * inv_std;
                                let gd = if AFFINE { d * gm } else { d };
                                sg += gd;
                                sgx += gd * xh;
                                sdx += d * xh;
                                sd += d;
                            }
                            if AFFINE {
                                grads.gamma[ch] += sdx;
                                grads.beta[ch] += sd;
                            }
                        }
                        if let Some(dx) = dx.as_deref_mut() {
                            let (mg, mgx) = (sg / n, sgx / n);
                            let dxg = &mut dx[b][at];
                            let channels = xg.chunks_exact(s).zip(dyg.chunks_exact(s)).zip(dxg.chunks_exact_mut(s));
                            for (k, ((xc, dyc), dxc)) in channels.enumerate() {
                                let gm = gamma(g * per_group + k);
                                for ((&x, &d), dxv) in xc.iter().zip(dyc).zip(dxc) {
                                    let xh = c.center(x) * inv_std;
                                    let gd = if AFFINE { d * gm } else { d };
                                    *dxv = inv_std * (gd - mg - xh * mgx);
                                }
                            }
                        }
                    }
                }
            },
        )
    }

    /// Eval forward for one sample: the training computation, without the cache (bit for bit
    /// one row of [`forward_train`](Self::forward_train)).
    #[inline]
    pub fn forward_one<S: ArrayLength, X: ArrayLength>(&self, x: &Vector<X, T>, y: &mut Vector<X, T>) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || self.normalize::<S, X>(x, y, |_, _, _| {}),
        )
    }

    /// Eval forward for a batch (any batch size, 1 included): [`forward_one`](Self::forward_one)
    /// for every sample.
    #[inline]
    pub fn forward<S: ArrayLength, B: ArrayLength, X: ArrayLength>(&self, x: &Batch<B, X, T>, y: &mut Batch<B, X, T>) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (xb, yb) in x.iter().zip(y.iter_mut()) {
                    self.normalize::<S, X>(xb, yb, |_, _, _| {});
                }
            },
        )
    }
}

impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> Parameters<T> for GroupNorm<C, G, T, AFFINE> {
    type Grads = GroupNormGrads<C, T>;

    /// Hands γ and β to `opt` with `AFFINE`; without it there is nothing to train.
    fn step<O: Optimizer<T>>(&mut self, grads: &Self::Grads, mut state: StateMut<'_, Self::Grads>, opt: &O) {
        if AFFINE {
            opt.update(&mut self.gamma, &grads.gamma, state.slots(|g| &mut g.gamma[..]), ParamKind::Norm);
            opt.update(&mut self.beta, &grads.beta, state.slots(|g| &mut g.beta[..]), ParamKind::Norm);
        }
    }

    /// γ, then β, when [`step`](Parameters::step) updates them.
    fn visit_grads<F: FnMut(&mut [T], ParamKind)>(&self, tensors: &mut Self::Grads, visit: &mut F) {
        if AFFINE {
            visit(&mut tensors.gamma, ParamKind::Norm);
            visit(&mut tensors.beta, ParamKind::Norm);
        }
    }
}

// SAFETY: `#[repr(C)]`, two arrays of floats, a float and a zero-sized marker: all-zero is
// valid.
unsafe impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> Zeroable for GroupNorm<C, G, T, AFFINE> {}
// SAFETY: `#[repr(C)]`, two arrays of arrays of floats.
unsafe impl<B: ArrayLength, G: ArrayLength, T: Float> Zeroable for GroupNormCache<B, G, T> {}
// SAFETY: `#[repr(C)]`, two arrays of floats.
unsafe impl<C: ArrayLength, T: Float> Zeroable for GroupNormGrads<C, T> {}

impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> Default for GroupNorm<C, G, T, AFFINE> {
    /// [`GroupNorm::new`].
    fn default() -> Self {
        Self::new()
    }
}
impl<B: ArrayLength, G: ArrayLength, T: Float> Default for GroupNormCache<B, G, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}
impl<C: ArrayLength, T: Float> Default for GroupNormGrads<C, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> Clone for GroupNorm<C, G, T, AFFINE> {
    fn clone(&self) -> Self {
        GroupNorm { gamma: self.gamma.clone(), beta: self.beta.clone(), eps: self.eps, groups: PhantomData }
    }
}
impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> Copy for GroupNorm<C, G, T, AFFINE> where
    Vector<C, T>: Copy
{
}
impl<B: ArrayLength, G: ArrayLength, T: Float> Clone for GroupNormCache<B, G, T> {
    fn clone(&self) -> Self {
        GroupNormCache { mean: self.mean.clone(), inv_std: self.inv_std.clone() }
    }
}
impl<B: ArrayLength, G: ArrayLength, T: Float> Copy for GroupNormCache<B, G, T> where Batch<B, G, T>: Copy {}
impl<C: ArrayLength, T: Float> Clone for GroupNormGrads<C, T> {
    fn clone(&self) -> Self {
        GroupNormGrads { gamma: self.gamma.clone(), beta: self.beta.clone() }
    }
}
impl<C: ArrayLength, T: Float> Copy for GroupNormGrads<C, T> where Vector<C, T>: Copy {}

impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> PartialEq for GroupNorm<C, G, T, AFFINE> {
    fn eq(&self, o: &Self) -> bool {
        self.gamma == o.gamma && self.beta == o.beta && self.eps == o.eps
    }
}
impl<B: ArrayLength, G: ArrayLength, T: Float> PartialEq for GroupNormCache<B, G, T> {
    fn eq(&self, o: &Self) -> bool {
        self.mean == o.mean && self.inv_std == o.inv_std
    }
}
impl<C: ArrayLength, T: Float> PartialEq for GroupNormGrads<C, T> {
    fn eq(&self, o: &Self) -> bool {
        self.gamma == o.gamma && self.beta == o.beta
    }
}

impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> fmt::Debug for GroupNorm<C, G, T, AFFINE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupNorm")
            .field("gamma", &self.gamma.as_slice())
            .field("beta", &self.beta.as_slice())
            .field("eps", &self.eps)
            .field("groups", &G::USIZE)
            .field("affine", &AFFINE)
            .finish()
    }
}

impl<B: ArrayLength, G: ArrayLength, T: Float> fmt::Debug for GroupNormCache<B, G, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupNormCache")
            .field("mean", &self.mean.as_slice())
            .field("inv_std", &self.inv_std.as_slice())
            .finish()
    }
}

impl<C: ArrayLength, T: Float> fmt::Debug for GroupNormGrads<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupNormGrads")
            .field("gamma", &self.gamma.as_slice())
            .field("beta", &self.beta.as_slice())
            .finish()
    }
}

#[cfg(test)]
mod tests;
