//! The portable kernels of a 2-d convolution, two ways.
//!
//! - **Direct, stride 1.** The image is copied into a zero-padded one ([`embed`]) and each
//!   output row is a sum of runs of its rows ([`Direct`], [`direct`],
//!   [`direct_weight_gradient`]); the input gradient is the same sum over the padded output
//!   gradient with the weights flipped ([`flip`]). No column matrix; the SIMD kernels
//!   (`x86/conv.rs`) compute the same sums register-blocked.
//! - **Columns, any stride.** `im2col` lays each output pixel's receptive field out as a
//!   column (zeros where the window hangs over the padding), the layer multiplies, and
//!   `col2im` adds such columns back onto the image (the input gradient).
//!
//! Layout: an image is `C × H × W`, row-major; the column matrix is `(C·KH·KW) × (OH·OW)`,
//! row `p = (c·KH + kh)·KW + kw`, column `q = oh·OW + ow`, and holds
//! `x[c][oh·SH + kh − PH][ow·SW + kw − PW]`.

use crate::float::Float;

/// The geometry of a convolution's window sweep, in values (the kernels' view of a layer's
/// type-level geometry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Input channels, height, width.
    pub c: usize,
    pub h: usize,
    pub w: usize,
    /// Kernel, stride and padding, `(height, width)`.
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
}

impl Window {
    /// Elements of one image.
    pub fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Rows of the column matrix (`C·KH·KW`).
    pub fn patch(&self) -> usize {
        self.c * self.kernel.0 * self.kernel.1
    }

    /// Output pixels of a channel (`OH·OW`).
    pub fn pixels(&self) -> usize {
        self.oh * self.ow
    }

    /// Whether the layer is computed directly (stride 1, see the module docs).
    pub fn direct(&self) -> bool {
        self.stride == (1, 1)
    }

    /// For kernel offset `k` along an axis of `n` inputs, the output positions `o` whose
    /// input `o·stride + k − pad` lies inside `[0, n)`: `lo..hi`.
    #[inline(always)]
    fn valid(n: usize, out: usize, k: usize, stride: usize, pad: usize) -> (usize, usize) {
        // o·s + k ≥ pad  ⇔  o ≥ ⌈(pad − k)/s⌉;  o·s + k − pad < n  ⇔  o < ⌈(n + pad − k)/s⌉.
        let lo = if k >= pad { 0 } else { (pad - k).div_ceil(stride) };
        let hi = if n + pad > k { (n + pad - k).div_ceil(stride).min(out) } else { 0 };
        (lo.min(hi), hi)
    }
}

/// `col = im2col(x)` for one image (`x`: `C·H·W`, `col`: `C·KH·KW × OH·OW`, overwritten).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn im2col<T: Copy + Default>(g: &Window, x: &[T], col: &mut [T]) {
    let (kh_n, kw_n) = g.kernel;
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    let (x, col) = (&x[..g.image_len()], &mut col[..g.patch() * g.pixels()]);
    let zero = T::default();
    for c in 0..g.c {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for kh in 0..kh_n {
            let (oh_lo, oh_hi) = Window::valid(g.h, g.oh, kh, sh, ph);
            for kw in 0..kw_n {
                let (ow_lo, ow_hi) = Window::valid(g.w, g.ow, kw, sw, pw);
                let p = (c * kh_n + kh) * kw_n + kw;
                let row = &mut col[p * g.pixels()..(p + 1) * g.pixels()];
                for oh in 0..g.oh {
                    let out = &mut row[oh * g.ow..(oh + 1) * g.ow];
                    if oh < oh_lo || oh >= oh_hi || ow_lo >= ow_hi {
                        out.fill(zero);
                        continue;
                    }
                    let ih = oh * sh + kh - ph;
                    let src = &plane[ih * g.w..(ih + 1) * g.w];
                    out[..ow_lo].fill(zero);
                    out[ow_hi..].fill(zero);
                    let iw0 = ow_lo * sw + kw - pw;
                    if sw == 1 {
                        out[ow_lo..ow_hi].copy_from_slice(&src[iw0..iw0 + (ow_hi - ow_lo)]);
                    } else {
                        for (o, v) in out[ow_lo..ow_hi].iter_mut().zip(src[iw0..].iter().step_by(sw)) {
                            *o = *v;
                        }
                    }
                }
            }
        }
    }
}

