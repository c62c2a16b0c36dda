//! The int8 kernels (`kernels/int8.rs`) on x86-64: the fully connected product and the
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
//! The dense kernel computes a tile of rows at a time (16 with VNNI, 8 with AVX2), one
//! vector accumulator per row over the input, reduces the tile's accumulators to one vector
//! of row sums and requantizes it as a vector. The convolution first copies the image (a
//! band of rows at a time) into a padded buffer of unsigned bytes on the stack, so that every
//! window position is an in-bounds read, then vectorizes over 16 (VNNI) or 8 (AVX2) output
//! pixels of a row: each lane holds, for its pixel, the 4 (or 2) bytes of a kernel row that
//! one weight group multiplies, gathered from one load by a fixed shuffle; the weight group
//! is broadcast. The fused convolution and pool of 16·n output channels from 4 or 8 input
//! channels with a 3×3 kernel (VNNI) takes the transpose instead: lanes are output channels,
//! the input dwords broadcast from a channels-innermost copy of the image (see [`lanes`]).
//! Nothing is allocated.

use core::arch::x86_64::*;
use core::array::from_fn;
use core::mem::MaybeUninit;

use super::super::conv::Window;
use super::super::int8::Requant;
use super::super::pool::PoolWindow;

// ---- detection ----

/// Whether the CPU has AVX-512 VNNI, with AVX-512F, BW and VL: detected once and cached (as
/// `level.rs` caches the level); without `std`, what the build's target features promise.
pub(super) fn vnni() -> bool {
    use core::sync::atomic::{AtomicU8, Ordering};
    /// 0: not detected yet; 1: no; 2: yes.
    static VNNI: AtomicU8 = AtomicU8::new(0);
    match VNNI.load(Ordering::Relaxed) {
        0 => {
            let v = detect_vnni();
            VNNI.store(1 + u8::from(v), Ordering::Relaxed);
            v
        }
        v => v == 2,
    }
}

#[cfg(feature = "std")]
fn detect_vnni() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512vnni")
}

#[cfg(not(feature = "std"))]
fn detect_vnni() -> bool {
    cfg!(all(
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vl",
        target_feature = "avx512vnni"
    ))
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

/// The 16 rows' sums of 16 accumulators: lane `r` is the sum of `acc[r]`'s lanes.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn reduce16(acc: &[__m512i; 16]) -> __m512i {
    let r0 = sum4(acc[0], acc[1], acc[2], acc[3]);
    let r1 = sum4(acc[4], acc[5], acc[6], acc[7]);
    let r2 = sum4(acc[8], acc[9], acc[10], acc[11]);
    let r3 = sum4(acc[12], acc[13], acc[14], acc[15]);
    sum_lane_pairs(sum_lane_pairs(r0, r1), sum_lane_pairs(r2, r3))
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

/// Rows `o0 .. o0 + min(R, out − o0)` of the VNNI dense product: `R` rows (16, 8 or 4) at a
/// time, rows past `out` repeating row `out − 1` and not stored.
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI; `o0 < out`; `w` valid for `out·n` reads, `x`
/// for `n`, `y` for `out` writes; `rq`'s slices hold at least `out` elements.
#[inline(always)]
unsafe fn dense_tile_vnni<const R: usize>(
    w: *const i8,
    n: usize,
    x: *const i8,
    rq: &Requant<'_>,
    o0: usize,
    out: usize,
    y: *mut i8,
) {
    let rows: [*const i8; R] = from_fn(|r| w.add((o0 + r).min(out - 1) * n));
    let flip = _mm512_set1_epi8(-128);
    let mut acc = [_mm512_setzero_si512(); R];
    let chunks = n / 64;
    for c in 0..chunks {
        let xu = _mm512_xor_si512(_mm512_loadu_si512(x.add(64 * c).cast()), flip);
        for r in 0..R {
            acc[r] = _mm512_dpbusd_epi32(acc[r], xu, _mm512_loadu_si512(rows[r].add(64 * c).cast()));
        }
    }
    let rem = n % 64;
    if rem != 0 && n >= 64 {
        // The last 64 inputs again, the ones already summed zeroed in `x`.
        let at = n - 64;
        let keep = !((1u64 << (64 - rem)) - 1);
        let xu = _mm512_maskz_mov_epi8(keep, _mm512_xor_si512(_mm512_loadu_si512(x.add(at).cast()), flip));
        for r in 0..R {
            acc[r] = _mm512_dpbusd_epi32(acc[r], xu, _mm512_loadu_si512(rows[r].add(at).cast()));
        }
    } else if rem != 0 {
        // Masked loads read nothing past the row; the zero weights of the other lanes add 0.
        let (k, at) = ((1u64 << rem) - 1, 64 * chunks);
        let xu = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x.add(at)), flip);
        for r in 0..R {
            acc[r] = _mm512_dpbusd_epi32(acc[r], xu, _mm512_maskz_loadu_epi8(k, rows[r].add(at)));
        }
    }
    let mut all = [_mm512_setzero_si512(); 16];
    all[..R].copy_from_slice(&acc);
    let sums = reduce16(&all);
    let nv = (out - o0).min(R);
    let k = ((1u32 << nv) - 1) as __mmask16;
    let bias = _mm512_maskz_loadu_epi32(k, rq.bias.as_ptr().add(o0).cast());
    let mantissa = _mm512_maskz_loadu_epi32(k, rq.mantissa.as_ptr().add(o0).cast());
    let shift = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, rq.shift.as_ptr().add(o0)));
    let v = requant16(_mm512_add_epi32(sums, bias), mantissa, shift, stage16(rq));
    let zero = _mm512_setzero_si512();
    store_lane(y.add(o0), k, pack4([v, zero, zero, zero]), 0);
}

/// `y_o = requant_o(bias_o + Σ_i w_oi·(x_i + 128))` with VNNI, `weight` `[out][n]`.
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI ([`vnni`]); `w` valid for `out·n` reads, `x`
/// for `n`, `y` for `out` writes (not overlapping the others); `rq`'s slices hold at least
/// `out` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn dense_vnni(w: *const i8, n: usize, x: *const i8, rq: &Requant<'_>, y: *mut i8, out: usize) {
    let mut o0 = 0;
    while o0 < out {
        match out - o0 {
            r if r > 8 => dense_tile_vnni::<16>(w, n, x, rq, o0, out, y),
            r if r > 4 => dense_tile_vnni::<8>(w, n, x, rq, o0, out, y),
            _ => dense_tile_vnni::<4>(w, n, x, rq, o0, out, y),
        }
        o0 += 16;
    }
}

