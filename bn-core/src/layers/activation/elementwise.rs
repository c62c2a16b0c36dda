//! Element-wise activations: [`Sigmoid`](crate::Sigmoid), [`ReLU`](crate::ReLU) and
//! [`Tanh`](crate::Tanh) implement [`Activation`], which provides their batched forward and
//! backward. Each derivative is written in terms of the activation's *output*, so the
//! backward needs only what the forward produced.

use generic_array::ArrayLength;

use crate::float::Float;
use crate::kernels;
use crate::shape::{flat, flat_mut, Batch, Vector};

/// An element-wise nonlinearity `y = f(x)` with derivative `f'(x) = g(y)`.
///
/// ```
/// use bn_core::{Activation, Batch, ReLU, generic_array::arr, typenum::U2};
/// let x: Batch<U2, U2> = arr![arr![-1.0, 2.0], arr![0.5, -3.0]];
/// let (mut y, mut dx) = (Batch::default(), Batch::default());
/// ReLU::forward(&x, &mut y);
/// assert_eq!(y, arr![arr![0.0, 2.0], arr![0.5, 0.0]]);
/// // The backward reads only the output: dx = dy ⊙ f'(x), and ReLU's f'(x) is 1 where y > 0.
/// ReLU::backward(&y, &arr![arr![3.0, 3.0], arr![3.0, 3.0]], &mut dx);
/// assert_eq!(dx, arr![arr![0.0, 3.0], arr![3.0, 0.0]]);
/// ```
pub trait Activation: Copy + Default + core::fmt::Debug {
    /// The layer's name in summaries (`"sigmoid"`, ...).
    const NAME: &'static str;

    /// `f(x)`.
    fn f<T: Float>(x: T) -> T;

    /// `f'(x)` expressed through `y = f(x)`.
    fn df_from_output<T: Float>(y: T) -> T;

    /// Forward for one sample.
    #[inline]
    fn forward_one<N: ArrayLength, T: Float>(x: &Vector<N, T>, y: &mut Vector<N, T>) {
        for (y, &x) in y.iter_mut().zip(x.iter()) {
            *y = Self::f(x);
        }
    }

    /// Forward in place.
    #[inline]
    fn apply<T: Float>(x: &mut [T]) {
        x.iter_mut().for_each(|v| *v = Self::f(*v));
    }

    /// Forward for a batch.
    fn forward<B: ArrayLength, N: ArrayLength, T: Float>(x: &Batch<B, N, T>, y: &mut Batch<B, N, T>) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            Self::forward_one(xb, yb);
        }
    }

    /// Backward for a batch from the forward's *output* `y`: `dx = dy ⊙ f'(x)` (one
    /// element-wise pass, vectorized for `f32`).
    #[inline]
    fn backward<B: ArrayLength, N: ArrayLength, T: Float>(
        y: &Batch<B, N, T>,
        dy: &Batch<B, N, T>,
        dx: &mut Batch<B, N, T>,
    ) {
        let (y, dy, dx) = (flat(y), flat(dy), flat_mut(dx));
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for ((d, &y), &g) in dx.iter_mut().zip(y).zip(dy) {
                    *d = g * Self::df_from_output(y);
                }
            },
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Activation;
    use crate::layers::testing::{check_gradient, random_batch};
    use crate::rng::Rng;
    use crate::shape::Batch;
    use typenum::{U3, U4};

    /// Finite-difference check of an activation's backward.
    pub fn check<A: Activation>() {
        let x: Batch<U3, U4, f64> = random_batch(&mut Rng::seed(5));
        check_gradient(
            &x,
            &A::default(),
            0,
            |_, _| unreachable!("activations have no parameters"),
            |_, x| {
                let mut y = Batch::<U3, U4, f64>::default();
                A::forward(x, &mut y);
                y
            },
            |_, x, dy| {
                let (mut y, mut dx) = (Batch::default(), Batch::default());
                A::forward(x, &mut y);
                A::backward(&y, dy, &mut dx);
                (dx, alloc::vec::Vec::new())
            },
        );
    }
}