/// `dx += col2im(dcol)` for one image: every column entry added back onto the input value
/// it was copied from (entries over the padding are dropped). `dx` is *not* cleared.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline]
pub(crate) fn col2im_add<T: Copy + core::ops::AddAssign>(g: &Window, dcol: &[T], dx: &mut [T]) {
    let (kh_n, kw_n) = g.kernel;
    let (sh, sw) = g.stride;
    let (ph, pw) = g.padding;
    let (dcol, dx) = (&dcol[..g.patch() * g.pixels()], &mut dx[..g.image_len()]);
    for c in 0..g.c {
        let plane = &mut dx[c * g.h * g.w..(c + 1) * g.h * g.w];
        for kh in 0..kh_n {
            let (oh_lo, oh_hi) = Window::valid(g.h, g.oh, kh, sh, ph);
            for kw in 0..kw_n {
                let (ow_lo, ow_hi) = Window::valid(g.w, g.ow, kw, sw, pw);
                if ow_lo >= ow_hi {
                    continue;
                }
                let p = (c * kh_n + kh) * kw_n + kw;
                let row = &dcol[p * g.pixels()..(p + 1) * g.pixels()];
                for oh in oh_lo..oh_hi {
                    let ih = oh * sh + kh - ph;
                    let dst = &mut plane[ih * g.w..(ih + 1) * g.w];
                    let src = &row[oh * g.ow + ow_lo..oh * g.ow + ow_hi];
                    let iw0 = ow_lo * sw + kw - pw;
                    if sw == 1 {
                        for (d, &s) in dst[iw0..iw0 + src.len()].iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (d, &s) in dst[iw0..].iter_mut().step_by(sw).zip(src) {
                            *d += s;
                        }
                    }
                }
            }
        }
    }
}

/// Copies `src` into `dst[..src.len()]` in fixed blocks of 8 (rows of an image are short:
/// a `memcpy` call per row costs more than the copy).
#[inline(always)]
fn copy_row<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = src.len();
    let dst = &mut dst[..n];
    if n >= 8 {
        for (d, s) in dst.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
            let (d, s): (&mut [T; 8], &[T; 8]) =
                (d.try_into().expect("a chunk of 8"), s.try_into().expect("a chunk of 8"));
            *d = *s;
        }
        // The last 8, overlapping what the blocks copied.
        let (d, s): (&mut [T; 8], &[T; 8]) =
            ((&mut dst[n - 8..]).try_into().expect("8 values"), (&src[n - 8..]).try_into().expect("8 values"));
        *d = *s;
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
    }
}

/// `dst` (`planes × rows × cols`, overwritten) = zeros with `src` (`planes × h × w`) placed at
/// row `top`, column `left` of every plane.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn embed<T: Copy + Default>(
    src: &[T],
    (planes, h, w): (usize, usize, usize),
    dst: &mut [T],
    (rows, cols): (usize, usize),
    (top, left): (usize, usize),
) {
    debug_assert!(top + h <= rows && left + w <= cols);
    let dst = &mut dst[..planes * rows * cols];
    // Every value is written once: the border rows and columns zero, the image copied (the
    // padded buffers of a batch are megabytes: zeroing them whole first doubled the writes).
    for (plane, out) in src[..planes * h * w].chunks_exact(h * w).zip(dst.chunks_exact_mut(rows * cols)) {
        let (above, rest) = out.split_at_mut(top * cols);
        above.fill(T::default());
        let (body, below) = rest.split_at_mut(h * cols);
        below.fill(T::default());
        for (row, out) in plane.chunks_exact(w).zip(body.chunks_exact_mut(cols)) {
            let (margin, rest) = out.split_at_mut(left);
            margin.fill(T::default());
            let (inside, margin) = rest.split_at_mut(w);
            copy_row(inside, row);
            margin.fill(T::default());
        }
    }
}

/// A stride-1 convolution computed directly from a zero-padded image, the kernels' view:
///
/// ```text
/// y[o][i][j] = bias[o] + Σ_{c,a,b} w[o][(c·kh + a)·kw + b] · x[c][i + r0 + a][j + c0 + b]
/// ```
///
/// for `i < oh`, `j < ow`, with `x` a `ci × hp × wp` image that holds every value read. The
/// forward of a layer is `r0 = c0 = 0` on the padded input; its input gradient is the same
/// sum over the output gradient padded by `KH − 1`, `KW − 1` with the weights flipped
/// ([`flip`]), at `r0 = PH`, `c0 = PW` (see [`Direct::input_gradient`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Direct {
    pub ci: usize,
    pub co: usize,
    pub kh: usize,
    pub kw: usize,
    pub hp: usize,
    pub wp: usize,
    pub oh: usize,
    pub ow: usize,
    pub r0: usize,
    pub c0: usize,
}

