//! The arithmetic of Batch Normalization over the channels of images (see the parent module):
//! a batch of `B` samples of `N` channels of `S` pixels each, sample-major (`x[b][c][s]`),
//! normalized per channel over all `m' = B·S` values of the channel (Ioffe & Szegedy 2015,
//! §3.2).
//!
//! The statistics are shifted two-pass per pixel row (a channel's `S` values of one sample,
//! read from memory once) merged across the batch; the backward is the per-feature
//! kernels'. Each channel's sums over a pixel row are taken by 32 interleaved partial sums
//! added by a fixed tree, then across the batch in order: the compiler vectorizes them on
//! every instruction set without reordering a single addition, so the results are the same
//! bits everywhere, and the rounding error grows with `S/32 + B`, not `B·S`.

use generic_array::{ArrayLength, GenericArray};

use crate::float::Float;
use crate::kernels::operands::{BnBackward, BnStats, BnTrain};
use crate::kernels::portable::zero;

/// Partial sums per row: four vectors of 8 in flight (the adds of one chain wait on each other).
const LANES: usize = 32;

/// `Σ f(row[i])` by [`LANES`] partial sums and a fixed tree.
#[inline(always)]
fn sum<T: Float>(row: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::ZERO; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += f(c[l]);
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        acc[l] += f(v);
    }
    tree(acc)
}

/// `(Σ g(row[i]).0, Σ .1)` by [`LANES`] partial sums per component and a fixed tree.
#[inline(always)]
fn sum2<T: Float>(row: &[T], g: impl Fn(T) -> (T, T)) -> (T, T) {
    let (mut p, mut q) = ([T::ZERO; LANES], [T::ZERO; LANES]);
    let chunks = row.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let (u, v) = g(c[l]);
            p[l] += u;
            q[l] += v;
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        let (u, v) = g(x);
        p[l] += u;
        q[l] += v;
    }
    (tree(p), tree(q))
}

/// `(Σ g(a[i], b[i]).0, Σ .1, Σ .2)` by [`LANES`] partial sums per component and a fixed tree.
#[inline(always)]
fn sum3<T: Float>(a: &[T], b: &[T], g: impl Fn(T, T) -> (T, T, T)) -> (T, T, T) {
    let (mut p, mut q, mut r) = ([T::ZERO; LANES], [T::ZERO; LANES], [T::ZERO; LANES]);
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            let (u, v, w) = g(x[l], y[l]);
            p[l] += u;
            q[l] += v;
            r[l] += w;
        }
    }
    for (l, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        let (u, v, w) = g(x, y);
        p[l] += u;
        q[l] += v;
        r[l] += w;
    }
    (tree(p), tree(q), tree(r))
}

#[inline(always)]
fn tree<T: Float>(a: [T; LANES]) -> T {
    // The four vectors added lane by lane, then the 8 lanes by a fixed tree.
    let v: [T; 8] = core::array::from_fn(|l| (a[l] + a[l + 8]) + (a[l + 16] + a[l + 24]));
    ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
}

/// The per-channel mean and biased variance of `x` (`B × N × S`), shifted two-pass per
/// pixel row and merged across the batch (Chan, Golub & LeVeque's pairwise update):
/// `shift` is each channel's first value `x[0][c][0]`; for each sample the row `r` of the
/// channel's `S` values, already in cache, gives its shifted mean `a = Σ(r − shift)/S` and
/// `M2 = Σ(r − shift − a)²` (less the rounding correction `(Σ(r − shift − a))²/S`) in two
/// passes, and the running `delta = μ − shift` and `M2` of the samples so far take it in
/// with `δ = a − delta`: `delta += δ·S/n`, `M2 += M2_r + δ²·(n − S)·S/n`. One read of `x`
/// from memory instead of two, and never `E[x²] − E[x]²`. `inv_std` is scratch. Nothing is
/// written for an empty batch. ([`statistics_sample`] and [`statistics_finish`] are the same
/// arithmetic a sample at a time.)
#[inline(always)]
pub fn bn_statistics<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(x: &[T], c: &mut BnStats<'_, T>) {
    let (b, n, s) = (B::USIZE, N::USIZE, S::USIZE);
    if b == 0 || n == 0 || s == 0 {
        return;
    }
    for (i, sample) in x[..b * n * s].chunks_exact(n * s).enumerate() {
        statistics_sample(n, s, i, sample, c);
    }
    statistics_finish(n, b * s, c);
}

