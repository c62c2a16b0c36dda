//! Max pooling of 2×2 windows with stride 2 (the usual CNN pool), 8 windows at a time with
//! AVX2: the two input rows of 8 windows are loaded as 16 contiguous values each and split
//! into their even and odd columns by shuffles (a compiler left to itself gathers, which is
//! slow), then maximum and argmax are lane-wise selects. The rules are the portable
//! kernel's (PyTorch's): from `−∞`, a value replaces the best so far when larger or NaN; the
//! index is the first maximum in row-major order; a window with a NaN takes its last NaN
//! (such windows are rare and fixed up one by one).

use core::arch::x86_64::*;

use super::vector::store8;

/// `MASKS[8 - n..16 - n]` enables the first `n ≤ 8` lanes.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The mask of the first `n ≤ 8` lanes.
///
/// # Safety
/// AVX2; `n ≤ 8` (the load reads `MASKS[8 - n..16 - n]`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn first(n: usize) -> __m256i {
    _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast())
}

/// The even and odd values of `p[0..2n]` (`n ≤ 8` windows): `[p0, p2, …]`, `[p1, p3, …]`;
/// lanes past `n` are zero.
///
/// # Safety
/// AVX2; `p` valid for `2n` reads.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn split(p: *const f32, n: usize) -> (__m256, __m256) {
    let (lo, hi) = if n == 8 {
        (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
    } else {
        (_mm256_maskload_ps(p, first((2 * n).min(8))), _mm256_maskload_ps(p.add(8), first((2 * n).saturating_sub(8))))
    };
    // Within each 128-bit half: [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6]; then the 64-bit pairs
    // in order 0, 2, 1, 3.
    let even = _mm256_shuffle_ps::<0x88>(lo, hi);
    let odd = _mm256_shuffle_ps::<0xDD>(lo, hi);
    (in_order(even), in_order(odd))
}

/// The 64-bit pairs of `v` in order 0, 2, 1, 3. (Helpers are functions, not closures: a
/// closure does not inherit its function's target features, and its intrinsics would not
/// inline.)
///
/// # Safety
/// AVX2 (no memory access).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn in_order(v: __m256) -> __m256 {
    _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(v)))
}

/// `g` where `at == o`, zero elsewhere.
///
/// # Safety
/// AVX2 (no memory access).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pick(g: __m256, at: __m256, o: __m256) -> __m256 {
    _mm256_blendv_ps(_mm256_setzero_ps(), g, _mm256_cmp_ps::<_CMP_EQ_OQ>(at, o))
}

/// `[e0 o0 e1 o1 …]` stored at `p .. p + 2n` (`n ≤ 8`).
///
/// # Safety
/// AVX2; `n ≤ 8`; `p` valid for `2n` writes (nothing past `p + 2n` is written).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn merge(e: __m256, o: __m256, p: *mut f32, n: usize) {
    let (lo, hi) = (_mm256_unpacklo_ps(e, o), _mm256_unpackhi_ps(e, o));
    let (first_half, second_half) = (_mm256_permute2f128_ps::<0x20>(lo, hi), _mm256_permute2f128_ps::<0x31>(lo, hi));
    if n == 8 {
        _mm256_storeu_ps(p, first_half);
        _mm256_storeu_ps(p.add(8), second_half);
    } else {
        store8(p, first_half, (2 * n).min(8));
        store8(p.add(8), second_half, (2 * n).saturating_sub(8));
    }
}

/// `best` replaced by `v` where `v > best` or `v` is NaN; and `at` by `code` there.
///
/// # Safety
/// AVX2 (no memory access).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn take(v: __m256, best: __m256, at: __m256, code: __m256) -> (__m256, __m256) {
    let mask = _mm256_or_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v, best), _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
    (_mm256_blendv_ps(best, v, mask), _mm256_blendv_ps(at, code, mask))
}

/// One image: `c` planes of `h × w` into `c` planes of `⌊h/2⌋ × ⌊w/2⌋`; `argmax` gets the
/// index within the image of the value each output took, as an `f32` (exact below 2²⁴).
///
/// # Safety
/// AVX2 and FMA; `x` valid for `c·h·w` reads, `y` and `argmax` for `c·⌊h/2⌋·⌊w/2⌋` writes
/// (exclusive); `c·h·w ≤ 2²⁴`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn max_pool2_avx2(x: *const f32, y: *mut f32, argmax: *mut f32, c: usize, h: usize, w: usize) {
    max_pool2::<true>(x, y, argmax, c, h, w)
}

/// [`max_pool2_avx2`] without the indices (inference): the same values.
///
/// # Safety
/// AVX2 and FMA; `x` valid for `c·h·w` reads, `y` for `c·⌊h/2⌋·⌊w/2⌋` writes (exclusive).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn max_pool2_values_avx2(x: *const f32, y: *mut f32, c: usize, h: usize, w: usize) {
    max_pool2::<false>(x, y, core::ptr::null_mut(), c, h, w)
}

