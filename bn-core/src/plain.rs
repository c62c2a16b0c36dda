//! [`PlainData`]: models that are nothing but their scalars, so their bytes can be written,
//! read and embedded as they are.

use crate::{Float, Zeroable};

/// A `#[repr(C)]` type made only of `LEN` scalars of type `Scalar`, without padding: the
/// folded models that `network!` generates.
///
/// # Safety
/// The implementor must be `#[repr(C)]` (or transparent) over exactly `LEN` contiguous
/// `Scalar`s with no padding, so that any `LEN` scalars are a valid value and
/// `size_of::<Self>() == LEN * size_of::<Scalar>()` (generated impls assert this at compile time).
pub unsafe trait PlainData: Copy + Zeroable {
    /// The scalar type (`f32` or `f64`).
    type Scalar: Float;
    /// The number of scalars.
    const LEN: usize;

    /// The scalars, in declaration order.
    fn as_scalars(&self) -> &[Self::Scalar] {
        // SAFETY: by the trait's contract `self` is `LEN` contiguous, initialized scalars.
        unsafe { core::slice::from_raw_parts(self as *const Self as *const Self::Scalar, Self::LEN) }
    }

    /// The scalars, mutably.
    fn as_scalars_mut(&mut self) -> &mut [Self::Scalar] {
        // SAFETY: as above; any scalar values are a valid `Self`, so writes cannot break it.
        unsafe { core::slice::from_raw_parts_mut(self as *mut Self as *mut Self::Scalar, Self::LEN) }
    }
}
