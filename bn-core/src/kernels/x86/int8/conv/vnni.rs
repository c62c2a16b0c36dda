//! The VNNI kernel of the convolutions.

use super::*;

/// The VNNI kernel: blocks of 16 pixels, groups of 4 bytes (`vpdpbusd`). Each group of a
/// kernel row is broadcast straight from the weights (4 bytes, unaligned); the input bytes
/// past `KW` are zeroed by the shuffle, so the weights they meet (the next row's) add 0.
/// Only the last output channel's last group could read past the weights: that channel is
/// read from a copy with 4 zero bytes after it.
pub(super) struct Vnni;

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
