//! [`Dropout`]: inverted dropout (Srivastava et al. 2014, *Dropout: A Simple Way to Prevent
//! Neural Networks from Overfitting*, JMLR 15), with a mask drawn from the seeded [`Rng`].

use generic_array::ArrayLength;

use crate::float::Float;
use crate::rng::Rng;
use crate::shape::{flat, flat_mut, Batch};

/// Inverted dropout with drop probability `p` (PyTorch's `nn.Dropout(p)`).
///
/// Training multiplies every value by a mask value drawn independently:
///
/// ```text
/// mask = 0 with probability p, else 1/(1 − p)        y = x ⊙ mask
/// ∂ℓ/∂x = ∂ℓ/∂y ⊙ mask
/// ```
///
/// so that `E[y] = x` (the paper scales the weights by `1 − p` at test time instead; the
/// "inverted" form scales during training). **In evaluation dropout is the identity**: the
/// eval forward and the folded model skip it, and there is nothing to compute.
///
/// The mask is reproducible from the generator's state: for `p > 0`, exactly one
/// [`Rng::uniform`] `u ∈ [0, 1)` is drawn per value, in row-major order (sample by sample,
/// value by value), and the value is dropped when `u < p` (`p` converted exactly to `f64`).
/// With `p = 0` nothing is drawn, the mask is all ones and `y` is a copy of `x`; with
/// `p = 1` everything is dropped. The layer has no parameters and no state: the mask is the
/// caller's buffer, which the backward reads.
///
/// ```
/// use bn_core::{Batch, Dropout, Rng, typenum::{U2, U8}};
/// let x = Batch::<U2, U8>::from_array([[1.0; 8].into(), [2.0; 8].into()]);
/// let (mut y, mut mask) = (Batch::default(), Batch::default());
/// Dropout::forward_train(0.5, &x, &mut y, &mut mask, &mut Rng::seed(3));
/// for (row, (yr, mr)) in x.iter().zip(y.iter().zip(mask.iter())) {
///     for ((&x, &y), &m) in row.iter().zip(yr).zip(mr) {
///         assert!(m == 0.0 || m == 2.0); // dropped, or kept and scaled by 1/(1 − p)
///         assert_eq!(y, x * m);
///     }
/// }
/// // The backward multiplies by the same mask.
/// let mut dx = Batch::default();
/// Dropout::backward(&mask, &x, &mut dx);
/// assert_eq!(dx, y);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropout;

impl Dropout {
    /// Training forward: draws `mask` (see [`Dropout`] for the rule) and writes
    /// `y = x ⊙ mask`.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1]` (NaN included).
    #[inline]
    pub fn forward_train<B: ArrayLength, N: ArrayLength, T: Float>(
        p: T,
        x: &Batch<B, N, T>,
        y: &mut Batch<B, N, T>,
        mask: &mut Batch<B, N, T>,
        rng: &mut Rng,
    ) {
        assert!(p >= T::ZERO && p <= T::ONE, "dropout probability must be in [0, 1], got {p}");
        let (x, y, mask) = (flat(x), flat_mut(y), flat_mut(mask));
        if p == T::ZERO {
            mask.iter_mut().for_each(|m| *m = T::ONE);
            y.copy_from_slice(x);
            return;
        }
        // Unused when p = 1 (every u < 1 drops).
        let keep = T::ONE / (T::ONE - p);
        let p = p.to_f64();
        for ((m, yv), &xv) in mask.iter_mut().zip(y.iter_mut()).zip(x) {
            *m = if rng.uniform() < p { T::ZERO } else { keep };
            *yv = xv * *m;
        }
    }

