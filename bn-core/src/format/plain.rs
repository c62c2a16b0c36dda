//! [`PlainData`]: models that are nothing but their scalars, so their bytes can be written,
//! read and embedded as they are.
//!
//! The byte layout is documented on [`PlainData`].

use core::mem::{align_of, size_of};

use super::error::LoadError;
use crate::float::Float;
use crate::zeroed::Zeroable;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for u8 {}
}

/// The unit of a [`PlainData`] model's bytes: `f32` or `f64` (a folded model's scalars), or
/// `u8` (a quantized model, which is bytes). The trait is sealed.
///
/// All three have no padding and no invalid bit patterns, so any bytes are a valid value;
/// this is what [`embed!`](crate::embed!) relies on, and why the trait is sealed.
pub trait PlainElement: Copy + PartialEq + core::fmt::Debug + sealed::Sealed + 'static {
    /// The size in bytes, `size_of::<Self>()` (1, 4 or 8).
    const SIZE: usize;

    /// Writes the little-endian bytes of `self` into `out`, which must be `SIZE` bytes long.
    ///
    /// # Panics
    /// If `out.len() != SIZE`.
    fn write_le(self, out: &mut [u8]);

    /// The value whose little-endian bytes are `bytes`, which must be `SIZE` bytes long.
    ///
    /// # Panics
    /// If `bytes.len() != SIZE`.
    fn read_le(bytes: &[u8]) -> Self;
}

/// The scalar of a floating-point [`PlainData`] model and of weights files: `f32` or `f64`
/// (sealed through [`PlainElement`]).
pub trait PlainScalar: Float + PlainElement {}
impl PlainScalar for f32 {}
impl PlainScalar for f64 {}

macro_rules! plain_element {
    ($($t:ty),*) => { $(
        impl PlainElement for $t {
            const SIZE: usize = size_of::<$t>();

            #[inline(always)]
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }

            #[inline(always)]
            fn read_le(bytes: &[u8]) -> Self {
                let mut a = [0u8; size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_le_bytes(a)
            }
        }
    )* };
}
plain_element!(f32, f64, u8);

