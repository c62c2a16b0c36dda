//! [`Affine`]: a per-feature affine map `y = a ⊙ x + b`, what an inference-mode Batch
//! Normalization is.

use core::fmt;

use generic_array::ArrayLength;

use crate::float::Float;
use crate::shape::{Batch, Vector};
use crate::zeroed::Zeroable;

/// A per-feature affine map `y = a ⊙ x + b` (`scale` = a, `shift` = b).
///
/// In inference, Batch Normalization is exactly this map with `a = γ/√(Var[x]+ε)` and
/// `b = β − a·E[x]` (Ioffe & Szegedy 2015, §3.1 and Algorithm 2, step 11). Folding merges
/// it into an adjacent [`Dense`](crate::Dense) layer; one that has no dense neighbour to
/// merge into stays an `Affine` layer of the folded model.
///
/// ```
/// use bn_core::{Affine, generic_array::arr, typenum::U2};
/// let a = Affine::<U2> { scale: arr![2.0, -1.0], shift: arr![1.0, 0.5] };
/// let mut y = Default::default();
/// a.forward_one(&arr![3.0, 4.0], &mut y);
/// assert_eq!(y, arr![7.0, -3.5]);
/// ```
#[repr(C)]
pub struct Affine<N: ArrayLength, T: Float = f32> {
    /// Per-feature scale `a`.
    pub scale: Vector<N, T>,
    /// Per-feature shift `b`.
    pub shift: Vector<N, T>,
}

impl<N: ArrayLength, T: Float> Affine<N, T> {
    /// The identity map.
    pub fn identity() -> Self {
        let mut a = Self::zeroed();
        a.scale.iter_mut().for_each(|s| *s = T::ONE);
        a
    }

    /// Applies the map to one sample.
    #[inline]
    pub fn forward_one(&self, x: &Vector<N, T>, y: &mut Vector<N, T>) {
        for (((y, &x), &a), &b) in y.iter_mut().zip(x.iter()).zip(self.scale.iter()).zip(self.shift.iter()) {
            *y = a * x + b;
        }
    }

    /// Applies the map in place.
    #[inline]
    pub fn apply(&self, x: &mut Vector<N, T>) {
        for ((x, &a), &b) in x.iter_mut().zip(self.scale.iter()).zip(self.shift.iter()) {
            *x = a * *x + b;
        }
    }

    /// Applies the map to every sample of a batch.
    pub fn forward<B: ArrayLength>(&self, x: &Batch<B, N, T>, y: &mut Batch<B, N, T>) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_one(xb, yb);
        }
    }

    /// Applies the map per channel to one image of `N` channels of `S` pixels (`X = N·S`
    /// values, channel after channel): `y[c][s] = a[c]·x[c][s] + b[c]`.
    #[inline]
    pub fn forward_one_channels<S: ArrayLength, X: ArrayLength>(&self, x: &Vector<X, T>, y: &mut Vector<X, T>) {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "forward_one_channels: a sample must be N channels of S pixels") };
        for ((xc, yc), (&a, &b)) in
            x.chunks_exact(S::USIZE).zip(y.chunks_exact_mut(S::USIZE)).zip(self.scale.iter().zip(self.shift.iter()))
        {
            for (yv, &xv) in yc.iter_mut().zip(xc) {
                *yv = a * xv + b;
            }
        }
    }

    /// [`forward_one_channels`](Self::forward_one_channels) for every image of a batch.
    pub fn forward_channels<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
    ) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_one_channels::<S, X>(xb, yb);
        }
    }

    /// [`forward_one_channels`](Self::forward_one_channels).
    #[deprecated(note = "renamed to `forward_one_channels`")]
    #[inline]
    pub fn forward_one_2d<S: ArrayLength, X: ArrayLength>(&self, x: &Vector<X, T>, y: &mut Vector<X, T>) {
        self.forward_one_channels::<S, X>(x, y)
    }

    /// [`forward_channels`](Self::forward_channels).
    #[deprecated(note = "renamed to `forward_channels`")]
    pub fn forward_2d<S: ArrayLength, B: ArrayLength, X: ArrayLength>(
        &self,
        x: &Batch<B, X, T>,
        y: &mut Batch<B, X, T>,
    ) {
        self.forward_channels::<S, B, X>(x, y)
    }

    /// The map on the `X = N·S` values of an image that applies channel `c`'s scale and
    /// shift to each of its `S` pixels: what a per-channel map is to the features after
    /// `flatten` (so that it folds into the dense layer that follows).
    pub fn per_pixel<S: ArrayLength, X: ArrayLength>(&self) -> Affine<X, T> {
        const { assert!(X::USIZE == N::USIZE * S::USIZE, "per_pixel: X must be N channels of S pixels") };
        let mut out = Affine::<X, T>::zeroed();
        for (k, (a, b)) in out.scale.chunks_exact_mut(S::USIZE).zip(out.shift.chunks_exact_mut(S::USIZE)).enumerate() {
            a.fill(self.scale[k]);
            b.fill(self.shift[k]);
        }
        out
    }

    /// The composition "`self`, then `next`": `x ↦ next(self(x))`.
    pub fn then(&self, next: &Self) -> Self {
        let mut out = Self::zeroed();
        for k in 0..N::USIZE {
            out.scale[k] = next.scale[k] * self.scale[k];
            out.shift[k] = next.scale[k] * self.shift[k] + next.shift[k];
        }
        out
    }
}

// SAFETY: two arrays of floats.
unsafe impl<N: ArrayLength, T: Float> Zeroable for Affine<N, T> {}

impl<N: ArrayLength, T: Float> Default for Affine<N, T> {
    /// The identity map.
    fn default() -> Self {
        Self::identity()
    }
}

impl<N: ArrayLength, T: Float> Clone for Affine<N, T> {
    fn clone(&self) -> Self {
        Affine { scale: self.scale.clone(), shift: self.shift.clone() }
    }
}

impl<N: ArrayLength, T: Float> Copy for Affine<N, T> where Vector<N, T>: Copy {}

impl<N: ArrayLength, T: Float> PartialEq for Affine<N, T> {
    fn eq(&self, other: &Self) -> bool {
        self.scale == other.scale && self.shift == other.shift
    }
}

impl<N: ArrayLength, T: Float> fmt::Debug for Affine<N, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Affine").field("scale", &self.scale.as_slice()).field("shift", &self.shift.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use generic_array::arr;
    use typenum::U2;

    #[test]
    fn composition_applies_in_order() {
        let f = Affine::<U2, f64> { scale: arr![2.0, 3.0], shift: arr![1.0, -1.0] };
        let g = Affine::<U2, f64> { scale: arr![-1.0, 0.5], shift: arr![4.0, 0.0] };
        let x = arr![1.5, -2.0];
        let (mut fx, mut gfx, mut h) = (Vector::default(), Vector::default(), Vector::default());
        f.forward_one(&x, &mut fx);
        g.forward_one(&fx, &mut gfx);
        f.then(&g).forward_one(&x, &mut h);
        assert_eq!(gfx, h);
        assert_eq!(h, arr![0.0, -3.5]);
        let mut x2 = x;
        Affine::identity().apply(&mut x2);
        assert_eq!(x2, x);
    }
}
