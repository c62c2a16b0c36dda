//! The integer kernels of int8 models: TFLite's reference semantics, computed exactly, so
//! that every SIMD level gives the same integers as these portable loops.
//!
//! Every linear kernel accumulates `acc_o = bias_o + Σ_i w_oi · (x_i + 128)` in `i32`:
//! `x_i + 128` is the int8 input as an unsigned byte (what VNNI's `vpdpbusd` multiplies),
//! and the layers store `bias_o = b_o − (z_x + 128) · Σ_i w_oi`, so that `acc_o` is TFLite's
//! `b_o + Σ_i w_oi · (x_i − z_x)` exactly. Then [`Requant`]: the fixed-point multiplier, the
//! output zero point and the clamp (a fused ReLU is the clamp `[z_y, 127]`).
//!
//! [`dense_i8`] and [`conv2d_i8`] run on the SIMD level in use (`x86/int8/`: AVX-512 VNNI
//! where the CPU has it, AVX2 otherwise) and fall back to [`dense_i8_portable`] and
//! [`conv2d_i8_portable`]; `dense_i8_on` and `conv2d_i8_on` take the level (the tests compare
//! every level with the portable loops, byte for byte).

use super::conv::Window;
use super::level::Supported;
use super::pool::PoolWindow;
use crate::quant::{LeI32, Multiplier};

/// The output stage of a linear int8 layer: per output (channel) a bias in the
/// accumulator's scale and a multiplier; then `clamp(z_y + M_o(acc_o), min, max)`.
#[derive(Clone, Copy)]
pub(crate) struct Requant<'a> {
    /// `b_o − (z_x + 128)·Σ_i w_oi` (see the module docs).
    pub bias: &'a [LeI32],
    /// Each output's multiplier: the Q0.31 mantissa...
    pub mantissa: &'a [LeI32],
    /// ...and the power of two.
    pub shift: &'a [i8],
    pub output_zero_point: i32,
    /// The clamp, in `[−128, 127]`.
    pub min: i32,
    pub max: i32,
}

impl Requant<'_> {
    /// The int8 output `o` of the accumulator `acc` (which already holds the bias). Defined
    /// for any bytes, as the SIMD kernels compute it: a shift outside `[−31, 30]` (only in a
    /// corrupted file; `Multiplier::new` never makes one) is clamped to it, the zero point's
    /// addition wraps, and a clamp with `min > max` gives `max`.
    #[inline(always)]
    pub fn output(&self, o: usize, acc: i32) -> i8 {
        let m = Multiplier { mantissa: self.mantissa[o].get(), shift: i32::from(self.shift[o]).clamp(-31, 30) };
        self.output_zero_point.wrapping_add(m.apply(acc)).max(self.min).min(self.max) as i8
    }

    /// Whether [`output`](Self::output)`(o, ·)` is a non-decreasing function of the
    /// accumulator, so that the maximum of a window's outputs is the output of its largest
    /// accumulator: a mantissa ≥ 0 (every quantized model's: `Multiplier::new` makes no
    /// other), no left shift (`acc << s` wraps), and a zero point whose addition cannot wrap
    /// (`|M(acc)| ≤ (m >> r) + 1` for a right shift `r`). `false` only for multipliers above 1
    /// and corrupted files: such a channel is requantized value by value.
    ///
    /// Why: `M(acc) = round_half_away(⌊(acc·m + 2^30) / 2^31⌋ / 2^r)` (the doubling high
    /// product's nudge-and-truncate is that floor for either sign), each step non-decreasing
    /// for `m ≥ 0`; then `z + ·` without wrapping and the clamp are too.
    #[inline(always)]
    pub fn monotone(&self, o: usize) -> bool {
        let (m, shift) = (self.mantissa[o].get(), i32::from(self.shift[o]).clamp(-31, 30));
        if m < 0 || shift > 0 {
            return false;
        }
        let reach = (i64::from(m) >> -shift) + 1;
        let z = i64::from(self.output_zero_point);
        z + reach <= i64::from(i32::MAX) && z - reach >= i64::from(i32::MIN)
    }

    /// [`conv2d_max_pool_i8`] (reachable as a method: the kernels' re-exports are not this
    /// file's).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv2d_max_pool(
        &self,
        g: &Window,
        p: &PoolWindow,
        weight: &[i8],
        input_zero_point: i32,
        x: &[i8],
        y: &mut [i8],
    ) {
        conv2d_max_pool_i8(g, p, weight, input_zero_point, self, x, y)
    }
}

