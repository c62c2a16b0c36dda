//! The int8 kernels (`kernels/int8/`) on x86-64: the fully connected product and the
//! convolution, the same integers as the portable loops (integer sums are exact in any
//! order, and the requantization below is the scalar one's operations lane by lane).
//!
//! - **AVX-512 VNNI** (`vpdpbusd`: 4 products of an unsigned byte by a signed byte, summed
//!   into an `i32` lane without saturation): the unsigned operand is the int8 input as
//!   `x ^ 0x80 = x + 128`, the signed one the weights. Used on the AVX-512 level when the
//!   CPU also has AVX-512 VNNI, BW and VL ([`vnni`], detected once and cached).
//! - **AVX2** (also the AVX-512 level's kernel on a CPU without VNNI): the weights
//!   sign-extended to `i16` (`vpmovsxbw`), the input zero-extended to `i16` after `+ 128`,
//!   and `vpmaddwd` (pairs of `i16 × i16` products summed into `i32`, exact: |sum| ≤
//!   2·255·128). Not `vpmaddubsw`: it sums its `u8 × i8` pairs into a *saturating* `i16`,
//!   and 255·127·2 = 64,770 > 32,767, so an input near 127 against large weights of one
//!   sign would be clipped.
//!
//! The dense kernel computes a tile of rows at a time (8 with either), one
//! vector accumulator per row over the input, reduces the tile's accumulators to one vector
//! of row sums and requantizes it as a vector. The convolution first copies the image (a
//! band of rows at a time) into a padded buffer of unsigned bytes on the stack, so that every
//! window position is an in-bounds read, then vectorizes over 16 (VNNI) or 8 (AVX2) output
//! pixels of a row: each lane holds, for its pixel, the 4 (or 2) bytes of a kernel row that
//! one weight group multiplies, gathered from one load by a fixed shuffle; the weight group
//! is broadcast. The fused convolution and pool of 16·n output channels from 4 or 8 input
//! channels with a 3×3 kernel (VNNI) takes the transpose instead: lanes are output channels,
//! the input dwords broadcast from a channels-innermost copy of the image (see [`lanes`]).
//! The fused convolution and pool of one input channel with stride 1 and a kernel at most
//! 5×4 (VNNI and VBMI, [`single`]: lanes are 16 pooled outputs, gathered by `vpermb`). The
//! input's quantization ([`quantize`], AVX-512BW) and the sigmoid and tanh tables ([`lut`],
//! AVX-512 VBMI) have their own kernels. Nothing is allocated.

use core::arch::x86_64::*;
use core::array::from_fn;
use core::mem::MaybeUninit;

use super::super::conv::Window;
use super::super::int8::Requant;
use super::super::pool::PoolWindow;

// ---- detection ----

/// Whether the CPU has AVX-512 VNNI, with AVX-512F, BW and VL (the VNNI kernels).
pub(super) fn vnni() -> bool {
    features() & VNNI != 0
}

/// Whether the CPU has AVX-512 VBMI, with AVX-512F and BW (the table lookup's `vpermi2b`,
/// the single-channel convolution's `vpermb`).
pub(super) fn vbmi() -> bool {
    features() & VBMI != 0
}

/// Whether the CPU has AVX-512F and BW (the input's quantization).
pub(super) fn bw() -> bool {
    features() & BW != 0
}

/// [`features`]' bits.
const VNNI: u8 = 1;
const VBMI: u8 = 2;
const BW: u8 = 4;
/// Set in the cache once detected.
#[cfg(feature = "std")]
const DETECTED: u8 = 0x80;

/// The int8 kernels' extensions the CPU has ([`VNNI`], [`VBMI`], [`BW`]): detected once and cached
/// (as `level.rs` caches the level).
#[cfg(feature = "std")]
fn features() -> u8 {
    use core::sync::atomic::{AtomicU8, Ordering};
    static FEATURES: AtomicU8 = AtomicU8::new(0);
    match FEATURES.load(Ordering::Relaxed) {
        0 => {
            let f = detect();
            FEATURES.store(f | DETECTED, Ordering::Relaxed);
            f
        }
        f => f & !DETECTED,
    }
}

#[cfg(feature = "std")]
fn detect() -> u8 {
    let base = std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
    let vnni = base && std::is_x86_feature_detected!("avx512vl") && std::is_x86_feature_detected!("avx512vnni");
    let vbmi = base && std::is_x86_feature_detected!("avx512vbmi");
    (u8::from(vnni) * VNNI) | (u8::from(vbmi) * VBMI) | (u8::from(base) * BW)
}