/// A `#[repr(C)]` type made only of `LEN` scalars of type `Scalar`, without padding: the
/// folded models that `network!` generates.
///
/// Its bytes (see [the byte layout](#byte-layout)) are written by
/// [`write_bytes`](Self::write_bytes) / [`to_bytes`](Self::to_bytes) and read by
/// [`from_bytes`](Self::from_bytes), [`from_bytes_into`](Self::from_bytes_into) and
/// [`from_bytes_boxed`](Self::from_bytes_boxed) at run time, or by
/// [`embed!`](crate::embed!) at compile time.
///
/// # Byte layout
///
/// The bytes of a [`PlainData`] model (a `network!`-generated folded type, e.g. `MlpFolded`)
/// are its [`LEN`](PlainData::LEN) scalars in declaration order, each as its little-endian
/// IEEE 754 bytes (`f32`: 4 bytes, `f64`: 8), with nothing before, between or after them:
/// [`BYTE_LEN`](PlainData::BYTE_LEN) `= LEN × size_of::<Scalar>()` bytes in all. Declaration
/// order is the order of the folded layers, and within a layer the order of its fields:
/// a dense layer's weight matrix (row-major, `[out][in]`, as PyTorch's `Linear.weight`),
/// then its bias; an affine layer's scale, then its shift.
///
/// A quantized model (`…Quantized`, `Scalar = u8`) is bytes: its fields in declaration
/// order, each an `i8` array (weights, `[out][in]` or `[C_out][C·KH·KW]`), or a 32-bit number
/// as its 4 little-endian bytes ([`LeI32`](crate::quant::LeI32), [`LeF32`](crate::quant::LeF32)),
/// alignment 1 and no padding whatever the widths; the generated type's rustdoc lists them.
///
/// The type is `#[repr(C)]` without padding (asserted at compile time), so on a
/// little-endian target these bytes are exactly its memory image. The methods here never
/// reinterpret pointers to the input bytes: they decode scalar by scalar with
/// `from_le_bytes`, so the input may be at any alignment and the result is the same on a
/// big-endian target. [`embed!`](crate::embed!) decodes the same layout at compile time.
///
/// | method | allocates | stack |
/// |---|---|---|
/// | [`write_bytes`](PlainData::write_bytes) | no | small |
/// | [`to_bytes`](PlainData::to_bytes) (`alloc`) | the `Vec` | small |
/// | [`from_bytes_into`](PlainData::from_bytes_into) | no | small |
/// | [`from_bytes_boxed`](PlainData::from_bytes_boxed) (`alloc`) | the `Box` | small |
/// | [`from_bytes`](PlainData::from_bytes) | no | the model, by value |
///
/// ```
/// use bn_core::PlainData;
///
/// bn_core::network! {
///     pub struct Tiny { input: 3, dense(4), batchnorm, relu, dense(2) }
/// }
/// let folded = Tiny::new(7).fold();
/// let bytes = folded.to_bytes();
/// assert_eq!(bytes.len(), TinyFolded::BYTE_LEN);
/// assert_eq!(TinyFolded::BYTE_LEN, (3 * 4 + 4 + 4 * 2 + 2) * 4);
/// // Any alignment: decode from an odd offset.
/// let mut buf = vec![0u8; bytes.len() + 1];
/// buf[1..].copy_from_slice(&bytes);
/// assert_eq!(TinyFolded::from_bytes(&buf[1..]), Ok(folded));
/// // A wrong length is an error that names both sizes.
/// assert_eq!(
///     TinyFolded::from_bytes(&bytes[1..]).unwrap_err(),
///     bn_core::LoadError::WrongSize { expected: 104, found: 103 }
/// );
/// ```
///
/// # Safety
/// The implementor must be `#[repr(C)]` (or transparent) over exactly `LEN` contiguous
/// `Scalar`s with no padding, so that any `LEN` scalars are a valid value and
/// `size_of::<Self>() == LEN * size_of::<Scalar>()` (generated impls assert this at compile
/// time, and every method here asserts it again, at compile time, for the type it is used
/// with). `Scalar` is `f32`, `f64` or `u8` ([`PlainElement`] is sealed), for which every bit
/// pattern is valid: any `BYTE_LEN` bytes are a valid `Self`. A `u8` model may hold fields
/// of any type of alignment 1 valid for every bit pattern (`i8`, [`LeI32`](crate::quant::LeI32)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plain model (`bn_core::PlainData`)",
    label = "not a folded model",
    note = "`embed!` and the byte methods (`to_bytes`, `from_bytes`, …) take the folded inference type that `network!` generates (`NetFolded` for `struct Net`), which is only its scalars"
)]
pub unsafe trait PlainData: Copy + Zeroable {
    /// The scalar type: `f32` or `f64` for a folded model, `u8` for a quantized one.
    type Scalar: PlainElement;
    /// The number of scalars.
    const LEN: usize;
    /// The size in bytes of the model and of its byte layout: `LEN × size_of::<Scalar>()`.
    /// Do not override it.
    const BYTE_LEN: usize = Self::LEN * <Self::Scalar as PlainElement>::SIZE;

    /// The scalars, in declaration order.
    fn as_scalars(&self) -> &[Self::Scalar] {
        const { assert_layout::<Self>() };
        // SAFETY: by the trait's contract (checked above: the size is `LEN` scalars and the
        // alignment is the scalar's) `self` is `LEN` contiguous, initialized scalars.
        unsafe { core::slice::from_raw_parts(self as *const Self as *const Self::Scalar, Self::LEN) }
    }

    /// The scalars, mutably.
    fn as_scalars_mut(&mut self) -> &mut [Self::Scalar] {
        const { assert_layout::<Self>() };
        // SAFETY: as above; any scalar values are a valid `Self`, so writes cannot break it.
        unsafe { core::slice::from_raw_parts_mut(self as *mut Self as *mut Self::Scalar, Self::LEN) }
    }

    /// Writes the model's bytes (little-endian, see [the byte layout](PlainData#byte-layout)) into `out`,
    /// which must be exactly [`BYTE_LEN`](Self::BYTE_LEN) long; no allocation.
    ///
    /// # Errors
    /// [`LoadError::WrongSize`] (`expected: BYTE_LEN`, `found: out.len()`), writing nothing.
    fn write_bytes(&self, out: &mut [u8]) -> Result<(), LoadError> {
        check_len::<Self>(out.len())?;
        let size = <Self::Scalar as PlainElement>::SIZE;
        for (x, chunk) in self.as_scalars().iter().zip(out.chunks_exact_mut(size)) {
            x.write_le(chunk);
        }
        Ok(())
    }

