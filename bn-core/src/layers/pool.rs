//! [`MaxPool2d`] and [`AvgPool2d`]: pooling of square windows over each channel of an image
//! (PyTorch's `nn.MaxPool2d(K, S)` and `nn.AvgPool2d(K, S)`: no padding, floor semantics),
//! their geometry as types ([`Pool2dGeometry`], [`Pool2dShape`]).

use core::marker::PhantomData;

use generic_array::ArrayLength;
use typenum::Unsigned;

use crate::float::Float;
use crate::kernels::{self, PoolWindow};
use crate::shape::{Batch, Vector};

/// The geometry of a pooling layer: the sample sizes as types, the window as constants.
/// Implemented by [`Pool2dShape`].
pub trait Pool2dGeometry: 'static {
    /// One input sample, `C·H·W` values.
    type Input: ArrayLength;
    /// One output sample, `C·OH·OW` values.
    type Output: ArrayLength;
    /// Channels `C`.
    const CHANNELS: usize;
    /// Input height `H`.
    const HEIGHT: usize;
    /// Input width `W`.
    const WIDTH: usize;
    /// The window's side `K`.
    const SIZE: usize;
    /// The step between windows `S`.
    const STRIDE: usize;
    /// `OH = ⌊(H − K)/S⌋ + 1`.
    const OUT_HEIGHT: usize;
    /// `OW = ⌊(W − K)/S⌋ + 1`.
    const OUT_WIDTH: usize;
}

/// A [`Pool2dGeometry`] spelled out: `I = C·H·W` and `O = C·OH·OW` as typenum types, the
/// window as constants (checked against the sizes at compile time).
pub struct Pool2dShape<I, O, const C: usize, const H: usize, const W: usize, const K: usize, const S: usize>(
    PhantomData<fn() -> (I, O)>,
);

impl<
        I: ArrayLength,
        O: ArrayLength,
        const C: usize,
        const H: usize,
        const W: usize,
        const K: usize,
        const S: usize,
    > Pool2dGeometry for Pool2dShape<I, O, C, H, W, K, S>
{
    type Input = I;
    type Output = O;
    const CHANNELS: usize = C;
    const HEIGHT: usize = H;
    const WIDTH: usize = W;
    const SIZE: usize = K;
    const STRIDE: usize = S;
    const OUT_HEIGHT: usize = (H - K) / S + 1;
    const OUT_WIDTH: usize = (W - K) / S + 1;
}

/// The window of `G` for the kernels, after the compile-time check of `G`'s sizes.
#[inline(always)]
pub(crate) fn window<G: Pool2dGeometry>() -> PoolWindow {
    const {
        assert!(G::SIZE > 0 && G::STRIDE > 0, "Pool2dShape: the window and the stride must be positive");
        assert!(G::SIZE <= G::HEIGHT && G::SIZE <= G::WIDTH, "Pool2dShape: the window does not fit the input");
        assert!(G::Input::USIZE == G::CHANNELS * G::HEIGHT * G::WIDTH, "Pool2dShape: I must be C·H·W");
        assert!(G::Output::USIZE == G::CHANNELS * G::OUT_HEIGHT * G::OUT_WIDTH, "Pool2dShape: O must be C·OH·OW");
    };
    PoolWindow {
        c: G::CHANNELS,
        h: G::HEIGHT,
        w: G::WIDTH,
        size: G::SIZE,
        stride: G::STRIDE,
        oh: G::OUT_HEIGHT,
        ow: G::OUT_WIDTH,
    }
}

/// Max pooling: each output is the largest value of its `K × K` window (NaN if the window
/// holds one), `y[c][i][j] = max_{u,v < K} x[c][i·S + u][j·S + v]` with stride `S`
/// (Ranzato, Huang, Boureau & LeCun 2007, *Unsupervised Learning of Invariant Feature
/// Hierarchies with Applications to Object Recognition*). The training forward records
/// which input each output took (PyTorch's choice: the first largest value of the window
/// in row-major order, or its last NaN), and the backward routes each output's gradient
/// there, as `max_pool2d_with_indices` does.
///
/// ```
/// use bn_core::{MaxPool2d, Pool2dShape, generic_array::arr, typenum::{U1, U4}};
/// // 1×2×2 → 1×1×1.
/// type G = Pool2dShape<U4, U1, 1, 2, 2, 2, 2>;
/// let x = arr![1.0f32, 3.0, 3.0, -2.0];
/// let (mut y, mut argmax) = (Default::default(), Default::default());
/// MaxPool2d::<G>::forward_train_one(&x, &mut y, &mut argmax);
/// assert_eq!((y, argmax), (arr![3.0], arr![1.0])); // ties: the first maximum
/// let mut dx = Default::default();
/// MaxPool2d::<G>::backward_one(&argmax, &arr![5.0], &mut dx);
/// assert_eq!(dx, arr![0.0, 5.0, 0.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2d<G>(PhantomData<G>);