impl Direct {
    /// The forward of `g` (stride 1) with `co` output channels, on `g`'s padded input.
    pub fn forward(g: &Window, co: usize) -> Self {
        let (kh, kw) = g.kernel;
        let (hp, wp) = (g.h + 2 * g.padding.0, g.w + 2 * g.padding.1);
        Direct { ci: g.c, co, kh, kw, hp, wp, oh: g.oh, ow: g.ow, r0: 0, c0: 0 }
    }

    /// The input gradient of `g` (stride 1, `co` output channels): `dx` from the output
    /// gradient padded by `KH − 1` rows and `KW − 1` columns on each side, with the flipped
    /// weights. (`dx[c][u][v]` is the padded input's gradient at `u + PH`, `v + PW`: the sum
    /// of `W[o][c][a][b]·dy[o][u + PH − a][v + PW − b]` over the outputs that exist.)
    pub fn input_gradient(g: &Window, co: usize) -> Self {
        let (kh, kw) = g.kernel;
        let (hp, wp) = (g.oh + 2 * (kh - 1), g.ow + 2 * (kw - 1));
        Direct { ci: co, co: g.c, kh, kw, hp, wp, oh: g.h, ow: g.w, r0: g.padding.0, c0: g.padding.1 }
    }

    /// Values of a weight row, `ci·kh·kw`.
    pub fn patch(&self) -> usize {
        self.ci * self.kh * self.kw
    }

    /// Values of the (padded) input image.
    pub fn image_len(&self) -> usize {
        self.ci * self.hp * self.wp
    }

    /// Values of the output.
    pub fn out_len(&self) -> usize {
        self.co * self.oh * self.ow
    }

    /// Whether every value the sum reads lies inside the image.
    pub fn fits(&self) -> bool {
        self.kh >= 1
            && self.kw >= 1
            && self.r0 + self.oh + self.kh - 1 <= self.hp
            && self.c0 + self.ow + self.kw - 1 <= self.wp
    }

    /// Where row `p = (c·kh + a)·kw + b` of the sum starts in the image (at `i = j = 0`).
    #[inline(always)]
    pub fn offset(&self, p: usize) -> usize {
        let (c, a, b) = (p / (self.kh * self.kw), p / self.kw % self.kh, p % self.kw);
        (c * self.hp + self.r0 + a) * self.wp + self.c0 + b
    }
}

/// `flipped[c][(o·kh + a)·kw + b] = w[o][(c·kh + (kh−1−a))·kw + (kw−1−b)]`: the weights of
/// the input gradient's direct sum (`w`: `co × ci·kh·kw`).
#[inline]
pub(crate) fn flip<T: Copy>(w: &[T], (co, ci, kh, kw): (usize, usize, usize, usize), flipped: &mut [T]) {
    let area = kh * kw;
    for c in 0..ci {
        for o in 0..co {
            for a in 0..kh {
                for b in 0..kw {
                    flipped[(c * co + o) * area + a * kw + b] =
                        w[(o * ci + c) * area + (kh - 1 - a) * kw + (kw - 1 - b)];
                }
            }
        }
    }
}

/// The sum of [`Direct`] (overwrites `y`), portable: one row of outputs at a time, each
/// term added to the whole row.
///
/// # Panics
/// If a slice is shorter than its shape, or the sum reads outside the image.
#[inline]
pub(crate) fn direct<T: Float>(d: &Direct, w: &[T], x: &[T], bias: Option<&[T]>, y: &mut [T]) {
    assert!(d.fits(), "direct convolution: the window leaves the image");
    let (patch, plane) = (d.patch(), d.oh * d.ow);
    let (w, x, y) = (&w[..d.co * patch], &x[..d.image_len()], &mut y[..d.out_len()]);
    for (o, (wo, yo)) in w.chunks_exact(patch).zip(y.chunks_exact_mut(plane)).enumerate() {
        let start = bias.map_or(T::ZERO, |b| b[o]);
        for (i, yr) in yo.chunks_exact_mut(d.ow).enumerate() {
            yr.fill(start);
            for (p, &wv) in wo.iter().enumerate() {
                let at = d.offset(p) + i * d.wp;
                for (v, &xv) in yr.iter_mut().zip(&x[at..at + d.ow]) {
                    *v += wv * xv;
                }
            }
        }
    }
}

