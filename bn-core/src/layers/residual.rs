//! [`Residual`]: the arithmetic of a skip connection (He, Zhang, Ren & Sun 2016, *Deep
//! Residual Learning for Image Recognition*, arXiv 1512.03385): the sum of two branches, the
//! ReLU after it fused, and the gradient at the fork.

use generic_array::ArrayLength;

use super::activation::{Activation, ReLU};
use crate::float::Float;
use crate::kernels;
use crate::shape::{flat, flat_mut, Batch, Vector};

/// The arithmetic of a residual block `y = F(x) + S(x)` (He et al. 2016, §3.2, eqs. 1–2): `F`
/// is the block's body, `S` its shortcut (the identity, or a projection such as a strided
/// 1×1 convolution and its BN). The layers of the branches run on their own; this type adds
/// their outputs and, backward, combines their gradients:
///
/// ```text
/// forward:   y = a + b                or, with the block's ReLU fused,  y = max(a + b, 0)
/// backward:  ∂ℓ/∂a = ∂ℓ/∂b = ∂ℓ/∂y    or, fused,  ∂ℓ/∂(a + b) = ∂ℓ/∂y ⊙ [y > 0]
/// at the fork x:  ∂ℓ/∂x = ∂ℓ/∂x through F + ∂ℓ/∂x through S        (accumulate)
/// ```
///
/// where `a = F(x)` and `b = S(x)`. The fused ReLU is bn-core's [`ReLU`] (NaN gives 0), and
/// its backward is ReLU's, from the fused output. Every function is one element-wise pass
/// (memory-bound), vectorized for `f32`.
///
/// ```
/// use bn_core::{generic_array::arr, typenum::{U1, U3}, Batch, Residual};
/// // y = ReLU(F(x) + x) with F(x) = −2x, the identity shortcut.
/// let x: Batch<U1, U3> = arr![arr![1.0, -1.0, 3.0]];
/// let f: Batch<U1, U3> = arr![arr![-2.0, 2.0, -6.0]];
/// let mut y = Batch::default();
/// Residual::add_relu(&f, &x, &mut y);
/// assert_eq!(y, arr![arr![0.0, 1.0, 0.0]]);
/// // Backward: the gradient through the ReLU reaches both branches...
/// let (dy, mut dz) = (arr![arr![5.0, 5.0, 5.0]], Batch::default());
/// Residual::relu_backward(&y, &dy, &mut dz);
/// assert_eq!(dz, arr![arr![0.0, 5.0, 0.0]]);
/// // ...and the fork sums them: ∂ℓ/∂x = ∂ℓ/∂x through F (−2·dz) + dz through the identity.
/// let mut dx: Batch<U1, U3> = arr![arr![0.0, -10.0, 0.0]];
/// Residual::accumulate(&mut dx, &dz);
/// assert_eq!(dx, arr![arr![0.0, -5.0, 0.0]]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Residual;

/// `y = op(a, b)` element by element, vectorized for `f32`.
#[inline(always)]
fn zip_with<T: Float>(a: &[T], b: &[T], y: &mut [T], op: impl Fn(T, T) -> T) {
    kernels::vectorized::<T, _, _>(
        #[inline(always)]
        || {
            for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
                *y = op(a, b);
            }
        },
    )
}

impl Residual {
    /// `y = a + b` for a batch: the block's output from its two branches.
    #[inline]
    pub fn add<B: ArrayLength, N: ArrayLength, T: Float>(
        a: &Batch<B, N, T>,
        b: &Batch<B, N, T>,
        y: &mut Batch<B, N, T>,
    ) {
        zip_with(flat(a), flat(b), flat_mut(y), |a, b| a + b);
    }

    /// `y = max(a + b, 0)` for a batch: the block's output and the [`ReLU`] after it in one
    /// pass (bit for bit [`add`](Self::add) then ReLU's forward).
    #[inline]
    pub fn add_relu<B: ArrayLength, N: ArrayLength, T: Float>(
        a: &Batch<B, N, T>,
        b: &Batch<B, N, T>,
        y: &mut Batch<B, N, T>,
    ) {
        zip_with(flat(a), flat(b), flat_mut(y), |a, b| ReLU::f(a + b));
    }

    /// [`add`](Self::add) for one sample.
    #[inline]
    pub fn add_one<N: ArrayLength, T: Float>(a: &Vector<N, T>, b: &Vector<N, T>, y: &mut Vector<N, T>) {
        zip_with(a, b, y, |a, b| a + b);
    }

    /// [`add_relu`](Self::add_relu) for one sample.
    #[inline]
    pub fn add_relu_one<N: ArrayLength, T: Float>(a: &Vector<N, T>, b: &Vector<N, T>, y: &mut Vector<N, T>) {
        zip_with(a, b, y, |a, b| ReLU::f(a + b));
    }

    /// Backward of [`add_relu`](Self::add_relu) from its output `y`: `dz = ∂ℓ/∂(a + b) =
    /// ∂ℓ/∂y ⊙ [y > 0]`, the gradient both branches receive ([`ReLU`]'s backward).
    #[inline]
    pub fn relu_backward<B: ArrayLength, N: ArrayLength, T: Float>(
        y: &Batch<B, N, T>,
        dy: &Batch<B, N, T>,
        dz: &mut Batch<B, N, T>,
    ) {
        ReLU::backward(y, dy, dz);
    }

