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

use super::level::{SimdLevel, Supported};
use super::operands::{BnBackward, BnTrain};

mod avx2;
mod avx512;
mod elementwise;
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