/// Sample `i` of a batch (`n` channels of `s` pixels) into the running statistics (see
/// [`bn_statistics`]): the first sets the shifts and starts `delta` and `M2` (kept in
/// `var`) at zero.
#[inline(always)]
pub fn statistics_sample<T: Float>(n: usize, s: usize, i: usize, sample: &[T], c: &mut BnStats<'_, T>) {
    let (var, shift, delta) = (&mut c.var[..n], &mut c.shift[..n], &mut c.delta[..n]);
    if i == 0 {
        for (ch, k) in shift.iter_mut().enumerate() {
            *k = sample[ch * s];
        }
        zero(delta);
        zero(var);
    }
    let rows = T::from_usize(s);
    let before = T::from_usize(i * s);
    let total = before + rows;
    for (ch, row) in sample[..n * s].chunks_exact(s).enumerate() {
        let k = shift[ch];
        let a = sum(row, |v| v - k) / rows;
        let (q, d) = sum2(row, |v| {
            let d = (v - k) - a;
            (d * d, d)
        });
        let m2 = q - d * d / rows;
        let step = a - delta[ch];
        delta[ch] += step * rows / total;
        var[ch] += m2 + step * step * before * rows / total;
    }
}

/// The mean and biased variance from the running statistics of `m` values per channel.
#[inline(always)]
pub fn statistics_finish<T: Float>(n: usize, m: usize, c: &mut BnStats<'_, T>) {
    let m = T::from_usize(m);
    let (mean, var, shift, delta) = (&mut c.mean[..n], &mut c.var[..n], &c.shift[..n], &c.delta[..n]);
    for (((mu, v), &k), &d) in mean.iter_mut().zip(var.iter_mut()).zip(shift.iter()).zip(delta.iter()) {
        *mu = k + d;
        let w = *v / m;
        *v = if w > T::ZERO { w } else { T::ZERO };
    }
}

/// The training forward over channels: the statistics, then per channel
/// `y = (x − shift)·scale + offset` with `scale = γ/σ`, `offset = β − scale·delta`.
#[inline(always)]
pub fn bn_forward_train<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(a: BnTrain<'_, T>) {
    bn_forward_train_then::<T, B, N, S>(a, |z| z)
}

/// The per-channel `(scale, offset)` of the normalization: `z = (x − shift)·scale + offset`.
/// The fused backward recomputes `z` with it, bit for bit the forward's.
#[inline(always)]
fn affine<T: Float>(gamma: T, beta: T, inv_std: T, delta: T) -> (T, T) {
    let scale = gamma * inv_std;
    (scale, beta - scale * delta)
}

/// [`bn_forward_train`] with `f` applied to every normalized value: `y = f(z)` (an
/// activation right after the BN, in the same pass).
#[inline(always)]
pub fn bn_forward_train_then<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(
    a: BnTrain<'_, T>,
    f: impl Fn(T) -> T,
) {
    let BnTrain { eps, x, gamma, beta, y, mut stats } = a;
    bn_statistics::<T, B, N, S>(x, &mut stats);
    let (b, n, s) = (B::USIZE, N::USIZE, S::USIZE);
    if b == 0 || n == 0 || s == 0 {
        return;
    }
    inverse_deviations(n, eps, &mut stats);
    for (xs, ys) in x[..b * n * s].chunks_exact(n * s).zip(y[..b * n * s].chunks_exact_mut(n * s)) {
        normalize_sample(n, s, xs, ys, gamma, beta, &stats, &f);
    }
}

/// `inv_std = 1/√(var + ε)` per channel.
#[inline(always)]
pub fn inverse_deviations<T: Float>(n: usize, eps: T, c: &mut BnStats<'_, T>) {
    for (is, &v) in c.inv_std[..n].iter_mut().zip(&c.var[..n]) {
        *is = T::ONE / (v + eps).sqrt();
    }
}

