//! The vector abstraction the x86 kernels are written against: [`Simd`] (one instruction
//! set's vector of `f32`), [`Dot`] (what the forward's dot products add), the Cephes `exp`
//! constants of the sigmoid, and a partial store.

use core::arch::x86_64::*;

/// One instruction set's vector of `f32` and the operations the kernels need.
///
/// # Safety
///
/// Every method is `unsafe` for one shared reason, stated once here and referred to by each
/// method's `# Safety`: it is compiled with `#[target_feature]` for the implementor's
/// instruction set (AVX2 and FMA for `Avx2`, AVX-512F (and VL for the 8-lane forms) for
/// `Avx512`), so **the CPU must support that instruction set**: executing it elsewhere is
/// undefined behavior. The kernels guarantee this by being reached only through a
/// `Supported` level token (`kernels/level.rs`). The methods that take pointers also need
/// them valid as each says; the others have no further requirement. The implementations
/// (`avx2.rs`, `avx512.rs`) have exactly these contracts.
pub trait Simd: Copy {
    type V: Copy;
    /// The vector of zeros.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn zero() -> Self::V;
    /// Every lane `x`.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn splat(x: f32) -> Self::V;
    /// Loads `L` elements from `p`.
    ///
    /// # Safety
    /// The CPU supports the instruction set; `p` is valid for reads of `L` `f32`s (any
    /// alignment).
    unsafe fn load(p: *const f32) -> Self::V;
    /// Loads `n ≤ L` elements from `p` (the other lanes are 0; nothing past `p + n` is read).
    ///
    /// # Safety
    /// The CPU supports the instruction set; `n ≤ L`; `p` is valid for reads of `n` `f32`s
    /// (masked: no lane past `n` is accessed).
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    /// Stores the `L` lanes of `v` to `p`.
    ///
    /// # Safety
    /// The CPU supports the instruction set; `p` is valid for writes of `L` `f32`s (any
    /// alignment).
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Stores the first `n ≤ L` lanes to `p` (nothing past `p + n` is written).
    ///
    /// # Safety
    /// The CPU supports the instruction set; `n ≤ L`; `p` is valid for writes of `n` `f32`s.
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
    /// `a·b + c`, one rounding.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a + b` per lane.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a − b` per lane.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a·b` per lane.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b` per lane.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `√a` per lane, correctly rounded.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn sqrt(a: Self::V) -> Self::V;
    /// `−a` (the sign bit flipped, like scalar negation).
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn neg(a: Self::V) -> Self::V;
    /// `if a > 0 { a } else { 0 }` per lane (NaN gives 0).
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn pos(a: Self::V) -> Self::V;
    /// `1/(1 + e^(−x))` per lane (see `docs/kernels.md`, "The logistic function").
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn sigmoid(x: Self::V) -> Self::V;
}

/// What the dot-product (forward) kernel needs besides [`Simd`]: implemented for the
/// 8-lane vectors, which both levels use for it.
///
/// # Safety
///
/// As [`Simd`]'s: the CPU supports the implementor's instruction set, and pointers are
/// valid as each method says.
pub trait Dot: Simd {
    /// `acc` has `L` vectors; returns the vector whose lane `i` is the sum of the lanes of
    /// `acc[i]`, summed by a fixed tree that does not depend on `i`.
    ///
    /// # Safety
    /// The CPU supports the instruction set; `acc.len() ≥ L` (fewer is a panic, not
    /// undefined behavior: the slice is indexed with bounds checks).
    unsafe fn reduce(acc: &[Self::V]) -> Self::V;
    /// Stores lanes `4q .. 4q + n` of `v` (`n ≤ 4`) to `p .. p + n`.
    ///
    /// # Safety
    /// The CPU supports the instruction set; `4q + 4 ≤ L`, `n ≤ 4`; `p` is valid for writes
    /// of `n` `f32`s.
    unsafe fn store_quad(p: *mut f32, v: Self::V, q: usize, n: usize);
    /// Lane `l` of the result is lane `l mod period` of `v`.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait); `period ≥ 1` (0 is a
    /// division-by-zero panic, not undefined behavior).
    unsafe fn repeat(v: Self::V, period: usize) -> Self::V;
}

/// Cephes `expf` constants.
pub mod exp {
    pub const LOG2E: f32 = core::f32::consts::LOG2_E;
    pub const C1: f32 = 0.693_359_4;
    pub const C2: f32 = -2.121_944_4e-4;
    pub const P0: f32 = 1.987_569_1e-4;
    pub const P1: f32 = 1.398_199_9e-3;
    pub const P2: f32 = 8.333_452e-3;
    pub const P3: f32 = 4.166_579_6e-2;
    pub const P4: f32 = 1.666_666_5e-1;
    pub const P5: f32 = 0.5; // Cephes: 5.0000001201e-1, which rounds to 0.5 in f32
    /// AVX2: `e^t` is computed for `t` clamped to `[LO, HI]` (so that `2ⁿ` is a normal float).
    pub const LO: f32 = -87.0;
    pub const HI: f32 = 88.0;
    /// Below this `x`, the AVX2 sigmoid is flushed to 0 (its value is under 6e-39).
    pub const ZERO_BELOW: f32 = -88.0;
    /// The AVX-512 sigmoid clamps `x` to `±CLAMP`: `e^89` overflows, `e^−89` underflows.
    pub const CLAMP: f32 = 89.0;
}

/// Stores the first `n ≤ 4` lanes of `x` to `p .. p + n`, as 4, 2 and 1 lanes (no loop:
/// a copy of a run-time length compiles to a `memcpy` call, which costs more than the
/// stores; and not `VMASKMOVPS`, which AMD's cores microcode).
///
/// # Safety
/// The CPU supports AVX; `n ≤ 4`; `p` is valid for writes of `n` `f32`s (any alignment;
/// nothing past `p + n` is written).
#[inline]
#[target_feature(enable = "avx")]
pub unsafe fn store4(p: *mut f32, x: __m128, n: usize) {
    let (mut p, mut x) = (p, x);
    if n == 4 {
        _mm_storeu_ps(p, x);
        return;
    }
    if n >= 2 {
        _mm_store_sd(p.cast(), _mm_castps_pd(x));
        (p, x) = (p.add(2), _mm_movehl_ps(x, x));
    }
    if n % 2 == 1 {
        _mm_store_ss(p, x);
    }
}

/// Stores the first `n ≤ 8` lanes of `v` to `p .. p + n` (see [`store4`]).
///
/// # Safety
/// The CPU supports AVX; `n ≤ 8`; `p` is valid for writes of `n` `f32`s (any alignment;
/// nothing past `p + n` is written).
#[inline]
#[target_feature(enable = "avx")]
pub unsafe fn store8(p: *mut f32, v: __m256, n: usize) {
    if n == 8 {
        _mm256_storeu_ps(p, v);
    } else if n >= 4 {
        _mm_storeu_ps(p, _mm256_castps256_ps128(v));
        store4(p.add(4), _mm256_extractf128_ps::<1>(v), n - 4);
    } else {
        store4(p, _mm256_castps256_ps128(v), n);
    }
}