impl<G: Pool2dGeometry> MaxPool2d<G> {
    /// Forward for one image.
    #[inline]
    pub fn forward_one<T: Float>(x: &Vector<G::Input, T>, y: &mut Vector<G::Output, T>) {
        kernels::max_pool(&window::<G>(), x, y);
    }

    /// Forward for a batch.
    #[inline]
    pub fn forward<B: ArrayLength, T: Float>(x: &Batch<B, G::Input, T>, y: &mut Batch<B, G::Output, T>) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            Self::forward_one(xb, yb);
        }
    }

    /// Forward for one int8 image (TFLite's `MAX_POOL_2D`: the same parameters in and out),
    /// with the values below `min` raised to it: `min = z` fuses a ReLU before the pool (it
    /// commutes with the maximum), `−128` is none.
    ///
    /// ```
    /// use bn_core::{generic_array::arr, typenum::{U1, U4}, MaxPool2d, Pool2dShape};
    /// type G = Pool2dShape<U4, U1, 1, 2, 2, 2, 2>;
    /// let mut y = arr![0i8];
    /// MaxPool2d::<G>::forward_q(&arr![-9, -7, -8, -100], &mut y, -128);
    /// assert_eq!(y[0], -7);
    /// MaxPool2d::<G>::forward_q(&arr![-9, -7, -8, -100], &mut y, -5); // ReLU at z = −5
    /// assert_eq!(y[0], -5);
    /// ```
    #[inline]
    pub fn forward_q(x: &Vector<G::Input, i8>, y: &mut Vector<G::Output, i8>, min: i8) {
        kernels::max_pool_i8(&window::<G>(), min, x, y);
    }

    /// A ReLU then this pool, for one image, in one pass: bit for bit
    /// [`ReLU`](crate::ReLU)'s forward followed by [`forward_one`](Self::forward_one), without
    /// the ReLU's output (what a folded `relu, maxpool` runs).
    ///
    /// ```
    /// use bn_core::typenum::{U1, U4};
    /// use bn_core::{generic_array::arr, MaxPool2d, Pool2dShape};
    /// type P = Pool2dShape<U4, U1, 1, 2, 2, 2, 2>;
    /// let mut y = arr![0.0f32];
    /// MaxPool2d::<P>::forward_one_relu(&arr![-3.0, -1.0, -2.0, -0.5], &mut y);
    /// assert_eq!(y[0].to_bits(), 0f32.to_bits()); // max(ReLU(x)) = +0
    /// ```
    #[inline]
    pub fn forward_one_relu<T: Float>(x: &Vector<G::Input, T>, y: &mut Vector<G::Output, T>) {
        kernels::max_pool_relu(&window::<G>(), x, y);
    }

    /// [`forward_one_relu`](Self::forward_one_relu) for a batch.
    #[inline]
    pub fn forward_relu<B: ArrayLength, T: Float>(x: &Batch<B, G::Input, T>, y: &mut Batch<B, G::Output, T>) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            Self::forward_one_relu(xb, yb);
        }
    }

    /// Training forward for one image: [`forward_one`](Self::forward_one), and in `argmax`
    /// the index (within the image) of the input each output took, as a scalar (exact: an
    /// image has at most 2²⁴ values).
    #[inline]
    pub fn forward_train_one<T: Float>(
        x: &Vector<G::Input, T>,
        y: &mut Vector<G::Output, T>,
        argmax: &mut Vector<G::Output, T>,
    ) {
        kernels::max_pool_indexed(&window::<G>(), x, y, argmax);
    }

    /// Training forward for a batch (see [`forward_train_one`](Self::forward_train_one)).
    #[inline]
    pub fn forward_train<B: ArrayLength, T: Float>(
        x: &Batch<B, G::Input, T>,
        y: &mut Batch<B, G::Output, T>,
        argmax: &mut Batch<B, G::Output, T>,
    ) {
        for ((xb, yb), ab) in x.iter().zip(y.iter_mut()).zip(argmax.iter_mut()) {
            Self::forward_train_one(xb, yb, ab);
        }
    }

    /// Backward for one image: `dx` (overwritten) is `dy` at the inputs recorded in
    /// `argmax` (summed where windows overlap), zero elsewhere.
    #[inline]
    pub fn backward_one<T: Float>(
        argmax: &Vector<G::Output, T>,
        dy: &Vector<G::Output, T>,
        dx: &mut Vector<G::Input, T>,
    ) {
        const { assert!(G::Input::USIZE <= 1 << 24, "MaxPool2d: an image of over 2²⁴ values") };
        kernels::max_pool_backward(&window::<G>(), argmax, dy, dx);
    }

    /// Backward for a batch (`argmax` from [`forward_train`](Self::forward_train)).
    #[inline]
    pub fn backward<B: ArrayLength, T: Float>(
        argmax: &Batch<B, G::Output, T>,
        dy: &Batch<B, G::Output, T>,
        dx: &mut Batch<B, G::Input, T>,
    ) {
        for ((ab, dyb), dxb) in argmax.iter().zip(dy.iter()).zip(dx.iter_mut()) {
            Self::backward_one(ab, dyb, dxb);
        }
    }
}

