//! [`ReLU`]: the rectified linear unit.

use super::elementwise::Activation;
use generic_array::ArrayLength;

use crate::float::Float;
use crate::shape::Vector;

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

impl ReLU {
    /// The ReLU of int8 values whose real 0 is `zero_point`: `max(x, z)`, exact (a
    /// standalone ReLU of a quantized model; after a linear layer it is the layer's clamp).
    ///
    /// ```
    /// use bn_core::{generic_array::arr, typenum::U3, ReLU};
    /// let mut y = arr![0i8; 3];
    /// ReLU::forward_q::<U3>(&arr![-100, -20, 30], &mut y, -20);
    /// assert_eq!(y, arr![-20, -20, 30]);
    /// ```
    pub fn forward_q<N: ArrayLength>(x: &Vector<N, i8>, y: &mut Vector<N, i8>, zero_point: i8) {
        crate::kernels::relu_i8(zero_point, x, y);
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
