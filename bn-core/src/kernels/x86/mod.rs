//! The x86-64 SIMD kernels (compiled with the `x86_simd` cfg: on `x86_64` without the
//! `portable` feature), behind safe entry points that take the level as a [`Supported`] token
//! and slices whose lengths they check.
//!
//! Below the entry points every function is `unsafe`: callers guarantee that the CPU
//! supports the instruction set named by the function (or by the `Simd` implementation it is
//! instantiated with) and that every pointer is valid for the extents documented on the
//! function. The intrinsics inside are then sound: loads and stores stay within those
//! extents (masked loads and stores do not touch masked-off lanes).
//!
//! Each entry point returns `false`, doing nothing, on [`SimdLevel::Portable`]: the caller
//! then runs the portable kernel.

use generic_array::ArrayLength;

use super::conv::{Direct, Window};
use super::int8::Requant;
use super::level::{SimdLevel, Supported};
use super::operands::{BnBackward, BnTrain};
use super::pool::PoolWindow;

mod avx2;
mod avx512;
mod conv;
mod elementwise;
mod int8;
mod pool;
mod products;
mod vector;

use elementwise::{BnBwd, BnFwd};

/// `C = A·Bᵀ (+ bias)` with `A` `M × K`, `B` `N × K`, `C` `M × N`, row-major; with
/// `ANY_ORDER`, free to sum in another order than the one-sample kernel (the training
/// forward of small layers).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn nt<M: ArrayLength, N: ArrayLength, K: ArrayLength, const ANY_ORDER: bool>(
    level: Supported,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) -> bool {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n, "gemm: operand shorter than its shape");
    assert!(bias.is_none_or(|bias| bias.len() >= n), "gemm: bias shorter than its shape");
    if m == 0 || n == 0 {
        return true;
    }
    let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    let bias = bias.map_or(core::ptr::null(), <[f32]>::as_ptr);
    match (level.get(), ANY_ORDER) {
        // SAFETY: the CPU supports the level (a `Supported`); the slices hold at least `M·K`,
        // `N·K`, `M·N` (and `N` bias) elements (asserted above), which is all the kernels
        // read and write; `c` is exclusively borrowed, so it aliases nothing; `M` and `N` are
        // at least 1.
        (SimdLevel::Avx512, false) => unsafe { products::nt_avx512::<M, N, K>(a, b, bias, c) },
        // SAFETY: as above.
        (SimdLevel::Avx512, true) => unsafe { products::ntt_avx512::<M, N, K>(a, b, bias, c) },
        // SAFETY: as above.
        (SimdLevel::Avx2, false) => unsafe { products::nt_avx2::<M, N, K>(a, b, bias, c) },
        // SAFETY: as above.
        (SimdLevel::Avx2, true) => unsafe { products::ntt_avx2::<M, N, K>(a, b, bias, c) },
        (SimdLevel::Portable, _) => return false,
    }
    true
}

/// `G = Dᵀ·X` (overwritten), `D` `M × N`, `X` `M × K`, `G` `N × K`.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn tn<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    level: Supported,
    d: &[f32],
    x: &[f32],
    g: &mut [f32],
) -> bool {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    assert!(d.len() >= m * n && x.len() >= m * k && g.len() >= n * k, "gemm: operand shorter than its shape");
    if n == 0 || k == 0 {
        return true;
    }
    let (d, x, g) = (d.as_ptr(), x.as_ptr(), g.as_mut_ptr());
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `d`, `x`, `g` hold `M·N`, `M·K`,
        // `N·K` elements (asserted above), all the kernel touches; `g` is exclusive.
        SimdLevel::Avx512 => unsafe { products::tn_avx512::<M, N, K>(d, x, g) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { products::tn_avx2::<M, N, K>(d, x, g) },
        SimdLevel::Portable => return false,
    }
    true
}

