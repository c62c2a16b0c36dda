//! [`LayerNorm`]: Layer Normalization (Ba, Kiros & Hinton 2016, arXiv 1607.06450) over all
//! the values of one sample, with its exact backward. The same computation trains and
//! evaluates: there are no population statistics.

use core::fmt;

use generic_array::ArrayLength;

use super::centering::Centering;
use crate::float::Float;
use crate::kernels::{self, zero};
use crate::shape::{Batch, Vector};
use crate::train::{Optimizer, ParamKind, Parameters, StateMut};
use crate::zeroed::Zeroable;

/// Layer Normalization over the `N` values of one sample (PyTorch's `nn.LayerNorm(N)`; for an
/// image of `C × H × W` values stored flat, `nn.LayerNorm([C, H, W])`).
///
/// Per sample `x` of `N` values (Ba, Kiros & Hinton 2016, §3, eq. 4):
///
/// ```text
/// μ = (1/N) Σ x_k        σ² = (1/N) Σ (x_k − μ)²        (biased)
/// x̂ = (x − μ) / √(σ² + ε)        y = γ ⊙ x̂ + β        (γ, β: one per value)
/// ```
///
/// Backward, per sample, with `g = ∂ℓ/∂y ⊙ γ` and `σ = √(σ² + ε)`:
///
/// ```text
/// ∂ℓ/∂x = (1/σ) · (g − mean(g) − x̂ · mean(g ⊙ x̂))
/// ∂ℓ/∂γ = Σ_b ∂ℓ/∂y ⊙ x̂        ∂ℓ/∂β = Σ_b ∂ℓ/∂y
/// ```
///
/// The statistics are a sample's own, so training and inference compute the same thing and
/// any batch size works, 1 included. They are computed with a shifted two-pass algorithm (the
/// sample is shifted by its first value; never `E[x²] − E[x]²`), so a sample with a large
/// mean and a tiny spread normalizes correctly in `f32`.
///
/// With `AFFINE = false` (PyTorch's `elementwise_affine=False`) the output is `x̂`: `gamma`
/// and `beta` keep their storage (so the type's layout does not depend on it) but are
/// ignored, never trained, and not part of a `state_dict`.
///
/// The layer is `#[repr(C)]` and only scalars of `T` (`2N + 1` of them: γ, β, ε, without
/// padding), so it can be a field of a [`PlainData`](crate::PlainData) folded model.
///
/// ```
/// use bn_core::{LayerNorm, generic_array::arr, typenum::U4};
/// let ln = LayerNorm::<U4, f64>::new().with_eps(0.0);
/// let mut y = Default::default();
/// // μ = 2.5, σ² = 1.25: x̂ = (x − 2.5)/√1.25.
/// ln.forward_one(&arr![1.0, 2.0, 3.0, 4.0], &mut y);
/// let s = 1.25f64.sqrt();
/// for (y, want) in y.iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
///     assert!((y - want).abs() < 1e-15);
/// }
/// ```
#[repr(C)]
pub struct LayerNorm<N: ArrayLength, T: Float = f32, const AFFINE: bool = true> {
    /// Per-value scale γ (initialized to 1; ignored without `AFFINE`).
    pub gamma: Vector<N, T>,
    /// Per-value shift β (initialized to 0; ignored without `AFFINE`).
    pub beta: Vector<N, T>,
    /// ε added to the variance (default `1e-5`).
    pub eps: T,
}

/// What a training forward of a [`LayerNorm`] records for its backward: each sample's
/// statistics.
#[repr(C)]
pub struct LayerNormCache<B: ArrayLength, T: Float = f32> {
    /// The mean μ of each sample (rounded; the backward re-centers from the input, exactly
    /// as the forward did).
    pub mean: Vector<B, T>,
    /// `1/√(σ² + ε)` of each sample.
    pub inv_std: Vector<B, T>,
}

/// Gradients of a [`LayerNorm`]'s parameters (zero without `AFFINE`).
#[repr(C)]
pub struct LayerNormGrads<N: ArrayLength, T: Float = f32> {
    /// `∂ℓ/∂γ`.
    pub gamma: Vector<N, T>,
    /// `∂ℓ/∂β`.
    pub beta: Vector<N, T>,
}