    /// Backward: `∂ℓ/∂x = ∂ℓ/∂y ⊙ mask`, with the mask of the training forward.
    #[inline]
    pub fn backward<B: ArrayLength, N: ArrayLength, T: Float>(
        mask: &Batch<B, N, T>,
        dy: &Batch<B, N, T>,
        dx: &mut Batch<B, N, T>,
    ) {
        for ((d, &g), &m) in flat_mut(dx).iter_mut().zip(flat(dy)).zip(flat(mask)) {
            *d = g * m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Init;
    use typenum::{U128, U3, U64};

    type Big<T> = Batch<U128, U64, T>;

    fn random<T: Float>(seed: u64) -> Big<T> {
        let mut x = Big::<T>::default();
        Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut Rng::seed(seed));
        x
    }

    #[test]
    fn mask_statistics() {
        let n = 128.0 * 64.0;
        for p in [0.1f32, 0.5, 0.8] {
            let x = random::<f32>(1);
            let (mut y, mut mask) = (Big::default(), Big::default());
            Dropout::forward_train(p, &x, &mut y, &mut mask, &mut Rng::seed(2));
            let keep = 1.0 / (1.0 - p);
            let mut dropped = 0.0;
            for ((&m, &yv), &xv) in flat(&mask).iter().zip(flat(&y)).zip(flat(&x)) {
                if m == 0.0 {
                    dropped += 1.0;
                    assert_eq!(yv, 0.0);
                } else {
                    // Kept values are scaled by exactly 1/(1 − p).
                    assert_eq!(m, keep);
                    assert_eq!(yv, xv * keep);
                }
            }
            // Binomial(n, p): within 5 standard deviations.
            let (p64, sd) = (f64::from(p), (n * f64::from(p) * (1.0 - f64::from(p))).sqrt());
            assert!((dropped - n * p64).abs() < 5.0 * sd, "p = {p}: dropped {dropped} of {n}");
            // E[y] = x: on x = 1, the mean of the mask is 1 within 5 standard deviations
            // (Var[mask] = p/(1 − p)).
            let mut ones = Big::<f32>::default();
            flat_mut(&mut ones).fill(1.0);
            Dropout::forward_train(p, &ones, &mut y, &mut mask, &mut Rng::seed(3));
            let mean = flat(&y).iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let sd = (p64 / (1.0 - p64) / n).sqrt();
            assert!((mean - 1.0).abs() < 5.0 * sd, "p = {p}: E[y] = {mean}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_mask_and_the_backward_multiplies_by_it() {
        let x = random::<f64>(4);
        let (mut y1, mut m1, mut y2, mut m2) = (Big::default(), Big::default(), Big::default(), Big::default());
        Dropout::forward_train(0.3, &x, &mut y1, &mut m1, &mut Rng::seed(7));
        Dropout::forward_train(0.3, &x, &mut y2, &mut m2, &mut Rng::seed(7));
        assert_eq!((&m1, &y1), (&m2, &y2));
        Dropout::forward_train(0.3, &x, &mut y2, &mut m2, &mut Rng::seed(8));
        assert_ne!(m1, m2);
        // The rule: one uniform per value, dropped when u < p.
        let mut rng = Rng::seed(7);
        for &m in flat(&m1) {
            assert_eq!(m == 0.0, rng.uniform() < 0.3);
        }
        let dy = random::<f64>(5);
        let mut dx = Big::default();
        Dropout::backward(&m1, &dy, &mut dx);
        for ((&d, &g), &m) in flat(&dx).iter().zip(flat(&dy)).zip(flat(&m1)) {
            assert_eq!(d, g * m);
        }
    }

    #[test]
    fn p_zero_is_the_identity_without_drawing_and_p_one_drops_everything() {
        let mut x = Batch::<U3, U3, f32>::default();
        flat_mut(&mut x).copy_from_slice(&[1.0, -0.0, f32::NAN, 3.5, f32::INFINITY, -2.0, 1e-40, 0.0, 7.0]);
        let (mut y, mut mask) = (Batch::default(), Batch::default());
        let mut rng = Rng::seed(1);
        Dropout::forward_train(0.0, &x, &mut y, &mut mask, &mut rng);
        let bits = |b: &Batch<U3, U3, f32>| flat(b).iter().map(|v| v.to_bits()).collect::<alloc::vec::Vec<_>>();
        assert_eq!(bits(&y), bits(&x));
        assert!(flat(&mask).iter().all(|&m| m == 1.0));
        assert_eq!(rng.uniform(), Rng::seed(1).uniform(), "nothing drawn");
        let mut finite = Batch::<U3, U3, f32>::default();
        flat_mut(&mut finite).fill(-1.5);
        Dropout::forward_train(1.0, &finite, &mut y, &mut mask, &mut rng);
        assert!(flat(&mask).iter().chain(flat(&y)).all(|&v| v == 0.0));
    }

    #[test]
    #[should_panic(expected = "dropout probability must be in [0, 1], got 1.5")]
    fn a_probability_outside_the_unit_interval_panics() {
        let x = Batch::<U3, U3, f32>::default();
        Dropout::forward_train(1.5, &x, &mut Batch::default(), &mut Batch::default(), &mut Rng::seed(0));
    }
}
