//! [`LeI32`] and [`LeF32`]: 32-bit numbers stored as their four little-endian bytes, so that
//! a quantized model is a `#[repr(C)]` struct of bytes: alignment 1, no padding whatever the
//! widths, the same bytes on every target (see [`PlainData`](crate::PlainData)).

use core::fmt;

macro_rules! le_number {
    ($(#[$doc:meta])* $name:ident, $t:ty) => {
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; 4]);

        impl $name {
            /// The bytes of `v`.
            #[inline(always)]
            pub const fn new(v: $t) -> Self {
                $name(v.to_le_bytes())
            }

            /// The number.
            #[inline(always)]
            pub const fn get(self) -> $t {
                <$t>::from_le_bytes(self.0)
            }
        }

        impl From<$t> for $name {
            fn from(v: $t) -> Self {
                $name::new(v)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        // SAFETY: four zero bytes are a valid value (the number 0).
        unsafe impl crate::zeroed::Zeroable for $name {}
    };
}

le_number!(
    /// An `i32` as its little-endian bytes (alignment 1): [`get`](Self::get) reads it.
    ///
    /// ```
    /// use bn_core::quant::LeI32;
    /// assert_eq!(LeI32::new(-2).0, [0xfe, 0xff, 0xff, 0xff]);
    /// assert_eq!(LeI32::new(-2).get(), -2);
    /// ```
    LeI32,
    i32
);
le_number!(
    /// An `f32` as its little-endian bytes (alignment 1): [`get`](Self::get) reads it.
    LeF32,
    f32
);
