//! The int8 kernels on every SIMD level against the portable loops, byte for byte.

use alloc::vec::Vec;

use super::super::tests::levels;
use super::*;
use crate::Rng;

/// A random `i8`, all 256 values.
fn byte(rng: &mut Rng) -> i8 {
    rng.below(256) as u8 as i8
}

/// The owned slices of a [`Requant`].
struct Stage {
    bias: Vec<LeI32>,
    mantissa: Vec<LeI32>,
    shift: Vec<i8>,
    zero_point: i32,
    min: i32,
    max: i32,
}

impl Stage {
    fn view(&self) -> Requant<'_> {
        Requant {
            bias: &self.bias,
            mantissa: &self.mantissa,
            shift: &self.shift,
            output_zero_point: self.zero_point,
            min: self.min,
            max: self.max,
        }
    }

    /// `out` outputs of sums of `terms` products: biases and multipliers spread so that
    /// some outputs land inside the clamp and some outside; factors from 2^−24 to 2^5
    /// (negative and positive shifts, some zero); the output zero point at either
    /// extreme or in between; the clamp full, a ReLU's, or narrower.
    fn random(rng: &mut Rng, out: usize, terms: usize) -> Stage {
        // The spread of a sum of `terms` products of ±127 by 0..=255.
        let spread = 128.0 * 128.0 * (terms.max(1) as f64).sqrt();
        let bias = (0..out).map(|_| LeI32::new(((rng.uniform() - 0.5) * 4.0 * spread) as i32)).collect();
        let (mut mantissa, mut shift) = (Vec::new(), Vec::new());
        for _ in 0..out {
            let real = match rng.below(8) {
                0 => 0.0,
                1 => libm::exp2(rng.uniform() * 5.0),
                2 => libm::exp2(-24.0 + rng.uniform() * 8.0),
                _ => 100.0 / spread * libm::exp2(rng.uniform() * 6.0 - 3.0),
            };
            let m = crate::quant::Multiplier::new(real);
            mantissa.push(LeI32::new(m.mantissa));
            shift.push(m.shift as i8);
        }
        let zero_point = match rng.below(4) {
            0 => -128,
            1 => 127,
            _ => i32::from(byte(rng)),
        };
        let (min, max) = match rng.below(4) {
            0 => (zero_point, 127),
            1 => {
                let (a, b) = (i32::from(byte(rng)), i32::from(byte(rng)));
                (a.min(b), a.max(b))
            }
            _ => (-128, 127),
        };
        Stage { bias, mantissa, shift, zero_point, min, max }
    }
}

/// Any bytes are a model (`PlainData`): shifts outside `[−31, 30]`, zero points that
/// overflow `z_y + M(acc)`, clamps with `min > max` and accumulators that wrap give the
/// same bytes on every level, and no panic.
#[test]
fn any_bytes_requantize_alike_on_every_level() {
    let mut rng = Rng::seed(13);
    for _ in 0..200 {
        let (n, out) = (1 + rng.below(80), 1 + rng.below(40));
        let pick = |rng: &mut Rng| rng.next_u64() as i32;
        let stage = Stage {
            bias: (0..out).map(|_| LeI32::new(pick(&mut rng))).collect(),
            mantissa: (0..out).map(|_| LeI32::new(pick(&mut rng))).collect(),
            shift: (0..out).map(|_| byte(&mut rng)).collect(),
            zero_point: i32::from(byte(&mut rng)),
            min: i32::from(byte(&mut rng)),
            max: i32::from(byte(&mut rng)),
        };
        let rq = stage.view();
        let weight: Vec<i8> = (0..n * out).map(|_| byte(&mut rng)).collect();
        let x: Vec<i8> = (0..n).map(|_| byte(&mut rng)).collect();
        let mut want = alloc::vec![0i8; out];
        dense_i8_portable(&weight, &rq, &x, &mut want);
        for l in levels() {
            let mut y = alloc::vec![0i8; out];
            dense_i8_on(Supported::new(l), &weight, &rq, &x, &mut y);
            assert_eq!(y, want, "any bytes on {}", l.name());
        }
    }
}

