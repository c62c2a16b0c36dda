//! [`Inference`]: anything that maps one input vector to one output vector (a network's eval
//! path with its population statistics, or its folded model), and what is built on it:
//! [`argmax`], [`accuracy`], and the reinterpretation of built-in arrays as vectors.

use generic_array::{ArrayLength, GenericArray};

use crate::float::Float;
use crate::shape::{Batch, Vector};
use crate::zeroed::Zeroable;

/// A model that maps one input vector to one output vector: the eval path of a
/// [`Network`](crate::Network) (population statistics) or a folded model.
pub trait Inference {
    /// The scalar type.
    type Scalar: Float;
    /// The input width.
    type Input: ArrayLength;
    /// The output width.
    type Output: ArrayLength;

    /// Forward for one sample.
    fn forward_one(&self, x: &Vector<Self::Input, Self::Scalar>, y: &mut Vector<Self::Output, Self::Scalar>);

    /// Forward for every sample of a batch (any batch size, no workspace needed).
    fn forward_batch<B: ArrayLength>(
        &self,
        x: &Batch<B, Self::Input, Self::Scalar>,
        y: &mut Batch<B, Self::Output, Self::Scalar>,
    ) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_one(xb, yb);
        }
    }

    /// The index of the largest output (the predicted class), by [`argmax`]: the first of
    /// equal largest outputs, or the first NaN output (a NaN input makes every output NaN,
    /// so such a sample is class 0). Never panics.
    fn classify(&self, x: &Vector<Self::Input, Self::Scalar>) -> usize {
        let mut y = Vector::<Self::Output, Self::Scalar>::zeroed();
        self.forward_one(x, &mut y);
        argmax(&y)
    }
}

/// The index of the largest value (the first one on ties): the predicted class.
///
/// Non-finite values follow PyTorch's and NumPy's `argmax`: `+∞` is larger and `−∞`
/// smaller than every finite value, and a NaN counts as the largest of all, so the result
/// is the index of the first NaN if there is one. An empty slice gives 0. The same on
/// every SIMD level (this is scalar code). Integers too: an int8 model's logits.
///
/// ```
/// assert_eq!(bn_core::argmax(&[0.1f32, 0.7, 0.2]), 1);
/// assert_eq!(bn_core::argmax(&[0.1f32, f32::INFINITY, f32::NAN, f32::NAN]), 2);
/// assert_eq!(bn_core::argmax(&[f32::NAN; 3]), 0);
/// assert_eq!(bn_core::argmax(&[-3i8, 7, 7, -128]), 1);
/// ```
pub fn argmax<T: PartialOrd + Copy>(x: &[T]) -> usize {
    let mut best = 0;
    for (k, &v) in x.iter().enumerate() {
        // NaN is the only value not equal to itself.
        #[allow(clippy::eq_op)]
        if v != v {
            return k;
        }
        if v > x[best] {
            best = k;
        }
    }
    best
}

/// Fraction of samples whose [`classify`](Inference::classify) equals the label.
pub fn accuracy<M: Inference>(model: &M, inputs: &[Vector<M::Input, M::Scalar>], labels: &[usize]) -> f64 {
    if inputs.is_empty() {
        return 0.0;
    }
    let correct = inputs.iter().zip(labels).filter(|(x, &l)| model.classify(x) == l).count();
    correct as f64 / inputs.len() as f64
}

/// Reinterprets a built-in array as the [`GenericArray`] of the same length; the length
/// check is a compile-time assertion.
#[inline(always)]
pub fn array_as_vector<T, N: ArrayLength, const M: usize>(a: &[T; M]) -> &GenericArray<T, N> {
    const { assert!(M == N::USIZE, "array length differs from the vector width") };
    // SAFETY: `GenericArray<T, N>` has the layout of `[T; N::USIZE]`, which is `[T; M]` by
    // the assertion above; the borrow is carried over.
    unsafe { &*(a as *const [T; M] as *const GenericArray<T, N>) }
}

/// Reinterprets a `C × H × W` built-in array (one image) as the [`GenericArray`] of its
/// `C·H·W` values in C, H, W order, the layout of an image input; the size check is a
/// compile-time assertion.
#[inline(always)]
pub fn image_as_vector<T, N: ArrayLength, const C: usize, const H: usize, const W: usize>(
    a: &[[[T; W]; H]; C],
) -> &GenericArray<T, N> {
    const { assert!(C * H * W == N::USIZE, "image size differs from the vector width") };
    // SAFETY: nested arrays are contiguous without padding, so `[[[T; W]; H]; C]` has the
    // layout of `[T; C·H·W]`, which is `GenericArray<T, N>`'s by the assertion above; the
    // borrow is carried over.
    unsafe { &*(a as *const [[[T; W]; H]; C] as *const GenericArray<T, N>) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_their_values_in_c_h_w_order() {
        let image = [[[1.0f32, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]];
        let v: &GenericArray<f32, typenum::U8> = image_as_vector(&image);
        assert_eq!(v.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    }

    #[test]
    fn argmax_takes_first_on_ties() {
        assert_eq!(argmax(&[1.0f32, 3.0, 3.0]), 1);
        assert_eq!(argmax::<f32>(&[]), 0);
    }

    /// As `torch.argmax` and `numpy.argmax`: the first NaN wins wherever it is, ±∞ are
    /// ordinary extremes.
    #[test]
    fn argmax_of_non_finite_values() {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        assert_eq!(argmax(&[nan, 1.0, 2.0]), 0);
        assert_eq!(argmax(&[1.0, nan, 2.0]), 1);
        assert_eq!(argmax(&[1.0, 2.0, nan]), 2);
        assert_eq!(argmax(&[inf, nan, nan]), 1);
        assert_eq!(argmax(&[1.0, inf, inf]), 1);
        assert_eq!(argmax(&[-inf, -inf, -1e300]), 2);
        assert_eq!(argmax(&[-inf, -inf]), 0);
        assert_eq!(argmax(&[-0.0f32, 0.0]), 0);
    }
}
