//! [`embed!`]: a folded model compiled into the binary. The compiler reads the file, checks
//! its size and decodes it; nothing is parsed at run time and the model lives in read-only
//! memory (`.rodata`), ready for a `#![no_std]` target without an allocator.

/// Embeds a model file at compile time, as the value of a [`PlainData`](crate::PlainData)
/// type (a `network!`-generated folded type):
///
/// ```ignore
/// static MODEL: MlpFolded = bn_core::embed!(MlpFolded, "model.bin");
/// ```
///
/// - The path is relative to the file that invokes the macro, as with [`include_bytes!`]
///   (which it uses: the build is redone when the file changes); any expression that
///   `include_bytes!` accepts works, e.g.
///   `concat!(env!("CARGO_MANIFEST_DIR"), "/model/model_folded.bin")`.
/// - The file holds the model's bytes in the [documented layout](crate::PlainData#byte-layout):
///   its scalars in declaration order, little-endian, nothing else — what
///   [`PlainData::to_bytes`](crate::PlainData::to_bytes) writes, and what the paper example
///   writes as `model_folded.bin` with `--save DIR`.
/// - A file whose length is not the type's size does not compile, and the error names both
///   sizes and the type (`tests/ui/embed/size_mismatch.rs`):
///
///   ```text
///   error[E0277]: `bn_core::embed!`: the file is 100 bytes, but `TinyFolded` is 104 bytes
///     --> tests/ui/embed/size_mismatch.rs:11:44
///      |
///   11 | static MODEL: TinyFolded = bn_core::embed!(TinyFolded, "size_mismatch.bin");
///      |                                            ^^^^^^^^^^ the file's length must be this type's size in bytes
///   ```
///
///   A type that is not a [`PlainData`](crate::PlainData) model (e.g. the training type
///   instead of its `…Folded` type) is an error too.
/// - **Endianness: converted.** The file is little-endian on every target. On a
///   little-endian target the compiler copies the file's bytes into the value as they are
///   (one `copy_nonoverlapping` in the const evaluator); on a big-endian target it then
///   reverses the bytes of each scalar, also at compile time, so the same file gives the
///   same model everywhere. Compile time, measured on x86-64 with the paper's 400 KB model:
///   the copy adds under 0.1 s to the crate's build; the big-endian byte swaps (measured
///   by running that code path on the same host) add about 1 s.
/// - Use it in a `static` (one copy of the model, in `.rodata`). A `const` works too but is
///   copied into every place that uses it.
///
/// The generated code checks the size through a trait bound (so the mismatch is a type error
/// carrying both numbers), then decodes in a `const` item; the decoder copies the bytes into
/// a `MaybeUninit` of the type and asserts, at compile time, that the type is exactly
/// `LEN` scalars without padding before treating them as a value.
///
/// A complete, compiled example is the workspace's `examples/embedded` crate
/// (`mnist-embedded`, `#![no_std]`), which embeds the paper's 400 KB MNIST model.
#[macro_export]
macro_rules! embed {
    ($ty:ty, $path:expr $(,)?) => {{
        // The inner `const` keeps the decoding in one compile-time evaluation, and lets a big
        // model on a big-endian target take as long as it needs.
        #[allow(long_running_const_eval)]
        const __BN_EMBEDDED_MODEL: $ty = {
            const BYTES: &[::core::primitive::u8] = ::core::include_bytes!($path);
            $crate::__embed::decode_file::<$ty, { ::core::mem::size_of::<$ty>() }, { BYTES.len() }>(BYTES)
        };
        __BN_EMBEDDED_MODEL
    }};
}

/// The compile-time machinery of [`embed!`] (not a public API).
#[doc(hidden)]
pub mod hidden {
    use core::mem::{align_of, MaybeUninit};
    use core::ptr;

    use crate::format::{assert_layout, PlainData, PlainElement};