/// Without `std`, what the build's target features promise: a constant, so that a build
/// without them leaves the kernels that need them out of the binary.
#[cfg(not(feature = "std"))]
const fn features() -> u8 {
    let base = cfg!(all(target_feature = "avx512f", target_feature = "avx512bw"));
    let vnni = base && cfg!(all(target_feature = "avx512vl", target_feature = "avx512vnni"));
    let vbmi = base && cfg!(target_feature = "avx512vbmi");
    (vnni as u8 * VNNI) | (vbmi as u8 * VBMI) | (base as u8 * BW)
}

// ---- requantization ----

/// The output stage's per-layer constants, as vectors.
#[derive(Clone, Copy)]
struct Stage<V> {
    zero_point: V,
    min: V,
    max: V,
}

/// `clamp(z_y + M(acc), min, max)` on 16 lanes, `M` given by `mantissa` and `shift` per
/// lane: [`Multiplier::apply`](crate::quant::Multiplier::apply)'s operations lane by lane.
/// The left shift is `acc << (shift & 31)` as `wrapping_shl`; the doubling high product
/// `⌊(a·m + 2^30) / 2^31⌋` (the scalar code's nudge-and-truncate is this floor), of which
/// only bits 31..62 of the 64-bit sum are kept, so a logical shift serves; `a = m = −2^31`
/// saturates; then the rounding right shift by `−shift` (in `0..=31`, as the scalar code
/// requires).
///
/// # Safety
/// The CPU supports AVX-512F (the callers are compiled for it).
#[inline(always)]
unsafe fn requant16(acc: __m512i, mantissa: __m512i, shift: __m512i, s: Stage<__m512i>) -> __m512i {
    let zero = _mm512_setzero_si512();
    // A shift outside [−31, 30] (only in a corrupted file) is clamped, as the scalar code does.
    let shift = _mm512_max_epi32(_mm512_min_epi32(shift, _mm512_set1_epi32(30)), _mm512_set1_epi32(-31));
    let left = _mm512_and_si512(_mm512_max_epi32(shift, zero), _mm512_set1_epi32(31));
    let right = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
    let a = _mm512_sllv_epi32(acc, left);
    let nudge = _mm512_set1_epi64(1 << 30);
    // Even lanes: the product's bits 31..62 shifted down into the low half of each 64 bits;
    // odd lanes: shifted up by one into the high half.
    let even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, mantissa), nudge), 31);
    let odd_product = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(mantissa, 32));
    let odd = _mm512_slli_epi64(_mm512_add_epi64(odd_product, nudge), 1);
    let high = _mm512_mask_blend_epi32(0xAAAA, even, odd);
    let min = _mm512_set1_epi32(i32::MIN);
    let saturated = _mm512_cmpeq_epi32_mask(a, min) & _mm512_cmpeq_epi32_mask(mantissa, min);
    let high = _mm512_mask_mov_epi32(high, saturated, _mm512_set1_epi32(i32::MAX));
    // Rounding divide by 2^right: ties away from zero.
    let one = _mm512_set1_epi32(1);
    let mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    let remainder = _mm512_and_si512(high, mask);
    let threshold = _mm512_add_epi32(_mm512_srli_epi32(mask, 1), _mm512_srli_epi32(high, 31));
    let q = _mm512_srav_epi32(high, right);
    let q = _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, one);
    _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, s.zero_point), s.min), s.max)
}

/// One output channel's requantization as vectors: the same multiplier in every lane.
#[derive(Clone, Copy)]
struct Channel<V> {
    bias: V,
    mantissa: V,
    /// The left and right shift counts (`_mm*_sll_epi32` / `_mm*_sra_epi32`).
    left: __m128i,
    right: __m128i,
    /// `2^right − 1` and half of it (the rounding's mask and threshold).
    mask: V,
    half: V,
    /// Whether the mantissa is `−2^31`, the one that can saturate.
    saturate: bool,
    /// [`Requant::monotone`]: whether a pool may requantize the largest accumulator only.
    monotone: bool,
}