/// `x + 128`: an int8 value as the unsigned byte the kernels multiply.
#[inline(always)]
fn unsigned(x: i8) -> i32 {
    i32::from(x) + 128
}

/// An int8 fully connected product: `y_o = requant_o(bias_o + Σ_i w_oi·(x_i + 128))`,
/// `weight` `[out][in]` row-major (TFLite's `FULLY_CONNECTED`, per-channel weights). Exact
/// in `i32` up to 66,000 inputs (|w| ≤ 127, x + 128 ≤ 255). On the current SIMD level
/// ([`simd_level`](super::simd_level): AVX-512 VNNI, AVX2, or [`dense_i8_portable`]); every
/// level gives the same bytes.
#[inline]
pub(crate) fn dense_i8(weight: &[i8], rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    dense_i8_on(Supported::current(), weight, rq, x, y)
}

/// [`dense_i8`] on `level`.
#[inline]
pub(crate) fn dense_i8_on(level: Supported, weight: &[i8], rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    #[cfg(x86_simd)]
    if super::x86::dense_i8(level, weight, rq, x, y) {
        return;
    }
    #[cfg(not(x86_simd))]
    let _ = level;
    dense_i8_portable(weight, rq, x, y)
}

/// [`dense_i8`] in plain loops: the reference every SIMD kernel equals byte for byte.
#[cfg_attr(x86_simd, cold, inline(never))]
pub(crate) fn dense_i8_portable(weight: &[i8], rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    let n = x.len();
    debug_assert_eq!(weight.len(), n * y.len());
    for (o, out) in y.iter_mut().enumerate() {
        let row = &weight[o * n..(o + 1) * n];
        // Wrapping, as the SIMD lanes: exact for a quantized model (see above), defined for
        // any bytes.
        let acc =
            row.iter().zip(x).fold(rq.bias[o].get(), |acc, (&w, &xi)| acc.wrapping_add(i32::from(w) * unsigned(xi)));
        *out = rq.output(o, acc);
    }
}

/// An int8 convolution (TFLite's `CONV_2D`, per-channel weights): output channel `o`, pixel
/// `(i, j)` is `requant_o(bias_o + Σ_{c,u,v} w[o][c][u][v]·(x[c][i·SH+u−PH][j·SW+v−PW] + 128))`,
/// where a position in the padding reads `z_x` (the real 0), so that it adds nothing to
/// TFLite's sum. `weight` is `[C_out][C·KH·KW]`. On the current SIMD level, as
/// [`dense_i8`]; shapes the SIMD kernels do not take (see `x86::conv2d_i8`) run
/// [`conv2d_i8_portable`].
#[inline]
pub(crate) fn conv2d_i8(g: &Window, weight: &[i8], input_zero_point: i32, rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    conv2d_i8_on(Supported::current(), g, weight, input_zero_point, rq, x, y)
}

/// [`conv2d_i8`] on `level`.
#[inline]
pub(crate) fn conv2d_i8_on(
    level: Supported,
    g: &Window,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    #[cfg(x86_simd)]
    if super::x86::conv2d_i8(level, g, weight, input_zero_point, rq, x, y) {
        return;
    }
    #[cfg(not(x86_simd))]
    let _ = level;
    conv2d_i8_portable(g, weight, input_zero_point, rq, x, y)
}

