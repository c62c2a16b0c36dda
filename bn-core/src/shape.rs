//! Shapes: every dimension is a [`typenum`] type and every tensor is an inline
//! [`GenericArray`], so shapes are checked by the compiler and nothing lives on the heap.

use generic_array::{ArrayLength, GenericArray};
use typenum::{Bit, UInt, Unsigned};

/// A vector of `N` scalars (one sample's features), stored inline.
pub type Vector<N, T = f32> = GenericArray<T, N>;

/// An `R × C` matrix, row-major: `m[r][c]`. A dense layer's weight is `Matrix<O, I>`,
/// PyTorch's `[out, in]` layout.
pub type Matrix<R, C, T = f32> = GenericArray<GenericArray<T, C>, R>;

/// A mini-batch of `B` samples of `N` features, row-major: `x[sample][feature]`.
pub type Batch<B, N, T = f32> = Matrix<B, N, T>;

/// A batch size that can train Batch Normalization: at least 2.
///
/// The batch variance of a single sample is zero and BN's output would be `β` whatever
/// the input (PyTorch raises at run time, others silently return NaN or garbage), so
/// every training call takes its batch size `B: TrainBatch`, and a batch of 1 does not
/// compile:
///
/// ```compile_fail
/// fn needs_training_batch<B: bn_core::TrainBatch>() {}
/// needs_training_batch::<bn_core::typenum::U1>();
/// ```
/// ```
/// fn needs_training_batch<B: bn_core::TrainBatch>() {}
/// needs_training_batch::<bn_core::typenum::U2>();
/// needs_training_batch::<bn_core::typenum::U60>();
/// ```
#[diagnostic::on_unimplemented(
    message = "training needs a batch of at least 2 samples",
    label = "Batch Normalization's batch variance is undefined for a batch of 1 (and a batch of 0 is empty)",
    note = "train with a batch size of 2 or more; for one sample use the eval forward or the folded model"
)]
pub trait TrainBatch: ArrayLength {}

// Every typenum number >= 2 is `UInt<UInt<A, X>, Y>`; 1 is `UInt<UTerm, B1>` and 0 is `UTerm`.
// (`do_not_recommend`: the error names the rule, not this impl's typenum shape.)
#[diagnostic::do_not_recommend]
impl<A: Unsigned, X: Bit, Y: Bit> TrainBatch for UInt<UInt<A, X>, Y> where Self: ArrayLength {}

/// A batch size that can train a network without Batch Normalization: at least 1.
///
/// `network!` asks for [`TrainBatch`] (at least 2) only from networks that contain a
/// `batchnorm`; LayerNorm and the rest train on single samples.
///
/// ```compile_fail
/// fn needs_a_sample<B: bn_core::NonEmptyBatch>() {}
/// needs_a_sample::<bn_core::typenum::U0>();
/// ```
/// ```
/// fn needs_a_sample<B: bn_core::NonEmptyBatch>() {}
/// needs_a_sample::<bn_core::typenum::U1>();
/// needs_a_sample::<bn_core::typenum::U60>();
/// ```
#[diagnostic::on_unimplemented(
    message = "training needs a batch of at least 1 sample",
    label = "a batch of 0 samples is empty",
    note = "train with a batch size of 1 or more"
)]
pub trait NonEmptyBatch: ArrayLength {}

// Every typenum number >= 1 is `UInt<A, X>`; 0 is `UTerm`.
#[diagnostic::do_not_recommend]
impl<A: Unsigned, X: Bit> NonEmptyBatch for UInt<A, X> where Self: ArrayLength {}

/// The elements of a matrix (or batch) as one contiguous, row-major slice.
#[inline(always)]
pub fn flat<R: ArrayLength, C: ArrayLength, T>(m: &Matrix<R, C, T>) -> &[T] {
    // SAFETY: `GenericArray<T, N>` is `repr(transparent)` over a contiguous `[T; N]`
    // (generic-array guarantees the layout of `[T; N]`), so `R` rows of `C` elements are
    // `R * C` contiguous, initialized `T`s, borrowed for the lifetime of `m`.
    unsafe { core::slice::from_raw_parts(m.as_ptr() as *const T, R::USIZE * C::USIZE) }
}

/// Mutable version of [`flat`].
#[inline(always)]
pub fn flat_mut<R: ArrayLength, C: ArrayLength, T>(m: &mut Matrix<R, C, T>) -> &mut [T] {
    // SAFETY: as in `flat`; the exclusive borrow of `m` is carried by the returned slice.
    unsafe { core::slice::from_raw_parts_mut(m.as_mut_ptr() as *mut T, R::USIZE * C::USIZE) }
}

/// The `C` consecutive samples of `x` starting at sample `start`, as a batch of `C` (a view,
/// no copy).
///
/// # Panics
/// If `start + C` exceeds the batch size `B`.
#[inline]
pub fn sub_batch<B: ArrayLength, C: ArrayLength, N: ArrayLength, T>(
    x: &Batch<B, N, T>,
    start: usize,
) -> &Batch<C, N, T> {
    assert!(start + C::USIZE <= B::USIZE, "samples {start}..{} of a batch of {}", start + C::USIZE, B::USIZE);
    // SAFETY: a `Batch<B, N, T>` is `B` contiguous rows of `N` `T`s (generic-array has the
    // layout of `[T; N]`), so rows `start..start + C` are in bounds (asserted above) and are
    // exactly a `Batch<C, N, T>`, whose alignment is `T`'s like the rows'; the borrow of `x`
    // is carried over.
    unsafe { &*(x.as_ptr().add(start) as *const Batch<C, N, T>) }
}

/// Mutable version of [`sub_batch`].
///
/// # Panics
/// If `start + C` exceeds the batch size `B`.
#[inline]
pub fn sub_batch_mut<B: ArrayLength, C: ArrayLength, N: ArrayLength, T>(
    x: &mut Batch<B, N, T>,
    start: usize,
) -> &mut Batch<C, N, T> {
    assert!(start + C::USIZE <= B::USIZE, "samples {start}..{} of a batch of {}", start + C::USIZE, B::USIZE);
    // SAFETY: as in `sub_batch`; the exclusive borrow of `x` is carried over.
    unsafe { &mut *(x.as_mut_ptr().add(start) as *mut Batch<C, N, T>) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use typenum::{U2, U3};
    extern crate std;

    #[test]
    fn flat_is_row_major() {
        let mut m: Matrix<U2, U3, i32> = Default::default();
        for r in 0..2 {
            for c in 0..3 {
                m[r][c] = (10 * r + c) as i32;
            }
        }
        assert_eq!(flat(&m), &[0, 1, 2, 10, 11, 12]);
        flat_mut(&mut m)[4] = 99;
        assert_eq!(m[1][1], 99);
    }

    #[test]
    fn sub_batches_are_views_of_consecutive_rows() {
        use typenum::U1;
        let mut m: Matrix<U3, U2, i32> = Default::default();
        flat_mut(&mut m).iter_mut().enumerate().for_each(|(k, v)| *v = k as i32);
        let s: &Matrix<U2, U2, i32> = sub_batch(&m, 1);
        assert_eq!(flat(s), &[2, 3, 4, 5]);
        sub_batch_mut::<U3, U1, U2, i32>(&mut m, 2)[0][1] = -1;
        assert_eq!(m[2][1], -1);
        let out_of_range = std::panic::catch_unwind(|| sub_batch::<U3, U2, U2, i32>(&m, 2).len());
        assert!(out_of_range.is_err());
    }
}
