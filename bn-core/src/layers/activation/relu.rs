//! [`ReLU`]: the rectified linear unit.

use super::elementwise::Activation;
use crate::float::Float;

/// `ReLU(x) = max(x, 0)`, with derivative 1 for `x > 0` and 0 otherwise (at 0 too, as in
/// PyTorch). (Nair & Hinton 2010, *Rectified Linear Units Improve Restricted Boltzmann
/// Machines*.)
///
/// ```
/// use bn_core::{Activation, ReLU};
/// assert_eq!(ReLU::f(-3.0f32), 0.0);
/// assert_eq!(ReLU::f(2.5f32), 2.5);
/// assert_eq!(ReLU::df_from_output(0.0f32), 0.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReLU;

impl Activation for ReLU {
    const NAME: &'static str = "relu";
    #[inline(always)]
    fn f<T: Float>(x: T) -> T {
        if x > T::ZERO {
            x
        } else {
            T::ZERO
        }
    }
    #[inline(always)]
    fn df_from_output<T: Float>(y: T) -> T {
        if y > T::ZERO {
            T::ONE
        } else {
            T::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient() {
        // Random normal inputs are almost surely not within 1e-6 of the kink.
        super::super::elementwise::tests::check::<ReLU>();
    }
}