/// [`conv2d_i8`] in plain loops: the reference every SIMD kernel equals byte for byte.
pub(crate) fn conv2d_i8_portable(
    g: &Window,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    let patch = g.patch();
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(weight.len(), patch * rq.bias.len());
    debug_assert_eq!(y.len(), rq.bias.len() * g.pixels());
    let pad = input_zero_point + 128;
    for (o, plane) in y.chunks_exact_mut(g.pixels()).enumerate() {
        let w = &weight[o * patch..(o + 1) * patch];
        for i in 0..g.oh {
            for j in 0..g.ow {
                plane[i * g.ow + j] = rq.output(o, conv_acc(g, w, pad, rq.bias[o].get(), x, (i, j)));
            }
        }
    }
}

/// The accumulator of output pixel `(i, j)` of one output channel (weights `w`, `bias`),
/// the padding reading `pad` (`z_x + 128`): wrapping, as the SIMD lanes (exact for a
/// quantized model, defined for any bytes).
#[inline(always)]
fn conv_acc(g: &Window, w: &[i8], pad: i32, bias: i32, x: &[i8], (i, j): (usize, usize)) -> i32 {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    let mut acc = bias;
    for c in 0..g.c {
        for u in 0..kh {
            let r = (i * sh + u) as isize - ph as isize;
            for v in 0..kw {
                let s = (j * sw + v) as isize - pw as isize;
                let xv = if r < 0 || s < 0 || r >= g.h as isize || s >= g.w as isize {
                    pad
                } else {
                    unsigned(x[(c * g.h + r as usize) * g.w + s as usize])
                };
                acc = acc.wrapping_add(i32::from(w[(c * kh + u) * kw + v]) * xv);
            }
        }
    }
    acc
}

/// An int8 convolution, its requantization (a fused ReLU is its clamp) and a max pool of
/// its output, `p` (`p.c = C_out`, `p.h × p.w = OH × OW`), without the convolution's
/// output: exactly the bytes of [`conv2d_i8`] then [`max_pool_i8`] with `min = −128`.
/// Where requantization is non-decreasing ([`Requant::monotone`]: every channel of a
/// quantized model with multipliers below 1), the maximum of the requantized values is the
/// requantization of the largest accumulator, so each pooled output is requantized once
/// (4× less requantization for 2×2 windows); other channels are requantized value by value
/// and then pooled. On the current SIMD level: 2×2 windows every 2 pixels run fused in
/// registers (`x86::conv2d_max_pool_i8`), other shapes [`conv2d_max_pool_i8_portable`].
#[inline]
pub(crate) fn conv2d_max_pool_i8(
    g: &Window,
    p: &PoolWindow,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    conv2d_max_pool_i8_on(Supported::current(), g, p, weight, input_zero_point, rq, x, y)
}

/// [`conv2d_max_pool_i8`] on `level`.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_max_pool_i8_on(
    level: Supported,
    g: &Window,
    p: &PoolWindow,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    debug_assert!(
        p.c == rq.bias.len() && p.h == g.oh && p.w == g.ow,
        "conv2d_max_pool_i8: the pool's input is not the convolution's output"
    );
    #[cfg(x86_simd)]
    if super::x86::conv2d_max_pool_i8(level, g, p, weight, input_zero_point, rq, x, y) {
        return;
    }
    #[cfg(not(x86_simd))]
    let _ = level;
    conv2d_max_pool_i8_portable(g, p, weight, input_zero_point, rq, x, y)
}