impl<N: ArrayLength, T: Float, const AFFINE: bool> LayerNorm<N, T, AFFINE> {
    /// Number of values normalized together (one sample).
    pub const FEATURES: usize = N::USIZE;
    /// Number of trainable scalars: γ and β (`2N`) with `AFFINE`, else 0.
    pub const PARAMS: usize = if AFFINE { 2 * N::USIZE } else { 0 };
    /// The default ε, `1e-5` (PyTorch's).
    pub const DEFAULT_EPS: f64 = 1e-5;

    /// γ = 1, β = 0, ε = 1e-5 (on the stack).
    pub fn new() -> Self {
        let mut ln = Self::zeroed();
        ln.reset();
        ln
    }

    /// Sets ε.
    pub fn with_eps(mut self, eps: T) -> Self {
        self.eps = eps;
        self
    }

    /// Resets everything to the defaults of [`LayerNorm::new`], in place.
    pub fn reset(&mut self) {
        self.gamma.iter_mut().for_each(|g| *g = T::ONE);
        zero(&mut self.beta);
        self.eps = T::from_f64(Self::DEFAULT_EPS);
    }

    /// Normalizes one sample into `y`; returns its centering and `1/√(σ² + ε)`. The one
    /// computation of every forward.
    #[inline(always)]
    fn normalize(&self, x: &[T], y: &mut [T]) -> (Centering<T>, T) {
        const { assert!(N::USIZE > 0, "LayerNorm: a sample must have at least one value") };
        let c = Centering::of(x);
        let inv_std = c.inv_std(x, self.eps);
        if AFFINE {
            for (((y, &x), &g), &b) in y.iter_mut().zip(x).zip(self.gamma.iter()).zip(self.beta.iter()) {
                *y = g * (c.center(x) * inv_std) + b;
            }
        } else {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = c.center(x) * inv_std;
            }
        }
        (c, inv_std)
    }

    /// Training forward: normalizes every sample with its own statistics, writes `y`, and
    /// records each sample's mean and `1/√(σ² + ε)` in `cache` for
    /// [`backward`](Self::backward). Any batch size, 1 included; row `b` of `y` is bit for
    /// bit [`forward_one`](Self::forward_one) of row `b` of `x`.
    #[inline]
    pub fn forward_train<B: ArrayLength>(
        &self,
        x: &Batch<B, N, T>,
        y: &mut Batch<B, N, T>,
        cache: &mut LayerNormCache<B, T>,
    ) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (b, (xb, yb)) in x.iter().zip(y.iter_mut()).enumerate() {
                    let (c, inv_std) = self.normalize(xb, yb);
                    cache.mean[b] = c.mean();
                    cache.inv_std[b] = inv_std;
                }
            },
        )
    }

    /// Backward (the equations above): overwrites `grads` with `∂ℓ/∂γ` and `∂ℓ/∂β` (zero
    /// without `AFFINE`) and, when asked, writes `∂ℓ/∂x` into `dx` (`None` skips the input
    /// gradient). `x` and `cache` are those of the training forward; `x − μ` is recomputed
    /// from `x` exactly as the forward computed it.
    #[inline]
    pub fn backward<B: ArrayLength>(
        &self,
        x: &Batch<B, N, T>,
        cache: &LayerNormCache<B, T>,
        dy: &Batch<B, N, T>,
        dx: Option<&mut Batch<B, N, T>>,
        grads: &mut LayerNormGrads<N, T>,
    ) {
        zero(&mut grads.gamma);
        zero(&mut grads.beta);
        if !AFFINE && dx.is_none() {
            return;
        }
        let mut dx = dx;
        let n = T::from_usize(N::USIZE);
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (b, (xb, dyb)) in x.iter().zip(dy.iter()).enumerate() {
                    let c = Centering::of(xb);
                    let inv_std = cache.inv_std[b];
                    // g = dy ⊙ γ; Σg, Σg⊙x̂, and the parameter gradients.
                    let (mut sg, mut sgx) = (T::ZERO, T::ZERO);
                    for k in 0..N::USIZE {
                        let xh = c.center(xb[k]) * inv_std;
                        let d = dyb[k];
                        let g = if AFFINE { d * self.gamma[k] } else { d };
                        sg += g;
                        sgx += g * xh;
                        if AFFINE {
                            grads.gamma[k] += d * xh;
                            grads.beta[k] += d;
                        }
                    }
                    if let Some(dx) = dx.as_deref_mut() {
                        let (mg, mgx) = (sg / n, sgx / n);
                        for (k, dxv) in dx[b].iter_mut().enumerate() {
                            let xh = c.center(xb[k]) * inv_std;
                            let g = if AFFINE { dyb[k] * self.gamma[k] } else { dyb[k] };
                            *dxv = inv_std * (g - mg - xh * mgx);
                        }
                    }
                }
            },
        )
    }

    /// Eval forward for one sample: the training computation, without the cache (bit for bit
    /// one row of [`forward_train`](Self::forward_train)).
    #[inline]
    pub fn forward_one(&self, x: &Vector<N, T>, y: &mut Vector<N, T>) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                self.normalize(x, y);
            },
        )
    }

    /// Eval forward for a batch (any batch size, 1 included): [`forward_one`](Self::forward_one)
    /// for every sample.
    #[inline]
    pub fn forward<B: ArrayLength>(&self, x: &Batch<B, N, T>, y: &mut Batch<B, N, T>) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (xb, yb) in x.iter().zip(y.iter_mut()) {
                    self.normalize(xb, yb);
                }
            },
        )
    }
}