    /// The model's bytes (little-endian, see [the byte layout](PlainData#byte-layout)): `BYTE_LEN` of them.
    #[cfg(feature = "alloc")]
    fn to_bytes(&self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec![0u8; Self::BYTE_LEN];
        let written = self.write_bytes(&mut out);
        debug_assert!(written.is_ok(), "the buffer has the model's size");
        out
    }

    /// Overwrites `self` with the model whose bytes are `bytes` (any alignment); no
    /// allocation and no temporary of the model's size.
    ///
    /// # Errors
    /// [`LoadError::WrongSize`] (`expected: BYTE_LEN`, `found: bytes.len()`); `self` is
    /// then unchanged.
    // `_into` like `fold_into`: it fills `self` in place, the `from_` names the source.
    #[allow(clippy::wrong_self_convention)]
    fn from_bytes_into(&mut self, bytes: &[u8]) -> Result<(), LoadError> {
        check_len::<Self>(bytes.len())?;
        let size = <Self::Scalar as PlainElement>::SIZE;
        for (x, chunk) in self.as_scalars_mut().iter_mut().zip(bytes.chunks_exact(size)) {
            *x = <Self::Scalar as PlainElement>::read_le(chunk);
        }
        Ok(())
    }

    /// The model whose bytes are `bytes` (any alignment), returned by value: it passes
    /// through the stack, so prefer [`from_bytes_boxed`](Self::from_bytes_boxed) or
    /// [`from_bytes_into`](Self::from_bytes_into) for big models (the paper's network is
    /// 400 KB), and [`embed!`](crate::embed!) for a model known at compile time.
    ///
    /// # Errors
    /// [`LoadError::WrongSize`] (`expected: BYTE_LEN`, `found: bytes.len()`).
    fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        check_len::<Self>(bytes.len())?;
        let mut model = Self::zeroed();
        model.from_bytes_into(bytes)?;
        Ok(model)
    }

    /// The model whose bytes are `bytes` (any alignment), decoded directly into a zeroed
    /// heap allocation ([`boxed_zeroed`](crate::boxed_zeroed)): nothing of the model's size
    /// touches the stack.
    ///
    /// # Errors
    /// [`LoadError::WrongSize`] (`expected: BYTE_LEN`, `found: bytes.len()`), before
    /// allocating.
    #[cfg(feature = "alloc")]
    fn from_bytes_boxed(bytes: &[u8]) -> Result<alloc::boxed::Box<Self>, LoadError> {
        check_len::<Self>(bytes.len())?;
        let mut model = crate::zeroed::boxed_zeroed::<Self>();
        model.from_bytes_into(bytes)?;
        Ok(model)
    }
}

/// `Ok` when `found` is `T`'s byte length.
fn check_len<T: PlainData>(found: usize) -> Result<(), LoadError> {
    if found == T::BYTE_LEN {
        Ok(())
    } else {
        Err(LoadError::WrongSize { expected: T::BYTE_LEN, found })
    }
}