    /// `acc += g`: the gradient at the fork is the sum of both branches' gradients with
    /// respect to the block's input. (Forward, the same in-place sum adds a branch's output
    /// into the other's: bit for bit [`add`](Self::add).)
    #[inline]
    pub fn accumulate<B: ArrayLength, N: ArrayLength, T: Float>(acc: &mut Batch<B, N, T>, g: &Batch<B, N, T>) {
        let (acc, g) = (flat_mut(acc), flat(g));
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (a, &g) in acc.iter_mut().zip(g) {
                    *a += g;
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{check_gradient, random_batch};
    use crate::rng::{Init, Rng};
    use crate::zeroed::Zeroable;
    use crate::Dense;
    use generic_array::arr;
    use typenum::{U2, U3, U4};

    #[test]
    fn by_hand() {
        let a: Batch<U2, U3, f32> = arr![arr![1.0, -2.0, 0.5], arr![f32::NAN, -0.0, 3.0]];
        let b: Batch<U2, U3, f32> = arr![arr![2.0, 1.0, -0.5], arr![1.0, 0.0, -4.0]];
        let (mut y, mut r) = (Batch::default(), Batch::default());
        Residual::add(&a, &b, &mut y);
        Residual::add_relu(&a, &b, &mut r);
        assert_eq!(flat(&y)[..3], [3.0, -1.0, 0.0]);
        assert!(y[1][0].is_nan());
        assert_eq!(flat(&y)[4..], [0.0, -1.0]);
        // NaN → 0, as bn-core's ReLU; bit for bit `add` then ReLU (−0 + 0 = +0 stays +0).
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<alloc::vec::Vec<_>>();
        assert_eq!(bits(flat(&r)), bits(&[3.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
        let mut relu = Batch::default();
        ReLU::forward(&y, &mut relu);
        assert_eq!(bits(flat(&r)), bits(flat(&relu)));
        for k in 0..2 {
            let (mut y1, mut r1) = (Vector::default(), Vector::default());
            Residual::add_one(&a[k], &b[k], &mut y1);
            Residual::add_relu_one(&a[k], &b[k], &mut r1);
            assert_eq!((bits(&y1), bits(&r1)), (bits(&y[k]), bits(&r[k])));
        }
        let mut dz = Batch::default();
        Residual::relu_backward(&r, &arr![arr![1.0, 2.0, 3.0], arr![4.0, 5.0, 6.0]], &mut dz);
        assert_eq!(dz, arr![arr![1.0, 0.0, 0.0], arr![0.0, 0.0, 0.0]]);
        let mut acc = a;
        Residual::accumulate(&mut acc, &b);
        assert_eq!(bits(flat(&acc)), bits(flat(&y)));
        acc = a;
        acc[1][0] = 1.0;
        Residual::accumulate(&mut acc, &b);
        assert_eq!(acc, arr![arr![3.0, -1.0, 0.0], arr![2.0, 0.0, -1.0]]);
    }

    /// `y = ReLU(dense(x) + x)` (`fused`) or `y = dense(x) + x`, an identity block around a
    /// dense layer, against finite differences for the input and the dense layer's parameters.
    fn check(fused: bool) {
        let mut rng = Rng::seed(if fused { 13 } else { 14 });
        let mut dense = Dense::<U4, U4, f64, true>::new(Init::XavierNormal, &mut rng);
        Init::Gaussian { std: 0.5 }.fill(&mut dense.bias, 1, 1, &mut rng);
        let x: Batch<U3, U4, f64> = random_batch(&mut rng);
        let forward = |l: &Dense<U4, U4, f64, true>, x: &Batch<U3, U4, f64>| {
            let (mut h, mut y) = (Batch::default(), Batch::default());
            l.forward_train(x, &mut h);
            if fused {
                Residual::add_relu(&h, x, &mut y);
            } else {
                Residual::add(&h, x, &mut y);
            }
            y
        };
        check_gradient(
            &x,
            &dense,
            20,
            |l, k| if k < 16 { &mut l.weight[k / 4][k % 4] } else { &mut l.bias[k - 16] },
            forward,
            |l, x, dy| {
                let y = forward(l, x);
                let mut dz = Batch::default();
                if fused {
                    Residual::relu_backward(&y, dy, &mut dz);
                } else {
                    dz = *dy;
                }
                let (mut dx, mut grads) = (Batch::default(), Dense::zeroed());
                l.backward(x, &dz, Some(&mut dx), &mut grads);
                // The identity shortcut passes dz to x unchanged.
                Residual::accumulate(&mut dx, &dz);
                let mut g: alloc::vec::Vec<f64> = crate::flat(&grads.weight).to_vec();
                g.extend_from_slice(&grads.bias);
                (dx, g)
            },
        );
    }

    #[test]
    fn an_identity_block_matches_finite_differences() {
        check(false);
        check(true);
    }
}