/// Average pooling: each output is the mean of its `K × K` window,
/// `y[c][i][j] = (1/K²)·Σ_{u,v < K} x[c][i·S + u][j·S + v]` with stride `S` (LeNet's
/// subsampling: LeCun, Bottou, Bengio & Haffner 1998); the backward spreads `dy/K²` over the
/// window.
///
/// ```
/// use bn_core::{AvgPool2d, Pool2dShape, generic_array::arr, typenum::{U1, U4}};
/// type G = Pool2dShape<U4, U1, 1, 2, 2, 2, 2>;
/// let mut y = Default::default();
/// AvgPool2d::<G>::forward_one(&arr![1.0f32, 3.0, 3.0, -2.0], &mut y);
/// assert_eq!(y, arr![1.25]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool2d<G>(PhantomData<G>);

impl<G: Pool2dGeometry> AvgPool2d<G> {
    /// Forward for one image.
    #[inline]
    pub fn forward_one<T: Float>(x: &Vector<G::Input, T>, y: &mut Vector<G::Output, T>) {
        kernels::avg_pool(&window::<G>(), x, y);
    }

    /// Forward for one int8 image (TFLite's int8 `AVERAGE_POOL_2D`: the same parameters in
    /// and out; the window's sum divided by `K²`, rounded half away from zero).
    ///
    /// ```
    /// use bn_core::{generic_array::arr, typenum::{U1, U4}, AvgPool2d, Pool2dShape};
    /// type G = Pool2dShape<U4, U1, 1, 2, 2, 2, 2>;
    /// let mut y = arr![0i8];
    /// AvgPool2d::<G>::forward_q(&arr![1, 2, 2, 1], &mut y); // 1.5 → 2
    /// assert_eq!(y[0], 2);
    /// AvgPool2d::<G>::forward_q(&arr![-1, -2, -2, -1], &mut y); // −1.5 → −2
    /// assert_eq!(y[0], -2);
    /// ```
    #[inline]
    pub fn forward_q(x: &Vector<G::Input, i8>, y: &mut Vector<G::Output, i8>) {
        kernels::avg_pool_i8(&window::<G>(), x, y);
    }