/// The scalar parts of [`Channel`]: `(left, right, mask, saturate)`.
#[inline(always)]
fn channel_shifts(rq: &Requant<'_>, o: usize) -> (i32, i32, i32, bool) {
    let shift = i32::from(rq.shift[o]).clamp(-31, 30);
    let (left, right) = if shift > 0 { (shift & 31, 0) } else { (0, -shift) };
    (left, right, ((1i64 << right) - 1) as i32, rq.mantissa[o].get() == i32::MIN)
}

/// Output channel `o`'s [`Channel`] on 16 lanes.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn channel16(rq: &Requant<'_>, o: usize) -> Channel<__m512i> {
    let (left, right, mask, saturate) = channel_shifts(rq, o);
    Channel {
        bias: _mm512_set1_epi32(rq.bias[o].get()),
        mantissa: _mm512_set1_epi32(rq.mantissa[o].get()),
        left: _mm_cvtsi32_si128(left),
        right: _mm_cvtsi32_si128(right),
        mask: _mm512_set1_epi32(mask),
        half: _mm512_set1_epi32(mask >> 1),
        saturate,
        monotone: rq.monotone(o),
    }
}

/// Output channel `o`'s [`Channel`] on 8 lanes.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn channel8(rq: &Requant<'_>, o: usize) -> Channel<__m256i> {
    let (left, right, mask, saturate) = channel_shifts(rq, o);
    Channel {
        bias: _mm256_set1_epi32(rq.bias[o].get()),
        mantissa: _mm256_set1_epi32(rq.mantissa[o].get()),
        left: _mm_cvtsi32_si128(left),
        right: _mm_cvtsi32_si128(right),
        mask: _mm256_set1_epi32(mask),
        half: _mm256_set1_epi32(mask >> 1),
        saturate,
        monotone: rq.monotone(o),
    }
}

/// [`requant16`] of `bias + acc` for one channel (uniform shifts; the saturation and the
/// rounding shift only where they can change the result).
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn requant_channel16(acc: __m512i, c: &Channel<__m512i>, s: Stage<__m512i>) -> __m512i {
    requant_biased16(_mm512_add_epi32(acc, c.bias), c, s)
}

/// [`requant_channel16`] of an accumulator that already holds the bias.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn requant_biased16(acc: __m512i, c: &Channel<__m512i>, s: Stage<__m512i>) -> __m512i {
    let a = _mm512_sll_epi32(acc, c.left);
    let nudge = _mm512_set1_epi64(1 << 30);
    // The mantissa is in every 32-bit lane, so the odd lanes multiply by it too.
    let even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, c.mantissa), nudge), 31);
    let odd = _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), c.mantissa), nudge), 1);
    let mut high = _mm512_mask_blend_epi32(0xAAAA, even, odd);
    if c.saturate {
        let saturated = _mm512_cmpeq_epi32_mask(a, c.mantissa);
        high = _mm512_mask_mov_epi32(high, saturated, _mm512_set1_epi32(i32::MAX));
    }
    let mut q = _mm512_sra_epi32(high, c.right);
    if _mm_cvtsi128_si32(c.right) != 0 {
        let threshold = _mm512_add_epi32(c.half, _mm512_srli_epi32(high, 31));
        let up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(high, c.mask), threshold);
        q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
    }
    _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, s.zero_point), s.min), s.max)
}

/// [`requant_channel16`] on 8 lanes with AVX2.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn requant_channel8(acc: __m256i, c: &Channel<__m256i>, s: Stage<__m256i>) -> __m256i {
    requant_biased8(_mm256_add_epi32(acc, c.bias), c, s)
}

/// [`requant_channel8`] of an accumulator that already holds the bias.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn requant_biased8(acc: __m256i, c: &Channel<__m256i>, s: Stage<__m256i>) -> __m256i {
    let a = _mm256_sll_epi32(acc, c.left);
    let nudge = _mm256_set1_epi64x(1 << 30);
    let even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, c.mantissa), nudge), 31);
    let odd = _mm256_slli_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), c.mantissa), nudge), 1);
    let mut high = _mm256_blend_epi32(even, odd, 0b1010_1010);
    if c.saturate {
        let saturated = _mm256_cmpeq_epi32(a, c.mantissa);
        high = _mm256_blendv_epi8(high, _mm256_set1_epi32(i32::MAX), saturated);
    }
    let mut q = _mm256_sra_epi32(high, c.right);
    if _mm_cvtsi128_si32(c.right) != 0 {
        let threshold = _mm256_add_epi32(c.half, _mm256_srli_epi32(high, 31));
        q = _mm256_sub_epi32(q, _mm256_cmpgt_epi32(_mm256_and_si256(high, c.mask), threshold));
    }
    _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, s.zero_point), s.min), s.max)
}