/// `C = D·W` (overwritten), `D` `M × N`, `W` `N × K`, `C` `M × K`.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn nn<M: ArrayLength, N: ArrayLength, K: ArrayLength>(
    level: Supported,
    d: &[f32],
    w: &[f32],
    c: &mut [f32],
) -> bool {
    let (m, n, k) = (M::USIZE, N::USIZE, K::USIZE);
    assert!(d.len() >= m * n && w.len() >= n * k && c.len() >= m * k, "gemm: operand shorter than its shape");
    if m == 0 || k == 0 {
        return true;
    }
    let (d, w, c) = (d.as_ptr(), w.as_ptr(), c.as_mut_ptr());
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `d`, `w`, `c` hold `M·N`, `N·K`,
        // `M·K` elements (asserted above), all the kernel touches; `c` is exclusive.
        SimdLevel::Avx512 => unsafe { products::nn_avx512::<M, N, K>(d, w, c) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { products::nn_avx2::<M, N, K>(d, w, c) },
        SimdLevel::Portable => return false,
    }
    true
}

/// The logistic function of the first `min(x.len(), y.len())` elements of `x` into `y`.
#[inline]
pub(crate) fn sigmoid(level: Supported, x: &[f32], y: &mut [f32]) -> bool {
    let n = x.len().min(y.len());
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `x` and `y` hold at least `n`
        // elements and `y` is exclusive (so it does not overlap `x`).
        SimdLevel::Avx512 => unsafe { elementwise::sigmoid_avx512(x.as_ptr(), y.as_mut_ptr(), n) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { elementwise::sigmoid_avx2(x.as_ptr(), y.as_mut_ptr(), n) },
        SimdLevel::Portable => return false,
    }
    true
}

/// The logistic function of every element of `x`, in place.
#[inline]
pub(crate) fn sigmoid_in_place(level: Supported, x: &mut [f32]) -> bool {
    let n = x.len();
    let p = x.as_mut_ptr();
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); the kernel reads element `i`
        // before writing element `i` only, through one pointer into the exclusively borrowed
        // `x` of `n` elements.
        SimdLevel::Avx512 => unsafe { elementwise::sigmoid_avx512(p, p, n) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { elementwise::sigmoid_avx2(p, p, n) },
        SimdLevel::Portable => return false,
    }
    true
}

/// Batch Normalization's training forward over a `B × N` batch (statistics per column),
/// 16 (AVX-512) or 8 (AVX2) columns at a time: the portable kernel's operations, lane by
/// lane, so the same results bit for bit. `false` on the portable level and for an empty
/// shape.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn bn_forward_train<B: ArrayLength, N: ArrayLength>(level: Supported, a: BnTrain<'_, f32>) -> bool {
    let (rows, n) = (B::USIZE, N::USIZE);
    if rows == 0 || n == 0 || level.get() == SimdLevel::Portable {
        return false;
    }
    let s = a.stats;
    assert!(a.x.len() >= rows * n && a.y.len() >= rows * n, "batchnorm: batch shorter than its shape");
    let vectors = [a.gamma.len(), a.beta.len(), s.mean.len(), s.var.len(), s.inv_std.len(), s.shift.len()];
    assert!(vectors.iter().all(|&len| len >= n) && s.delta.len() >= n, "batchnorm: vector shorter than its shape");
    let args = BnFwd {
        rows,
        n,
        eps: a.eps,
        x: a.x.as_ptr(),
        gamma: a.gamma.as_ptr(),
        beta: a.beta.as_ptr(),
        y: a.y.as_mut_ptr(),
        mean: s.mean.as_mut_ptr(),
        var: s.var.as_mut_ptr(),
        inv_std: s.inv_std.as_mut_ptr(),
        shift: s.shift.as_mut_ptr(),
        delta: s.delta.as_mut_ptr(),
    };
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `x`, `y` hold `B·N` elements and
        // the vectors `N` (asserted above); the outputs are distinct exclusive borrows.
        SimdLevel::Avx512 => unsafe { elementwise::bn_fwd_avx512::<B, N>(args) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { elementwise::bn_fwd_avx2::<B, N>(args) },
        SimdLevel::Portable => return false,
    }
    true
}

