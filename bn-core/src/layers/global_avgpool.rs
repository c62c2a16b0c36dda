//! [`GlobalAvgPool`]: the mean of each channel of an image over its pixels (Lin, Chen & Yan
//! 2014, *Network In Network*, arXiv 1312.4400, §3.2), the head of a ResNet.

use core::marker::PhantomData;

use generic_array::ArrayLength;

use crate::float::Float;
use crate::kernels;
use crate::shape::{Batch, Vector};

/// Global average pooling: an image of `C` channels of `S = H·W` pixels, stored flat in C, H,
/// W order (`X = C·S` values a sample), becomes `C` features, each channel's mean (Keras'
/// `GlobalAveragePooling2D`; PyTorch's `AdaptiveAvgPool2d(1)` followed by `Flatten`, that is
/// `x.mean(dim=(2, 3))`):
///
/// ```text
/// y_c = (1/S) Σ_p x[c][p]        ∂ℓ/∂x[c][p] = ∂ℓ/∂y_c / S        (every pixel p of channel c)
/// ```
///
/// The mean is computed as PyTorch computes it, the sum divided by `S`. The sample size `X`
/// is a type parameter of the methods; `X = C·S` and `S > 0` are checked at compile time. No
/// parameters, no tensors in a `state_dict`.
///
/// ```
/// use bn_core::{GlobalAvgPool, generic_array::arr, typenum::{U2, U3, U6}};
/// // 2 channels of 3 pixels → 2 features.
/// let mut y = Default::default();
/// GlobalAvgPool::<U2, U3>::forward_one::<U6, f32>(&arr![1.0, 2.0, 6.0, -3.0, 0.0, 0.0], &mut y);
/// assert_eq!(y, arr![3.0, -1.0]);
/// // The gradient of a channel's mean is spread evenly over its pixels.
/// let mut dx = Default::default();
/// GlobalAvgPool::<U2, U3>::backward::<U1, U6, f32>(&arr![arr![3.0, 6.0]], &mut dx);
/// assert_eq!(dx, arr![arr![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]]);
/// # use bn_core::typenum::U1;
/// ```
///
/// A sample that is not `C·S` values is a compile-time error ("GlobalAvgPool: a sample must
/// be X = C·S values"):
///
/// ```compile_fail,E0080
/// use bn_core::{GlobalAvgPool, typenum::{U2, U3, U5}};
/// GlobalAvgPool::<U2, U3>::forward_one::<U5, f32>(&Default::default(), &mut Default::default());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool<C: ArrayLength, S: ArrayLength>(PhantomData<(C, S)>);

impl<C: ArrayLength, S: ArrayLength> GlobalAvgPool<C, S> {
    /// Number of channels `C` (and of output features).
    pub const CHANNELS: usize = C::USIZE;
    /// Number of pixels per channel `S = H·W`.
    pub const PIXELS: usize = S::USIZE;

    /// `S`, after the compile-time checks of the shapes.
    #[inline(always)]
    fn pixels<X: ArrayLength>() -> usize {
        const {
            assert!(S::USIZE > 0, "GlobalAvgPool: a channel must have at least one pixel (S > 0)");
            assert!(X::USIZE == C::USIZE * S::USIZE, "GlobalAvgPool: a sample must be X = C·S values");
        };
        S::USIZE
    }

    /// The channel means of one sample.
    #[inline(always)]
    fn mean<T: Float>(x: &[T], y: &mut [T], s: usize) {
        let n = T::from_usize(s);
        for (y, xc) in y.iter_mut().zip(x.chunks_exact(s)) {
            let mut sum = T::ZERO;
            for &v in xc {
                sum += v;
            }
            *y = sum / n;
        }
    }

    /// Forward for one image: `y_c` is the mean of channel `c`.
    #[inline]
    pub fn forward_one<X: ArrayLength, T: Float>(x: &Vector<X, T>, y: &mut Vector<C, T>) {
        Self::mean(x, y, Self::pixels::<X>());
    }