/// [`requant16`] on 8 lanes with AVX2.
///
/// # Safety
/// The CPU supports AVX2 (the callers are compiled for it).
#[inline(always)]
unsafe fn requant8(acc: __m256i, mantissa: __m256i, shift: __m256i, s: Stage<__m256i>) -> __m256i {
    let zero = _mm256_setzero_si256();
    // A shift outside [−31, 30] (only in a corrupted file) is clamped, as the scalar code does.
    let shift = _mm256_max_epi32(_mm256_min_epi32(shift, _mm256_set1_epi32(30)), _mm256_set1_epi32(-31));
    let left = _mm256_and_si256(_mm256_max_epi32(shift, zero), _mm256_set1_epi32(31));
    let right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    let a = _mm256_sllv_epi32(acc, left);
    let nudge = _mm256_set1_epi64x(1 << 30);
    let even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, mantissa), nudge), 31);
    let odd_product = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(mantissa, 32));
    let odd = _mm256_slli_epi64(_mm256_add_epi64(odd_product, nudge), 1);
    let high = _mm256_blend_epi32(even, odd, 0b1010_1010);
    let min = _mm256_set1_epi32(i32::MIN);
    let saturated = _mm256_and_si256(_mm256_cmpeq_epi32(a, min), _mm256_cmpeq_epi32(mantissa, min));
    let high = _mm256_blendv_epi8(high, _mm256_set1_epi32(i32::MAX), saturated);
    let one = _mm256_set1_epi32(1);
    let mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    let remainder = _mm256_and_si256(high, mask);
    let threshold = _mm256_add_epi32(_mm256_srli_epi32(mask, 1), _mm256_srli_epi32(high, 31));
    // `cmpgt` is −1 where the remainder rounds up.
    let q = _mm256_sub_epi32(_mm256_srav_epi32(high, right), _mm256_cmpgt_epi32(remainder, threshold));
    _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, s.zero_point), s.min), s.max)
}

/// The requantized maximum over the four accumulators of 2×2 windows (one per window
/// position, without the bias), lane by lane: the largest biased accumulator requantized
/// when the channel is [`monotone`](Channel::monotone), otherwise the largest of the four
/// requantized values (the unfused pool's bytes either way).
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn pool_requant16(acc: [__m512i; 4], c: &Channel<__m512i>, s: Stage<__m512i>) -> __m512i {
    // The bias first: its addition wraps (only in a corrupted file), the maximum must see it.
    // (No closures: they would not inherit the caller's target features.)
    let mut a = acc;
    for v in &mut a {
        *v = _mm512_add_epi32(*v, c.bias);
    }
    if c.monotone {
        requant_biased16(_mm512_max_epi32(_mm512_max_epi32(a[0], a[1]), _mm512_max_epi32(a[2], a[3])), c, s)
    } else {
        for v in &mut a {
            *v = requant_biased16(*v, c, s);
        }
        _mm512_max_epi32(_mm512_max_epi32(a[0], a[1]), _mm512_max_epi32(a[2], a[3]))
    }
}

/// [`pool_requant16`] on 8 lanes with AVX2.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn pool_requant8(acc: [__m256i; 4], c: &Channel<__m256i>, s: Stage<__m256i>) -> __m256i {
    // (No closures: they would not inherit the caller's target features.)
    let mut a = acc;
    for v in &mut a {
        *v = _mm256_add_epi32(*v, c.bias);
    }
    if c.monotone {
        requant_biased8(_mm256_max_epi32(_mm256_max_epi32(a[0], a[1]), _mm256_max_epi32(a[2], a[3])), c, s)
    } else {
        for v in &mut a {
            *v = requant_biased8(*v, c, s);
        }
        _mm256_max_epi32(_mm256_max_epi32(a[0], a[1]), _mm256_max_epi32(a[2], a[3]))
    }
}

/// The 8 lanes of `v` (each in `[−128, 127]`) as bytes, in the low 8 bytes.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn pack8(v: __m256i) -> __m128i {
    let words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_packs_epi16(words, words)
}

