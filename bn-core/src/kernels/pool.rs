//! Pooling over square windows of each channel of an image (`C × H × W`, row-major): max
//! (with PyTorch's NaN and tie rules) and average, forward and backward. No padding; the
//! windows start every `stride` pixels and the output has `⌊(H − K)/S⌋ + 1` rows.

use super::portable::zero;
use crate::float::Float;

/// A pooling sweep in values (the kernels' view of a layer's type-level geometry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolWindow {
    /// Channels, height, width of the input.
    pub c: usize,
    pub h: usize,
    pub w: usize,
    /// The window's side and the step between windows.
    pub size: usize,
    pub stride: usize,
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
}

impl PoolWindow {
    /// The index within its plane of the top-left value of output `(i, j)`'s window, row `u`.
    #[inline(always)]
    fn at(&self, i: usize, j: usize, u: usize) -> usize {
        (i * self.stride + u) * self.w + j * self.stride
    }
}

/// `true` when `v` replaces `best` in PyTorch's max scan: larger, or NaN.
#[inline(always)]
fn replaces<T: Float>(v: T, best: T) -> bool {
    // `v != v`: NaN.
    #[allow(clippy::eq_op)]
    let nan = v != v;
    v > best || nan
}

/// `y` = the maximum of each window (NaN if the window holds one). The window's values are
/// taken in row-major order, each output row at once, with selects instead of branches (the
/// comparisons of random data are unpredictable).
#[inline(always)]
pub(crate) fn max_pool<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T]) {
    max_pool_map(g, x, y, |v| v)
}

/// [`max_pool`] of `f(x)`, each value mapped as it is read.
#[inline(always)]
pub(crate) fn max_pool_map<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T], f: impl Fn(T) -> T) {
    let (k, s, out, plane_len) = (g.size, g.stride, g.oh * g.ow, g.h * g.w);
    let neg_inf = T::from_f64(f64::NEG_INFINITY);
    for c in 0..g.c {
        let plane = &x[c * plane_len..(c + 1) * plane_len];
        let dst = &mut y[c * out..(c + 1) * out];
        for i in 0..g.oh {
            let row_out = &mut dst[i * g.ow..(i + 1) * g.ow];
            row_out.iter_mut().for_each(|o| *o = neg_inf);
            for u in 0..k {
                let row = &plane[g.at(i, 0, u)..g.at(i, 0, u) + g.w];
                for v in 0..k {
                    for (j, o) in row_out.iter_mut().enumerate() {
                        let value = f(row[j * s + v]);
                        *o = if replaces(value, *o) { value } else { *o };
                    }
                }
            }
        }
    }
}

