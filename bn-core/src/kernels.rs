//! Small vector kernels shared by the layers, and the run-time choice of the instruction
//! set of the `f32` kernels ([`simd_level`]).
//!
//! `dot` keeps several independent accumulators so that the compiler vectorizes the
//! reduction without reassociating floating-point sums itself. The matrix products and the
//! vector sigmoid of the layers live in a private module (register-blocked AVX-512 / AVX2
//! microkernels selected at run time, plain loops otherwise); [`simd_level`] tells which
//! one runs, and the crate feature `portable` turns all SIMD code off.

use crate::Float;

#[path = "gemm/mod.rs"]
pub(crate) mod gemm;

pub use gemm::{detected_simd_level, set_simd_level, simd_level, SimdLevel};

const LANES: usize = 8;

/// `Σ a[k]·b[k]` over the common length.
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
