//! [`Sigmoid`]: the logistic function.

use generic_array::ArrayLength;

use super::elementwise::Activation;
use crate::float::Float;
use crate::kernels;
use crate::shape::{flat, flat_mut, Batch, Vector};

/// The logistic sigmoid `σ(x) = 1/(1 + e^(−x))`, with `σ'(x) = σ(x)·(1 − σ(x))`.
///
/// The paper's MNIST network uses it; its derivative vanishes for large `|x|`
/// (saturation), which Batch Normalization counters by keeping the inputs normalized.
///
/// [`Sigmoid::f`] is the scalar function (with [`Float::exp`]). The vector paths
/// (`forward_one`, `forward`, `apply`) compute `f32` with a SIMD polynomial `exp` when the
/// CPU has AVX2 or AVX-512 (relative error below 2.5e-7, NaN propagated; how:
/// `docs/kernels.md` in the repository), bit for bit the same for one sample and for a
/// batch; `f64` and the `portable` feature use [`Float::exp`] element by element.
///
/// ```
/// use bn_core::{Activation, Sigmoid};
/// assert_eq!(Sigmoid::f(0.0f32), 0.5);
/// assert_eq!(Sigmoid::df_from_output(0.5f32), 0.25);
/// assert_eq!(Sigmoid::f(-200.0f32), 0.0); // no NaN far out
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigmoid;

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";
    #[inline(always)]
    fn f<T: Float>(x: T) -> T {
        T::ONE / (T::ONE + (-x).exp())
    }
    #[inline(always)]
    fn df_from_output<T: Float>(y: T) -> T {
        y * (T::ONE - y)
    }

    #[inline]
    fn forward_one<N: ArrayLength, T: Float>(x: &Vector<N, T>, y: &mut Vector<N, T>) {
        kernels::sigmoid(x, y);
    }

    #[inline]
    fn apply<T: Float>(x: &mut [T]) {
        kernels::sigmoid_in_place(x);
    }

    #[inline]
    fn forward<B: ArrayLength, N: ArrayLength, T: Float>(x: &Batch<B, N, T>, y: &mut Batch<B, N, T>) {
        kernels::sigmoid(flat(x), flat_mut(y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_gradient() {
        approx::assert_relative_eq!(Sigmoid::f(2.0f64), 0.880_797_077_977_882_3, max_relative = 1e-15);
        approx::assert_relative_eq!(Sigmoid::f(-2.0f64), 1.0 - 0.880_797_077_977_882_3, max_relative = 1e-14);
        assert_eq!(Sigmoid::f(100.0f32), 1.0);
        super::super::elementwise::tests::check::<Sigmoid>();
    }

    #[test]
    fn vector_paths_agree_with_each_other_and_with_f64() {
        use crate::Batch;
        use typenum::{U3, U37};
        let mut rng = crate::Rng::seed(8);
        let mut x = Batch::<U3, U37, f32>::default();
        crate::Init::Gaussian { std: 8.0 }.fill(crate::flat_mut(&mut x), 1, 1, &mut rng);
        x[0][0] = 0.0;
        x[0][1] = -100.0;
        x[0][2] = 100.0;
        x[0][3] = f32::NAN;
        let mut y = Batch::<U3, U37, f32>::default();
        Sigmoid::forward(&x, &mut y);
        let mut in_place = x;
        Sigmoid::apply(crate::flat_mut(&mut in_place));
        for (b, xb) in x.iter().enumerate() {
            let mut one = crate::Vector::<U37, f32>::default();
            Sigmoid::forward_one(xb, &mut one);
            for k in 0..37 {
                // The batch, in-place and one-sample paths agree bit for bit (NaN aside).
                assert_eq!(one[k].to_bits(), y[b][k].to_bits(), "x = {}", xb[k]);
                assert_eq!(in_place[b][k].to_bits(), y[b][k].to_bits(), "x = {}", xb[k]);
                if xb[k].is_nan() {
                    assert!(y[b][k].is_nan());
                    continue;
                }
                let exact = 1.0 / (1.0 + (-f64::from(xb[k])).exp());
                let err = (f64::from(y[b][k]) - exact).abs();
                assert!(err <= 3e-7 * exact + 1e-38, "σ({}) = {} vs {exact}", xb[k], y[b][k]);
            }
        }
        assert_eq!(y[0][0], 0.5);
        assert_eq!(y[0][1], 0.0);
        assert_eq!(y[0][2], 1.0);
    }
}
