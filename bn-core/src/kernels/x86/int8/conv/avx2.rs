//! The AVX2 kernel of the convolutions.

use super::*;

/// The AVX2 kernel: blocks of 8 pixels, groups of 2 bytes as `i16` (`vpmaddwd`), the
/// weights packed as pairs of `i16` ([`pack_pairs`]).
pub(super) struct Avx2;

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