/// Rows `o0 .. o0 + min(8, out − o0)` of the AVX2 dense product (rows past `out` repeat row
/// `out − 1` and are not stored).
///
/// # Safety
/// As [`dense_avx2`], and `o0 < out`.
#[inline(always)]
unsafe fn dense_tile_avx2(w: *const i8, n: usize, x: *const i8, rq: &Requant<'_>, o0: usize, out: usize, y: *mut i8) {
    const R: usize = 8;
    let rows: [*const i8; R] = from_fn(|r| w.add((o0 + r).min(out - 1) * n));
    let flip = _mm_set1_epi8(-128);
    let mut acc = [_mm256_setzero_si256(); R];
    for c in 0..n / 16 {
        // 16 inputs as `x + 128` in i16, against 16 weights of each row sign-extended.
        let xv = _mm256_cvtepu8_epi16(_mm_xor_si128(_mm_loadu_si128(x.add(16 * c).cast()), flip));
        for r in 0..R {
            let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(rows[r].add(16 * c).cast()));
            acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(wv, xv));
        }
    }
    let rem = n % 16;
    let mut sums;
    if n >= 16 {
        if rem != 0 {
            // The last 16 inputs again, the ones already summed zeroed in `x`.
            let at = n - 16;
            let keep = _mm_loadu_si128(KEEP_LAST.as_ptr().add(rem).cast());
            let xv = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_xor_si128(_mm_loadu_si128(x.add(at).cast()), flip), keep));
            for r in 0..R {
                let wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(rows[r].add(at).cast()));
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(wv, xv));
            }
        }
        sums = reduce8(&acc);
    } else {
        // Fewer than 16 inputs: scalar sums.
        let s: [i32; R] = from_fn(|r| (0..n).map(|i| i32::from(*rows[r].add(i)) * (i32::from(*x.add(i)) + 128)).sum());
        sums = _mm256_loadu_si256(s.as_ptr().cast());
    }
    let nv = (out - o0).min(R);
    let (bias, mantissa, shift);
    if nv == R {
        bias = _mm256_loadu_si256(rq.bias.as_ptr().add(o0).cast());
        mantissa = _mm256_loadu_si256(rq.mantissa.as_ptr().add(o0).cast());
        shift = _mm256_cvtepi8_epi32(_mm_loadl_epi64(rq.shift.as_ptr().add(o0).cast()));
    } else {
        let lane = |r: usize| (o0 + r).min(out - 1);
        let b: [i32; R] = from_fn(|r| rq.bias[lane(r)].get());
        let m: [i32; R] = from_fn(|r| rq.mantissa[lane(r)].get());
        let s: [i32; R] = from_fn(|r| i32::from(rq.shift[lane(r)]));
        bias = _mm256_loadu_si256(b.as_ptr().cast());
        mantissa = _mm256_loadu_si256(m.as_ptr().cast());
        shift = _mm256_loadu_si256(s.as_ptr().cast());
    }
    sums = _mm256_add_epi32(sums, bias);
    store8(y.add(o0), pack8(requant8(sums, mantissa, shift, stage8(rq))), nv);
}

/// `y_o = requant_o(bias_o + Σ_i w_oi·(x_i + 128))` with AVX2 (`vpmovsxbw` + `vpmaddwd`;
/// see the module docs for why not `vpmaddubsw`), `weight` `[out][n]`.
///
/// # Safety
/// The CPU supports AVX2; `w` valid for `out·n` reads, `x` for `n`, `y` for `out` writes
/// (not overlapping the others); `rq`'s slices hold at least `out` elements.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dense_avx2(w: *const i8, n: usize, x: *const i8, rq: &Requant<'_>, y: *mut i8, out: usize) {
    let mut o0 = 0;
    while o0 < out {
        dense_tile_avx2(w, n, x, rq, o0, out, y);
        o0 += 8;
    }
}

// ---- convolution ----

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

/// How a convolution is cut for a SIMD kernel: its padded band and weight groups.
pub(super) struct Plan {
    /// Bytes per padded row: `(OW − 1)·SW + KW`, the columns the windows read.
    wrow: usize,
    /// Output rows per band.
    out_rows: usize,
    /// Weight groups per kernel row: `⌈KW / UNIT⌉`.
    groups: usize,
}

impl Plan {
    /// The plan of `g` for the VNNI kernel; `None` for a shape it does not take.
    pub(super) fn vnni(g: &Window) -> Option<Plan> {
        Plan::new::<Vnni>(g)
    }

    /// The plan of `g` for the AVX2 kernel; `None` for a shape it does not take.
    pub(super) fn avx2(g: &Window) -> Option<Plan> {
        Plan::new::<Avx2>(g)
    }

    /// `None` for a shape `K` does not take (an empty one, a column stride above
    /// `K::MAX_STRIDE`, a row of windows that does not fit [`BAND`], weights that do not fit
    /// [`WEIGHTS`]): the portable kernel runs.
    fn new<K: ConvKernel>(g: &Window) -> Option<Plan> {
        let ((kh, kw), (sh, sw)) = (g.kernel, g.stride);
        if g.c == 0 || kh == 0 || kw == 0 || sh == 0 || sw == 0 || sw > K::MAX_STRIDE || g.oh == 0 || g.ow == 0 {
            return None;
        }
        let wrow = (g.ow - 1).checked_mul(sw)?.checked_add(kw)?;
        let rows = (BAND - SLACK) / g.c.checked_mul(wrow)?;
        let groups = kw.div_ceil(K::UNIT);
        let weights = if K::PACKS { 4 * K::MAX_OC * g.c * kh * groups } else { g.patch() + 4 };
        // Unpacked, a group's 4-byte read runs up to 3 bytes past a channel's row, into the next
        // channels' rows (the last channel reads a padded copy): those must hold 3 bytes.
        if rows < kh || weights > WEIGHTS || (!K::PACKS && g.patch() < 3) {
            return None;
        }
        Some(Plan { wrow, out_rows: (1 + (rows - kh) / sh).min(g.oh), groups })
    }

    /// The plan of `g` then the 2×2 max pool `p` (stride 2) for the VNNI kernel; `None`
    /// for a shape it does not take.
    pub(super) fn vnni_pool(g: &Window, p: &PoolWindow) -> Option<Plan> {
        Plan::pooled::<Vnni>(g, p)
    }

    /// [`vnni_pool`](Self::vnni_pool) for the AVX2 kernel.
    pub(super) fn avx2_pool(g: &Window, p: &PoolWindow) -> Option<Plan> {
        Plan::pooled::<Avx2>(g, p)
    }

    /// [`new`](Self::new)'s plan with bands of an even number of output rows (whole pool
    /// windows); `None` also for a pool that is not 2×2 every 2 pixels or has no output,
    /// twice the column stride above `K::MAX_STRIDE`, gathered inputs over [`GATHERED`]
    /// bytes, or (AVX2) all channels' packed weights over [`WEIGHTS`].
    fn pooled<K: ConvKernel>(g: &Window, p: &PoolWindow) -> Option<Plan> {
        if p.size != 2 || p.stride != 2 || p.oh == 0 || p.ow == 0 || 2 * g.stride.1 > K::MAX_STRIDE {
            return None;
        }
        let plan = Plan::new::<K>(g)?;
        let groups = g.c * g.kernel.0 * plan.groups;
        let packed = 4 * p.c.checked_mul(groups)?;
        if 4 * groups * core::mem::size_of::<K::X>() > GATHERED || (K::PACKS && packed > WEIGHTS) {
            return None;
        }
        let out_rows = plan.out_rows.min(2 * p.oh) & !1;
        (out_rows >= 2).then_some(Plan { out_rows, ..plan })
    }
}

/// Padded rows `r0 .. r0 + rows` of every channel of `x` as unsigned bytes (`x + 128`, or
/// `pad` outside the image) into `buf`, `[C][rows][wrow]`, then [`SLACK`] zero bytes. Only
/// 16-byte stores: each may spill up to 15 bytes past its segment, into bytes that a later
/// store writes (the rest of the row, the next row, the slack), so every byte ends as said.
///
/// # Safety
/// `C·rows·wrow + SLACK ≤ BAND` (the plan's bound).
#[inline(always)]
unsafe fn fill_band(
    g: &Window,
    x: &[i8],
    pad: u8,
    r0: usize,
    rows: usize,
    wrow: usize,
    buf: &mut [MaybeUninit<u8>; BAND],
) {
    let (ph, pw) = g.padding;
    let len = g.c * rows * wrow;
    debug_assert!(len + SLACK <= BAND);
    let d = buf.as_mut_ptr().cast::<u8>();
    let (pad, flip) = (_mm_set1_epi8(pad as i8), _mm_set1_epi8(-128));
    // Padded column `s` holds input column `s − pw`.
    let lo = pw.min(wrow);
    let hi = (pw + g.w).min(wrow);
    for c in 0..g.c {
        for rr in 0..rows {
            let row = (c * rows + rr) * wrow;
            let r = r0 + rr;
            if r < ph || r - ph >= g.h {
                fill16(d, row, row + wrow, pad);
                continue;
            }
            fill16(d, row, row + lo, pad);
            let src = (c * g.h + r - ph) * g.w;
            let mut k = 0;
            while k < hi - lo {
                let v = if src + k + 16 <= x.len() {
                    _mm_loadu_si128(x.as_ptr().add(src + k).cast())
                } else {
                    let mut t = [0i8; 16];
                    let m = x.len() - (src + k);
                    t[..m].copy_from_slice(&x[src + k..]);
                    _mm_loadu_si128(t.as_ptr().cast())
                };
                _mm_storeu_si128(d.add(row + lo + k).cast(), _mm_xor_si128(v, flip));
                k += 16;
            }
            fill16(d, row + hi, row + wrow, pad);
        }
    }
    fill16(d, len, len + SLACK, _mm_setzero_si128());
}

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

