use crate::kernels::{axpy, dot, zero};
use crate::Float;

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