/// `dense_i8` on every level equals the portable loops byte for byte.
fn check_dense(rng: &mut Rng, n: usize, out: usize, extreme: bool) {
    let (weight, x): (Vec<i8>, Vec<i8>) = if extreme {
        // The sums `vpmaddubsw` would saturate: inputs at 127 against weights of one sign.
        let w = if rng.below(2) == 0 { 127 } else { -128 };
        (alloc::vec![w; n * out], alloc::vec![127; n])
    } else {
        ((0..n * out).map(|_| byte(rng)).collect(), (0..n).map(|_| byte(rng)).collect())
    };
    let stage = Stage::random(rng, out, n);
    let rq = stage.view();
    let mut want = alloc::vec![0i8; out];
    dense_i8_portable(&weight, &rq, &x, &mut want);
    for l in levels() {
        let mut y = alloc::vec![0x55u8 as i8; out];
        dense_i8_on(Supported::new(l), &weight, &rq, &x, &mut y);
        assert_eq!(y, want, "dense {n} → {out} on {}", l.name());
    }
}

#[test]
fn dense_equals_the_portable_loops_on_every_level() {
    let mut rng = Rng::seed(22);
    let outs = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 31, 33];
    for n in 0..=200 {
        check_dense(&mut rng, n, outs[n % outs.len()], false);
        check_dense(&mut rng, n, outs[(n * 7 + 3) % outs.len()], n % 5 == 0);
    }
    for (n, out) in [(784, 100), (100, 100), (100, 10), (784, 10), (784, 1), (1000, 37), (64, 64), (128, 48)] {
        for extreme in [false, true] {
            check_dense(&mut rng, n, out, extreme);
        }
    }
}

/// Requantization alone (no inputs: the accumulator is the bias) on extreme values:
/// `i32` limits, the saturating product `−2^31 · −2^31`, every shift in `[−31, 30]`.
#[test]
fn requantization_is_bit_exact_on_every_level_at_the_extremes() {
    let mut rng = Rng::seed(7);
    let special = [i32::MIN, i32::MIN + 1, -(1 << 30), -1, 0, 1, 1 << 30, i32::MAX - 1, i32::MAX];
    for round in 0..40 {
        let out = 37;
        let pick = |rng: &mut Rng| {
            if rng.below(2) == 0 {
                special[rng.below(special.len())]
            } else {
                rng.next_u64() as i32
            }
        };
        let stage = Stage {
            bias: (0..out).map(|_| LeI32::new(pick(&mut rng))).collect(),
            mantissa: (0..out).map(|_| LeI32::new(pick(&mut rng))).collect(),
            shift: (0..out).map(|o| ((o + round) % 62) as i8 - 31).collect(),
            // A zero point of 0: `z_y + M(acc)` cannot overflow.
            zero_point: 0,
            min: -128,
            max: 127,
        };
        let rq = stage.view();
        let mut want = alloc::vec![0i8; out];
        dense_i8_portable(&[], &rq, &[], &mut want);
        for l in levels() {
            let mut y = alloc::vec![0i8; out];
            dense_i8_on(Supported::new(l), &[], &rq, &[], &mut y);
            assert_eq!(y, want, "requantization on {}", l.name());
        }
    }
}

/// A random convolution: its window, weights, image and input zero point (−128, 127 or any).
struct Conv {
    g: Window,
    weight: Vec<i8>,
    x: Vec<i8>,
    zero_point: i32,
}

impl Conv {
    fn random(
        rng: &mut Rng,
        c: usize,
        co: usize,
        (h, w): (usize, usize),
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        let (oh, ow) = ((h + 2 * padding.0 - kernel.0) / stride.0 + 1, (w + 2 * padding.1 - kernel.1) / stride.1 + 1);
        let g = Window { c, h, w, kernel, stride, padding, oh, ow };
        let weight: Vec<i8> = (0..co * g.patch()).map(|_| byte(rng)).collect();
        let x: Vec<i8> = (0..g.image_len()).map(|_| byte(rng)).collect();
        let zero_point = match rng.below(3) {
            0 => -128,
            1 => 127,
            _ => i32::from(byte(rng)),
        };
        Conv { g, weight, x, zero_point }
    }
}