/// Max pooling of `max(x, 0)`: after the ReLU every value is `+0` or positive, never NaN
/// or `−0`, so the order of the comparisons cannot show and plain `VMAXPS` gives the values
/// of a ReLU followed by [`max_pool2_values_avx2`], bit for bit: the two rows' maximum, then
/// of the even and odd columns.
///
/// # Safety
/// AVX2 and FMA; `x` valid for `c·h·w` reads, `y` for `c·⌊h/2⌋·⌊w/2⌋` writes (exclusive).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn max_pool2_relu_avx2(x: *const f32, y: *mut f32, c: usize, h: usize, w: usize) {
    let (oh, ow) = (h / 2, w / 2);
    let zero = _mm256_setzero_ps();
    for ch in 0..c {
        for i in 0..oh {
            let r0 = x.add((ch * h + 2 * i) * w);
            let r1 = r0.add(w);
            let yo = y.add((ch * oh + i) * ow);
            for j in (0..ow).step_by(8) {
                let n = (ow - j).min(8);
                let (a, b) = split(r0.add(2 * j), n);
                let (cc, d) = split(r1.add(2 * j), n);
                // ReLU(v) = max(v, +0): NaN and −0 give +0 (`VMAXPS` returns its second
                // operand then), as `if v > 0 { v } else { 0 }` does.
                let (a, b, cc, d) =
                    (_mm256_max_ps(a, zero), _mm256_max_ps(b, zero), _mm256_max_ps(cc, zero), _mm256_max_ps(d, zero));
                let best = _mm256_max_ps(_mm256_max_ps(a, b), _mm256_max_ps(cc, d));
                store8(yo.add(j), best, n);
            }
        }
    }
}

/// Both of the above; `argmax` is written only with `INDEX`.
///
/// # Safety
/// AVX2 and FMA (it is inlined into the callers, which enable them); `x` valid for
/// `c·h·w` reads, `y` for `c·⌊h/2⌋·⌊w/2⌋` writes, and with `INDEX` `argmax` too (without,
/// it is never touched: any pointer, null included); `c·h·w ≤ 2²⁴` with `INDEX`.
#[inline(always)]
unsafe fn max_pool2<const INDEX: bool>(x: *const f32, y: *mut f32, argmax: *mut f32, c: usize, h: usize, w: usize) {
    let (oh, ow) = (h / 2, w / 2);
    let lanes = _mm256_setr_ps(0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0);
    let (one, wf) = (_mm256_set1_ps(1.0), w as f32);
    for ch in 0..c {
        for i in 0..oh {
            let r0 = x.add((ch * h + 2 * i) * w);
            let r1 = r0.add(w);
            let (yo, ao) = (y.add((ch * oh + i) * ow), argmax.wrapping_add((ch * oh + i) * ow));
            let base = ((ch * h + 2 * i) * w) as f32;
            // 8 windows at a time, the last group masked.
            for j in (0..ow).step_by(8) {
                let n = (ow - j).min(8);
                let (a, b) = split(r0.add(2 * j), n);
                let (cc, d) = split(r1.add(2 * j), n);
                let start = _mm256_add_ps(_mm256_set1_ps(base + (2 * j) as f32), lanes);
                // From −∞, `a` always wins (or stays: −∞ at offset 0 is the first anyway).
                let (best, at) = (a, _mm256_setzero_ps());
                let (best, at) = take(b, best, at, one);
                let (best, at) = take(cc, best, at, _mm256_set1_ps(wf));
                let (best, at) = take(d, best, at, _mm256_set1_ps(wf + 1.0));
                store8(yo.add(j), best, n);
                if INDEX {
                    store8(ao.add(j), _mm256_add_ps(start, at), n);
                }
            }
        }
    }
}

/// The backward of [`max_pool2_avx2`] for one image: `dx` (overwritten, `c·h·w`) is `dy` at
/// each output's recorded input, zero elsewhere; each input is in at most one window, so
/// every value of `dx` is written once, 16 at a time (those of no window, a last odd row or
/// column, are zeroed).
///
/// # Safety
/// AVX2 and FMA; `argmax` and `dy` valid for `c·⌊h/2⌋·⌊w/2⌋` reads, `dx` for `c·h·w` writes
/// (exclusive). An index outside its window (not one [`max_pool2_avx2`] wrote) routes
/// nothing, so any `argmax` is safe.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn max_pool2_backward_avx2(argmax: *const f32, dy: *const f32, dx: *mut f32, c: usize, h: usize, w: usize) {
    let (oh, ow) = (h / 2, w / 2);
    let lanes = _mm256_setr_ps(0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0);
    let (zero, one, wf) = (_mm256_setzero_ps(), _mm256_set1_ps(1.0), w as f32);
    // The windows cover all but a last odd row and column: those are zero.
    for ch in 0..c {
        if h % 2 == 1 {
            core::ptr::write_bytes(dx.add((ch * h + h - 1) * w), 0, w);
        }
        if w % 2 == 1 {
            for r in 0..h {
                *dx.add((ch * h + r) * w + w - 1) = 0.0;
            }
        }
    }
    for ch in 0..c {
        for i in 0..oh {
            let d0 = dx.add((ch * h + 2 * i) * w);
            let d1 = d0.add(w);
            let (go, ao) = (dy.add((ch * oh + i) * ow), argmax.add((ch * oh + i) * ow));
            let base = ((ch * h + 2 * i) * w) as f32;
            for j in (0..ow).step_by(8) {
                let n = (ow - j).min(8);
                let (g, index) = if n == 8 {
                    (_mm256_loadu_ps(go.add(j)), _mm256_loadu_ps(ao.add(j)))
                } else {
                    (_mm256_maskload_ps(go.add(j), first(n)), _mm256_maskload_ps(ao.add(j), first(n)))
                };
                // The offset within the window; an index outside it routes nothing (and the
                // masked lanes carry a zero gradient).
                let at = _mm256_sub_ps(index, _mm256_add_ps(_mm256_set1_ps(base + (2 * j) as f32), lanes));
                let (a, b) = (pick(g, at, zero), pick(g, at, one));
                let (cc, d) = (pick(g, at, _mm256_set1_ps(wf)), pick(g, at, _mm256_set1_ps(wf + 1.0)));
                // Interleave even and odd columns back: [a0 b0 a1 b1 …].
                merge(a, b, d0.add(2 * j), n);
                merge(cc, d, d1.add(2 * j), n);
            }
        }
    }
}
