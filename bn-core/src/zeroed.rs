//! Construction without stack temporaries: [`Zeroable`] types are allocated zeroed
//! (on the heap with [`boxed_zeroed`]) and then initialized in place.
//!
//! `Box::new(Model::default())` builds the model on the stack first and copies it; the
//! paper-sized network with gradients and optimizer state is over a megabyte and overflows
//! a 2 MiB test thread in a debug build. [`boxed_zeroed`] asks the allocator for zeroed
//! memory directly, so nothing of the model's size ever touches the stack.

use generic_array::{ArrayLength, GenericArray};

/// Types for which the all-zero byte pattern is a valid value.
///
/// # Safety
/// An implementor must be valid when every byte of it is zero: only integers, floats,
/// `bool`s, arrays of and `#[repr(C)]`/plain structs of `Zeroable` fields (an enum only when
/// its representation gives tag `0` to a field-less variant). The `network!` macro implements
/// it for generated types after asserting at compile time that every field is `Zeroable`.
pub unsafe trait Zeroable: Sized {
    /// The all-zero value, built on the stack (for small types; see [`boxed_zeroed`]).
    #[inline]
    fn zeroed() -> Self {
        // SAFETY: the trait's contract: all-zero bytes are a valid `Self`.
        unsafe { core::mem::zeroed() }
    }
}

macro_rules! zeroable {
    ($($t:ty),*) => { $(
        // SAFETY: zero is a valid value of every primitive number and of `bool` (false).
        unsafe impl Zeroable for $t {}
    )* };
}
zeroable!(f32, f64, u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, bool, ());

// SAFETY: a `GenericArray<T, N>` has the layout of `[T; N]`; all-zero `T`s are valid.
unsafe impl<T: Zeroable, N: ArrayLength> Zeroable for GenericArray<T, N> {}
// SAFETY: as above, for built-in arrays.
unsafe impl<T: Zeroable, const N: usize> Zeroable for [T; N] {}

/// Allocates a zeroed `T` directly on the heap, with no stack temporary of `T`'s size.
///
/// ```
/// use bn_core::{boxed_zeroed, Matrix, typenum::{U1024, U2048}};
/// // 8 MB: far beyond a 2 MiB thread stack, fine here.
/// let m: Box<Matrix<U2048, U1024>> = boxed_zeroed();
/// assert_eq!(m[2047][1023], 0.0);
/// ```
#[cfg(feature = "alloc")]
pub fn boxed_zeroed<T: Zeroable>() -> alloc::boxed::Box<T> {
    use alloc::alloc::{alloc_zeroed, handle_alloc_error, Layout};
    use alloc::boxed::Box;
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        // SAFETY: a `Box` of a zero-sized type may hold any non-null, aligned pointer, and
        // the (empty) value is valid by the `Zeroable` contract. (Never `Box::new(T::..)`
        // here: a debug build reserves a stack slot for it even on the untaken branch.)
        return unsafe { Box::from_raw(core::ptr::NonNull::<T>::dangling().as_ptr()) };
    }
    // SAFETY: `layout` has non-zero size. The allocation is zero-filled and, by the
    // `Zeroable` contract, is then a valid `T`; it was allocated with `T`'s layout by the
    // global allocator, which is what `Box::from_raw` requires.
    unsafe {
        let ptr = alloc_zeroed(layout) as *mut T;
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        Box::from_raw(ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use typenum::U3;

    #[test]
    fn zeroed_values_are_zero() {
        let a: GenericArray<GenericArray<f32, U3>, U3> = Zeroable::zeroed();
        assert!(a.iter().flatten().all(|&x| x == 0.0));
        let b: alloc::boxed::Box<[u64; 5]> = boxed_zeroed();
        assert_eq!(*b, [0; 5]);
        let unit: alloc::boxed::Box<()> = boxed_zeroed();
        assert_eq!(*unit, ());
    }
}

/// `T` on a 64-byte boundary (a cache line), so that no vector load or store of it straddles
/// two lines wherever it is placed.
///
/// The generated forwards keep their temporaries in it. Putting a folded model in one as well
/// makes the one-sample latency independent of where the stack, the allocator or a static
/// happen to place it (`benches/tiny.rs` measures the one-sample latency of a small network
/// with model and input on cache lines and 16 bytes past one).
///
/// ```
/// use bn_core::CacheAligned;
/// let x = CacheAligned([0.5f32; 16]);
/// assert_eq!(&x.0 as *const _ as usize % 64, 0);
/// static WEIGHTS: CacheAligned<[f32; 4]> = CacheAligned([1.0; 4]);
/// assert_eq!(WEIGHTS.0[3], 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(64))]
pub struct CacheAligned<T>(pub T);

// SAFETY: a `T` (all-zero is valid by `T: Zeroable`) and padding.
unsafe impl<T: Zeroable> Zeroable for CacheAligned<T> {}

impl<T: Zeroable> CacheAligned<T> {
    /// All zeros.
    #[inline(always)]
    pub fn zeroed() -> Self {
        CacheAligned(T::zeroed())
    }
}