impl<N: ArrayLength, T: Float, const AFFINE: bool> Parameters<T> for LayerNorm<N, T, AFFINE> {
    type Grads = LayerNormGrads<N, T>;

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

// SAFETY: `#[repr(C)]`, two arrays of floats and a float: all-zero is valid.
unsafe impl<N: ArrayLength, T: Float, const AFFINE: bool> Zeroable for LayerNorm<N, T, AFFINE> {}
// SAFETY: `#[repr(C)]`, two arrays of floats.
unsafe impl<B: ArrayLength, T: Float> Zeroable for LayerNormCache<B, T> {}
// SAFETY: `#[repr(C)]`, two arrays of floats.
unsafe impl<N: ArrayLength, T: Float> Zeroable for LayerNormGrads<N, T> {}

impl<N: ArrayLength, T: Float, const AFFINE: bool> Default for LayerNorm<N, T, AFFINE> {
    /// [`LayerNorm::new`].
    fn default() -> Self {
        Self::new()
    }
}
impl<B: ArrayLength, T: Float> Default for LayerNormCache<B, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}
impl<N: ArrayLength, T: Float> Default for LayerNormGrads<N, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<N: ArrayLength, T: Float, const AFFINE: bool> Clone for LayerNorm<N, T, AFFINE> {
    fn clone(&self) -> Self {
        LayerNorm { gamma: self.gamma.clone(), beta: self.beta.clone(), eps: self.eps }
    }
}
impl<N: ArrayLength, T: Float, const AFFINE: bool> Copy for LayerNorm<N, T, AFFINE> where Vector<N, T>: Copy {}
impl<B: ArrayLength, T: Float> Clone for LayerNormCache<B, T> {
    fn clone(&self) -> Self {
        LayerNormCache { mean: self.mean.clone(), inv_std: self.inv_std.clone() }
    }
}
impl<N: ArrayLength, T: Float> Clone for LayerNormGrads<N, T> {
    fn clone(&self) -> Self {
        LayerNormGrads { gamma: self.gamma.clone(), beta: self.beta.clone() }
    }
}

impl<N: ArrayLength, T: Float, const AFFINE: bool> PartialEq for LayerNorm<N, T, AFFINE> {
    fn eq(&self, o: &Self) -> bool {
        self.gamma == o.gamma && self.beta == o.beta && self.eps == o.eps
    }
}

impl<N: ArrayLength, T: Float, const AFFINE: bool> fmt::Debug for LayerNorm<N, T, AFFINE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerNorm")
            .field("gamma", &self.gamma.as_slice())
            .field("beta", &self.beta.as_slice())
            .field("eps", &self.eps)
            .field("affine", &AFFINE)
            .finish()
    }
}

impl<B: ArrayLength, T: Float> fmt::Debug for LayerNormCache<B, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerNormCache")
            .field("mean", &self.mean.as_slice())
            .field("inv_std", &self.inv_std.as_slice())
            .finish()
    }
}

