//! [`Tanh`]: the hyperbolic tangent.

use super::elementwise::Activation;
use crate::float::Float;

/// `tanh(x)`, with `tanh'(x) = 1 − tanh²(x)`. (LeCun, Bottou, Orr & Müller 1998, *Efficient
/// BackProp*, on why a zero-centred activation trains faster than the logistic one.)
///
/// ```
/// use bn_core::{Activation, Tanh};
/// assert_eq!(Tanh::f(0.0f32), 0.0);
/// assert_eq!(Tanh::df_from_output(0.0f32), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

impl Activation for Tanh {
    const NAME: &'static str = "tanh";
    #[inline(always)]
    fn f<T: Float>(x: T) -> T {
        x.tanh()
    }
    #[inline(always)]
    fn df_from_output<T: Float>(y: T) -> T {
        T::ONE - y * y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_gradient() {
        approx::assert_relative_eq!(Tanh::f(1.0f64), 0.761_594_155_955_764_9, max_relative = 1e-15);
        super::super::elementwise::tests::check::<Tanh>();
    }
}