/// Stores the first `n ≤ 8` bytes of `v` to `p`.
///
/// # Safety
/// The CPU supports AVX2; `p` valid for `n` writes.
#[inline(always)]
unsafe fn store8(p: *mut i8, v: __m128i, n: usize) {
    if n == 8 {
        _mm_storel_epi64(p.cast(), v);
    } else {
        let mut bytes = [0i8; 16];
        _mm_storeu_si128(bytes.as_mut_ptr().cast(), v);
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
    }
}

/// Four 16-lane vectors (each lane in `[−128, 127]`) as bytes: 128-bit lane `t` of the
/// result is vector `t`'s 16 lanes in order. (Not `vpmovdb` to memory, which is slow on
/// AMD's Zen.)
///
/// # Safety
/// The CPU supports AVX-512F and BW.
#[inline(always)]
unsafe fn pack4(v: [__m512i; 4]) -> __m512i {
    // Per 128-bit lane q: the i16 of v0[4q..4q+4], v1[4q..]; then the bytes of all four.
    let bytes = _mm512_packs_epi16(_mm512_packs_epi32(v[0], v[1]), _mm512_packs_epi32(v[2], v[3]));
    _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), bytes)
}

/// Stores the bytes of 128-bit lane `t` of `v` selected by `mask` to `p`.
///
/// # Safety
/// The CPU supports AVX-512F, BW and VL; `t < 4`; `p` valid for writes of the selected bytes.
#[inline(always)]
unsafe fn store_lane(p: *mut i8, mask: __mmask16, v: __m512i, t: usize) {
    let lane = match t {
        0 => _mm512_castsi512_si128(v),
        1 => _mm512_extracti32x4_epi32(v, 1),
        2 => _mm512_extracti32x4_epi32(v, 2),
        _ => _mm512_extracti32x4_epi32(v, 3),
    };
    _mm_mask_storeu_epi8(p, mask, lane);
}

/// The layer constants of `rq` as 16 lanes.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn stage16(rq: &Requant<'_>) -> Stage<__m512i> {
    Stage {
        zero_point: _mm512_set1_epi32(rq.output_zero_point),
        min: _mm512_set1_epi32(rq.min),
        max: _mm512_set1_epi32(rq.max),
    }
}

/// The layer constants of `rq` as 8 lanes.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn stage8(rq: &Requant<'_>) -> Stage<__m256i> {
    Stage {
        zero_point: _mm256_set1_epi32(rq.output_zero_point),
        min: _mm256_set1_epi32(rq.min),
        max: _mm256_set1_epi32(rq.max),
    }
}

// ---- dense ----

/// `0` × 16 then `0xFF` × 16: 16 bytes from offset `r` keep the last `r` bytes of a vector.
static KEEP_LAST: [u8; 32] = {
    let mut t = [0u8; 32];
    let mut i = 16;
    while i < 32 {
        t[i] = 0xFF;
        i += 1;
    }
    t
};

/// Per 128-bit lane of rows `a, b, c, d`: `[a, b, c, d]`, each summed over that lane.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn sum4(a: __m512i, b: __m512i, c: __m512i, d: __m512i) -> __m512i {
    let ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    let cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd))
}

/// `[a.q0 + a.q1, a.q2 + a.q3, b.q0 + b.q1, b.q2 + b.q3]` (`q`: 128-bit lanes).
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn sum_lane_pairs(a: __m512i, b: __m512i) -> __m512i {
    _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, 0b10_00_10_00), _mm512_shuffle_i32x4(a, b, 0b11_01_11_01))
}

/// Per 128-bit lane of rows `a, b, c, d`: `[a, b, c, d]`, each summed over that lane.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn hsum4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m256i {
    _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d))
}

/// The 8 rows' sums of 8 accumulators: lane `r` is the sum of `acc[r]`'s lanes.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn reduce8(acc: &[__m256i; 8]) -> __m256i {
    let lo = hsum4(acc[0], acc[1], acc[2], acc[3]);
    let hi = hsum4(acc[4], acc[5], acc[6], acc[7]);
    _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31))
}

/// Bytes of the padded image band the convolutions copy on the stack (with [`SLACK`]).
const BAND: usize = 16 * 1024;
/// Initialized bytes past the band, so that a vector load at any window position stays in
/// the buffer.
const SLACK: usize = 64;
/// Bytes of the weights a convolution copies on the stack: AVX2's packed pairs of a tile of
/// output channels, or VNNI's last output channel (see [`Vnni`]).
const WEIGHTS: usize = 8 * 1024;