/// AVX2's weights of output channels `o0 .. o0 + oc`: per channel, per kernel row, its
/// `groups` pairs of bytes as two `i16` in an `i32` (the second 0 past `KW`).
#[inline(always)]
fn pack_pairs(g: &Window, w: &[i8], o0: usize, oc: usize, groups: usize, packed: &mut [MaybeUninit<u8>; WEIGHTS]) {
    let kw = g.kernel.1;
    let rows = &w[o0 * g.patch()..(o0 + oc) * g.patch()];
    let mut out = packed.chunks_exact_mut(4);
    for row in rows.chunks_exact(kw) {
        for (m, d) in (0..groups).zip(&mut out) {
            let b0 = i16::from(row[2 * m]) as u16;
            let b1 = row.get(2 * m + 1).map_or(0, |&b| i16::from(b) as u16);
            let word = (u32::from(b1) << 16 | u32::from(b0)).to_le_bytes();
            for (d, b) in d.iter_mut().zip(word) {
                *d = MaybeUninit::new(b);
            }
        }
    }
}

/// One vector of output pixels: consecutive pixels of one output row.
#[derive(Clone, Copy)]
struct Block {
    /// The band offset of its first window (row `(i − i0)·SH`, column `j0·SW`).
    src: usize,
    /// Its first output offset in a channel plane (`i·OW + j0`).
    out: usize,
    /// Its pixels (the lanes stored).
    lanes: usize,
}

/// The blocks of `lanes` output pixels of rows `i .. end`, row by row.
struct Blocks<'a> {
    g: &'a Window,
    lanes: usize,
    wrow: usize,
    /// The next block's output row, its first padded row in the band (`(i − i0)·SH`) and
    /// its first column.
    i: usize,
    end: usize,
    band_row: usize,
    j0: usize,
}

impl Blocks<'_> {
    #[inline(always)]
    fn next(&mut self) -> Option<Block> {
        if self.i >= self.end {
            return None;
        }
        let g = self.g;
        let b = Block {
            src: self.band_row * self.wrow + self.j0 * g.stride.1,
            out: self.i * g.ow + self.j0,
            lanes: self.lanes.min(g.ow - self.j0),
        };
        self.j0 += self.lanes;
        if self.j0 >= g.ow {
            (self.i, self.band_row, self.j0) = (self.i + 1, self.band_row + g.stride.0, 0);
        }
        Some(b)
    }
}

/// What a convolution tile reads and writes.
struct Conv<'a> {
    c: usize,
    kh: usize,
    groups: usize,
    wrow: usize,
    /// Padded rows per channel in the band.
    rows: usize,
    /// The band (initialized, with its slack).
    band: *const u8,
    /// Bytes of a tile's weights per kernel row: `KW` (VNNI reads the weight rows) or
    /// `4·groups` (AVX2's packed pairs).
    weight_row: usize,
    rq: &'a Requant<'a>,
    pixels: usize,
    y: *mut i8,
}

/// A convolution kernel of one instruction set: how it groups a kernel row's bytes and
/// output pixels, its constants and its tile.
///
/// # Safety
/// The methods are compiled into the caller ([`conv_vnni`] or [`conv_avx2`]), whose
/// instruction set the CPU must support: AVX-512F, BW, VL and VNNI for [`Vnni`], AVX2 for
/// [`Avx2`].
trait ConvKernel {
    /// Bytes of a kernel row multiplied by one broadcast weight group (4, or 2 as `i16`).
    const UNIT: usize;
    /// Output pixels of a block (one vector).
    const LANES: usize;
    /// The largest column stride the gather shuffle takes.
    const MAX_STRIDE: usize;
    /// Output channels of a tile (two blocks each: `2·MAX_OC` accumulators).
    const MAX_OC: usize;
    /// Whether the tile reads packed weights ([`pack_pairs`]) or the weight rows.
    const PACKS: bool;
    /// The shuffle constants.
    type Consts: Copy;
    /// An output channel's requantization constants.
    type Channel: Copy;
    /// The constants of column stride `sw` and kernel width `kw`.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn consts(sw: usize, kw: usize) -> Self::Consts;
    /// Output channel `o`'s constants.
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait).
    unsafe fn channel(rq: &Requant<'_>, o: usize) -> Self::Channel;
    /// Output channels `o0 .. o0 + OC` of `PV` blocks, channel `o0 + o`'s weights at
    /// `weights[o]` (rows of [`Conv::weight_row`] bytes).
    ///
    /// # Safety
    /// The CPU supports the instruction set (see the trait); `k` describes a filled band
    /// containing every window of the blocks (and the 64 bytes a load reads from a window's
    /// first byte, with the slack); each `weights[o]` is valid for reads of
    /// `C·KH·weight_row` bytes, plus 3 past the last group (VNNI reads 4 bytes a group);
    /// the output `y` holds `(o0 + OC)·pixels` elements and contains every block.
    unsafe fn tile<const OC: usize, const PV: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        blocks: [Block; PV],
        c: Self::Consts,
    );

    /// Output channels of a pooled tile (four accumulators each, one per window position).
    const POOL_OC: usize;
    /// A gathered input vector: one weight group's bytes for each pixel of a block.
    type X: Copy;
    /// The input vectors of pooled block `b`, into `xs`: for each `(c, u, group)` in order,
    /// the four window positions' (`c` made by [`consts`](Self::consts) with twice the
    /// column stride: the pixels of a position are every other column).
    ///
    /// # Safety
    /// The CPU supports the instruction set; `k` describes a filled band containing every
    /// window of the block (and the 64 bytes a load reads from a window's first byte, with
    /// the slack); `xs` is valid for `4·C·KH·groups` aligned writes.
    unsafe fn gather(k: &Conv<'_>, b: &PoolBlock, xs: *mut Self::X, c: Self::Consts);
    /// Output channels `o0 .. o0 + OC` of pooled block `b` from its gathered inputs `xs`:
    /// the four positions' accumulators, pooled and requantized ([`pool_requant16`]), stored
    /// at `b.out` of each channel's pooled plane.
    ///
    /// # Safety
    /// The CPU supports the instruction set; `xs` filled by [`gather`](Self::gather) for `k`
    /// and `b`; `weights` as for [`tile`](Self::tile); the output `y` holds
    /// `(o0 + OC)·pixels` elements (pooled pixels) and contains the block.
    unsafe fn pool_tile<const OC: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        b: &PoolBlock,
        xs: *const Self::X,
    );
}

/// Up to `LANES` consecutive pooled outputs of a channel (in the flattened pooled plane):
/// the first `split` from pooled row A, the rest from the start of the next row B (so
/// that narrow pooled rows still fill a vector).
struct PoolBlock {
    /// Per window position `(u, v)` (index `2u + v`), the band offset of row A's first
    /// window.
    a: [usize; 4],
    /// Per position, row B's first window's offset minus `split` windows: lane `l ≥ split`
    /// of a block gathered from there is row B's pixel `l − split`.
    b: [usize; 4],
    split: usize,
    /// The pooled outputs stored.
    lanes: usize,
    /// The first output's offset in a pooled channel plane.
    out: usize,
}

/// The VNNI kernel: blocks of 16 pixels, groups of 4 bytes (`vpdpbusd`). Each group of a
/// kernel row is broadcast straight from the weights (4 bytes, unaligned); the input bytes
/// past `KW` are zeroed by the shuffle, so the weights they meet (the next row's) add 0.
/// Only the last output channel's last group could read past the weights: that channel is
/// read from a copy with 4 zero bytes after it.
struct Vnni;