/// Batch Normalization's backward over a `B × N` batch (see [`bn_forward_train`]).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn bn_backward<B: ArrayLength, N: ArrayLength>(level: Supported, a: BnBackward<'_, f32>) -> bool {
    let (rows, n) = (B::USIZE, N::USIZE);
    if rows == 0 || n == 0 || level.get() == SimdLevel::Portable {
        return false;
    }
    assert!(
        a.x.len() >= rows * n && a.dy.len() >= rows * n && a.dx.len() >= rows * n,
        "batchnorm: batch shorter than its shape"
    );
    let vectors = [a.gamma.len(), a.inv_std.len(), a.shift.len(), a.delta.len(), a.dgamma.len(), a.dbeta.len()];
    assert!(vectors.iter().all(|&len| len >= n), "batchnorm: vector shorter than its shape");
    let args = BnBwd {
        rows,
        n,
        x: a.x.as_ptr(),
        dy: a.dy.as_ptr(),
        gamma: a.gamma.as_ptr(),
        inv_std: a.inv_std.as_ptr(),
        shift: a.shift.as_ptr(),
        delta: a.delta.as_ptr(),
        dx: a.dx.as_mut_ptr(),
        dgamma: a.dgamma.as_mut_ptr(),
        dbeta: a.dbeta.as_mut_ptr(),
    };
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `x`, `dy`, `dx` hold `B·N`
        // elements and the vectors `N` (asserted above); the outputs are distinct exclusive
        // borrows.
        SimdLevel::Avx512 => unsafe { elementwise::bn_bwd_avx512::<B, N>(args) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { elementwise::bn_bwd_avx2::<B, N>(args) },
        SimdLevel::Portable => return false,
    }
    true
}

/// Max pooling of one image with 2×2 windows and stride 2, recording the argmax (see
/// [`pool`]); `false` (nothing done) for other windows and on the portable level.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn max_pool2(level: Supported, g: &PoolWindow, x: &[f32], y: &mut [f32], argmax: &mut [f32]) -> bool {
    if level.get() == SimdLevel::Portable || g.size != 2 || g.stride != 2 {
        return false;
    }
    let (image, out) = (g.c * g.h * g.w, g.c * g.oh * g.ow);
    assert!(x.len() >= image && y.len() >= out && argmax.len() >= out, "max pool: slice shorter than its shape");
    assert!(image <= 1 << 24, "max pool: an image of over 2²⁴ values");
    // SAFETY: AVX2 and FMA are there (the level is at least AVX2, a `Supported`); the slices
    // hold the image and the outputs (asserted above), the outputs are exclusive, and the
    // image is small enough for exact indices.
    unsafe { pool::max_pool2_avx2(x.as_ptr(), y.as_mut_ptr(), argmax.as_mut_ptr(), g.c, g.h, g.w) };
    true
}

/// [`max_pool2`] without the indices; `false` (nothing done) for other windows and on the
/// portable level.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn max_pool2_values(level: Supported, g: &PoolWindow, x: &[f32], y: &mut [f32]) -> bool {
    if level.get() == SimdLevel::Portable || g.size != 2 || g.stride != 2 {
        return false;
    }
    let (image, out) = (g.c * g.h * g.w, g.c * g.oh * g.ow);
    assert!(x.len() >= image && y.len() >= out, "max pool: slice shorter than its shape");
    assert!(image <= 1 << 24, "max pool: an image of over 2²⁴ values");
    // SAFETY: AVX2 and FMA are there (the level is at least AVX2, a `Supported`); the slices
    // hold the image and the outputs (asserted above), and the outputs are exclusive.
    unsafe { pool::max_pool2_values_avx2(x.as_ptr(), y.as_mut_ptr(), g.c, g.h, g.w) };
    true
}