/// Bytes of a pooled block's gathered inputs ([`ConvKernel::gather`]) on the stack: the
/// fused convolution and pool takes `4·C·KH·groups` vectors up to this size.
const GATHERED: usize = 24 * 1024;

/// Bytes `a .. b` of `d` set to `v`'s, 16 at a time (up to 15 bytes past `b` too).
///
/// # Safety
/// `d` valid for writes of `b + 15` bytes.
#[inline(always)]
unsafe fn fill16(d: *mut u8, a: usize, b: usize, v: __m128i) {
    let mut i = a;
    while i < b {
        _mm_storeu_si128(d.add(i).cast(), v);
        i += 16;
    }
}

mod conv;
mod dense;
mod lanes;
mod lut;
mod quantize;
mod single;

pub(super) use conv::{conv_avx2, conv_pool_avx2, conv_pool_vnni, conv_pool_vnni_shaped, conv_vnni, Plan};
pub(super) use dense::{dense_avx2, dense_vnni};
pub(super) use lut::lut_vbmi;
pub(super) use quantize::quantize_avx512;

/// The 2×2 max pool of stride 2 (`kernels/int8/`, `max_pool_i8`) with AVX2 (also the
/// AVX-512 level's: LeNet's rows are narrower than a 512-bit vector): per output row, 32
/// bytes of each of its two input rows at a time, their vertical maximum (`vpmaxsb`), then
/// of each horizontal pair as a 16-bit word (the low byte sign-extended by a shift pair,
/// the high one by an arithmetic shift, `vpmaxsw`), packed back to 16 bytes and raised to
/// `min`. The same bytes as the portable loops.
///
/// # Safety
/// The CPU supports AVX2; `g` is 2×2 of stride 2 with `g.oh = g.h / 2`, `g.ow = g.w / 2`;
/// `x` holds `C·H·W` values and `y` `C·OH·OW`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn max_pool_2x2_avx2(g: &PoolWindow, min: i8, x: &[i8], y: &mut [i8]) {
    let (xl, yl) = (x.len(), y.len());
    let (xp, yp) = (x.as_ptr(), y.as_mut_ptr());
    let floor = _mm_set1_epi8(min);
    let n = 2 * g.ow;
    for c in 0..g.c {
        for i in 0..g.oh {
            let r0 = (c * g.h + 2 * i) * g.w;
            let out = (c * g.oh + i) * g.ow;
            let mut k = 0;
            while k < n {
                let (a, b);
                if r0 + g.w + k + 32 <= xl {
                    // Past the row's `n` bytes: the next rows' bytes, whose outputs are not kept.
                    a = _mm256_loadu_si256(xp.add(r0 + k).cast());
                    b = _mm256_loadu_si256(xp.add(r0 + g.w + k).cast());
                } else {
                    let (mut ta, mut tb) = ([0i8; 32], [0i8; 32]);
                    let m = (n - k).min(32);
                    core::ptr::copy_nonoverlapping(xp.add(r0 + k), ta.as_mut_ptr(), m);
                    core::ptr::copy_nonoverlapping(xp.add(r0 + g.w + k), tb.as_mut_ptr(), m);
                    a = _mm256_loadu_si256(ta.as_ptr().cast());
                    b = _mm256_loadu_si256(tb.as_ptr().cast());
                }
                let v = _mm256_max_epi8(a, b);
                let words = _mm256_max_epi16(_mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8), _mm256_srai_epi16(v, 8));
                // Per 128-bit lane its 8 bytes twice; the lanes' first halves together.
                let bytes = _mm256_permute4x64_epi64(_mm256_packs_epi16(words, words), 0b1000);
                let r = _mm_max_epi8(_mm256_castsi256_si128(bytes), floor);
                let at = out + k / 2;
                if at + 16 <= yl {
                    // Past this row's outputs: later rows' or channels', stored after.
                    _mm_storeu_si128(yp.add(at).cast(), r);
                } else {
                    let mut t = [0i8; 16];
                    _mm_storeu_si128(t.as_mut_ptr().cast(), r);
                    core::ptr::copy_nonoverlapping(t.as_ptr(), yp.add(at), ((n - k) / 2).min(16));
                }
                k += 32;
            }
        }
    }
}
