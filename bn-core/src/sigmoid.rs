//! [`Sigmoid`]: the logistic function.

use crate::{Activation, Float};

/// The logistic sigmoid `σ(x) = 1/(1 + e^(−x))`, with `σ'(x) = σ(x)·(1 − σ(x))`.
///
/// The paper's MNIST network uses it; its derivative vanishes for large `|x|`
/// (saturation), which Batch Normalization counters by keeping the inputs normalized.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_gradient() {
        approx::assert_relative_eq!(Sigmoid::f(2.0f64), 0.880_797_077_977_882_3, max_relative = 1e-15);
        approx::assert_relative_eq!(Sigmoid::f(-2.0f64), 1.0 - 0.880_797_077_977_882_3, max_relative = 1e-14);
        assert_eq!(Sigmoid::f(100.0f32), 1.0);
        crate::activation::tests::check::<Sigmoid>();
    }
}
