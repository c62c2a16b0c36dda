//! The int8 fully connected product: VNNI and AVX2 tiles of rows (see the module docs).

use super::*;

/// Rows `o0 .. o0 + min(R, out − o0)` of the VNNI dense product: `R` rows (8 or 4) at a
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
    // The row sums in lanes 0 .. R: per 128-bit lane the 4-row partial sums, then the lanes'.
    let zero = _mm512_setzero_si512();
    let r0 = sum4(acc[0], acc[1], acc[2], acc[3]);
    let r1 = if R == 8 { sum4(acc[4], acc[5], acc[6], acc[7]) } else { zero };
    let sums = sum_lane_pairs(sum_lane_pairs(r0, r1), zero);
    let nv = (out - o0).min(R);
    let k = ((1u32 << nv) - 1) as __mmask16;
    let bias = _mm512_maskz_loadu_epi32(k, rq.bias.as_ptr().add(o0).cast());
    let mantissa = _mm512_maskz_loadu_epi32(k, rq.mantissa.as_ptr().add(o0).cast());
    let shift = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, rq.shift.as_ptr().add(o0)));
    let v = requant16(_mm512_add_epi32(sums, bias), mantissa, shift, stage16(rq));
    store_lane(y.add(o0), k, pack4([v, zero, zero, zero]), 0);
}

/// `y_o = requant_o(bias_o + Σ_i w_oi·(x_i + 128))` with VNNI, `weight` `[out][n]`.
///
/// # Safety
/// The CPU supports AVX-512F, BW, VL and VNNI ([`vnni`]); `w` valid for `out·n` reads, `x`
/// for `n`, `y` for `out` writes (not overlapping the others); `rq`'s slices hold at least
/// `out` elements.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn dense_vnni(w: *const i8, n: usize, x: *const i8, rq: &Requant<'_>, y: *mut i8, out: usize) {
    // Tiles of 8 rows, not 16: the 784-input layer of the paper MLP runs 9 % faster with 8
    // weight rows streamed at once than with 16 (Zen 5, 2026-12-07; equal for 100 inputs).
    let mut o0 = 0;
    while o0 < out {
        match out - o0 {
            r if r > 4 => dense_tile_vnni::<8>(w, n, x, rq, o0, out, y),
            _ => dense_tile_vnni::<4>(w, n, x, rq, o0, out, y),
        }
        o0 += 8;
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
pub(crate) unsafe fn dense_avx2(w: *const i8, n: usize, x: *const i8, rq: &Requant<'_>, y: *mut i8, out: usize) {
    let mut o0 = 0;
    while o0 < out {
        dense_tile_avx2(w, n, x, rq, o0, out, y);
        o0 += 8;
    }
}