/// One sample of the training forward: `y = f((x − shift)·scale + offset)` per channel.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn normalize_sample<T: Float>(
    n: usize,
    s: usize,
    xs: &[T],
    ys: &mut [T],
    gamma: &[T],
    beta: &[T],
    c: &BnStats<'_, T>,
    f: impl Fn(T) -> T,
) {
    for ch in 0..n {
        let (scale, offset) = affine(gamma[ch], beta[ch], c.inv_std[ch], c.delta[ch]);
        let k = c.shift[ch];
        for (yv, &xv) in ys[ch * s..(ch + 1) * s].iter_mut().zip(&xs[ch * s..(ch + 1) * s]) {
            *yv = f((xv - k) * scale + offset);
        }
    }
}

/// The backward over channels through μ_B and σ²_B, with `m' = B·S` (the formulas of
/// [`bn_backward`](crate::kernels::portable::bn_backward), per channel).
#[inline(always)]
pub fn bn_backward<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(a: BnBackward<'_, T>) {
    // Without an activation the normalized values are never needed: `beta` is a stand-in
    // for the `z` nobody reads (`dy·1` is `dy` exactly).
    let gamma = a.gamma;
    bn_backward_then::<T, B, N, S>(a, gamma, |_| T::ONE)
}

/// The backward of [`bn_forward_train_then`] for an `f` whose derivative `df(z)` needs only
/// the normalized value `z` (ReLU's): `dy` is the gradient with respect to `f(z)`, `z` is
/// recomputed from `x` (with `beta`) bit for bit as the forward computed it, and the BN
/// backward runs with `dy ⊙ f'(z)`. ([`backward_sums_sample`], [`backward_coefficients`]
/// and [`backward_sample`] are the same arithmetic a sample at a time.)
#[inline(always)]
pub fn bn_backward_then<T: Float, B: ArrayLength, N: ArrayLength, S: ArrayLength>(
    a: BnBackward<'_, T>,
    beta: &[T],
    df: impl Fn(T) -> T,
) {
    let (b, n, s) = (B::USIZE, N::USIZE, S::USIZE);
    let len = b * n * s;
    let (x, dy, dx) = (&a.x[..len], &a.dy[..len], &mut a.dx[..len]);
    let ch = Channels { gamma: a.gamma, beta, inv_std: a.inv_std, shift: a.shift, delta: a.delta };
    zero(&mut a.dgamma[..n]);
    zero(&mut a.dbeta[..n]);
    if b == 0 || n == 0 || s == 0 {
        return;
    }
    let mut sums = BackwardSums {
        dgamma: &mut a.dgamma[..n],
        dbeta: &mut a.dbeta[..n],
        s_xc: &mut GenericArray::<T, N>::default()[..],
    };
    for (xs, dys) in x.chunks_exact(n * s).zip(dy.chunks_exact(n * s)) {
        backward_sums_sample(n, s, xs, dys, &ch, &mut sums, &df);
    }
    let mut coef = [GenericArray::<T, N>::default(), GenericArray::<T, N>::default(), GenericArray::<T, N>::default()];
    let [c0, c1, c2] = &mut coef;
    let mut coef = Coefficients { gamma_inv: &mut c0[..], dvar2_m: &mut c1[..], dmu_m: &mut c2[..] };
    backward_coefficients(n, b * s, &ch, &mut sums, &mut coef);
    for ((xs, dys), dxs) in x.chunks_exact(n * s).zip(dy.chunks_exact(n * s)).zip(dx.chunks_exact_mut(n * s)) {
        backward_sample(n, s, xs, dys, dxs, &ch, &coef.as_ref(), &df);
    }
}

/// The per-channel values of a BN that its backward reads.
pub struct Channels<'a, T> {
    pub gamma: &'a [T],
    pub beta: &'a [T],
    pub inv_std: &'a [T],
    pub shift: &'a [T],
    pub delta: &'a [T],
}

