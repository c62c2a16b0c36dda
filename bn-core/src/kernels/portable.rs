//! The portable kernels: plain loops over any [`Float`], in the layers' historical summation
//! order. They are what `f64` runs, what `f32` runs with the `portable` feature or on a CPU
//! without AVX2, and the reference the SIMD kernels are tested against.

use generic_array::{ArrayLength, GenericArray};

use super::operands::{BnBackward, BnStats, BnTrain};
use crate::float::Float;

const LANES: usize = 8;

/// `Σ a[k]·b[k]` over the common length.
///
/// Keeps several independent accumulators so that the compiler vectorizes the reduction
/// without reassociating floating-point sums itself.
#[inline(always)]
pub fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [T::ZERO; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = T::ZERO;
    for (x, y) in ar.iter().zip(br) {
        tail += *x * *y;
    }
    let s0 = (acc[0] + acc[4]) + (acc[1] + acc[5]);
    let s1 = (acc[2] + acc[6]) + (acc[3] + acc[7]);
    (s0 + s1) + tail
}

/// `y[k] += alpha·x[k]` over the common length.
#[inline(always)]
pub fn axpy<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * *x;
    }
}

/// Sets every element to zero.
#[inline(always)]
pub fn zero<T: Float>(y: &mut [T]) {
    y.iter_mut().for_each(|v| *v = T::ZERO);
}

/// `C[m][n] = Σ_k A[m][k]·B[n][k] (+ bias[n])`.
#[inline(always)]
pub fn nt<T: Float>(m: usize, n: usize, k: usize, a: &[T], b: &[T], bias: Option<&[T]>, c: &mut [T]) {
    for r in 0..m {
        let ar = &a[r * k..r * k + k];
        let cr = &mut c[r * n..r * n + n];
        for (j, cv) in cr.iter_mut().enumerate() {
            let s = dot(&b[j * k..j * k + k], ar);
            *cv = match bias {
                Some(bias) => s + bias[j],
                None => s,
            };
        }
    }
}

/// `G[n][k] = Σ_m D[m][n]·X[m][k]` (overwrites `G`).
#[inline(always)]
pub fn tn<T: Float>(m: usize, n: usize, k: usize, d: &[T], x: &[T], g: &mut [T]) {
    zero(g);
    for r in 0..m {
        let xr = &x[r * k..r * k + k];
        for j in 0..n {
            axpy(d[r * n + j], xr, &mut g[j * k..j * k + k]);
        }
    }
}

/// `C[m][k] = Σ_n D[m][n]·W[n][k]` (overwrites `C`).
#[inline(always)]
pub fn nn<T: Float>(m: usize, n: usize, k: usize, d: &[T], w: &[T], c: &mut [T]) {
    for r in 0..m {
        let cr = &mut c[r * k..r * k + k];
        zero(cr);
        for j in 0..n {
            axpy(d[r * n + j], &w[j * k..j * k + k], cr);
        }
    }
}

/// `y = 1/(1 + e^(−x))` element-wise, with [`Float::exp`].
#[inline(always)]
pub fn sigmoid<T: Float>(x: &[T], y: &mut [T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = T::ONE / (T::ONE + (-x).exp());
    }
}

/// In-place [`sigmoid`].
#[inline(always)]
pub fn sigmoid_in_place<T: Float>(x: &mut [T]) {
    for v in x.iter_mut() {
        *v = T::ONE / (T::ONE + (-*v).exp());
    }
}

/// The mean and biased variance of every column of the `B × N` batch `x` (Algorithm 1,
/// lines 1–2), with what centering needs: `shift` (the first row) and `delta = μ − shift`.
///
/// Shifted two-pass: the data are first shifted by the first row (which makes the sum of a
/// large-mean, small-spread column exact enough), then the variance is the corrected
/// two-pass sum `(Σd² − (Σd)²/m)/m` with `d = x − μ`. Never `E[x²] − E[x]²`. `inv_std` is
/// used as scratch (the caller overwrites it). Nothing is written for an empty batch.
#[inline(always)]
pub fn bn_statistics<T: Float, B: ArrayLength, N: ArrayLength>(x: &[T], c: &mut BnStats<'_, T>) {
    let (b, n) = (B::USIZE, N::USIZE);
    if b == 0 || n == 0 {
        return;
    }
    let m = T::from_usize(b);
    let x = &x[..b * n];
    let shift = &x[..n];
    let (mean, var, sums) = (&mut c.mean[..n], &mut c.var[..n], &mut c.inv_std[..n]);
    let (cshift, delta) = (&mut c.shift[..n], &mut c.delta[..n]);
    cshift.copy_from_slice(shift);
    zero(delta);
    for xb in x.chunks_exact(n) {
        for ((s, &v), &k) in delta.iter_mut().zip(xb).zip(shift) {
            *s += v - k;
        }
    }
    delta.iter_mut().for_each(|s| *s /= m);
    for ((mu, &k), &d) in mean.iter_mut().zip(shift).zip(delta.iter()) {
        *mu = k + d;
    }
    // Σd² into `var` and Σd into `sums`.
    zero(var);
    zero(sums);
    for xb in x.chunks_exact(n) {
        for ((((q, s), &v), &k), &dl) in
            var.iter_mut().zip(sums.iter_mut()).zip(xb).zip(cshift.iter()).zip(delta.iter())
        {
            let d = (v - k) - dl;
            *q += d * d;
            *s += d;
        }
    }
    for (q, &s) in var.iter_mut().zip(sums.iter()) {
        let v = (*q - s * s / m) / m;
        *q = if v > T::ZERO { v } else { T::ZERO };
    }
}