impl ConvKernel for Vnni {
    const UNIT: usize = 4;
    const LANES: usize = 16;
    const MAX_STRIDE: usize = 4;
    const MAX_OC: usize = 8;
    const PACKS: bool = false;
    const POOL_OC: usize = 4;
    type X = __m512i;

    #[inline(always)]
    unsafe fn gather(k: &Conv<'_>, b: &PoolBlock, xs: *mut __m512i, (index, full, part): Self::Consts) {
        // Lanes from `split` on come from row B.
        let from_b = !((1u32 << b.split) - 1) as __mmask16;
        let mut n = 0;
        for c in 0..k.c {
            for u in 0..k.kh {
                let row = k.band.add((c * k.rows + u) * k.wrow);
                for m in 0..k.groups {
                    let pattern = if m + 1 == k.groups { part } else { full };
                    for p in 0..4 {
                        let v = _mm512_loadu_si512(row.add(b.a[p] + 4 * m).cast());
                        let mut v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(index, v), pattern);
                        if b.split < 16 {
                            let w = _mm512_loadu_si512(row.add(b.b[p] + 4 * m).cast());
                            let w = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(index, w), pattern);
                            v = _mm512_mask_blend_epi32(from_b, v, w);
                        }
                        xs.add(4 * n + p).write(v);
                    }
                    n += 1;
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn pool_tile<const OC: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        b: &PoolBlock,
        xs: *const __m512i,
    ) {
        let mut acc = [[_mm512_setzero_si512(); 4]; OC];
        let (mut n, mut at) = (0, 0);
        for _ in 0..k.c * k.kh {
            for m in 0..k.groups {
                let xv = [
                    xs.add(4 * n).read(),
                    xs.add(4 * n + 1).read(),
                    xs.add(4 * n + 2).read(),
                    xs.add(4 * n + 3).read(),
                ];
                for o in 0..OC {
                    let wv = _mm512_set1_epi32(weights[o].add(at + 4 * m).cast::<i32>().read_unaligned());
                    for p in 0..4 {
                        acc[o][p] = _mm512_dpbusd_epi32(acc[o][p], xv[p], wv);
                    }
                }
                n += 1;
            }
            at += k.weight_row;
        }
        let stage = stage16(k.rq);
        let mut v = [_mm512_setzero_si512(); 4];
        for o in 0..OC {
            v[o] = pool_requant16(acc[o], &channels[o], stage);
        }
        let bytes = pack4(v);
        let mask = ((1u32 << b.lanes) - 1) as __mmask16;
        for o in 0..OC {
            store_lane(k.y.add((o0 + o) * k.pixels + b.out), mask, bytes, o);
        }
    }
    /// The `vpermd` index (lane `l` gets dwords `l·SW .. l·SW + 4` of a load) and the
    /// `vpshufb` patterns (byte `4p + t` of a lane: byte `p·SW + t`) of a whole group and of
    /// a row's last group (zero bytes for `t` past `KW`).
    type Consts = (__m512i, __m512i, __m512i);
    type Channel = Channel<__m512i>;

    #[inline(always)]
    unsafe fn consts(sw: usize, kw: usize) -> Self::Consts {
        let last = kw - 4 * (kw.div_ceil(4) - 1);
        let index: [i32; 16] = from_fn(|i| ((i / 4) * sw + i % 4) as i32);
        let full: [u8; 64] = from_fn(|i| ((i % 16 / 4) * sw + i % 4) as u8);
        let part: [u8; 64] = from_fn(|i| if i % 4 < last { ((i % 16 / 4) * sw + i % 4) as u8 } else { 0x80 });
        (
            _mm512_loadu_si512(index.as_ptr().cast()),
            _mm512_loadu_si512(full.as_ptr().cast()),
            _mm512_loadu_si512(part.as_ptr().cast()),
        )
    }

    #[inline(always)]
    unsafe fn channel(rq: &Requant<'_>, o: usize) -> Self::Channel {
        channel16(rq, o)
    }

    #[inline(always)]
    unsafe fn tile<const OC: usize, const PV: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        blocks: [Block; PV],
        (index, full, part): Self::Consts,
    ) {
        let mut acc = [[_mm512_setzero_si512(); PV]; OC];
        let mut at = 0;
        for c in 0..k.c {
            for u in 0..k.kh {
                let row = k.band.add((c * k.rows + u) * k.wrow);
                for m in 0..k.groups {
                    let pattern = if m + 1 == k.groups { part } else { full };
                    // Lane 4p + t of a block: byte t of the group at pixel p.
                    let mut xv = [_mm512_setzero_si512(); PV];
                    for p in 0..PV {
                        let v = _mm512_loadu_si512(row.add(blocks[p].src + 4 * m).cast());
                        xv[p] = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(index, v), pattern);
                    }
                    for o in 0..OC {
                        let wv = _mm512_set1_epi32(weights[o].add(at + 4 * m).cast::<i32>().read_unaligned());
                        for p in 0..PV {
                            acc[o][p] = _mm512_dpbusd_epi32(acc[o][p], xv[p], wv);
                        }
                    }
                }
                at += k.weight_row;
            }
        }
        let stage = stage16(k.rq);
        for o in 0..OC {
            for p in 0..PV {
                acc[o][p] = requant_channel16(acc[o][p], &channels[o], stage);
            }
        }
        // Four output vectors at a time (`f = o·PV + p`) packed to bytes.
        let n = OC * PV;
        let mut f = 0;
        while f < n {
            let mut v = [_mm512_setzero_si512(); 4];
            for t in 0..4.min(n - f) {
                v[t] = acc[(f + t) / PV][(f + t) % PV];
            }
            let bytes = pack4(v);
            for t in 0..4.min(n - f) {
                let (o, b) = ((f + t) / PV, blocks[(f + t) % PV]);
                let mask = ((1u32 << b.lanes) - 1) as __mmask16;
                store_lane(k.y.add((o0 + o) * k.pixels + b.out), mask, bytes, t);
            }
            f += 4;
        }
    }
}

/// The AVX2 kernel: blocks of 8 pixels, groups of 2 bytes as `i16` (`vpmaddwd`), the
/// weights packed as pairs of `i16` ([`pack_pairs`]).
struct Avx2;

impl ConvKernel for Avx2 {
    const UNIT: usize = 2;
    const LANES: usize = 8;
    const MAX_STRIDE: usize = 2;
    const MAX_OC: usize = 4;
    const PACKS: bool = true;
    const POOL_OC: usize = 2;
    type X = __m256i;