/// [`conv2d_max_pool_i8`] in plain loops, any pool window: each pooled output computes the
/// accumulators of its window's pixels (a pixel in two windows is computed twice).
pub(crate) fn conv2d_max_pool_i8_portable(
    g: &Window,
    p: &PoolWindow,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) {
    let patch = g.patch();
    debug_assert_eq!(x.len(), g.image_len());
    debug_assert_eq!(weight.len(), patch * rq.bias.len());
    debug_assert_eq!(y.len(), rq.bias.len() * p.oh * p.ow);
    let pad = input_zero_point + 128;
    for (o, plane) in y.chunks_exact_mut(p.oh * p.ow).enumerate() {
        let (w, bias, monotone) = (&weight[o * patch..(o + 1) * patch], rq.bias[o].get(), rq.monotone(o));
        for i in 0..p.oh {
            for j in 0..p.ow {
                let window = (0..p.size).flat_map(|u| (0..p.size).map(move |v| (i * p.stride + u, j * p.stride + v)));
                let acc = |at| conv_acc(g, w, pad, bias, x, at);
                plane[i * p.ow + j] = if monotone {
                    window.map(acc).max().map_or(i8::MIN, |a| rq.output(o, a))
                } else {
                    window.map(|at| rq.output(o, acc(at))).max().unwrap_or(i8::MIN)
                };
            }
        }
    }
}

/// A per-channel affine map of int8 values (a BN that folds into no linear layer):
/// `y[c][p] = requant_c(bias_c + w_c·(x[c][p] + 128))` over the `x.len() / C` values of
/// each channel `c` (one value per channel for a flat input).
pub(crate) fn affine_i8(weight: &[i8], rq: &Requant<'_>, x: &[i8], y: &mut [i8]) {
    let per = x.len() / weight.len();
    debug_assert_eq!(x.len(), per * weight.len());
    for (c, (xc, yc)) in x.chunks_exact(per).zip(y.chunks_exact_mut(per)).enumerate() {
        let (w, b) = (i32::from(weight[c]), rq.bias[c].get());
        for (yv, &xv) in yc.iter_mut().zip(xc) {
            *yv = rq.output(c, b.wrapping_add(w * unsigned(xv)));
        }
    }
}

/// Max pooling of int8 values (same parameters in and out, as TFLite's `MAX_POOL_2D`),
/// then the clamp `[min, 127]` (`min` = the zero point for a ReLU before the pool, which
/// commutes with the maximum; −128 for none).
pub(crate) fn max_pool_i8(g: &PoolWindow, min: i8, x: &[i8], y: &mut [i8]) {
    if g.size == 2 && g.stride == 2 {
        #[cfg(x86_simd)]
        if super::x86::max_pool_2x2_i8(Supported::current(), g, min, x, y) {
            return;
        }
        return max_pool_2x2_i8_portable(g, min, x, y);
    }
    for c in 0..g.c {
        let (xc, yc) = (&x[c * g.h * g.w..(c + 1) * g.h * g.w], &mut y[c * g.oh * g.ow..(c + 1) * g.oh * g.ow]);
        for i in 0..g.oh {
            for j in 0..g.ow {
                let mut m = min;
                for u in 0..g.size {
                    let at = (i * g.stride + u) * g.w + j * g.stride;
                    m = xc[at..at + g.size].iter().fold(m, |m, &v| m.max(v));
                }
                yc[i * g.ow + j] = m;
            }
        }
    }
}

/// [`max_pool_i8`] of 2×2 windows every 2 pixels (the LeNet's), a row pair at a time, on
/// unsigned bytes (`x ^ 0x80` orders as `x`): loops that vectorize on any x86-64 (SSE2 has
/// the unsigned byte maximum, not the signed one).
#[inline(always)]
pub(crate) fn max_pool_2x2_i8_portable(g: &PoolWindow, min: i8, x: &[i8], y: &mut [i8]) {
    let u = |v: i8| (v as u8) ^ 0x80;
    let floor = u(min);
    for (xc, yc) in x.chunks_exact(g.h * g.w).zip(y.chunks_exact_mut(g.oh * g.ow)) {
        for (i, out) in yc.chunks_exact_mut(g.ow).enumerate() {
            let (r0, r1) = (&xc[2 * i * g.w..][..2 * g.ow], &xc[(2 * i + 1) * g.w..][..2 * g.ow]);
            for ((o, a), b) in out.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
                let m = u(a[0]).max(u(a[1])).max(u(b[0]).max(u(b[1]))).max(floor);
                *o = (m ^ 0x80) as i8;
            }
        }
    }
}