/// Batch Normalization's training forward (Algorithm 1) without the population statistics:
/// the statistics, then `y = (x − shift)·scale + offset` with `scale = γ/σ` and
/// `offset = β − scale·delta` (the shift keeps `x − shift` exact for data far from zero).
#[inline(always)]
pub fn bn_forward_train<T: Float, B: ArrayLength, N: ArrayLength>(a: BnTrain<'_, T>) {
    let BnTrain { eps, x, gamma, beta, y, mut stats } = a;
    bn_statistics::<T, B, N>(x, &mut stats);
    let (b, n) = (B::USIZE, N::USIZE);
    if b == 0 || n == 0 {
        return;
    }
    let (inv_std, var) = (&mut stats.inv_std[..n], &stats.var[..n]);
    for (is, &v) in inv_std.iter_mut().zip(var) {
        *is = T::ONE / (v + eps).sqrt();
    }
    let (shift, delta) = (&stats.shift[..n], &stats.delta[..n]);
    let (mut scale, mut offset) = (GenericArray::<T, N>::default(), GenericArray::<T, N>::default());
    for k in 0..n {
        scale[k] = gamma[k] * inv_std[k];
        offset[k] = beta[k] - scale[k] * delta[k];
    }
    for (xb, yb) in x[..b * n].chunks_exact(n).zip(y[..b * n].chunks_exact_mut(n)) {
        for ((((yv, &xv), &k), &a), &b) in yb.iter_mut().zip(xb).zip(shift).zip(scale.iter()).zip(offset.iter()) {
            *yv = (xv - k) * a + b;
        }
    }
}

/// Batch Normalization's backward through μ_B and σ²_B (the paper's equations, with γ and
/// 1/σ factored out of the per-element sums): per column `Σ dy·(x−μ)` (into `∂ℓ/∂γ`), `Σ dy`
/// (`= ∂ℓ/∂β`) and `Σ (x−μ)`, then `∂ℓ/∂σ²` and `∂ℓ/∂μ` as the factors of the last pass.
#[inline(always)]
pub fn bn_backward<T: Float, B: ArrayLength, N: ArrayLength>(a: BnBackward<'_, T>) {
    let (b, n) = (B::USIZE, N::USIZE);
    let m = T::from_usize(b);
    let two = T::from_f64(2.0);
    let half = T::from_f64(0.5);
    let (x, dy, dx) = (&a.x[..b * n], &a.dy[..b * n], &mut a.dx[..b * n]);
    let (gamma, inv_std, shift, delta) = (&a.gamma[..n], &a.inv_std[..n], &a.shift[..n], &a.delta[..n]);
    let (dgamma, dbeta) = (&mut a.dgamma[..n], &mut a.dbeta[..n]);
    let mut s_xc = GenericArray::<T, N>::default();
    zero(dgamma);
    zero(dbeta);
    if n == 0 {
        return;
    }
    for (xb, dyb) in x.chunks_exact(n).zip(dy.chunks_exact(n)) {
        for k in 0..n {
            let xc = (xb[k] - shift[k]) - delta[k];
            dgamma[k] += dyb[k] * xc;
            dbeta[k] += dyb[k];
            s_xc[k] += xc;
        }
    }
    let (mut dvar2_m, mut dmu_m, mut gamma_inv) =
        (GenericArray::<T, N>::default(), GenericArray::<T, N>::default(), GenericArray::<T, N>::default());
    for k in 0..n {
        let is = inv_std[k];
        let s_dy_xc = dgamma[k];
        dgamma[k] = s_dy_xc * is;
        let (s_dxhat_xc, s_dxhat) = (gamma[k] * s_dy_xc, gamma[k] * dbeta[k]);
        let dvar = s_dxhat_xc * (-half) * is * is * is;
        let dmu = -s_dxhat * is + dvar * (-two) * s_xc[k] / m;
        dvar2_m[k] = dvar * two / m;
        dmu_m[k] = dmu / m;
        gamma_inv[k] = gamma[k] * is;
    }
    for ((xb, dyb), dxb) in x.chunks_exact(n).zip(dy.chunks_exact(n)).zip(dx.chunks_exact_mut(n)) {
        for k in 0..n {
            let xc = (xb[k] - shift[k]) - delta[k];
            dxb[k] = dyb[k] * gamma_inv[k] + dvar2_m[k] * xc + dmu_m[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_axpy_match_naive_loops() {
        for n in [0usize, 1, 7, 8, 9, 31] {
            let a: alloc::vec::Vec<f64> = (0..n).map(|k| k as f64 * 0.5 - 3.0).collect();
            let b: alloc::vec::Vec<f64> = (0..n).map(|k| 1.0 / (k as f64 + 1.0)).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            approx::assert_relative_eq!(dot(&a, &b), naive, max_relative = 1e-14);
            let mut y = b.clone();
            axpy(2.0, &a, &mut y);
            for k in 0..n {
                assert_eq!(y[k], b[k] + 2.0 * a[k]);
            }
            zero(&mut y);
            assert!(y.iter().all(|&v| v == 0.0));
        }
    }
}