    #[inline(always)]
    unsafe fn gather(k: &Conv<'_>, b: &PoolBlock, xs: *mut __m256i, pattern: Self::Consts) {
        // −1 in the lanes from `split` on: they come from row B.
        let from_b =
            _mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(b.split as i32 - 1));
        let mut n = 0;
        for c in 0..k.c {
            for u in 0..k.kh {
                let row = k.band.add((c * k.rows + u) * k.wrow);
                for m in 0..k.groups {
                    for p in 0..4 {
                        let v = _mm_loadu_si128(row.add(b.a[p] + 2 * m).cast());
                        let mut v = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(v, pattern));
                        if b.split < 8 {
                            let w = _mm_loadu_si128(row.add(b.b[p] + 2 * m).cast());
                            v = _mm256_blendv_epi8(v, _mm256_cvtepu8_epi16(_mm_shuffle_epi8(w, pattern)), from_b);
                        }
                        xs.add(4 * n + p).write(v);
                    }
                    n += 1;
                }
            }
        }
    }

    #[inline(always)]
    unsafe fn pool_tile<const OC: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        b: &PoolBlock,
        xs: *const __m256i,
    ) {
        let mut acc = [[_mm256_setzero_si256(); 4]; OC];
        let (mut n, mut at) = (0, 0);
        for _ in 0..k.c * k.kh {
            for m in 0..k.groups {
                for o in 0..OC {
                    let wv = _mm256_set1_epi32(weights[o].add(at + 4 * m).cast::<i32>().read_unaligned());
                    for p in 0..4 {
                        acc[o][p] = _mm256_add_epi32(acc[o][p], _mm256_madd_epi16(xs.add(4 * n + p).read(), wv));
                    }
                }
                n += 1;
            }
            at += k.weight_row;
        }
        let stage = stage8(k.rq);
        for o in 0..OC {
            let v = pool_requant8(acc[o], &channels[o], stage);
            store8(k.y.add((o0 + o) * k.pixels + b.out), pack8(v), b.lanes);
        }
    }
    /// The `vpshufb` pattern: byte `2p + t` is byte `p·SW + t` of a 16-byte load.
    type Consts = __m128i;
    type Channel = Channel<__m256i>;

    #[inline(always)]
    unsafe fn consts(sw: usize, _: usize) -> Self::Consts {
        let pattern: [u8; 16] = from_fn(|i| ((i / 2) * sw + i % 2) as u8);
        _mm_loadu_si128(pattern.as_ptr().cast())
    }

    #[inline(always)]
    unsafe fn channel(rq: &Requant<'_>, o: usize) -> Self::Channel {
        channel8(rq, o)
    }

    #[inline(always)]
    unsafe fn tile<const OC: usize, const PV: usize>(
        k: &Conv<'_>,
        o0: usize,
        weights: &[*const u8; OC],
        channels: &[Self::Channel; OC],
        blocks: [Block; PV],
        pattern: __m128i,
    ) {
        let mut acc = [[_mm256_setzero_si256(); PV]; OC];
        let mut at = 0;
        for c in 0..k.c {
            for u in 0..k.kh {
                let row = k.band.add((c * k.rows + u) * k.wrow);
                for m in 0..k.groups {
                    // Lane p (two i16): the pair's two bytes at pixel p, zero-extended.
                    let mut xv = [_mm256_setzero_si256(); PV];
                    for p in 0..PV {
                        let v = _mm_loadu_si128(row.add(blocks[p].src + 2 * m).cast());
                        xv[p] = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(v, pattern));
                    }
                    for o in 0..OC {
                        let wv = _mm256_set1_epi32(weights[o].add(at + 4 * m).cast::<i32>().read_unaligned());
                        for p in 0..PV {
                            acc[o][p] = _mm256_add_epi32(acc[o][p], _mm256_madd_epi16(xv[p], wv));
                        }
                    }
                }
                at += k.weight_row;
            }
        }
        let stage = stage8(k.rq);
        for o in 0..OC {
            for p in 0..PV {
                let v = requant_channel8(acc[o][p], &channels[o], stage);
                store8(k.y.add((o0 + o) * k.pixels + blocks[p].out), pack8(v), blocks[p].lanes);
            }
        }
    }
}

/// The blocks of output rows `i0 .. i0 + out_rows` through `K`'s tile of `OC` channels,
/// two blocks at a time.
///
/// # Safety
/// As [`ConvKernel::tile`] for every block, `weights` pointing to `OC` channels' weights.
#[inline(always)]
unsafe fn tiles<K: ConvKernel, const OC: usize>(
    g: &Window,
    k: &Conv<'_>,
    o0: usize,
    weights: impl Fn(usize) -> *const u8,
    (i0, out_rows): (usize, usize),
    consts: K::Consts,
) {
    let weights: [*const u8; OC] = from_fn(weights);
    let mut channels = [K::channel(k.rq, o0); OC];
    for (o, c) in channels.iter_mut().enumerate().skip(1) {
        *c = K::channel(k.rq, o0 + o);
    }
    let mut blocks = Blocks { g, lanes: K::LANES, wrow: k.wrow, i: i0, end: i0 + out_rows, band_row: 0, j0: 0 };
    while let Some(a) = blocks.next() {
        match blocks.next() {
            Some(b) => K::tile::<OC, 2>(k, o0, &weights, &channels, [a, b], consts),
            None => K::tile::<OC, 1>(k, o0, &weights, &channels, [a], consts),
        }
    }
}

/// The int8 convolution of `g` with VNNI (see the module docs and [`Vnni`]), `plan` from
/// [`Plan::vnni`].
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI ([`vnni`]); `plan` is `g`'s; `w` holds
/// `co·patch` weights, `x` the image, `y` `co·pixels` outputs, `rq`'s slices `co` elements
/// (`co = rq.bias.len() ≥ 1`); `pad` is `z_x + 128`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn conv_vnni(g: &Window, plan: &Plan, w: &[i8], pad: u8, rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    conv_bands::<Vnni>(g, plan, w, pad, rq, x, y)
}

/// The int8 convolution of `g` with AVX2, `plan` from [`Plan::avx2`].
///
/// # Safety
/// As [`conv_vnni`], with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn conv_avx2(g: &Window, plan: &Plan, w: &[i8], pad: u8, rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    conv_bands::<Avx2>(g, plan, w, pad, rq, x, y)
}

/// The bands of the image, and in each the tiles of output channels: fills the band (and,
/// for AVX2, packs the tile's weights), then runs `K`'s tiles over the band's blocks.
///
/// # Safety
/// As [`conv_vnni`], for `K`'s instruction set; `plan` made for `K`.
#[inline(always)]
unsafe fn conv_bands<K: ConvKernel>(
    g: &Window,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    let mut band = [MaybeUninit::<u8>::uninit(); BAND];
    let mut copy = [MaybeUninit::<u8>::uninit(); WEIGHTS];
    let consts = K::consts(g.stride.1, g.kernel.1);
    let (co, sh, patch) = (rq.bias.len(), g.stride.0, g.patch());
    if !K::PACKS {
        // The last channel's weights and 4 zero bytes (the plan checked they fit).
        for (d, &v) in copy.iter_mut().zip(&w[(co - 1) * patch..co * patch]) {
            *d = MaybeUninit::new(v as u8);
        }
        copy[patch..patch + 4].fill(MaybeUninit::new(0));
    }
    let copy = &mut copy;
    let mut i0 = 0;
    while i0 < g.oh {
        let out_rows = plan.out_rows.min(g.oh - i0);
        let rows = (out_rows - 1) * sh + g.kernel.0;
        // SAFETY: the plan keeps `C·rows·wrow + SLACK ≤ BAND` (`rows` at most its band).
        unsafe { fill_band(g, x, pad, i0 * sh, rows, plan.wrow, &mut band) };
        let mut o0 = 0;
        while o0 < co {
            let oc = (co - o0).min(K::MAX_OC);
            let oc = if oc >= 8 {
                8
            } else if oc >= 4 {
                4
            } else if oc >= 2 {
                2
            } else {
                1
            };
            let weight_row = if K::PACKS {
                pack_pairs(g, w, o0, oc, plan.groups, copy);
                4 * plan.groups
            } else {
                g.kernel.1
            };
            let k = Conv {
                c: g.c,
                kh: g.kernel.0,
                groups: plan.groups,
                wrow: plan.wrow,
                rows,
                band: band.as_ptr().cast(),
                weight_row,
                rq,
                pixels: g.pixels(),
                y: y.as_mut_ptr(),
            };
            let (w, copy) = (w.as_ptr().cast::<u8>(), copy.as_ptr().cast::<u8>());
            let weights = |o: usize| match (K::PACKS, o0 + o) {
                (true, _) => copy.add(o * g.c * g.kernel.0 * weight_row),
                (false, ch) if ch + 1 == co => copy,
                (false, ch) => w.add(ch * patch),
            };
            let band = (i0, out_rows);
            match oc {
                8 => tiles::<K, 8>(g, &k, o0, weights, band, consts),
                4 => tiles::<K, 4>(g, &k, o0, weights, band, consts),
                2 => tiles::<K, 2>(g, &k, o0, weights, band, consts),
                _ => tiles::<K, 1>(g, &k, o0, weights, band, consts),
            }
            o0 += oc;
        }
        i0 += out_rows;
    }
}