/// The layout guard of a [`PlainData`] type, evaluated at compile time (in `const` blocks)
/// for every type the methods are used with: exactly `LEN` scalars, scalar-aligned, and
/// `BYTE_LEN` not overridden.
pub(crate) const fn assert_layout<T: PlainData>() {
    assert!(
        T::BYTE_LEN == T::LEN * <T::Scalar as PlainElement>::SIZE,
        "PlainData: BYTE_LEN must be LEN scalars (do not override it)"
    );
    assert!(size_of::<T>() == T::BYTE_LEN, "PlainData: the type must be exactly LEN scalars, without padding");
    assert!(
        align_of::<T>().is_multiple_of(align_of::<T::Scalar>()),
        "PlainData: the type must be aligned for its scalar"
    );
    assert!(size_of::<T::Scalar>() == <T::Scalar as PlainElement>::SIZE, "PlainElement::SIZE is the scalar's size");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Affine, Dense};
    use typenum::{U2, U3};

    /// A hand-written plain type: a dense layer and an affine layer.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Two<T: crate::Float> {
        d: Dense<U3, U2, T, true>,
        a: Affine<U2, T>,
    }
    // SAFETY: `#[repr(C)]` pair of `#[repr(C)]` layers of `T` arrays: all-zero is valid.
    unsafe impl<T: crate::Float> Zeroable for Two<T> {}
    // SAFETY: `#[repr(C)]` over 3·2 + 2 + 2 + 2 scalars without padding (asserted by every
    // method through `assert_layout`).
    unsafe impl<T: PlainScalar> PlainData for Two<T> {
        type Scalar = T;
        const LEN: usize = 12;
    }

    fn sample<T: PlainScalar>() -> Two<T> {
        let mut m = Two::<T>::zeroed();
        for (i, x) in m.as_scalars_mut().iter_mut().enumerate() {
            *x = T::from_f64(i as f64 * 0.5 - 2.0);
        }
        m
    }

    #[test]
    fn layout_is_little_endian_scalars_in_declaration_order() {
        let m = sample::<f32>();
        let bytes = m.to_bytes();
        assert_eq!(bytes.len(), 48);
        assert_eq!(Two::<f32>::BYTE_LEN, 48);
        for (i, chunk) in bytes.chunks_exact(4).enumerate() {
            assert_eq!(chunk, (i as f32 * 0.5 - 2.0).to_le_bytes());
        }
        let m64 = sample::<f64>();
        let bytes64 = m64.to_bytes();
        assert_eq!(bytes64.len(), 96);
        assert_eq!(&bytes64[8..16], &(-1.5f64).to_le_bytes());
    }

    #[test]
    fn round_trips_at_every_alignment() {
        let m = sample::<f64>();
        let bytes = m.to_bytes();
        let mut buf = alloc::vec![0xAAu8; bytes.len() + 16];
        for offset in 0..16 {
            buf[offset..offset + bytes.len()].copy_from_slice(&bytes);
            let src = &buf[offset..offset + bytes.len()];
            assert_eq!(Two::<f64>::from_bytes(src), Ok(m), "offset {offset}");
            assert_eq!(*Two::<f64>::from_bytes_boxed(src).unwrap(), m);
            let mut into = Two::<f64>::zeroed();
            into.from_bytes_into(src).unwrap();
            assert_eq!(into, m);
            let mut out = alloc::vec![0u8; bytes.len() + 16];
            m.write_bytes(&mut out[offset..offset + bytes.len()]).unwrap();
            assert_eq!(&out[offset..offset + bytes.len()], &bytes[..]);
        }
    }

    #[test]
    fn every_bit_pattern_round_trips_exactly() {
        let mut m = Two::<f32>::zeroed();
        let specials = [f32::NAN, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE / 2.0, f32::MAX];
        for (x, s) in m.as_scalars_mut().iter_mut().zip(specials) {
            *x = s;
        }
        m.as_scalars_mut()[11] = f32::from_bits(0x7fa0_0001); // a signalling NaN payload
        let back = Two::<f32>::from_bytes(&m.to_bytes()).unwrap();
        let bits = |t: &Two<f32>| t.as_scalars().iter().map(|x| x.to_bits()).collect::<alloc::vec::Vec<_>>();
        assert_eq!(bits(&back), bits(&m));
    }

    #[test]
    fn wrong_sizes_are_errors_and_leave_the_target_unchanged() {
        let m = sample::<f32>();
        let bytes = m.to_bytes();
        for len in [0, 1, 47, 49, 96] {
            let data = alloc::vec![7u8; len];
            let err = LoadError::WrongSize { expected: 48, found: len };
            assert_eq!(Two::<f32>::from_bytes(&data), Err(err.clone()));
            assert_eq!(Two::<f32>::from_bytes_boxed(&data).unwrap_err(), err);
            let mut into = m;
            assert_eq!(into.from_bytes_into(&data), Err(err.clone()));
            assert_eq!(into, m, "unchanged on error");
            let mut out = alloc::vec![9u8; len];
            assert_eq!(m.write_bytes(&mut out), Err(err));
            assert!(out.iter().all(|&b| b == 9), "nothing written on error");
        }
        assert!(Two::<f32>::from_bytes(&bytes).is_ok());
    }
}
