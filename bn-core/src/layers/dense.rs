//! [`Dense`]: the fully connected layer `y = W·x + b`, and its folding with an affine map.

use core::fmt;

use generic_array::ArrayLength;

use typenum::U1;

use super::affine::Affine;
use crate::float::Float;
use crate::kernels::{self, dot, zero};
use crate::rng::{Init, Rng};
use crate::shape::{flat, flat_mut, Batch, Matrix, Vector};
use crate::train::{Optimizer, ParamKind, Parameters, StateMut};
use crate::zeroed::Zeroable;

/// A fully connected layer from `I` to `O` features: `y = W·x + b`.
///
/// `weight` is `[O][I]` (PyTorch's `nn.Linear` layout). With `BIAS = false` the layer
/// computes `y = W·x` and `bias` stays zero: a dense layer right before Batch
/// Normalization needs no bias, since BN subtracts the batch mean and β takes its role
/// (Ioffe & Szegedy 2015, §3.2).
///
/// Backward, for a batch `X` (`B × I`) and upstream gradient `dY` (`B × O`):
/// `dW = dYᵀ·X`, `db = Σ_b dY[b]`, `dX = dY·W`.
///
/// ```
/// use bn_core::{Dense, typenum::{U2, U3}, generic_array::arr};
/// let mut d = Dense::<U3, U2>::default();
/// d.weight = arr![arr![1.0, 2.0, 3.0], arr![0.0, -1.0, 0.5]];
/// d.bias = arr![0.5, 0.0];
/// let mut y = Default::default();
/// d.forward_one(&arr![1.0, 1.0, 2.0], &mut y);
/// assert_eq!(y, arr![9.5, 0.0]);
/// ```
#[repr(C)]
pub struct Dense<I: ArrayLength, O: ArrayLength, T: Float = f32, const BIAS: bool = true> {
    /// The weight matrix, `[out][in]`.
    pub weight: Matrix<O, I, T>,
    /// The bias; always zero (and never updated) when `BIAS` is false.
    pub bias: Vector<O, T>,
}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> Dense<I, O, T, BIAS> {
    /// Input width.
    pub const INPUT: usize = I::USIZE;
    /// Output width.
    pub const OUTPUT: usize = O::USIZE;
    /// Number of trainable scalars (`O·I`, plus `O` with a bias).
    pub const PARAMS: usize = O::USIZE * I::USIZE + if BIAS { O::USIZE } else { 0 };

    /// A layer initialized with `init` (bias zero), built on the stack; see [`Dense::init`]
    /// to initialize one in place.
    pub fn new(init: Init, rng: &mut Rng) -> Self {
        let mut d = Self::zeroed();
        d.init(init, rng);
        d
    }

    /// Draws the weights from `init` and zeroes the bias, in place.
    pub fn init(&mut self, init: Init, rng: &mut Rng) {
        init.fill(flat_mut(&mut self.weight), I::USIZE, O::USIZE, rng);
        zero(&mut self.bias);
    }

    /// The bias, if this layer has one.
    pub fn bias(&self) -> Option<&Vector<O, T>> {
        if BIAS {
            Some(&self.bias)
        } else {
            None
        }
    }

    /// The bias as the kernels take it: `None` without a bias.
    #[inline(always)]
    fn kernel_bias(&self) -> Option<&[T]> {
        if BIAS {
            Some(&self.bias)
        } else {
            None
        }
    }

    /// Forward for one sample: `y = W·x + b`.
    ///
    /// For `f32` every output is summed in the same order as by [`forward`](Self::forward),
    /// so the two agree bit for bit.
    #[inline]
    pub fn forward_one(&self, x: &Vector<I, T>, y: &mut Vector<O, T>) {
        kernels::gemm_nt::<T, U1, O, I>(x, flat(&self.weight), self.kernel_bias(), y);
    }

    /// Forward for a batch: `Y[b] = W·X[b] + b` for every sample (`Y = X·Wᵀ + b`, one
    /// register-blocked matrix product for `f32`).
    #[inline]
    pub fn forward<B: ArrayLength>(&self, x: &Batch<B, I, T>, y: &mut Batch<B, O, T>) {
        kernels::gemm_nt::<T, B, O, I>(flat(x), flat(&self.weight), self.kernel_bias(), flat_mut(y));
    }

    /// Forward for a training batch: [`forward`](Self::forward)'s values up to rounding.
    ///
    /// For `f32` on the AVX2 and AVX-512 levels, a batch of at least 2 and a small layer
    /// (`O·I ≤ 4096`, `O ≥ 8`), the weights are transposed into a 16 KB buffer on the stack
    /// and `Y` computed as a broadcast product, which needs no horizontal sums but adds in
    /// another order than [`forward_one`](Self::forward_one) (faster for short rows, where
    /// the horizontal sums of the dot products dominate); otherwise it is `forward`. The generated
    /// training forward uses it; evaluation uses `forward`, which agrees with `forward_one`
    /// bit for bit.
    ///
    /// ```
    /// use bn_core::{typenum::{U2, U8}, Batch, Dense, Init, Rng};
    /// let mut layer = Dense::<U8, U8>::default(); // 8 × 8: transposed on x86 with SIMD
    /// layer.init(Init::XavierNormal, &mut Rng::seed(1));
    /// let x: Batch<U2, U8> = Batch::from_array([[0.5; 8].into(), [-1.0; 8].into()]);
    /// let (mut fast, mut plain) = (Batch::default(), Batch::default());
    /// layer.forward_train(&x, &mut fast);
    /// layer.forward(&x, &mut plain);
    /// for (a, b) in fast.iter().flatten().zip(plain.iter().flatten()) {
    ///     assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()));
    /// }
    /// ```
    #[inline]
    pub fn forward_train<B: ArrayLength>(&self, x: &Batch<B, I, T>, y: &mut Batch<B, O, T>) {
        kernels::gemm_nt_any_order::<T, B, O, I>(flat(x), flat(&self.weight), self.kernel_bias(), flat_mut(y));
    }

    /// Backward for a batch: writes `dW` and `db` into `grads` (overwriting them) and,
    /// when asked, `dX` (the first layer of a network does not need it).
    #[inline]
    pub fn backward<B: ArrayLength>(
        &self,
        x: &Batch<B, I, T>,
        dy: &Batch<B, O, T>,
        dx: Option<&mut Batch<B, I, T>>,
        grads: &mut Self,
    ) {
        // dW = dYᵀ·X
        kernels::gemm_tn::<T, B, O, I>(flat(dy), flat(x), flat_mut(&mut grads.weight));
        // db = Σ_b dY[b] (in batch order)
        let gb = &mut grads.bias;
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                zero(gb);
                if BIAS {
                    for dyb in dy.iter() {
                        for (g, &d) in gb.iter_mut().zip(dyb.iter()) {
                            *g += d;
                        }
                    }
                }
            },
        );
        // dX = dY·W
        if let Some(dx) = dx {
            kernels::gemm_nn::<T, B, O, I>(flat(dy), flat(&self.weight), flat_mut(dx));
        }
    }

    /// Folds an affine map applied *after* this layer (a Batch Normalization in eval mode):
    /// `a ⊙ (W·x + b) + c = (diag(a)·W)·x + (a ⊙ b + c)`.
    ///
    /// For a BN with `a = γ/√(Var+ε)` and `c = β − a·E[x]` this is
    /// `W' = diag(a)·W`, `b' = a·(b − E[x]) + β` (`b = 0` without a bias).
    pub fn fold_affine_after(&self, affine: &Affine<O, T>) -> Dense<I, O, T, true> {
        let mut out = Dense::zeroed();
        self.fold_into(None, Some(affine), &mut out);
        out
    }

    /// Folds an affine map applied *before* this layer (a BN after an activation, right
    /// before this dense layer): `W·(a ⊙ x + c) + b = (W·diag(a))·x + (W·c + b)`.
    pub fn fold_affine_before(&self, affine: &Affine<I, T>) -> Dense<I, O, T, true> {
        let mut out = Dense::zeroed();
        self.fold_into(Some(affine), None, &mut out);
        out
    }

    /// This layer with an explicit (zero, if it had none) bias.
    pub fn with_bias(&self) -> Dense<I, O, T, true> {
        let mut out = Dense::zeroed();
        self.fold_into(None, None, &mut out);
        out
    }

    /// Writes into `out` the single dense layer equal to `after ∘ self ∘ before` (each map
    /// optional), in place, without temporaries of the layer's size:
    /// `W' = diag(a_after)·W·diag(a_before)`, `b' = a_after ⊙ (W·c_before + b) + c_after`.
    pub fn fold_into(
        &self,
        before: Option<&Affine<I, T>>,
        after: Option<&Affine<O, T>>,
        out: &mut Dense<I, O, T, true>,
    ) {
        for o in 0..O::USIZE {
            let w = &self.weight[o];
            let mut b = if BIAS { self.bias[o] } else { T::ZERO };
            let row = &mut out.weight[o];
            match before {
                Some(pre) => {
                    b += dot(w, &pre.shift);
                    for ((w2, &w), &a) in row.iter_mut().zip(w.iter()).zip(pre.scale.iter()) {
                        *w2 = w * a;
                    }
                }
                None => row.clone_from(w),
            }
            if let Some(post) = after {
                let a = post.scale[o];
                row.iter_mut().for_each(|w| *w *= a);
                b = a * b + post.shift[o];
            }
            out.bias[o] = b;
        }
    }
}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> Parameters<T> for Dense<I, O, T, BIAS> {
    /// Gradients have the layer's own shape (`bias` is unused without a bias).
    type Grads = Self;

    /// Hands the weights (and the bias, if any) to `opt`; for `f32` the update loop is
    /// compiled for the widest vector instructions available (same results).
    #[inline]
    fn step<Opt: Optimizer<T>>(&mut self, grads: &Self, mut state: StateMut<'_, Self>, opt: &Opt) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                let slots = state.slots(|g| flat_mut(&mut g.weight));
                opt.update(flat_mut(&mut self.weight), flat(&grads.weight), slots, ParamKind::Weight);
                if BIAS {
                    let slots = state.slots(|g| &mut g.bias[..]);
                    opt.update(&mut self.bias, &grads.bias, slots, ParamKind::Bias);
                }
            },
        );
    }

    /// The weights, then the bias (if any).
    fn visit_grads<F: FnMut(&mut [T], ParamKind)>(&self, tensors: &mut Self, visit: &mut F) {
        visit(flat_mut(&mut tensors.weight), ParamKind::Weight);
        if BIAS {
            visit(&mut tensors.bias, ParamKind::Bias);
        }
    }
}