/// The weight gradient of [`Direct`]'s sum, portable: `dw[o][p] += Σ_{i,j} dy[o][i][j] ·
/// x[row p at i, j]`.
///
/// # Panics
/// As [`direct`].
#[inline]
pub(crate) fn direct_weight_gradient<T: Float>(d: &Direct, dy: &[T], x: &[T], dw: &mut [T]) {
    assert!(d.fits(), "direct convolution: the window leaves the image");
    let (patch, plane) = (d.patch(), d.oh * d.ow);
    let (dy, x, dw) = (&dy[..d.out_len()], &x[..d.image_len()], &mut dw[..d.co * patch]);
    for (dyo, dwo) in dy.chunks_exact(plane).zip(dw.chunks_exact_mut(patch)) {
        for (p, g) in dwo.iter_mut().enumerate() {
            let mut s = T::ZERO;
            for (i, dyr) in dyo.chunks_exact(d.ow).enumerate() {
                let at = d.offset(p) + i * d.wp;
                for (&a, &b) in dyr.iter().zip(&x[at..at + d.ow]) {
                    s += a * b;
                }
            }
            *g += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// `x[c][ih][iw]` or 0 over the padding: the definition, element by element.
    fn reference(g: &Window, x: &[f64]) -> Vec<f64> {
        let mut col = alloc::vec![0.0; g.patch() * g.pixels()];
        for c in 0..g.c {
            for kh in 0..g.kernel.0 {
                for kw in 0..g.kernel.1 {
                    let p = (c * g.kernel.0 + kh) * g.kernel.1 + kw;
                    for oh in 0..g.oh {
                        for ow in 0..g.ow {
                            let ih = (oh * g.stride.0 + kh) as isize - g.padding.0 as isize;
                            let iw = (ow * g.stride.1 + kw) as isize - g.padding.1 as isize;
                            let inside = ih >= 0 && iw >= 0 && (ih as usize) < g.h && (iw as usize) < g.w;
                            col[p * g.pixels() + oh * g.ow + ow] =
                                if inside { x[(c * g.h + ih as usize) * g.w + iw as usize] } else { 0.0 };
                        }
                    }
                }
            }
        }
        col
    }

    fn window(
        c: usize,
        h: usize,
        w: usize,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Window {
        let out = |n: usize, k: usize, s: usize, p: usize| (n + 2 * p - k) / s + 1;
        Window {
            c,
            h,
            w,
            kernel,
            stride,
            padding,
            oh: out(h, kernel.0, stride.0, padding.0),
            ow: out(w, kernel.1, stride.1, padding.1),
        }
    }

    #[test]
    fn im2col_and_col2im_match_their_definitions() {
        let shapes = [
            window(1, 5, 5, (3, 3), (1, 1), (0, 0)),
            window(2, 6, 7, (3, 3), (1, 1), (1, 1)),
            window(3, 7, 5, (3, 2), (2, 3), (1, 2)),
            window(2, 4, 4, (4, 4), (1, 1), (2, 2)),
            window(1, 9, 8, (5, 3), (3, 2), (2, 0)),
            window(2, 3, 3, (1, 1), (2, 2), (0, 0)),
        ];
        for g in shapes {
            let x: Vec<f64> = (0..g.image_len()).map(|i| i as f64 + 1.0).collect();
            let mut col = alloc::vec![f64::NAN; g.patch() * g.pixels()];
            im2col(&g, &x, &mut col);
            assert_eq!(col, reference(&g, &x), "{g:?}");
            // col2im is im2col's transpose: <im2col(x), d> = <x, col2im(d)> for any d.
            let d: Vec<f64> = (0..col.len()).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            let mut dx = alloc::vec![0.0; g.image_len()];
            col2im_add(&g, &d, &mut dx);
            let lhs: f64 = col.iter().zip(&d).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert_eq!(lhs, rhs, "{g:?}");
            // And it adds: twice gives twice.
            col2im_add(&g, &d, &mut dx);
            let mut once = alloc::vec![0.0; g.image_len()];
            col2im_add(&g, &d, &mut once);
            assert!(dx.iter().zip(&once).all(|(a, b)| *a == 2.0 * b));
        }
    }

    /// The direct sums equal the column products: forward `W·im2col(x)`, weight gradient
    /// `dY·im2col(x)ᵀ`, input gradient `col2im(Wᵀ·dY)`, for stride-1 windows with and
    /// without padding, square or not, padding wider than the kernel included.
    #[test]
    fn direct_sums_match_the_column_products() {
        let shapes = [
            window(1, 5, 5, (3, 3), (1, 1), (0, 0)),
            window(2, 6, 7, (3, 3), (1, 1), (1, 1)),
            window(3, 7, 5, (3, 2), (1, 1), (1, 2)),
            window(2, 4, 4, (4, 4), (1, 1), (2, 2)),
            window(2, 3, 9, (1, 5), (1, 1), (3, 0)),
            window(1, 2, 2, (1, 1), (1, 1), (0, 0)),
        ];
        for g in shapes {
            let co = 3;
            let x: Vec<f64> = (0..g.image_len()).map(|i| ((i * 13) % 17) as f64 - 8.0).collect();
            let w: Vec<f64> = (0..co * g.patch()).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
            let dy: Vec<f64> = (0..co * g.pixels()).map(|i| ((i * 11) % 9) as f64 - 4.0).collect();
            let col = reference(&g, &x);
            // Forward.
            let f = Direct::forward(&g, co);
            let mut xp = alloc::vec![f64::NAN; f.image_len()];
            embed(&x, (g.c, g.h, g.w), &mut xp, (f.hp, f.wp), g.padding);
            let mut y = alloc::vec![f64::NAN; co * g.pixels()];
            direct(&f, &w, &xp, Some(&[0.5, -1.0, 2.0]), &mut y);
            for o in 0..co {
                for q in 0..g.pixels() {
                    let want: f64 = (0..g.patch()).map(|p| w[o * g.patch() + p] * col[p * g.pixels() + q]).sum();
                    assert_eq!(y[o * g.pixels() + q], want + [0.5, -1.0, 2.0][o], "{g:?}");
                }
            }
            // Weight gradient (added onto what is there).
            let mut dw = alloc::vec![1.0; co * g.patch()];
            direct_weight_gradient(&f, &dy, &xp, &mut dw);
            for o in 0..co {
                for p in 0..g.patch() {
                    let want: f64 = (0..g.pixels()).map(|q| dy[o * g.pixels() + q] * col[p * g.pixels() + q]).sum();
                    assert_eq!(dw[o * g.patch() + p], 1.0 + want, "{g:?}");
                }
            }
            // Input gradient.
            let mut dcol = alloc::vec![0.0; g.patch() * g.pixels()];
            for p in 0..g.patch() {
                for q in 0..g.pixels() {
                    dcol[p * g.pixels() + q] = (0..co).map(|o| w[o * g.patch() + p] * dy[o * g.pixels() + q]).sum();
                }
            }
            let mut want = alloc::vec![0.0; g.image_len()];
            col2im_add(&g, &dcol, &mut want);
            let b = Direct::input_gradient(&g, co);
            assert!(b.fits(), "{g:?}");
            let mut dyp = alloc::vec![f64::NAN; b.image_len()];
            embed(&dy, (co, g.oh, g.ow), &mut dyp, (b.hp, b.wp), (g.kernel.0 - 1, g.kernel.1 - 1));
            let mut flipped = alloc::vec![f64::NAN; w.len()];
            flip(&w, (co, g.c, g.kernel.0, g.kernel.1), &mut flipped);
            let mut dx = alloc::vec![f64::NAN; g.image_len()];
            direct(&b, &flipped, &dyp, None, &mut dx);
            assert_eq!(dx, want, "{g:?}");
        }
    }

    #[test]
    fn embed_places_rows_and_zeroes_the_rest() {
        // Rows shorter than 8, of 8, and longer (the overlapping last block).
        for w in [3, 8, 13] {
            let src: Vec<f64> = (0..2 * 2 * w).map(|i| i as f64 + 1.0).collect();
            let (rows, cols) = (4, w + 3);
            let mut dst = alloc::vec![f64::NAN; 2 * rows * cols];
            embed(&src, (2, 2, w), &mut dst, (rows, cols), (1, 2));
            for p in 0..2 {
                for r in 0..rows {
                    for c in 0..cols {
                        let inside = (1..3).contains(&r) && (2..2 + w).contains(&c);
                        let want = if inside { src[(p * 2 + r - 1) * w + c - 2] } else { 0.0 };
                        assert_eq!(dst[(p * rows + r) * cols + c], want);
                    }
                }
            }
        }
    }
}