/// Max pooling of `max(x, 0)` (a ReLU then [`max_pool2_values`], bit for bit); `false`
/// (nothing done) for other windows and on the portable level.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn max_pool2_relu(level: Supported, g: &PoolWindow, x: &[f32], y: &mut [f32]) -> bool {
    if level.get() == SimdLevel::Portable || g.size != 2 || g.stride != 2 {
        return false;
    }
    let (image, out) = (g.c * g.h * g.w, g.c * g.oh * g.ow);
    assert!(x.len() >= image && y.len() >= out, "max pool: slice shorter than its shape");
    // SAFETY: AVX2 and FMA are there (the level is at least AVX2, a `Supported`); the slices
    // hold the image and the outputs (asserted above), and the outputs are exclusive.
    unsafe { pool::max_pool2_relu_avx2(x.as_ptr(), y.as_mut_ptr(), g.c, g.h, g.w) };
    true
}

/// The backward of [`max_pool2`]; `false` (nothing done) for other windows and on the
/// portable level.
///
/// # Panics
/// If a slice is shorter than its shape. An index that is not in its window (not one
/// [`max_pool2`] wrote) routes nothing.
#[inline]
pub(crate) fn max_pool2_backward(level: Supported, g: &PoolWindow, argmax: &[f32], dy: &[f32], dx: &mut [f32]) -> bool {
    if level.get() == SimdLevel::Portable || g.size != 2 || g.stride != 2 {
        return false;
    }
    let (image, out) = (g.c * g.h * g.w, g.c * g.oh * g.ow);
    assert!(argmax.len() >= out && dy.len() >= out && dx.len() >= image, "max pool: slice shorter than its shape");
    // SAFETY: AVX2 and FMA are there (a `Supported` level of at least AVX2); the slices hold
    // their shapes (asserted above) and `dx` is exclusive; the kernel writes only inside the
    // windows, whatever the indices.
    unsafe { pool::max_pool2_backward_avx2(argmax.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), g.c, g.h, g.w) };
    true
}