/// `conv2d_i8` on every level equals the portable loops byte for byte.
#[allow(clippy::too_many_arguments)]
fn check_conv(
    rng: &mut Rng,
    c: usize,
    co: usize,
    (h, w): (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) {
    let Conv { g, weight, x, zero_point } = Conv::random(rng, c, co, (h, w), kernel, stride, padding);
    let stage = Stage::random(rng, co, g.patch());
    let rq = stage.view();
    let mut want = alloc::vec![0i8; co * g.pixels()];
    conv2d_i8_portable(&g, &weight, zero_point, &rq, &x, &mut want);
    for l in levels() {
        let mut y = alloc::vec![0x55u8 as i8; co * g.pixels()];
        conv2d_i8_on(Supported::new(l), &g, &weight, zero_point, &rq, &x, &mut y);
        assert_eq!(
            y,
            want,
            "conv {c}→{co} on {h}×{w}, kernel {kernel:?} stride {stride:?} padding {padding:?}, on {}",
            l.name()
        );
    }
}

#[test]
fn convolution_equals_the_portable_loops_on_every_level() {
    let mut rng = Rng::seed(1998);
    // LeNet's two convolutions.
    check_conv(&mut rng, 1, 8, (28, 28), (3, 3), (1, 1), (1, 1));
    check_conv(&mut rng, 8, 16, (14, 14), (3, 3), (1, 1), (1, 1));
    // Bands: more rows than the stack buffer holds at once; and a row of windows wider
    // than it (the portable fallback).
    check_conv(&mut rng, 16, 5, (40, 64), (3, 3), (1, 1), (1, 1));
    check_conv(&mut rng, 64, 3, (3, 300), (3, 3), (1, 1), (1, 1));
    for _ in 0..400 {
        let (kh, kw) = (1 + rng.below(5), 1 + rng.below(5));
        let stride = (1 + rng.below(3), if rng.below(6) == 0 { 3 + rng.below(3) } else { 1 + rng.below(2) });
        let padding = (rng.below(3), rng.below(3));
        let h = (kh.saturating_sub(2 * padding.0)).max(1) + rng.below(12);
        let wide = if rng.below(4) == 0 { 40 } else { 20 };
        let w = (kw.saturating_sub(2 * padding.1)).max(1) + rng.below(wide);
        let (c, co) = ([1, 2, 3, 5, 8][rng.below(5)], [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17][rng.below(11)]);
        check_conv(&mut rng, c, co, (h, w), (kh, kw), stride, padding);
    }
}

/// The max pool of `x` (`p`'s input) in the plainest loops, no floor.
fn pool_reference(p: &PoolWindow, x: &[i8]) -> Vec<i8> {
    let mut y = alloc::vec![0i8; p.c * p.oh * p.ow];
    for c in 0..p.c {
        for i in 0..p.oh {
            for j in 0..p.ow {
                let mut m = i8::MIN;
                for u in 0..p.size {
                    for v in 0..p.size {
                        m = m.max(x[(c * p.h + i * p.stride + u) * p.w + j * p.stride + v]);
                    }
                }
                y[(c * p.oh + i) * p.ow + j] = m;
            }
        }
    }
    y
}

/// A requantization stage from any bytes (as a corrupted file's): negative mantissas,
/// shifts outside `[−31, 30]`, clamps with `min > max`, wrapping biases; sometimes a
/// zero point outside the int8 range (whose addition can wrap).
fn any_stage(rng: &mut Rng, out: usize) -> Stage {
    let pick = |rng: &mut Rng| rng.next_u64() as i32;
    let small = rng.below(2) == 0;
    Stage {
        bias: (0..out).map(|_| LeI32::new(if small { pick(rng) >> 12 } else { pick(rng) })).collect(),
        mantissa: (0..out).map(|_| LeI32::new(pick(rng))).collect(),
        shift: (0..out).map(|_| if rng.below(2) == 0 { byte(rng) } else { (rng.below(36) as i8) - 33 }).collect(),
        zero_point: if rng.below(4) == 0 { pick(rng) } else { i32::from(byte(rng)) },
        min: i32::from(byte(rng)),
        max: i32::from(byte(rng)),
    }
}

/// `conv2d_max_pool_i8` on every level equals `conv2d_i8_portable` then the max pool,
/// byte for byte.
#[allow(clippy::too_many_arguments)]
fn check_conv_pool(
    rng: &mut Rng,
    c: usize,
    co: usize,
    (h, w): (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    (size, step): (usize, usize),
    any_bytes: bool,
) {
    let Conv { g, weight, x, zero_point } = Conv::random(rng, c, co, (h, w), kernel, stride, padding);
    let (oh, ow) = (g.oh, g.ow);
    let p =
        PoolWindow { c: co, h: oh, w: ow, size, stride: step, oh: (oh - size) / step + 1, ow: (ow - size) / step + 1 };
    let stage = if any_bytes { any_stage(rng, co) } else { Stage::random(rng, co, g.patch()) };
    let rq = stage.view();
    let mut conv = alloc::vec![0i8; co * g.pixels()];
    conv2d_i8_portable(&g, &weight, zero_point, &rq, &x, &mut conv);
    let want = pool_reference(&p, &conv);
    for l in levels() {
        // Guard bytes past the output: nothing may write there.
        let len = co * p.oh * p.ow;
        let mut y = alloc::vec![0x55u8 as i8; len + 64];
        conv2d_max_pool_i8_on(Supported::new(l), &g, &p, &weight, zero_point, &rq, &x, &mut y[..len]);
        assert!(y[len..].iter().all(|&v| v == 0x55), "wrote past the output on {}", l.name());
        y.truncate(len);
        assert_eq!(
            y,
            want,
            "conv {c}→{co} on {h}×{w}, kernel {kernel:?} stride {stride:?} padding {padding:?}, pool {size}/{step}, \
             any bytes {any_bytes}, on {}",
            l.name()
        );
    }
}

#[test]
fn fused_convolution_and_max_pool_equal_the_unfused_ones_on_every_level() {
    let mut rng = Rng::seed(2024);
    for any_bytes in [false, true] {
        // LeNet's convolutions and pools.
        check_conv_pool(&mut rng, 1, 8, (28, 28), (3, 3), (1, 1), (1, 1), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 8, 16, (14, 14), (3, 3), (1, 1), (1, 1), (2, 2), any_bytes);
        // Several bands; pooled rows wider than a vector; narrow ones packed in pairs.
        check_conv_pool(&mut rng, 16, 5, (41, 64), (3, 3), (1, 1), (1, 1), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 3, 9, (9, 70), (3, 3), (1, 1), (1, 1), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 2, 3, (23, 5), (2, 2), (1, 1), (0, 0), (2, 2), any_bytes);
        // Output channels as lanes (16·n channels, 4 or 8 inputs, 3×3), strided, padded.
        check_conv_pool(&mut rng, 4, 32, (9, 13), (3, 3), (2, 1), (0, 2), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 8, 16, (20, 17), (3, 3), (1, 2), (1, 0), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 8, 16, (30, 30), (3, 3), (1, 1), (2, 2), (2, 2), any_bytes);
        // Column strides of 3 (the general kernel's plan declines them; these take no plan).
        check_conv_pool(&mut rng, 4, 16, (13, 25), (3, 3), (1, 3), (1, 1), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 8, 32, (20, 22), (3, 3), (3, 3), (0, 2), (2, 2), any_bytes);
        // One input channel with fewer than 3 taps (likewise).
        check_conv_pool(&mut rng, 1, 8, (28, 28), (1, 1), (1, 1), (0, 0), (2, 2), any_bytes);
        check_conv_pool(&mut rng, 1, 9, (15, 40), (1, 2), (1, 1), (1, 0), (2, 2), any_bytes);
        // Gathered inputs too many for the stack buffer (the portable fallback).
        check_conv_pool(&mut rng, 40, 2, (6, 6), (3, 3), (1, 1), (1, 1), (2, 2), any_bytes);
    }
    // One input channel, stride 1, kernels up to 4 wide (their own VNNI kernel): every kernel
    // size, pooled rows narrower and wider than 16 lanes, odd sizes, channel counts around
    // its groups of 8 and its bound of 64, images too large for its band.
    for round in 0..150 {
        let kernel = (1 + rng.below(6), 1 + rng.below(5));
        let padding = (rng.below(3), rng.below(3));
        let h = (kernel.0 + 1).saturating_sub(2 * padding.0).max(1) + rng.below(12);
        let w = (kernel.1 + 1).saturating_sub(2 * padding.1).max(1) + rng.below(if round % 4 == 0 { 60 } else { 20 });
        let co = [1, 2, 6, 7, 8, 9, 10, 16, 17, 64, 65][rng.below(11)];
        check_conv_pool(&mut rng, 1, co, (h, w), kernel, (1, 1), padding, (2, 2), round % 3 == 0);
    }
    // The largest image its band takes (120·136 padded bytes + 64 = 16 KiB), one row more
    // (declined: the general kernel), and one far too large.
    check_conv_pool(&mut rng, 1, 6, (118, 134), (3, 3), (1, 1), (1, 1), (2, 2), false);
    check_conv_pool(&mut rng, 1, 6, (119, 134), (3, 3), (1, 1), (1, 1), (2, 2), false);
    check_conv_pool(&mut rng, 1, 3, (200, 90), (3, 3), (1, 1), (1, 1), (2, 2), false);
    for round in 0..500 {
        let (kh, kw) = (1 + rng.below(5), 1 + rng.below(5));
        let stride = (1 + rng.below(2), if rng.below(4) == 0 { 2 + rng.below(2) } else { 1 });
        let padding = (rng.below(3), rng.below(3));
        let pool = match rng.below(8) {
            0 => (3, 2),
            1 => (2, 1),
            2 => (3, 3),
            _ => (2, 2),
        };
        // At least `pool.0` output rows and columns.
        let h = (kh + (pool.0 - 1) * stride.0).saturating_sub(2 * padding.0).max(1) + rng.below(12);
        let wide = if rng.below(4) == 0 { 40 } else { 20 };
        let w = (kw + (pool.0 - 1) * stride.1).saturating_sub(2 * padding.1).max(1) + rng.below(wide);
        let (c, co) = (1 + rng.below(17), 1 + rng.below(17));
        check_conv_pool(&mut rng, c, co, (h, w), (kh, kw), stride, padding, pool, round % 3 == 0);
    }
}

/// The input's quantization (a product by `1/scale` per block, division near a tie) gives
/// `QuantParams::quantize`'s integers (a division per value) on every level: random values,
/// exact ties, their neighbours one ulp away, NaN, infinities, values far out of range, and
/// scales whose reciprocal is not normal.
#[test]
fn quantizing_inputs_divides_exactly_on_every_level() {
    use crate::quant::QuantParams;
    let mut rng = Rng::seed(31);
    for round in 0..200 {
        let p = match round % 10 {
            0 => QuantParams::asymmetric(0.0, 1.0),
            1 => QuantParams { scale: 0.0, zero_point: -128 },
            2 => QuantParams { scale: 1e-40, zero_point: 3 },
            3 => QuantParams { scale: 3e38, zero_point: -7 },
            4 => QuantParams::symmetric(rng.uniform() as f32 * 3.0),
            // Negative (only in a corrupted file), and subnormal with a normal reciprocal.
            5 => QuantParams { scale: -0.01 - rng.uniform() as f32, zero_point: 5 },
            6 => QuantParams { scale: f32::from_bits(1 << 22), zero_point: -20 },
            _ => QuantParams::asymmetric(-(rng.uniform() as f32), 5.0 * rng.uniform() as f32),
        };
        // Special values in every 11th place, or sparse (most blocks of 64 then take the
        // product).
        let every = if round % 3 == 0 { 11 } else { 200 + rng.below(200) };
        let x: Vec<f32> = (0..1 + rng.below(900))
            .map(|i| {
                // A tie `(k + ½)·scale` (exact or one rounding away), or a neighbour of it.
                let tie = (rng.below(600) as f32 - 300.0 + 0.5) * p.scale;
                match i % every {
                    0 => tie,
                    1 => tie.next_up(),
                    2 => tie.next_down(),
                    3 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -0.0][rng.below(5)],
                    // Around the margin: 2⁻¹⁴ to 2⁻¹¹ steps from a tie.
                    4 => tie + p.scale * [1.0, -1.0][rng.below(2)] * (1 << rng.below(4)) as f32 / 16384.0,
                    _ => (rng.uniform() * 2.0 - 0.5) as f32,
                }
            })
            .collect();
        let want: Vec<i8> = x.iter().map(|&r| p.quantize(r)).collect();
        for l in levels() {
            let mut got = alloc::vec![0i8; x.len()];
            quantize_i8_on(Supported::new(l), p, &x, &mut got);
            if let Some(i) = (0..x.len()).find(|&i| got[i] != want[i]) {
                panic!("{p:?} on {}: x = {:e} gives {}, not {}", l.name(), x[i], got[i], want[i]);
            }
        }
    }
    // Unequal lengths: the first `min` values, as a zip.
    let p = QuantParams::asymmetric(-1.0, 2.0);
    let x: Vec<f32> = (0..200).map(|_| (rng.uniform() * 3.0 - 1.0) as f32).collect();
    for (nx, nout) in [(200, 70), (70, 200), (130, 129), (64, 200), (200, 64)] {
        let want: Vec<i8> = x[..nx.min(nout)].iter().map(|&r| p.quantize(r)).collect();
        for l in levels() {
            let mut got = alloc::vec![7i8; nout];
            quantize_i8_on(Supported::new(l), p, &x[..nx], &mut got);
            assert_eq!(&got[..want.len()], &want[..], "{nx} values into {nout} on {}", l.name());
            assert!(got[want.len()..].iter().all(|&v| v == 7), "{nx} values into {nout} on {}", l.name());
        }
    }
    // Dense near ties: every block takes the division for some of its values.
    let p = QuantParams::asymmetric(-1.3, 2.9);
    let x: Vec<f32> = (0..4096).map(|i| (i as f32 / 8.0 - 256.0 + 0.5) * p.scale).collect();
    let want: Vec<i8> = x.iter().map(|&r| p.quantize(r)).collect();
    for l in levels() {
        let mut got = alloc::vec![0i8; x.len()];
        quantize_i8_on(Supported::new(l), p, &x, &mut got);
        assert!(got == want, "near ties on {}", l.name());
    }
}

/// The table lookup gives the portable loop's bytes on every level: random tables, every
/// index, lengths around the 64-byte blocks.
#[test]
fn table_lookup_is_the_same_on_every_level() {
    let mut rng = Rng::seed(41);
    for n in [0, 1, 63, 64, 65, 100, 127, 128, 256, 300, 1000] {
        let table: [i8; 256] = core::array::from_fn(|_| rng.below(256) as u8 as i8);
        let x: Vec<i8> = (0..n).map(|i| if i < 256 { i as u8 as i8 } else { rng.below(256) as u8 as i8 }).collect();
        let mut want = alloc::vec![0i8; n];
        lut_i8_portable(&table, &x, &mut want);
        assert!(x.iter().zip(&want).all(|(&v, &w)| w == table[(i32::from(v) + 128) as usize]));
        for l in levels() {
            let mut got = alloc::vec![7i8; n + 3];
            lut_i8_on(Supported::new(l), &table, &x, &mut got);
            assert_eq!(&got[..n], &want[..], "{n} values on {}", l.name());
            assert_eq!(&got[n..], &[7; 3], "{n} values on {}: wrote past the input", l.name());
            // A shorter output: its length of values, as a zip.
            let mut short = alloc::vec![7i8; n / 2];
            lut_i8_on(Supported::new(l), &table, &x, &mut short);
            assert_eq!(&short[..], &want[..n / 2], "{n} values into {} on {}", n / 2, l.name());
        }
    }
}

/// The 2×2 max pool's fast path equals the general loops, with and without a ReLU floor.
#[test]
fn max_pool_2x2_equals_the_general_loops() {
    let mut rng = Rng::seed(21);
    for (c, h, w) in [(3, 6, 8), (2, 7, 5), (1, 2, 2), (4, 28, 28), (16, 14, 14), (3, 9, 67), (2, 5, 33), (1, 3, 131)] {
        let g = PoolWindow { c, h, w, size: 2, stride: 2, oh: h / 2, ow: w / 2 };
        let x: Vec<i8> = (0..c * h * w).map(|_| byte(&mut rng)).collect();
        for min in [-128, -3, 40, 127] {
            let (mut fast, mut general) = (alloc::vec![0i8; c * g.oh * g.ow], alloc::vec![1i8; c * g.oh * g.ow]);
            max_pool_2x2_i8_portable(&g, min, &x, &mut fast);
            let g3 = PoolWindow { size: 2, stride: 2, ..g };
            // The general loops (the dispatch sends 2×2 to the fast path).
            for ch in 0..c {
                for i in 0..g.oh {
                    for j in 0..g.ow {
                        let at = |u: usize, v: usize| x[(ch * h + 2 * i + u) * w + 2 * j + v];
                        general[(ch * g3.oh + i) * g3.ow + j] =
                            at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)).max(min);
                    }
                }
            }
            assert_eq!(fast, general, "{c}×{h}×{w}, min {min}");
            #[cfg(x86_simd)]
            for l in levels() {
                let mut simd = alloc::vec![7i8; c * g.oh * g.ow];
                if super::super::x86::max_pool_2x2_i8(Supported::new(l), &g, min, &x, &mut simd) {
                    assert_eq!(simd, general, "{c}×{h}×{w}, min {min} on {}", l.name());
                }
            }
        }
    }
}

#[test]
fn averages_round_half_away_from_zero() {
    assert_eq!([rounded_mean(6, 4), rounded_mean(-6, 4), rounded_mean(5, 4), rounded_mean(-5, 4)], [2, -2, 1, -1]);
    assert_eq!([rounded_mean(7, 4), rounded_mean(-7, 4), rounded_mean(0, 9)], [2, -2, 0]);
}