    /// Holds exactly when `MODEL == FILE`: the bound that [`decode_file`] puts on the model
    /// type, so that a mismatch is a type error that prints both numbers.
    #[diagnostic::on_unimplemented(
        message = "`bn_core::embed!`: the file is {FILE} bytes, but `{Self}` is {MODEL} bytes",
        label = "the file's length must be this type's size in bytes",
        note = "the file must hold the model's scalars as little-endian bytes, nothing else (`PlainData::to_bytes`, or `model_folded.bin` from the paper example's `--save DIR`): write it from a `{Self}`, or name the type it was written from"
    )]
    pub trait SizeMatchesFile<const MODEL: usize, const FILE: usize> {}
    impl<T: ?Sized, const N: usize> SizeMatchesFile<N, N> for T {}

    /// [`decode`], compiling only when the model's size in bytes (`MODEL`, its `size_of`,
    /// which is `T::BYTE_LEN` for a [`PlainData`] type) is the file's (`FILE`).
    pub const fn decode_file<T: PlainData + SizeMatchesFile<MODEL, FILE>, const MODEL: usize, const FILE: usize>(
        bytes: &[u8],
    ) -> T {
        decode::<T>(bytes)
    }

    /// The `T` whose little-endian bytes are `bytes`, for `const` contexts (any endianness).
    ///
    /// # Panics
    /// If `bytes` is not `T::BYTE_LEN` long (at compile time in a `const`: a compile error).
    pub const fn decode<T: PlainData>(bytes: &[u8]) -> T {
        decode_with::<T>(bytes, cfg!(target_endian = "big"))
    }

    /// [`decode`], reversing each scalar's bytes when `swap` (what a big-endian target
    /// needs; a parameter so that the conversion is tested on little-endian hosts too).
    pub const fn decode_with<T: PlainData>(bytes: &[u8], swap: bool) -> T {
        // The layout guard: `T` is exactly `LEN` scalars of `SIZE` bytes, scalar-aligned.
        assert_layout::<T>();
        assert!(bytes.len() == T::BYTE_LEN, "bn_core::embed!: the file's length is not the model's size in bytes");
        let mut out = MaybeUninit::<T>::uninit();
        let dst = out.as_mut_ptr().cast::<u8>();
        // SAFETY: `bytes` is `T::BYTE_LEN` bytes long (asserted above) and `dst` points to
        // `size_of::<T>() == T::BYTE_LEN` (`assert_layout`) writable bytes of the local `out`,
        // which cannot overlap a shared borrow; `u8` has no alignment requirement.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), dst, T::BYTE_LEN) };
        // Bytes (a quantized model, `u8`) have no order to convert.
        if swap && <T::Scalar as PlainElement>::SIZE > 1 {
            let size = <T::Scalar as PlainElement>::SIZE;
            // `f32` and `f64` (sealed) have the size and alignment of `u32` and `u64`.
            let word_align = if size == 4 { align_of::<u32>() } else { align_of::<u64>() };
            assert!((size == 4 || size == 8) && word_align == align_of::<T::Scalar>());
            let mut k = 0;
            while k < T::LEN {
                // SAFETY: scalar `k < LEN` lies inside `out` (`size_of::<T>() == LEN · size`,
                // `assert_layout`); `dst` is aligned for `T`, hence for its scalars
                // (`assert_layout`), hence for the integer of the same size (asserted
                // above); those bytes were initialized by the copy.
                unsafe {
                    if size == 4 {
                        let p = dst.cast::<u32>().add(k);
                        p.write(p.read().swap_bytes());
                    } else {
                        let p = dst.cast::<u64>().add(k);
                        p.write(p.read().swap_bytes());
                    }
                }
                k += 1;
            }
        }
        // SAFETY: all `size_of::<T>()` bytes of `out` were initialized by the copy, and any
        // bytes are a valid `T`: by `PlainData`'s contract `T` is `#[repr(C)]` over exactly
        // `LEN` scalars without padding (the size is asserted by `assert_layout`), and the
        // scalars are `f32`, `f64` or `u8` (sealed `PlainElement`), valid for every bit pattern.
        unsafe { out.assume_init() }
    }
}

#[cfg(test)]
mod tests {
    use super::hidden::{decode, decode_with};
    use crate::PlainData;

    bn_core::network! {
        struct Small { input: 3, dense(4), batchnorm, tanh, dense(2) }
    }
    bn_core::network! {
        struct Small64 { input: 3, scalar: f64, dense(4), batchnorm, tanh, dense(2) }
    }

    /// The little-endian bytes of scalars `0.25 · i - 1` (f32) at compile time.
    const fn le_bytes_f32<const N: usize>() -> [u8; N] {
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N / 4 {
            let b = (0.25 * i as f32 - 1.0).to_le_bytes();
            let mut j = 0;
            while j < 4 {
                out[4 * i + j] = b[j];
                j += 1;
            }
            i += 1;
        }
        out
    }
    /// The same for `f64`, big-endian (what the decoder sees when it swaps).
    const fn be_bytes_f64<const N: usize>() -> [u8; N] {
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N / 8 {
            let b = (0.25 * i as f64 - 1.0).to_be_bytes();
            let mut j = 0;
            while j < 8 {
                out[8 * i + j] = b[j];
                j += 1;
            }
            i += 1;
        }
        out
    }

    const SMALL_BYTES: [u8; 104] = le_bytes_f32::<104>();
    static SMALL: SmallFolded = decode::<SmallFolded>(&SMALL_BYTES);
    static SMALL_VIA_MACRO_PATH: SmallFolded = {
        // What `embed!` expands to, with the bytes from a constant instead of a file.
        const BYTES: &[u8] = &SMALL_BYTES;
        super::hidden::decode_file::<SmallFolded, { size_of::<SmallFolded>() }, { BYTES.len() }>(BYTES)
    };
    // Little-endian bytes read as if on a big-endian target: every scalar's bytes reversed.
    static SMALL_SWAPPED: SmallFolded = decode_with::<SmallFolded>(&SMALL_BYTES, true);
    // Big-endian bytes, swapped: the big-endian target's path, which must give the values.
    static SMALL64_FROM_BE: Small64Folded = decode_with::<Small64Folded>(&be_bytes_f64::<208>(), true);

    #[test]
    fn compile_time_decode_matches_run_time_decode() {
        assert_eq!(SmallFolded::BYTE_LEN, 104);
        let runtime = SmallFolded::from_bytes(&SMALL_BYTES).unwrap();
        assert_eq!(SMALL, runtime);
        assert_eq!(SMALL_VIA_MACRO_PATH, runtime);
        for (i, &x) in SMALL.as_scalars().iter().enumerate() {
            assert_eq!(x, 0.25 * i as f32 - 1.0);
        }
        assert_eq!(SMALL.dense0.weight[0][0], -1.0);
    }

    #[test]
    fn the_big_endian_path_reverses_each_scalar() {
        for (x, chunk) in SMALL_SWAPPED.as_scalars().iter().zip(SMALL_BYTES.chunks_exact(4)) {
            let expected = f32::from_be_bytes(chunk.try_into().unwrap());
            assert_eq!(x.to_bits(), expected.to_bits());
        }
        assert_eq!(Small64Folded::BYTE_LEN, 208);
        for (i, &x) in SMALL64_FROM_BE.as_scalars().iter().enumerate() {
            assert_eq!(x, 0.25 * i as f64 - 1.0);
        }
    }

    #[test]
    #[should_panic(expected = "the file's length is not the model's size")]
    fn a_wrong_length_panics_at_run_time() {
        let _ = decode::<SmallFolded>(&SMALL_BYTES[1..]);
    }
}