    /// Forward for a batch.
    #[inline]
    pub fn forward<B: ArrayLength, T: Float>(x: &Batch<B, G::Input, T>, y: &mut Batch<B, G::Output, T>) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            Self::forward_one(xb, yb);
        }
    }

    /// Backward for one image: `dx` (overwritten) gets `dy/K²` at every value of each
    /// window (summed where windows overlap).
    #[inline]
    pub fn backward_one<T: Float>(dy: &Vector<G::Output, T>, dx: &mut Vector<G::Input, T>) {
        kernels::avg_pool_backward(&window::<G>(), dy, dx);
    }

    /// Backward for a batch.
    #[inline]
    pub fn backward<B: ArrayLength, T: Float>(dy: &Batch<B, G::Output, T>, dx: &mut Batch<B, G::Input, T>) {
        for (dyb, dxb) in dy.iter().zip(dx.iter_mut()) {
            Self::backward_one(dyb, dxb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{check_gradient, random_batch};
    use crate::rng::Rng;
    use typenum::{U2, U3, U50, U8};

    /// 2×5×5 → 2×2×2: 3×3 windows every 2 pixels (overlapping, and the last column and row
    /// of the input are never covered: floor semantics).
    type G = Pool2dShape<U50, U8, 2, 5, 5, 3, 2>;

    /// The pooled value of output `(c, i, j)` by the definition.
    fn reference(x: &[f64], c: usize, i: usize, j: usize, max: bool) -> f64 {
        let values = (0..3).flat_map(|u| (0..3).map(move |v| x[c * 25 + (2 * i + u) * 5 + 2 * j + v]));
        if max {
            values.fold(f64::NEG_INFINITY, f64::max)
        } else {
            values.sum::<f64>() / 9.0
        }
    }

    #[test]
    fn forward_matches_the_definition() {
        assert_eq!((G::OUT_HEIGHT, G::OUT_WIDTH), (2, 2));
        let x: Batch<U3, U50, f64> = random_batch(&mut Rng::seed(1));
        let (mut ym, mut ya) = (Batch::<U3, U8, f64>::default(), Batch::<U3, U8, f64>::default());
        MaxPool2d::<G>::forward(&x, &mut ym);
        AvgPool2d::<G>::forward(&x, &mut ya);
        let (mut yt, mut argmax) = (Batch::<U3, U8, f64>::default(), Batch::<U3, U8, f64>::default());
        MaxPool2d::<G>::forward_train(&x, &mut yt, &mut argmax);
        assert_eq!(yt, ym);
        for (xb, (yb, ab)) in x.iter().zip(yt.iter().zip(argmax.iter())) {
            for (y, &n) in yb.iter().zip(ab.iter()) {
                assert_eq!(n.fract(), 0.0);
                assert_eq!(xb[n as usize], *y, "argmax {n}");
            }
        }
        for (b, xb) in x.iter().enumerate() {
            for (c, i, j) in (0..2).flat_map(|c| (0..2).flat_map(move |i| (0..2).map(move |j| (c, i, j)))) {
                let o = c * 4 + i * 2 + j;
                assert_eq!(ym[b][o], reference(xb, c, i, j, true));
                approx::assert_relative_eq!(ya[b][o], reference(xb, c, i, j, false), max_relative = 1e-14);
            }
        }
    }

    #[test]
    fn max_picks_the_first_maximum_and_propagates_nan_like_pytorch() {
        type One = Pool2dShape<typenum::U9, typenum::U1, 1, 3, 3, 3, 3>;
        let mut y = Vector::<typenum::U1, f32>::default();
        let mut dx = Vector::<typenum::U9, f32>::default();
        let dy = generic_array::arr![1.0f32];
        // Ties: the first in row-major order gets the gradient.
        let x = generic_array::arr![0.0f32, 2.0, 1.0, 2.0, -1.0, 2.0, 0.5, 0.0, 1.0];
        let mut argmax = Vector::<typenum::U1, f32>::default();
        MaxPool2d::<One>::forward_train_one(&x, &mut y, &mut argmax);
        MaxPool2d::<One>::backward_one(&argmax, &dy, &mut dx);
        assert_eq!((y[0], dx.iter().position(|&d| d == 1.0)), (2.0, Some(1)));
        // NaN: the output is NaN and the gradient goes to the last NaN.
        let x = generic_array::arr![0.0f32, f32::NAN, 5.0, 1.0, f32::NAN, 2.0, 0.5, 0.0, 1.0];
        MaxPool2d::<One>::forward_train_one(&x, &mut y, &mut argmax);
        MaxPool2d::<One>::backward_one(&argmax, &dy, &mut dx);
        assert!(y[0].is_nan());
        assert_eq!(dx.iter().position(|&d| d == 1.0), Some(4));
        // All −∞: the first value.
        let x = generic_array::arr![f32::NEG_INFINITY; 9];
        MaxPool2d::<One>::forward_train_one(&x, &mut y, &mut argmax);
        MaxPool2d::<One>::backward_one(&argmax, &dy, &mut dx);
        assert_eq!(dx[0], 1.0);
        // The eval forward gives the same values.
        let mut y2 = y;
        MaxPool2d::<One>::forward_one(&x, &mut y2);
        assert_eq!(y, y2);
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Random inputs: no ties within 1e-6, so the argmax is stable under the perturbation.
        let x: Batch<U2, U50, f64> = random_batch(&mut Rng::seed(2));
        check_gradient(
            &x,
            &(),
            0,
            |_, _| unreachable!("no parameters"),
            |_, x| {
                let mut y = Batch::<U2, U8, f64>::default();
                MaxPool2d::<G>::forward(x, &mut y);
                y
            },
            |_, x, dy| {
                let (mut y, mut argmax, mut dx) = (Batch::<U2, U8, f64>::default(), Batch::default(), Batch::default());
                MaxPool2d::<G>::forward_train(x, &mut y, &mut argmax);
                MaxPool2d::<G>::backward(&argmax, dy, &mut dx);
                (dx, alloc::vec::Vec::new())
            },
        );
        check_gradient(
            &x,
            &(),
            0,
            |_, _| unreachable!("no parameters"),
            |_, x| {
                let mut y = Batch::<U2, U8, f64>::default();
                AvgPool2d::<G>::forward(x, &mut y);
                y
            },
            |_, _, dy| {
                let mut dx = Batch::default();
                AvgPool2d::<G>::backward(dy, &mut dx);
                (dx, alloc::vec::Vec::new())
            },
        );
    }
}