/// The int8 convolution of `g`, requantized, then the 2×2 max pool (stride 2) `p` of its
/// output, with VNNI, fused: per block of pooled outputs, the accumulators of the four
/// window positions, their maximum, one requantization (see [`pool_requant16`]). `plan`
/// from [`Plan::vnni_pool`].
///
/// # Safety
/// As [`conv_vnni`], `y` holding `co·p.oh·p.ow` outputs and `p` the pool of `g`'s output
/// (`p.c = co`, `p.h × p.w = g.oh × g.ow`).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn conv_pool_vnni(
    g: &Window,
    p: &PoolWindow,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    if !lanes::conv_pool(g, p, w, pad, rq, x, y) {
        conv_pool_bands::<Vnni>(g, p, plan, w, pad, rq, x, y)
    }
}

/// [`conv_pool_vnni`] with AVX2, `plan` from [`Plan::avx2_pool`].
///
/// # Safety
/// As [`conv_pool_vnni`], with AVX2.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn conv_pool_avx2(
    g: &Window,
    p: &PoolWindow,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    conv_pool_bands::<Avx2>(g, p, plan, w, pad, rq, x, y)
}

/// The bands of the image (an even number of output rows each), in each the pooled blocks
/// (up to `K::LANES` consecutive pooled outputs, over at most two pooled rows): gathers a
/// block's inputs once, then runs `K`'s pooled tiles over the output channels.
///
/// # Safety
/// As [`conv_pool_vnni`], for `K`'s instruction set; `plan` made by [`Plan::pooled`] for `K`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_pool_bands<K: ConvKernel>(
    g: &Window,
    p: &PoolWindow,
    plan: &Plan,
    w: &[i8],
    pad: u8,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    let mut band = [MaybeUninit::<u8>::uninit(); BAND];
    let mut copy = [MaybeUninit::<u8>::uninit(); WEIGHTS];
    // 64-byte vectors: aligned for either kernel's `X`.
    let mut gathered = [MaybeUninit::<__m512i>::uninit(); GATHERED / 64];
    let xs = gathered.as_mut_ptr().cast::<K::X>();
    let consts = K::consts(2 * g.stride.1, g.kernel.1);
    let (co, (sh, sw), patch, lanes) = (rq.bias.len(), g.stride, g.patch(), K::LANES);
    let weight_row = if K::PACKS {
        // Every channel's packed weights (the plan checked they fit).
        pack_pairs(g, w, 0, co, plan.groups, &mut copy);
        4 * plan.groups
    } else {
        // The last channel's weights and 4 zero bytes (as `conv_bands`).
        for (d, &v) in copy.iter_mut().zip(&w[(co - 1) * patch..co * patch]) {
            *d = MaybeUninit::new(v as u8);
        }
        copy[patch..patch + 4].fill(MaybeUninit::new(0));
        g.kernel.1
    };
    let (wp, cp) = (w.as_ptr().cast::<u8>(), copy.as_ptr().cast::<u8>());
    let weights = |ch: usize| match K::PACKS {
        true => cp.add(ch * g.c * g.kernel.0 * weight_row),
        false if ch + 1 == co => cp,
        false => wp.add(ch * patch),
    };
    let pow = p.ow;
    let mut pi0 = 0;
    while pi0 < p.oh {
        let np = (plan.out_rows / 2).min(p.oh - pi0);
        let rows = (2 * np - 1) * sh + g.kernel.0;
        // SAFETY: the plan keeps `C·rows·wrow + SLACK ≤ BAND` (`rows` at most its band).
        unsafe { fill_band(g, x, pad, 2 * pi0 * sh, rows, plan.wrow, &mut band) };
        let k = Conv {
            c: g.c,
            kh: g.kernel.0,
            groups: plan.groups,
            wrow: plan.wrow,
            rows,
            band: band.as_ptr().cast(),
            weight_row,
            rq,
            pixels: p.oh * pow,
            y: y.as_mut_ptr(),
        };
        // The band offset of pooled output (i, j)'s window position (u, v).
        let src = |i: usize, j: usize, q: usize| ((2 * (i - pi0) + q / 2) * sh) * plan.wrow + (2 * j + q % 2) * sw;
        let (mut q, end) = (pi0 * pow, (pi0 + np) * pow);
        while q < end {
            let (i, j) = (q / pow, q % pow);
            let split = (pow - j).min(lanes);
            let more = if split < lanes && i + 1 < pi0 + np { (lanes - split).min(pow) } else { 0 };
            let b = PoolBlock {
                a: from_fn(|t| src(i, j, t)),
                b: from_fn(|t| if more > 0 { src(i + 1, 0, t) - split * 2 * sw } else { src(i, j, t) }),
                split: if more > 0 { split } else { lanes },
                lanes: split + more,
                out: q,
            };
            K::gather(&k, &b, xs, consts);
            let mut o0 = 0;
            while o0 < co {
                let oc = (co - o0).min(K::POOL_OC);
                let oc = if oc >= 4 {
                    4
                } else if oc >= 2 {
                    2
                } else {
                    1
                };
                match oc {
                    4 => pool_tiles::<K, 4>(&k, o0, &weights, &b, xs),
                    2 => pool_tiles::<K, 2>(&k, o0, &weights, &b, xs),
                    _ => pool_tiles::<K, 1>(&k, o0, &weights, &b, xs),
                }
                o0 += oc;
            }
            q += b.lanes;
        }
        pi0 += np;
    }
}

/// Output channels `o0 .. o0 + OC` of pooled block `b` through `K`'s pooled tile.
///
/// # Safety
/// As [`ConvKernel::pool_tile`], `weights(ch)` pointing to channel `ch`'s weights.
#[inline(always)]
unsafe fn pool_tiles<K: ConvKernel, const OC: usize>(
    k: &Conv<'_>,
    o0: usize,
    weights: &impl Fn(usize) -> *const u8,
    b: &PoolBlock,
    xs: *const K::X,
) {
    let ws: [*const u8; OC] = from_fn(|o| weights(o0 + o));
    let mut channels = [K::channel(k.rq, o0); OC];
    for (o, c) in channels.iter_mut().enumerate().skip(1) {
        *c = K::channel(k.rq, o0 + o);
    }
    K::pool_tile::<OC>(k, o0, &ws, &channels, b, xs)
}

/// The fused convolution and pool with VNNI for layers of 16·n output channels, 4 or 8
/// input channels and 3×3 kernels (LeNet's second convolution): the lanes are 16 output
/// channels rather than 16 pixels. The whole padded image is copied once, channels
/// innermost (`[row][column][C]`, unsigned bytes), so that a pixel's 4 input channels at
/// a tap are one dword, broadcast straight from the image into `vpdpbusd`; each tap's (and
/// channel group's) weights of the 16 channels stay in a register. Every product is useful
/// (no window bytes past `KW`, no idle lanes), against `4/3` times as many `vpdpbusd` and
/// the gather's shuffles for pixel lanes. The four window positions' accumulators of a
/// pooled output are pooled and requantized as one vector (per-lane multipliers), and 16
/// pooled outputs' bytes transposed to the channel planes.
mod lanes {
    use super::*;

    /// Bytes of the channels-innermost padded image on the stack (with [`SLACK`]).
    const IMAGE: usize = 8 * 1024;
    /// Bytes past the image a row's transposed stores may spill into (`16·C`).
    const SLACK: usize = 128;
    /// Pooled outputs computed together (`4·BATCH` accumulators).
    const BATCH: usize = 2;

    /// The per-lane requantization constants of 16 output channels (see [`requant16`]).
    struct Lanes {
        bias: __m512i,
        mantissa: __m512i,
        /// The mantissas moved to the even lanes (the odd lanes' `vpmuldq` operand).
        mantissa_odd: __m512i,
        left: __m512i,
        right: __m512i,
        /// `2^right − 1` and half of it.
        mask: __m512i,
        half: __m512i,
        /// The lanes whose mantissa is `−2^31` (the only ones that can saturate).
        saturate: __mmask16,
        /// Whether every lane's channel is [`Requant::monotone`].
        monotone: bool,
        stage: Stage<__m512i>,
    }

