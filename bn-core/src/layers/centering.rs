//! [`Centering`]: the shifted two-pass statistics of one run of values (a sample of a
//! [`LayerNorm`](crate::LayerNorm), a group of a [`GroupNorm`](crate::GroupNorm)), never
//! `E[x²] − E[x]²`.

use crate::float::Float;

/// The statistics of one run of values: `x − μ` is computed as `(x − shift) − delta`.
#[derive(Clone, Copy)]
pub(super) struct Centering<T> {
    /// The run's first value.
    pub(super) shift: T,
    /// `μ − shift`, accurately.
    pub(super) delta: T,
}

impl<T: Float> Centering<T> {
    /// The shift and `delta = mean(x − shift)` of a run (the first pass). `x` must not be
    /// empty (the layers assert it at compile time).
    #[inline(always)]
    pub(super) fn of(x: &[T]) -> Self {
        let shift = x[0];
        let mut s = T::ZERO;
        for &v in x {
            s += v - shift;
        }
        Centering { shift, delta: s / T::from_usize(x.len()) }
    }

    /// The mean `μ = shift + delta` (rounded: the layers re-center from the input).
    #[inline(always)]
    pub(super) fn mean(self) -> T {
        self.shift + self.delta
    }

    /// `x − μ`.
    #[inline(always)]
    pub(super) fn center(self, x: T) -> T {
        (x - self.shift) - self.delta
    }

    /// The biased variance (the second pass): the corrected two-pass sum
    /// `(Σd² − (Σd)²/N)/N` with `d = x − μ`, clamped at 0.
    #[inline(always)]
    pub(super) fn variance(self, x: &[T]) -> T {
        let (mut q, mut s) = (T::ZERO, T::ZERO);
        for &v in x {
            let d = self.center(v);
            q += d * d;
            s += d;
        }
        let n = T::from_usize(x.len());
        let var = (q - s * s / n) / n;
        if var > T::ZERO {
            var
        } else {
            T::ZERO
        }
    }

    /// `1/√(σ² + ε)` of the run `x` (this centering's): the second pass.
    #[inline(always)]
    pub(super) fn inv_std(self, x: &[T], eps: T) -> T {
        T::ONE / (self.variance(x) + eps).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_mean_and_a_tiny_spread() {
        // In f32, E[x²] − E[x]² of these is pure rounding noise; the shifted passes are exact.
        let x = [1e4f32 + 0.5, 1e4 - 0.5, 1e4 + 0.5, 1e4 - 0.5];
        let c = Centering::of(&x);
        assert_eq!((c.shift, c.delta, c.mean()), (1e4 + 0.5, -0.5, 1e4));
        assert_eq!(c.center(x[1]), -0.5);
        assert_eq!(c.variance(&x), 0.25);
        assert_eq!(c.inv_std(&x, 0.0), 2.0);
        // A constant run has variance 0, never a negative one.
        let k = [3.0f64; 5];
        assert_eq!(Centering::of(&k).variance(&k), 0.0);
    }
}