/// [`max_pool`], recording in `argmax` the index (within the sample) of the value each
/// output took: PyTorch's choice, the first largest value of the window in row-major order,
/// or its last NaN. Branch-free (real data makes the comparisons unpredictable), an output
/// row at a time, each window position over the row: the offset of the first value equal
/// to the maximum `m` is `Σ_p (Π_{q≤p} [x_q ≠ m])·(off(p+1) − off(p))`; a NaN window (rare)
/// is scanned for its last NaN. The indices are kept as scalars (exact: an image has at most
/// 2²⁴ values).
#[inline(always)]
pub(crate) fn max_pool_indexed<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T], argmax: &mut [T]) {
    /// Outputs of a row handled at once (the running products live on the stack).
    const CHUNK: usize = 64;
    max_pool(g, x, y);
    let (k, s, out, plane_len) = (g.size, g.stride, g.oh * g.ow, g.h * g.w);
    // The offset of window position `p = u·K + v` from the window's first value.
    let off = |p: usize| (p / k) * g.w + p % k;
    for c in 0..g.c {
        let plane = &x[c * plane_len..(c + 1) * plane_len];
        let (dst, idx) = (&y[c * out..(c + 1) * out], &mut argmax[c * out..(c + 1) * out]);
        for i in 0..g.oh {
            let first = c * plane_len + g.at(i, 0, 0);
            for j0 in (0..g.ow).step_by(CHUNK) {
                let len = CHUNK.min(g.ow - j0);
                let m = &dst[i * g.ow + j0..i * g.ow + j0 + len];
                let at = &mut idx[i * g.ow + j0..i * g.ow + j0 + len];
                let mut before = [T::ONE; CHUNK];
                let before = &mut before[..len];
                at.iter_mut().for_each(|a| *a = T::ZERO);
                for p in 0..k * k - 1 {
                    let step = T::from_usize(off(p + 1) - off(p));
                    let row = &plane[g.at(i, j0, 0) + off(p)..];
                    for (j, (a, b)) in at.iter_mut().zip(before.iter_mut()).enumerate() {
                        let ne = if row[j * s] != m[j] { T::ONE } else { T::ZERO };
                        *b *= ne;
                        *a += *b * step;
                    }
                }
                for (j, (a, &mj)) in at.iter_mut().zip(m).enumerate() {
                    let origin = g.at(i, j0 + j, 0);
                    // `mj != mj`: a NaN window.
                    #[allow(clippy::eq_op)]
                    if mj != mj {
                        let window = &plane[origin..];
                        let last = (0..k * k).rev().map(off).find(|&o| window[o] != window[o]).unwrap_or(0);
                        *a = T::from_usize(last);
                    }
                    *a += T::from_usize(first + (j0 + j) * s);
                }
            }
        }
    }
}

/// `dx` (overwritten) = each output's gradient at the input its value came from (`argmax`,
/// as recorded by [`max_pool_indexed`]), summed where windows overlap.
#[inline(always)]
pub(crate) fn max_pool_backward<T: Float>(argmax: &[T], dy: &[T], dx: &mut [T]) {
    zero(dx);
    for (&n, &d) in argmax.iter().zip(dy) {
        dx[n.to_f64() as usize] += d;
    }
}

/// `y` = the mean of each window.
#[inline(always)]
pub(crate) fn avg_pool<T: Float>(g: &PoolWindow, x: &[T], y: &mut [T]) {
    let (k, out) = (g.size, g.oh * g.ow);
    let (inv, plane_len) = (T::ONE / T::from_usize(k * k), g.h * g.w);
    for c in 0..g.c {
        let plane = &x[c * plane_len..(c + 1) * plane_len];
        let dst = &mut y[c * out..(c + 1) * out];
        for i in 0..g.oh {
            let row_out = &mut dst[i * g.ow..(i + 1) * g.ow];
            zero(row_out);
            for u in 0..k {
                let row = &plane[g.at(i, 0, u)..g.at(i, 0, u) + g.w];
                for (j, o) in row_out.iter_mut().enumerate() {
                    for &v in &row[j * g.stride..j * g.stride + k] {
                        *o += v;
                    }
                }
            }
            row_out.iter_mut().for_each(|o| *o *= inv);
        }
    }
}

/// `dx` (overwritten) = each output's gradient divided by `K²` at every value of its window,
/// summed where windows overlap.
#[inline(always)]
pub(crate) fn avg_pool_backward<T: Float>(g: &PoolWindow, dy: &[T], dx: &mut [T]) {
    let (k, out, plane_len) = (g.size, g.oh * g.ow, g.h * g.w);
    let inv = T::ONE / T::from_usize(k * k);
    zero(&mut dx[..g.c * plane_len]);
    for c in 0..g.c {
        let grad = &dy[c * out..(c + 1) * out];
        let dplane = &mut dx[c * plane_len..(c + 1) * plane_len];
        for i in 0..g.oh {
            for u in 0..k {
                let start = g.at(i, 0, u);
                let row = &mut dplane[start..start + g.w];
                for (j, &d) in grad[i * g.ow..(i + 1) * g.ow].iter().enumerate() {
                    let share = d * inv;
                    row[j * g.stride..j * g.stride + k].iter_mut().for_each(|v| *v += share);
                }
            }
        }
    }
}