    /// Channels `o0 .. o0 + 16`'s [`Lanes`].
    ///
    /// # Safety
    /// The CPU supports AVX-512F; `rq`'s slices hold `o0 + 16` elements.
    #[inline(always)]
    unsafe fn lanes(rq: &Requant<'_>, o0: usize) -> Lanes {
        let (mut bias, mut mantissa, mut left, mut right, mut mask) =
            ([0i32; 16], [0i32; 16], [0; 16], [0; 16], [0; 16]);
        let mut monotone = true;
        for o in 0..16 {
            let (l, r, m, _) = channel_shifts(rq, o0 + o);
            (bias[o], mantissa[o]) = (rq.bias[o0 + o].get(), rq.mantissa[o0 + o].get());
            (left[o], right[o], mask[o]) = (l, r, m);
            monotone &= rq.monotone(o0 + o);
        }
        let mantissa = _mm512_loadu_si512(mantissa.as_ptr().cast());
        let mask = _mm512_loadu_si512(mask.as_ptr().cast());
        Lanes {
            bias: _mm512_loadu_si512(bias.as_ptr().cast()),
            mantissa,
            mantissa_odd: _mm512_srli_epi64(mantissa, 32),
            left: _mm512_loadu_si512(left.as_ptr().cast()),
            right: _mm512_loadu_si512(right.as_ptr().cast()),
            mask,
            half: _mm512_srli_epi32(mask, 1),
            saturate: _mm512_cmpeq_epi32_mask(mantissa, _mm512_set1_epi32(i32::MIN)),
            monotone,
            stage: stage16(rq),
        }
    }