// SAFETY: two arrays of floats; all-zero is a valid (zero) layer.
unsafe impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> Zeroable for Dense<I, O, T, BIAS> {}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> Default for Dense<I, O, T, BIAS> {
    /// All zeros (on the stack).
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> Clone for Dense<I, O, T, BIAS> {
    fn clone(&self) -> Self {
        Dense { weight: self.weight.clone(), bias: self.bias.clone() }
    }
}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> Copy for Dense<I, O, T, BIAS>
where
    Matrix<O, I, T>: Copy,
    Vector<O, T>: Copy,
{
}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> PartialEq for Dense<I, O, T, BIAS> {
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> fmt::Debug for Dense<I, O, T, BIAS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dense<{}, {}, {}>{}", I::USIZE, O::USIZE, T::NAME, if BIAS { "" } else { " (no bias)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{check_gradient, random_batch};
    use approx::assert_relative_eq;
    use generic_array::arr;
    use typenum::{U2, U3, U4, U5};

    #[test]
    fn forward_and_backward_by_hand() {
        // W = [[1, 2], [3, 4], [5, 6]], b = [1, 0, -1]; X = [[1, -1], [2, 0]]
        let d = Dense::<U2, U3, f64> {
            weight: arr![arr![1.0, 2.0], arr![3.0, 4.0], arr![5.0, 6.0]],
            bias: arr![1.0, 0.0, -1.0],
        };
        let x: Batch<U2, U2, f64> = arr![arr![1.0, -1.0], arr![2.0, 0.0]];
        let mut y = Batch::<U2, U3, f64>::default();
        d.forward(&x, &mut y);
        assert_eq!(y, arr![arr![0.0, -1.0, -2.0], arr![3.0, 6.0, 9.0]]);
        let dy: Batch<U2, U3, f64> = arr![arr![1.0, 0.0, 1.0], arr![0.0, 2.0, -1.0]];
        let (mut g, mut dx) = (Dense::default(), Batch::<U2, U2, f64>::default());
        d.backward(&x, &dy, Some(&mut dx), &mut g);
        // dW[o] = Σ_b dy[b][o]·x[b]
        assert_eq!(g.weight, arr![arr![1.0, -1.0], arr![4.0, 0.0], arr![-1.0, -1.0]]);
        assert_eq!(g.bias, arr![1.0, 2.0, 0.0]);
        // dX[b] = Σ_o dy[b][o]·W[o]
        assert_eq!(dx, arr![arr![6.0, 8.0], arr![1.0, 2.0]]);
    }

    #[test]
    fn without_bias_the_bias_is_ignored_and_not_trained() {
        let mut d = Dense::<U2, U2, f64, false> {
            weight: arr![arr![1.0, 0.0], arr![0.0, 1.0]],
            bias: arr![100.0, 100.0], // ignored
        };
        let mut y = Vector::default();
        d.forward_one(&arr![3.0, 4.0], &mut y);
        assert_eq!(y, arr![3.0, 4.0]);
        assert!(d.bias().is_none());
        assert_eq!(Dense::<U2, U3, f32, false>::PARAMS, 6);
        assert_eq!(Dense::<U2, U3>::PARAMS, 9);
        let x: Batch<U2, U2, f64> = arr![arr![1.0, 1.0], arr![1.0, 1.0]];
        let mut g = Dense::default();
        d.backward(&x, &x, None, &mut g);
        assert_eq!(g.bias, arr![0.0, 0.0]);
        let mut state = crate::OptimizerState::default();
        d.step(&g, (&mut state).into(), &crate::Sgd::new(1.0));
        assert_eq!(d.bias, arr![100.0, 100.0]);
        assert_eq!(d.weight, arr![arr![-1.0, -2.0], arr![-2.0, -1.0]]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Rng::seed(3);
        let d = Dense::<U5, U4, f64>::new(Init::XavierNormal, &mut rng);
        let mut d = d;
        Init::Gaussian { std: 1.0 }.fill(&mut d.bias, 1, 1, &mut rng);
        let x: Batch<U3, U5, f64> = random_batch(&mut rng);
        check_gradient(
            &x,
            &d,
            Dense::<U5, U4, f64>::PARAMS,
            |d, k| {
                if k < 20 {
                    &mut flat_mut(&mut d.weight)[k]
                } else {
                    &mut d.bias[k - 20]
                }
            },
            |d, x| {
                let mut y = Batch::<U3, U4, f64>::default();
                d.forward(x, &mut y);
                y
            },
            |d, x, dy| {
                let (mut dx, mut g) = (Batch::default(), Dense::default());
                d.backward(x, dy, Some(&mut dx), &mut g);
                (dx, [flat(&g.weight), &g.bias[..]].concat())
            },
        );
    }

    #[test]
    fn folding_an_affine_after_and_before_matches_applying_it() {
        let mut rng = Rng::seed(4);
        let d = Dense::<U3, U2, f64, false>::new(Init::HeNormal, &mut rng);
        let after = Affine::<U2, f64> { scale: arr![0.5, -2.0], shift: arr![1.0, 3.0] };
        let before = Affine::<U3, f64> { scale: arr![2.0, 0.1, -1.0], shift: arr![0.0, 1.0, -2.0] };
        let x: Vector<U3, f64> = arr![0.3, -1.2, 2.0];
        let (mut y, mut y2, mut ax) = (Vector::default(), Vector::default(), Vector::default());
        // after
        d.forward_one(&x, &mut y);
        after.forward_one(&y.clone(), &mut y);
        d.fold_affine_after(&after).forward_one(&x, &mut y2);
        for o in 0..2 {
            assert_relative_eq!(y[o], y2[o], max_relative = 1e-14);
        }
        // before
        before.forward_one(&x, &mut ax);
        d.forward_one(&ax, &mut y);
        d.fold_affine_before(&before).forward_one(&x, &mut y2);
        for o in 0..2 {
            assert_relative_eq!(y[o], y2[o], max_relative = 1e-14);
        }
    }
}