/// The mean of `count` int8 values whose sum is `sum`, rounded half away from zero as
/// TFLite's int8 `AVERAGE_POOL_2D` (`(sum ± count/2) / count`, C's truncating division).
#[inline(always)]
fn rounded_mean(sum: i32, count: i32) -> i8 {
    let q = if sum > 0 { (sum + count / 2) / count } else { (sum - count / 2) / count };
    q.clamp(-128, 127) as i8
}

/// Average pooling of int8 values (same parameters in and out): TFLite's int8
/// `AVERAGE_POOL_2D` without padding.
pub(crate) fn avg_pool_i8(g: &PoolWindow, x: &[i8], y: &mut [i8]) {
    let count = (g.size * g.size) as i32;
    for c in 0..g.c {
        let (xc, yc) = (&x[c * g.h * g.w..(c + 1) * g.h * g.w], &mut y[c * g.oh * g.ow..(c + 1) * g.oh * g.ow]);
        for i in 0..g.oh {
            for j in 0..g.ow {
                let mut sum = 0i32;
                for u in 0..g.size {
                    let at = (i * g.stride + u) * g.w + j * g.stride;
                    sum += xc[at..at + g.size].iter().map(|&v| i32::from(v)).sum::<i32>();
                }
                yc[i * g.ow + j] = rounded_mean(sum, count);
            }
        }
    }
}

/// The mean of each channel's `x.len() / y.len()` int8 values (a global average pool:
/// [`avg_pool_i8`] with the whole image as the window).
pub(crate) fn global_avg_pool_i8(x: &[i8], y: &mut [i8]) {
    let per = x.len() / y.len();
    for (yc, xc) in y.iter_mut().zip(x.chunks_exact(per)) {
        *yc = rounded_mean(xc.iter().map(|&v| i32::from(v)).sum(), per as i32);
    }
}

/// The int8 values of `x` quantized by `p` (an input of an int8 model), on the current SIMD
/// level: the same results on every level.
pub(crate) fn quantize_i8(p: crate::quant::QuantParams, x: &[f32], out: &mut [i8]) {
    quantize_i8_on(Supported::current(), p, x, out)
}

/// [`quantize_i8`] on `level`: an AVX-512 kernel on that level, and the portable loop
/// compiled for `level` ([`vectorized`](super::vectorized)) for the rest.
#[inline]
pub(crate) fn quantize_i8_on(level: Supported, p: crate::quant::QuantParams, x: &[f32], out: &mut [i8]) {
    #[cfg(x86_simd)]
    let done = super::x86::quantize_i8(level, p, x, out);
    #[cfg(not(x86_simd))]
    let done = 0;
    let (x, out) = (&x[done..], &mut out[done..]);
    #[cfg(x86_simd)]
    super::x86::vectorized(
        level,
        #[inline(always)]
        || p.quantize_slice(x, out),
    );
    #[cfg(not(x86_simd))]
    let _ = (level, p.quantize_slice(x, out));
}

/// A 256-entry table applied to every value: `y = table[x + 128]`, on the current SIMD
/// level (AVX-512 VBMI where the CPU has it, else [`lut_i8_portable`]).
#[inline]
pub(crate) fn lut_i8(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    lut_i8_on(Supported::current(), table, x, y)
}

/// [`lut_i8`] on `level`.
#[inline]
pub(crate) fn lut_i8_on(level: Supported, table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    #[cfg(x86_simd)]
    if super::x86::lut_i8(level, table, x, y) {
        return;
    }
    #[cfg(not(x86_simd))]
    let _ = level;
    lut_i8_portable(table, x, y)
}

/// [`lut_i8`] in a plain loop: the reference.
pub(crate) fn lut_i8_portable(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv = table[(i32::from(xv) + 128) as usize];
    }
}

/// A ReLU of int8 values: `max(x, z)`, `z` the zero point (the real 0).
pub(crate) fn relu_i8(zero_point: i8, x: &[i8], y: &mut [i8]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv = xv.max(zero_point);
    }
}

#[cfg(test)]
mod tests;