    /// [`requant16`] of an accumulator that holds the bias, with the constants of `l`.
    ///
    /// # Safety
    /// The CPU supports AVX-512F.
    #[inline(always)]
    unsafe fn requant(acc: __m512i, l: &Lanes) -> __m512i {
        let a = _mm512_sllv_epi32(acc, l.left);
        let nudge = _mm512_set1_epi64(1 << 30);
        let even = _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, l.mantissa), nudge), 31);
        let odd =
            _mm512_slli_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), l.mantissa_odd), nudge), 1);
        let mut high = _mm512_mask_blend_epi32(0xAAAA, even, odd);
        if l.saturate != 0 {
            let saturated = _mm512_mask_cmpeq_epi32_mask(l.saturate, a, _mm512_set1_epi32(i32::MIN));
            high = _mm512_mask_mov_epi32(high, saturated, _mm512_set1_epi32(i32::MAX));
        }
        let q = _mm512_srav_epi32(high, l.right);
        let threshold = _mm512_add_epi32(l.half, _mm512_srli_epi32(high, 31));
        let up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(high, l.mask), threshold);
        let q = _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1));
        let s = l.stage;
        _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, s.zero_point), s.min), s.max)
    }

    /// The 16×16 byte matrix of rows `r` transposed: element `j` of the result is column
    /// `j` of `r`.
    ///
    /// # Safety
    /// The CPU supports SSE2.
    #[inline(always)]
    unsafe fn transpose16(r: &[__m128i; 16]) -> [__m128i; 16] {
        let z = _mm_setzero_si128();
        // a[2p + h]: rows 2p, 2p + 1 as 16-bit pairs, columns 8h ..
        let mut a = [z; 16];
        for p in 0..8 {
            a[2 * p] = _mm_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
            a[2 * p + 1] = _mm_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
        }
        // b[4q + 2h + k]: rows 4q .. 4q + 4 as dwords, columns 8h + 4k ..
        let mut b = [z; 16];
        for q in 0..4 {
            for h in 0..2 {
                let (x, y) = (a[4 * q + h], a[4 * q + 2 + h]);
                b[4 * q + 2 * h] = _mm_unpacklo_epi16(x, y);
                b[4 * q + 2 * h + 1] = _mm_unpackhi_epi16(x, y);
            }
        }
        // c[8s + 2t + k]: rows 8s .. 8s + 8 as qwords, columns 4t + 2k ..
        let mut c = [z; 16];
        for s in 0..2 {
            for t in 0..4 {
                let (x, y) = (b[8 * s + t], b[8 * s + 4 + t]);
                c[8 * s + 2 * t] = _mm_unpacklo_epi32(x, y);
                c[8 * s + 2 * t + 1] = _mm_unpackhi_epi32(x, y);
            }
        }
        let mut out = [z; 16];
        for n in 0..8 {
            out[2 * n] = _mm_unpacklo_epi64(c[n], c[8 + n]);
            out[2 * n + 1] = _mm_unpackhi_epi64(c[n], c[8 + n]);
        }
        out
    }

    /// Whether [`conv_pool`] takes `g` with `co` output channels: its image's bytes.
    fn image_bytes(g: &Window, co: usize) -> Option<(usize, usize)> {
        let ((sh, sw), c) = (g.stride, g.c);
        if !co.is_multiple_of(16)
            || !(c == 4 || c == 8)
            || g.kernel != (3, 3)
            || sh == 0
            || sw == 0
            || g.oh == 0
            || g.ow == 0
        {
            return None;
        }
        let wrow = (g.ow - 1).checked_mul(sw)?.checked_add(3)?;
        let rows = (g.oh - 1).checked_mul(sh)?.checked_add(3)?;
        let bytes = rows.checked_mul(wrow)?.checked_mul(c)?;
        (bytes + SLACK <= IMAGE).then_some((wrow, rows))
    }

    /// The padded image of `x` (`rows × wrow`, channels innermost, `x + 128` or `pad`) into
    /// `d`: per row, 16 columns of the `C` channel rows at a time, transposed by unpacks.
    ///
    /// # Safety
    /// The CPU supports AVX-512BW and VL; `C = 4·C4` is `g.c`; `d` valid for writes of
    /// `rows·wrow·C + SLACK` bytes; `x` holds the image.
    #[inline(always)]
    unsafe fn fill<const C4: usize>(g: &Window, x: &[i8], pad: u8, (wrow, rows): (usize, usize), d: *mut u8) {
        let c = 4 * C4;
        let (ph, pw) = g.padding;
        let (pad, flip) = (_mm_set1_epi8(pad as i8), _mm_set1_epi8(-128));
        let lo = pw.min(wrow);
        let hi = (pw + g.w).min(wrow);
        let z = _mm_setzero_si128();
        for r in 0..rows {
            let row = r * wrow * c;
            if r < ph || r - ph >= g.h {
                fill16(d, row, row + wrow * c, pad);
                continue;
            }
            fill16(d, row, row + lo * c, pad);
            let src = x.as_ptr().add((r - ph) * g.w);
            let mut k = 0;
            while k < hi - lo {
                let n = (hi - lo - k).min(16);
                let m = ((1u32 << n) - 1) as __mmask16;
                let mut v = [z; 8];
                for (ch, v) in v.iter_mut().enumerate().take(c) {
                    *v = _mm_xor_si128(_mm_maskz_loadu_epi8(m, src.add(ch * g.h * g.w + k)), flip);
                }
                // Columns 0..8 then 8..16 of channel pairs as 16-bit elements.
                let pairs: [[__m128i; 2]; 4] =
                    from_fn(|p| [_mm_unpacklo_epi8(v[2 * p], v[2 * p + 1]), _mm_unpackhi_epi8(v[2 * p], v[2 * p + 1])]);
                let out = d.add(row + (lo + k) * c).cast::<__m128i>();
                if C4 == 1 {
                    for h in 0..2 {
                        _mm_storeu_si128(out.add(2 * h), _mm_unpacklo_epi16(pairs[0][h], pairs[1][h]));
                        _mm_storeu_si128(out.add(2 * h + 1), _mm_unpackhi_epi16(pairs[0][h], pairs[1][h]));
                    }
                } else {
                    for h in 0..2 {
                        // Columns 8h + 4k' .. as dwords of channels 0..4 and 4..8.
                        let q0 = [
                            _mm_unpacklo_epi16(pairs[0][h], pairs[1][h]),
                            _mm_unpackhi_epi16(pairs[0][h], pairs[1][h]),
                        ];
                        let q1 = [
                            _mm_unpacklo_epi16(pairs[2][h], pairs[3][h]),
                            _mm_unpackhi_epi16(pairs[2][h], pairs[3][h]),
                        ];
                        for kk in 0..2 {
                            _mm_storeu_si128(out.add(4 * h + 2 * kk), _mm_unpacklo_epi32(q0[kk], q1[kk]));
                            _mm_storeu_si128(out.add(4 * h + 2 * kk + 1), _mm_unpackhi_epi32(q0[kk], q1[kk]));
                        }
                    }
                }
                k += 16;
            }
            fill16(d, row + hi * c, row + wrow * c, pad);
        }
    }

    /// The fused convolution and 2×2 max pool of [`conv_pool_vnni`] with output channels as
    /// lanes (see the module); `false`, having done nothing, for a shape it does not take.
    ///
    /// # Safety
    /// As [`conv_pool_vnni`] (compiled into it).
    #[inline(always)]
    pub(super) unsafe fn conv_pool(
        g: &Window,
        p: &PoolWindow,
        w: &[i8],
        pad: u8,
        rq: &Requant<'_>,
        x: &[i8],
        y: &mut [i8],
    ) -> bool {
        let co = rq.bias.len();
        let Some(shape) = image_bytes(g, co) else { return false };
        let mut image = [MaybeUninit::<u8>::uninit(); IMAGE];
        let d = image.as_mut_ptr().cast::<u8>();
        // SAFETY: `image_bytes` checked `rows·wrow·C + SLACK ≤ IMAGE`; `g.c` is 4 or 8.
        unsafe {
            if g.c == 4 {
                fill::<1>(g, x, pad, shape, d);
                image_tiles::<1>(g, p, w, rq, shape.0, d, y);
            } else {
                fill::<2>(g, x, pad, shape, d);
                image_tiles::<2>(g, p, w, rq, shape.0, d, y);
            }
        }
        true
    }

    /// The tiles of 16 output channels over the filled image `d` (rows of `wrow` pixels).
    ///
    /// # Safety
    /// The CPU supports AVX-512F, BW, VL and VNNI; `d` filled by [`fill`] for `g`
    /// (`g.c = 4·C4`, a 3×3 kernel, `co = rq.bias.len()` a multiple of 16); `w`, `rq`, `y`
    /// as for [`conv_pool_vnni`].
    #[inline(always)]
    unsafe fn image_tiles<const C4: usize>(
        g: &Window,
        p: &PoolWindow,
        w: &[i8],
        rq: &Requant<'_>,
        wrow: usize,
        d: *const u8,
        y: &mut [i8],
    ) {
        let (c, patch, co) = (4 * C4, g.patch(), rq.bias.len());
        let (sh, sw) = g.stride;
        let (pow, pixels) = (p.ow, p.oh * p.ow);
        let pitch = wrow * c;
        let mut o0 = 0;
        while o0 < co {
            // Tap `(u, v)`, channel group `q`: lane `o` holds `w[o0 + o][4q .. 4q + 4][u][v]`.
            let mut wv = [_mm512_setzero_si512(); 18];
            for (t, wv) in wv.iter_mut().enumerate().take(9 * C4) {
                let (tap, q) = (t / C4, t % C4);
                let lane: [i32; 16] = from_fn(|o| {
                    let base = (o0 + o) * patch + 4 * q * 9 + tap;
                    i32::from_le_bytes(from_fn(|b| w[base + 9 * b] as u8))
                });
                *wv = _mm512_loadu_si512(lane.as_ptr().cast());
            }
            let l = lanes(rq, o0);
            // The image offset of pooled output `n`'s window position `(a, b)`.
            let at = |n: usize, pos: usize| {
                let (i, j) = (n / pow, n % pow);
                ((2 * i + pos / 2) * sh) * pitch + (2 * j + pos % 2) * sw * c
            };
            let mut n0 = 0;
            while n0 < pixels {
                let count = (pixels - n0).min(16);
                let mut rows = [_mm_setzero_si128(); 16];
                let mut n = 0;
                while n < count {
                    if n + BATCH <= count {
                        let v = pooled::<C4, BATCH>(d, pitch, from_fn(|t| at(n0 + n + t / 4, t % 4)), &wv, &l);
                        rows[n..n + BATCH].copy_from_slice(&v);
                        n += BATCH;
                    } else {
                        rows[n] = pooled::<C4, 1>(d, pitch, from_fn(|t| at(n0 + n, t % 4)), &wv, &l)[0];
                        n += 1;
                    }
                }
                let cols = transpose16(&rows);
                let mask = ((1u32 << count) - 1) as __mmask16;
                for (o, col) in cols.iter().enumerate() {
                    _mm_mask_storeu_epi8(y.as_mut_ptr().add((o0 + o) * pixels + n0), mask, *col);
                }
                n0 += count;
            }
            o0 += 16;
        }
    }

    /// `N ≤ BATCH` pooled outputs of 16 channels, their window positions' pixels at image offsets
    /// `at[4n + pos]`: each pooled and requantized, as 16 bytes (channel `o` in byte `o`).
    ///
    /// # Safety
    /// The CPU supports AVX-512F, BW, VL and VNNI; each offset plus `2·pitch + 2·C + C`
    /// bytes within the filled image; `wv[..9·C4]` the tile's weights.
    #[inline(always)]
    unsafe fn pooled<const C4: usize, const N: usize>(
        d: *const u8,
        pitch: usize,
        at: [usize; 4 * BATCH],
        wv: &[__m512i; 18],
        l: &Lanes,
    ) -> [__m128i; N] {
        let c = 4 * C4;
        // The bias first, as `pool_requant16` (its addition wraps, the maximum must see it).
        let mut acc = [[l.bias; 4]; N];
        for u in 0..3 {
            for v in 0..3 {
                for q in 0..C4 {
                    let wt = wv[(3 * u + v) * C4 + q];
                    let off = u * pitch + v * c + 4 * q;
                    for n in 0..N {
                        for pos in 0..4 {
                            let x = d.add(at[4 * n + pos] + off).cast::<i32>().read_unaligned();
                            acc[n][pos] = _mm512_dpbusd_epi32(acc[n][pos], _mm512_set1_epi32(x), wt);
                        }
                    }
                }
            }
        }
        let mut out = [_mm_setzero_si128(); N];
        for n in 0..N {
            let mut a = acc[n];
            let v = if l.monotone {
                requant(_mm512_max_epi32(_mm512_max_epi32(a[0], a[1]), _mm512_max_epi32(a[2], a[3])), l)
            } else {
                for v in &mut a {
                    *v = requant(*v, l);
                }
                _mm512_max_epi32(_mm512_max_epi32(a[0], a[1]), _mm512_max_epi32(a[2], a[3]))
            };
            out[n] = _mm512_cvtepi32_epi8(v);
        }
        out
    }
}

/// Compiles `$body` (plain loops, auto-vectorized) for AVX-512F+VL and for AVX2, as
/// `unsafe fn $avx512(...)` and `unsafe fn $avx2(...)`.
macro_rules! multiversion {
    ($(#[$doc:meta])* fn $avx512:ident / $avx2:ident ($($arg:ident: $t:ty),*) $body:block) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU supports AVX-512F and AVX-512VL.
        #[target_feature(enable = "avx512f,avx512vl")]
        pub(super) unsafe fn $avx512($($arg: $t),*) $body

        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU supports AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        pub(super) unsafe fn $avx2($($arg: $t),*) $body
    };
}

multiversion! {
    /// [`QuantParams::quantize_slice`](crate::quant::QuantParams::quantize_slice) compiled for
    /// the level: the same operations (an `f32` division, a truncation, two comparisons), in
    /// wider vectors.
    fn quantize_avx512 / quantize_avx2(p: crate::quant::QuantParams, x: &[f32], out: &mut [i8]) {
        p.quantize_slice(x, out)
    }
}

/// The 2×2 max pool of stride 2 (`kernels/int8.rs`, `max_pool_i8`) with AVX2 (also the
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