/// The sums of the backward's first pass, per channel: `Σ g·xc` (then `dγ`), `Σ g` (`dβ`),
/// `Σ xc`, with `g = dy·f'(z)` and `xc = x − μ_B`.
pub struct BackwardSums<'a, T> {
    pub dgamma: &'a mut [T],
    pub dbeta: &'a mut [T],
    pub s_xc: &'a mut [T],
}

/// The per-channel factors of the input gradient: `dx = g·gamma_inv + dvar2_m·xc + dmu_m`.
pub struct Coefficients<'a, T> {
    pub gamma_inv: &'a mut [T],
    pub dvar2_m: &'a mut [T],
    pub dmu_m: &'a mut [T],
}

impl<T> Coefficients<'_, T> {
    /// A shared view.
    pub fn as_ref(&self) -> [&[T]; 3] {
        [self.gamma_inv, self.dvar2_m, self.dmu_m]
    }
}

/// One sample's terms of the backward's sums (added to `sums`, which start at zero).
#[inline(always)]
pub fn backward_sums_sample<T: Float>(
    n: usize,
    s: usize,
    xs: &[T],
    dys: &[T],
    c: &Channels<'_, T>,
    sums: &mut BackwardSums<'_, T>,
    df: impl Fn(T) -> T,
) {
    for ch in 0..n {
        let (k, dl) = (c.shift[ch], c.delta[ch]);
        let (scale, offset) = affine(c.gamma[ch], c.beta[ch], c.inv_std[ch], dl);
        let range = ch * s..(ch + 1) * s;
        let (p, q, r) = sum3(&xs[range.clone()], &dys[range], |xv, g| {
            let g = g * df((xv - k) * scale + offset);
            let xc = (xv - k) - dl;
            (g * xc, g, xc)
        });
        sums.dgamma[ch] += p;
        sums.dbeta[ch] += q;
        sums.s_xc[ch] += r;
    }
}

/// From the sums over all `m` values of each channel: `dγ` (in `sums.dgamma`) and the
/// factors of the input gradient, through μ_B and σ²_B.
#[inline(always)]
pub fn backward_coefficients<T: Float>(
    n: usize,
    m: usize,
    c: &Channels<'_, T>,
    sums: &mut BackwardSums<'_, T>,
    out: &mut Coefficients<'_, T>,
) {
    let m = T::from_usize(m);
    let (two, half) = (T::from_f64(2.0), T::from_f64(0.5));
    for ch in 0..n {
        let is = c.inv_std[ch];
        let s_dy_xc = sums.dgamma[ch];
        sums.dgamma[ch] = s_dy_xc * is;
        let (s_dxhat_xc, s_dxhat) = (c.gamma[ch] * s_dy_xc, c.gamma[ch] * sums.dbeta[ch]);
        let dvar = s_dxhat_xc * (-half) * is * is * is;
        let dmu = -s_dxhat * is + dvar * (-two) * sums.s_xc[ch] / m;
        (out.dvar2_m[ch], out.dmu_m[ch], out.gamma_inv[ch]) = (dvar * two / m, dmu / m, c.gamma[ch] * is);
    }
}

/// One sample's input gradient.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn backward_sample<T: Float>(
    n: usize,
    s: usize,
    xs: &[T],
    dys: &[T],
    dxs: &mut [T],
    c: &Channels<'_, T>,
    [gamma_inv, dvar2_m, dmu_m]: &[&[T]; 3],
    df: impl Fn(T) -> T,
) {
    for ch in 0..n {
        let (k, dl) = (c.shift[ch], c.delta[ch]);
        let (scale, offset) = affine(c.gamma[ch], c.beta[ch], c.inv_std[ch], dl);
        let (gi, dv, dm) = (gamma_inv[ch], dvar2_m[ch], dmu_m[ch]);
        let range = ch * s..(ch + 1) * s;
        for ((d, &xv), &g) in dxs[range.clone()].iter_mut().zip(&xs[range.clone()]).zip(&dys[range]) {
            let g = g * df((xv - k) * scale + offset);
            let xc = (xv - k) - dl;
            *d = g * gi + dv * xc + dm;
        }
    }
}