impl<N: ArrayLength, T: Float> fmt::Debug for LayerNormGrads<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerNormGrads")
            .field("gamma", &self.gamma.as_slice())
            .field("beta", &self.beta.as_slice())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::PlainData;
    use crate::layers::testing::{check_gradient, random_batch};
    use crate::rng::{Init, Rng};
    use crate::shape::{flat, flat_mut};
    use alloc::vec::Vec;
    use generic_array::arr;
    use typenum::{U1, U3, U4, U6, U7};

    #[test]
    fn by_hand() {
        // x = [1, 2, 3, 4]: μ = 2.5, σ² = 1.25.
        let mut ln = LayerNorm::<U4, f64>::new();
        ln.gamma = arr![1.0, 2.0, -1.0, 0.5];
        ln.beta = arr![0.0, 1.0, 0.0, -1.0];
        let x: Batch<U1, U4, f64> = arr![arr![1.0, 2.0, 3.0, 4.0]];
        let (mut y, mut cache) = (Batch::default(), LayerNormCache::default());
        ln.forward_train(&x, &mut y, &mut cache);
        let inv_std = 1.0 / (1.25f64 + 1e-5).sqrt();
        assert_eq!(cache.mean[0], 2.5);
        assert_eq!(cache.inv_std[0], inv_std);
        let want = [-1.5 * inv_std, 2.0 * (-0.5 * inv_std) + 1.0, -(0.5 * inv_std), 0.5 * (1.5 * inv_std) - 1.0];
        assert_eq!(y[0].as_slice(), &want);
        // Without AFFINE, γ and β are ignored.
        let raw = LayerNorm::<U4, f64, false> { gamma: ln.gamma, beta: ln.beta, eps: 1e-5 };
        let mut y1 = Vector::default();
        raw.forward_one(&x[0], &mut y1);
        assert_eq!(y1, arr![-1.5 * inv_std, -0.5 * inv_std, 0.5 * inv_std, 1.5 * inv_std]);
        assert_eq!((LayerNorm::<U4>::PARAMS, LayerNorm::<U4, f32, false>::PARAMS), (8, 0));
    }

    #[test]
    fn a_batch_of_one_and_the_one_sample_forward_agree_bit_for_bit() {
        let mut rng = Rng::seed(11);
        let mut ln = LayerNorm::<U7, f32>::new();
        Init::Gaussian { std: 1.0 }.fill(&mut ln.gamma, 1, 1, &mut rng);
        Init::Gaussian { std: 1.0 }.fill(&mut ln.beta, 1, 1, &mut rng);
        let mut x = Batch::<U6, U7, f32>::default();
        Init::Gaussian { std: 3.0 }.fill(flat_mut(&mut x), 1, 1, &mut rng);
        let (mut y, mut y_eval, mut cache) = (Batch::default(), Batch::default(), LayerNormCache::default());
        ln.forward_train(&x, &mut y, &mut cache);
        ln.forward(&x, &mut y_eval);
        for b in 0..6 {
            let mut one = Vector::default();
            ln.forward_one(&x[b], &mut one);
            let bits = |v: &Vector<U7, f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&y[b]), "sample {b}");
            assert_eq!(bits(&one), bits(&y_eval[b]), "sample {b}");
            // A batch of 1, trained and evaluated.
            let x1: Batch<U1, U7, f32> = arr![x[b]];
            let (mut y1, mut c1, mut e1) = (Batch::default(), LayerNormCache::default(), Batch::default());
            ln.forward_train(&x1, &mut y1, &mut c1);
            ln.forward(&x1, &mut e1);
            assert_eq!(bits(&y1[0]), bits(&one));
            assert_eq!(bits(&e1[0]), bits(&one));
            assert_eq!((c1.mean[0], c1.inv_std[0]), (cache.mean[b], cache.inv_std[b]));
        }
        // With γ = 1 and β = 0, every output sample has mean 0 and variance 1 (up to ε).
        let plain = LayerNorm::<U7, f32>::new();
        plain.forward(&x, &mut y);
        for row in y.iter() {
            let mean: f32 = row.iter().sum::<f32>() / 7.0;
            let var: f32 = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 7.0;
            assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4, "mean {mean}, var {var}");
        }
    }

    fn random_layer<const AFFINE: bool>(rng: &mut Rng) -> LayerNorm<U4, f64, AFFINE> {
        let mut ln = LayerNorm::<U4, f64, AFFINE>::new();
        if AFFINE {
            Init::Gaussian { std: 1.0 }.fill(&mut ln.gamma, 1, 1, rng);
            Init::Gaussian { std: 1.0 }.fill(&mut ln.beta, 1, 1, rng);
        }
        ln
    }

    fn check<const AFFINE: bool, B: ArrayLength>(seed: u64) {
        let mut rng = Rng::seed(seed);
        let ln = random_layer::<AFFINE>(&mut rng);
        let mut x: Batch<B, U4, f64> = random_batch(&mut rng);
        // A different offset and scale per sample.
        for (b, row) in x.iter_mut().enumerate() {
            row.iter_mut().for_each(|v| *v = *v * (0.5 + b as f64) + 3.0 * b as f64 - 2.0);
        }
        check_gradient(
            &x,
            &ln,
            LayerNorm::<U4, f64, AFFINE>::PARAMS,
            |l, k| if k < 4 { &mut l.gamma[k] } else { &mut l.beta[k - 4] },
            |l, x| {
                let mut y = Batch::<B, U4, f64>::default();
                l.forward_train(x, &mut y, &mut LayerNormCache::default());
                y
            },
            |l, x, dy| {
                let (mut y, mut cache) = (Batch::default(), LayerNormCache::default());
                l.forward_train(x, &mut y, &mut cache);
                let (mut dx, mut g) = (Batch::default(), LayerNormGrads::default());
                l.backward(x, &cache, dy, Some(&mut dx), &mut g);
                // Without the input gradient, the same parameter gradients.
                let mut g2 = LayerNormGrads::default();
                l.backward(x, &cache, dy, None, &mut g2);
                assert_eq!((g2.gamma, g2.beta), (g.gamma, g.beta));
                if AFFINE {
                    (dx, [&g.gamma[..], &g.beta[..]].concat())
                } else {
                    assert!(g.gamma.iter().chain(g.beta.iter()).all(|&v| v == 0.0));
                    (dx, Vec::new())
                }
            },
        );
    }

    #[test]
    fn gradients_match_finite_differences() {
        check::<true, U3>(5);
        check::<false, U3>(6);
        check::<true, U1>(7);
        check::<false, U1>(8);
    }

    #[test]
    fn f32_agrees_with_f64_and_a_large_mean_normalizes() {
        let mut rng = Rng::seed(9);
        let mut x64 = Batch::<U3, U7, f64>::default();
        Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x64), 1, 1, &mut rng);
        // Sample 2: mean 1e4, spread 1e-2 (a naive E[x²] − E[x]² in f32 gives garbage).
        for v in x64[2].iter_mut() {
            *v = 1e4 + 1e-2 * *v;
        }
        let mut x32 = Batch::<U3, U7, f32>::default();
        for (a, &b) in flat_mut(&mut x32).iter_mut().zip(flat(&x64)) {
            *a = b as f32;
        }
        // The reference: f64 on the same (f32-rounded) inputs, ε = 0 so that the tiny
        // spread is not swamped.
        let mut x_ref = Batch::<U3, U7, f64>::default();
        for (a, &b) in flat_mut(&mut x_ref).iter_mut().zip(flat(&x32)) {
            *a = f64::from(b);
        }
        let (l32, l64) = (LayerNorm::<U7, f32>::new().with_eps(0.0), LayerNorm::<U7, f64>::new().with_eps(0.0));
        let (mut y32, mut y64) = (Batch::default(), Batch::default());
        l32.forward(&x32, &mut y32);
        l64.forward(&x_ref, &mut y64);
        for (b, (r32, r64)) in y32.iter().zip(y64.iter()).enumerate() {
            for (&a, &e) in r32.iter().zip(r64.iter()) {
                assert!((f64::from(a) - e).abs() < 1e-5, "sample {b}: f32 {a} vs f64 {e}");
            }
        }
        // Gradients agree too.
        let mut dy64: Batch<U3, U7, f64> = random_batch(&mut rng);
        let mut dy32 = Batch::<U3, U7, f32>::default();
        for (a, b) in flat_mut(&mut dy32).iter_mut().zip(flat_mut(&mut dy64)) {
            *a = *b as f32;
            *b = f64::from(*a);
        }
        let (mut c32, mut c64) = (LayerNormCache::default(), LayerNormCache::default());
        l32.forward_train(&x32, &mut y32, &mut c32);
        l64.forward_train(&x_ref, &mut y64, &mut c64);
        let (mut dx32, mut dx64) = (Batch::default(), Batch::default());
        let (mut g32, mut g64) = (LayerNormGrads::default(), LayerNormGrads::default());
        l32.backward(&x32, &c32, &dy32, Some(&mut dx32), &mut g32);
        l64.backward(&x_ref, &c64, &dy64, Some(&mut dx64), &mut g64);
        for (b, (r32, r64)) in dx32.iter().zip(dx64.iter()).enumerate() {
            // The input gradient scales with 1/σ (100 for sample 2).
            let scale = f64::from(c32.inv_std[b]);
            for (&a, &e) in r32.iter().zip(r64.iter()) {
                assert!((f64::from(a) - e).abs() < 1e-5 * scale, "dx of sample {b}: f32 {a} vs f64 {e}");
            }
        }
        for (&a, &e) in g32.gamma.iter().zip(g64.gamma.iter()) {
            assert!((f64::from(a) - e).abs() < 1e-5, "dγ: f32 {a} vs f64 {e}");
        }
    }

    #[test]
    fn trains_gamma_and_beta_only_when_affine() {
        let g = LayerNormGrads::<U4, f64> { gamma: arr![1.0, 2.0, 3.0, 4.0], beta: arr![-1.0, 0.0, 1.0, 2.0] };
        let sgd = crate::Sgd::new(0.5);
        let mut ln = LayerNorm::<U4, f64>::new();
        ln.step(&g, (&mut crate::OptimizerState::default()).into(), &sgd);
        assert_eq!((ln.gamma, ln.beta), (arr![0.5, 0.0, -0.5, -1.0], arr![0.5, 0.0, -0.5, -1.0]));
        let mut raw = LayerNorm::<U4, f64, false>::new();
        raw.step(&g, (&mut crate::OptimizerState::default()).into(), &sgd);
        assert_eq!(raw, LayerNorm::new());
        ln.reset();
        assert_eq!(ln, LayerNorm::new().with_eps(1e-5));
    }

    /// A folded model may hold a LayerNorm: `#[repr(C)]` scalars, `Copy`, `Zeroable`.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Folded<T: crate::Float> {
        d: crate::Dense<U3, U4, T, true>,
        ln: LayerNorm<U4, T>,
        raw: LayerNorm<U3, T, false>,
    }
    // SAFETY: `#[repr(C)]` of `#[repr(C)]` layers made of `T`s: all-zero is valid.
    unsafe impl<T: crate::Float> Zeroable for Folded<T> {}
    // SAFETY: `#[repr(C)]` over 12 + 4 + (4 + 4 + 1) + (3 + 3 + 1) scalars without padding
    // (asserted by every method).
    unsafe impl<T: crate::PlainScalar> PlainData for Folded<T> {
        type Scalar = T;
        const LEN: usize = 32;
    }

    #[test]
    fn is_plain_data_inside_a_folded_model() {
        assert_eq!(core::mem::size_of::<LayerNorm<U4, f32>>(), 9 * 4);
        assert_eq!(core::mem::size_of::<LayerNorm<U3, f64, false>>(), 7 * 8);
        let mut m = Folded::<f32>::zeroed();
        m.ln = LayerNorm::new().with_eps(1e-3);
        m.ln.gamma[2] = -2.0;
        m.raw = LayerNorm::new();
        let bytes = m.to_bytes();
        assert_eq!(bytes.len(), 32 * 4);
        // γ of `ln` starts after the dense layer's 16 scalars; its ε is scalar 24.
        assert_eq!(&bytes[18 * 4..19 * 4], &(-2.0f32).to_le_bytes());
        assert_eq!(&bytes[24 * 4..25 * 4], &1e-3f32.to_le_bytes());
        assert_eq!(Folded::<f32>::from_bytes(&bytes), Ok(m));
    }
}