/// The direct stride-1 convolution sum of `d` (overwrites `y`; see [`Direct`]).
///
/// # Panics
/// If a slice is shorter than its shape, or the sum reads outside the image.
#[inline]
pub(crate) fn conv_sum(
    level: Supported,
    d: &Direct,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> bool {
    assert!(d.fits(), "direct convolution: the window leaves the image");
    assert!(
        w.len() >= d.co * d.patch() && x.len() >= d.image_len() && y.len() >= d.out_len(),
        "direct convolution: slice shorter than its shape"
    );
    assert!(bias.is_none_or(|b| b.len() >= d.co), "direct convolution: bias shorter than its shape");
    if d.co == 0 || d.oh == 0 || d.ow == 0 {
        return true;
    }
    let (w, x, y) = (w.as_ptr(), x.as_ptr(), y.as_mut_ptr());
    let bias = bias.map_or(core::ptr::null(), <[f32]>::as_ptr);
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `d` fits its image and has an
        // output channel; the slices hold what `d` reads and writes (asserted above), and
        // `y` is exclusively borrowed.
        SimdLevel::Avx512 => unsafe { conv::sum_avx512(d, w, x, bias, y) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { conv::sum_avx2(d, w, x, bias, y) },
        SimdLevel::Portable => return false,
    }
    true
}

/// The direct stride-1 convolution sum of `d`, then a ReLU and 2×2 max pooling of stride
/// 2, into `y` (`co × ⌊oh/2⌋ × ⌊ow/2⌋`) without storing the sum; `false` (nothing done)
/// below AVX-512.
///
/// # Panics
/// As [`conv_sum`].
#[inline]
pub(crate) fn conv_sum_relu_pool(
    level: Supported,
    d: &Direct,
    w: &[f32],
    x: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) -> bool {
    if level.get() != SimdLevel::Avx512 {
        return false;
    }
    assert!(d.fits(), "direct convolution: the window leaves the image");
    assert!(
        w.len() >= d.co * d.patch() && x.len() >= d.image_len() && y.len() >= d.co * (d.oh / 2) * (d.ow / 2),
        "direct convolution: slice shorter than its shape"
    );
    assert!(bias.is_none_or(|b| b.len() >= d.co), "direct convolution: bias shorter than its shape");
    if d.co == 0 || d.oh < 2 || d.ow < 2 {
        return true;
    }
    let bias = bias.map_or(core::ptr::null(), <[f32]>::as_ptr);
    // SAFETY: the CPU supports AVX-512F and AVX-512VL (a `Supported` AVX-512 level); `d` fits
    // its image and has an output channel; the slices hold what `d` reads and the pooled
    // output (asserted above), and `y` is exclusively borrowed.
    unsafe { conv::sum_relu_pool_avx512(d, w.as_ptr(), x.as_ptr(), bias, y.as_mut_ptr()) };
    true
}

/// One sample's weight gradient of the direct convolution `d`, added to `dw`.
///
/// # Panics
/// As [`conv_sum`].
#[inline]
pub(crate) fn conv_weight_gradient(level: Supported, d: &Direct, dy: &[f32], x: &[f32], dw: &mut [f32]) -> bool {
    assert!(d.fits(), "direct convolution: the window leaves the image");
    assert!(
        dy.len() >= d.out_len() && x.len() >= d.image_len() && dw.len() >= d.co * d.patch(),
        "direct convolution: slice shorter than its shape"
    );
    if d.co == 0 || d.patch() == 0 || d.oh == 0 || d.ow == 0 {
        return true;
    }
    let (dy, x, dw) = (dy.as_ptr(), x.as_ptr(), dw.as_mut_ptr());
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`); `d` fits its image, has an
        // output channel and a weight; the slices hold what `d` reads and writes (asserted
        // above), and `dw` is exclusively borrowed.
        SimdLevel::Avx512 => unsafe { conv::weight_gradient_avx512(d, dy, x, dw) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { conv::weight_gradient_avx2(d, dy, x, dw) },
        SimdLevel::Portable => return false,
    }
    true
}

/// The table lookup `y = table[x + 128]` with AVX-512 VBMI on the AVX-512 level when the
/// CPU has it (see `int8::lut_vbmi`), over the shorter of `x` and `y` as the portable
/// loop; `false` otherwise (the portable loop runs).
#[inline]
pub(crate) fn lut_i8(level: Supported, table: &[i8; 256], x: &[i8], y: &mut [i8]) -> bool {
    let x = &x[..x.len().min(y.len())];
    match level.get() {
        // SAFETY: `vbmi()` checked AVX-512F, BW and VBMI; `y` holds `x.len()` values.
        SimdLevel::Avx512 if int8::vbmi() => unsafe { int8::lut_vbmi(table, x, y) },
        SimdLevel::Avx512 | SimdLevel::Avx2 | SimdLevel::Portable => return false,
    }
    true
}

/// The first values of `x` quantized by `p` into `out` on the AVX-512 level when the CPU
/// has AVX-512BW (see `int8::quantize_avx512`): how many (a multiple of 64; 0 otherwise).
/// The same bytes as the portable loop.
#[inline]
pub(crate) fn quantize_i8(level: Supported, p: crate::quant::QuantParams, x: &[f32], out: &mut [i8]) -> usize {
    match level.get() {
        // SAFETY: `bw()` checked AVX-512F and BW.
        SimdLevel::Avx512 if int8::bw() => unsafe { int8::quantize_avx512(p, x, out) },
        SimdLevel::Avx512 | SimdLevel::Avx2 | SimdLevel::Portable => 0,
    }
}

/// The int8 fully connected product `y_o = requant_o(bias_o + Σ_i w_oi·(x_i + 128))`,
/// `weight` `[y.len()][x.len()]` (see `kernels/int8/`): with VNNI on the AVX-512 level
/// when the CPU has it, otherwise with AVX2 (the AVX-512 level without VNNI too). The same
/// bytes as the portable kernel.
///
/// # Panics
/// If `weight` or a slice of `rq` is shorter than its shape.
#[inline]
pub(crate) fn dense_i8(level: Supported, weight: &[i8], rq: &Requant<'_>, x: &[i8], y: &mut [i8]) -> bool {
    let (n, out) = (x.len(), y.len());
    assert!(
        weight.len() >= n * out && rq.bias.len() >= out && rq.mantissa.len() >= out && rq.shift.len() >= out,
        "int8 dense: slice shorter than its shape"
    );
    if out == 0 {
        return true;
    }
    let (w, x, y) = (weight.as_ptr(), x.as_ptr(), y.as_mut_ptr());
    match level.get() {
        // SAFETY: `vnni()` checked AVX-512F, BW, VL and VNNI; `weight` holds `out·n` bytes,
        // `x` `n`, `y` `out` (exclusive, so it overlaps nothing), `rq`'s slices `out`
        // elements (asserted above).
        SimdLevel::Avx512 if int8::vnni() => unsafe { int8::dense_vnni(w, n, x, rq, y, out) },
        // SAFETY: the CPU supports AVX2 (a `Supported` level of at least AVX2: AVX-512F
        // implies it); the slices as above.
        SimdLevel::Avx512 | SimdLevel::Avx2 => unsafe { int8::dense_avx2(w, n, x, rq, y, out) },
        SimdLevel::Portable => return false,
    }
    true
}

/// The int8 2×2 max pool (stride 2), on `level` (AVX2's kernel on both SIMD levels); `false`
/// (nothing done) on the portable level and for another window.
#[inline]
pub(crate) fn max_pool_2x2_i8(level: Supported, g: &super::pool::PoolWindow, min: i8, x: &[i8], y: &mut [i8]) -> bool {
    if g.size != 2 || g.stride != 2 || g.oh != g.h / 2 || g.ow != g.w / 2 {
        return false;
    }
    assert!(x.len() >= g.c * g.h * g.w && y.len() >= g.c * g.oh * g.ow, "int8 max pool: slice shorter than its shape");
    match level.get() {
        // SAFETY: a `Supported` level of at least AVX2 has AVX2 (AVX-512F implies it); the
        // window is 2×2 of stride 2 with the floor sizes and the slices hold the shapes
        // (checked above).
        SimdLevel::Avx512 | SimdLevel::Avx2 => unsafe { int8::max_pool_2x2_avx2(g, min, x, y) },
        SimdLevel::Portable => return false,
    }
    true
}

/// The int8 convolution of `g` (see `kernels/int8/`), `weight` `[C_out][C·KH·KW]` with
/// `C_out = rq.bias.len()`, the padding reading `input_zero_point`: VNNI or AVX2 as
/// [`dense_i8`]. `false` (nothing done) on the portable level and for shapes the SIMD
/// kernels do not take (a column stride above 4 with VNNI or 2 with AVX2, windows too wide
/// for the kernels' stack buffers, an empty shape, a zero point outside `[−128, 127]`).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn conv2d_i8(
    level: Supported,
    g: &Window,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) -> bool {
    if level.get() == SimdLevel::Portable || !(-128..=127).contains(&input_zero_point) {
        return false;
    }
    let co = rq.bias.len();
    assert!(
        weight.len() >= co * g.patch()
            && x.len() >= g.image_len()
            && y.len() >= co * g.pixels()
            && rq.mantissa.len() >= co
            && rq.shift.len() >= co,
        "int8 convolution: slice shorter than its shape"
    );
    if co == 0 {
        return true;
    }
    let pad = (input_zero_point + 128) as u8;
    let vnni = level.get() == SimdLevel::Avx512 && int8::vnni();
    let plan = if vnni { int8::Plan::vnni(g) } else { int8::Plan::avx2(g) };
    let Some(plan) = plan else { return false };
    if vnni {
        // SAFETY: `vnni()` checked AVX-512F, BW, VL and VNNI; `plan` is `g`'s; the slices
        // hold the shapes (asserted above) and `y` is exclusive.
        unsafe { int8::conv_vnni(g, &plan, weight, pad, rq, x, y) }
    } else {
        // SAFETY: the CPU supports AVX2 (a `Supported` level of at least AVX2); as above.
        unsafe { int8::conv_avx2(g, &plan, weight, pad, rq, x, y) }
    }
    true
}

/// The int8 convolution of `g` then the 2×2 max pool (stride 2) `p` of its output, fused
/// (see `kernels/int8/`, `conv2d_max_pool_i8`): VNNI or AVX2 as [`dense_i8`]. `false`
/// (nothing done) where [`conv2d_i8`] declines, for another pool, a pool that is not of the
/// convolution's output, twice the column stride above 4 with VNNI or 2 with AVX2, or
/// gathered inputs or packed weights too large for the stack buffers.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_max_pool_i8(
    level: Supported,
    g: &Window,
    p: &super::pool::PoolWindow,
    weight: &[i8],
    input_zero_point: i32,
    rq: &Requant<'_>,
    x: &[i8],
    y: &mut [i8],
) -> bool {
    let co = rq.bias.len();
    if level.get() == SimdLevel::Portable
        || !(-128..=127).contains(&input_zero_point)
        || p.size != 2
        || p.stride != 2
        || (p.c, p.h, p.w, p.oh, p.ow) != (co, g.oh, g.ow, g.oh / 2, g.ow / 2)
    {
        return false;
    }
    assert!(
        weight.len() >= co * g.patch()
            && x.len() >= g.image_len()
            && y.len() >= co * p.oh * p.ow
            && rq.mantissa.len() >= co
            && rq.shift.len() >= co,
        "int8 convolution and pool: slice shorter than its shape"
    );
    if co == 0 || p.oh == 0 || p.ow == 0 {
        return true;
    }
    let pad = (input_zero_point + 128) as u8;
    let vnni = level.get() == SimdLevel::Avx512 && int8::vnni();
    // SAFETY: `vnni()` checked AVX-512F, BW, VL and VNNI; `p` the pool of `g`'s output
    // (checked above); the slices hold the shapes (asserted above) and `y` is exclusive.
    if vnni && unsafe { int8::conv_pool_vnni_shaped(g, p, weight, pad, rq, x, y) } {
        return true;
    }
    let plan = if vnni { int8::Plan::vnni_pool(g, p) } else { int8::Plan::avx2_pool(g, p) };
    let Some(plan) = plan else { return false };
    if vnni {
        // SAFETY: `vnni()` checked AVX-512F, BW, VL and VNNI; `plan` is `g`'s and `p`'s, `p`
        // the pool of `g`'s output (checked above); the slices hold the shapes (asserted
        // above) and `y` is exclusive.
        unsafe { int8::conv_pool_vnni(g, p, &plan, weight, pad, rq, x, y) }
    } else {
        // SAFETY: the CPU supports AVX2 (a `Supported` level of at least AVX2); as above.
        unsafe { int8::conv_pool_avx2(g, p, &plan, weight, pad, rq, x, y) }
    }
    true
}

/// Runs `f` compiled for `level`'s instruction set (see
/// [`vectorized`](super::vectorized)).
#[inline(always)]
pub(crate) fn vectorized<R, F: FnOnce() -> R>(level: Supported, f: F) -> R {
    match level.get() {
        // SAFETY: the CPU supports the level (a `Supported`): AVX-512F and AVX-512VL.
        SimdLevel::Avx512 => unsafe { elementwise::run_avx512(f) },
        // SAFETY: the CPU supports the level (a `Supported`): AVX2 and FMA.
        SimdLevel::Avx2 => unsafe { elementwise::run_avx2(f) },
        SimdLevel::Portable => f(),
    }
}