    /// Forward for one int8 image: each channel's mean, rounded half away from zero (an
    /// int8 [`AvgPool2d`](crate::AvgPool2d) whose window is the whole image; the same
    /// parameters in and out).
    #[inline]
    pub fn forward_q<X: ArrayLength>(x: &Vector<X, i8>, y: &mut Vector<C, i8>) {
        let _ = Self::pixels::<X>();
        kernels::global_avg_pool_i8(x, y);
    }

    /// Forward for a batch: [`forward_one`](Self::forward_one) for every sample (the
    /// training forward too: the backward needs nothing from it).
    #[inline]
    pub fn forward<B: ArrayLength, X: ArrayLength, T: Float>(x: &Batch<B, X, T>, y: &mut Batch<B, C, T>) {
        let s = Self::pixels::<X>();
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            Self::mean(xb, yb, s);
        }
    }

    /// Backward for a batch: writes `∂ℓ/∂x`, every pixel of channel `c` getting
    /// `∂ℓ/∂y_c / S`.
    #[inline]
    pub fn backward<B: ArrayLength, X: ArrayLength, T: Float>(dy: &Batch<B, C, T>, dx: &mut Batch<B, X, T>) {
        let s = Self::pixels::<X>();
        let n = T::from_usize(s);
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (dyb, dxb) in dy.iter().zip(dx.iter_mut()) {
                    for (&d, dxc) in dyb.iter().zip(dxb.chunks_exact_mut(s)) {
                        let d = d / n;
                        dxc.iter_mut().for_each(|v| *v = d);
                    }
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{check_gradient, random_batch};
    use crate::rng::Rng;
    use generic_array::arr;
    use typenum::{U1, U12, U2, U3, U4};

    type Pool = GlobalAvgPool<U4, U3>;

    #[test]
    fn by_hand() {
        let x: Batch<U2, U12, f64> = arr![
            arr![1.0, 2.0, 3.0, -1.0, -1.0, -1.0, 0.5, 0.25, 0.25, 1e3, 0.0, 2e3],
            arr![0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 6.0, 0.0, -3.0]
        ];
        let mut y = Batch::<U2, U4, f64>::default();
        Pool::forward(&x, &mut y);
        assert_eq!(y, arr![arr![2.0, -1.0, 1.0 / 3.0, 1e3], arr![0.0, 3.0, 1.0, 1.0]]);
        for b in 0..2 {
            let mut one = Vector::default();
            Pool::forward_one(&x[b], &mut one);
            assert_eq!(one, y[b]);
        }
        // The sum divided by S, not the sum of x/S (PyTorch's rounding): 0.1 + 0.2 + 0.3.
        let mut y1 = Vector::<U1, f32>::default();
        GlobalAvgPool::<U1, U3>::forward_one::<U3, f32>(&arr![0.1, 0.2, 0.3], &mut y1);
        assert_eq!(y1[0], (0.1f32 + 0.2 + 0.3) / 3.0);
        let mut dx = Batch::<U2, U12, f64>::default();
        Pool::backward(&arr![arr![3.0, -6.0, 0.0, 1.0], arr![0.0, 0.0, 1.5, 0.0]], &mut dx);
        let third = 1.0 / 3.0;
        assert_eq!(
            dx,
            arr![
                arr![1.0, 1.0, 1.0, -2.0, -2.0, -2.0, 0.0, 0.0, 0.0, third, third, third],
                arr![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0]
            ]
        );
        assert_eq!((Pool::CHANNELS, Pool::PIXELS), (4, 3));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x: Batch<U3, U12, f64> = random_batch(&mut Rng::seed(3));
        check_gradient(
            &x,
            &Pool::default(),
            0,
            |_, _| unreachable!("global average pooling has no parameters"),
            |_, x| {
                let mut y = Batch::<U3, U4, f64>::default();
                Pool::forward(x, &mut y);
                y
            },
            |_, _, dy| {
                let mut dx = Batch::default();
                Pool::backward(dy, &mut dx);
                (dx, alloc::vec::Vec::new())
            },
        );
    }
}
