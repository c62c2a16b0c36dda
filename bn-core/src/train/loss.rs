//! Losses: each returns the loss and writes its gradient with respect to the prediction.

use generic_array::{ArrayLength, GenericArray};

use crate::float::Float;
use crate::kernels;
use crate::shape::Batch;

/// A loss over a batch of `B` outputs of width `C`, for generic training loops
/// ([`Network::train_step`](crate::Network::train_step)).
pub trait Loss<B: ArrayLength, C: ArrayLength, T: Float> {
    /// What the outputs are compared with (labels, or target vectors).
    type Target: ?Sized;
    /// Returns the loss and writes `∂ℓ/∂output` into `grad`.
    fn loss_and_grad(&self, output: &Batch<B, C, T>, target: &Self::Target, grad: &mut Batch<B, C, T>) -> T;
}

/// [`softmax_cross_entropy`] as a [`Loss`]: targets are class indices.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftmaxCrossEntropy;

impl<B: ArrayLength, C: ArrayLength, T: Float> Loss<B, C, T> for SoftmaxCrossEntropy {
    type Target = GenericArray<usize, B>;
    fn loss_and_grad(&self, output: &Batch<B, C, T>, target: &Self::Target, grad: &mut Batch<B, C, T>) -> T {
        softmax_cross_entropy(output, target, grad)
    }
}

/// [`mse`] as a [`Loss`]: targets are vectors of the output's width.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanSquaredError;

impl<B: ArrayLength, C: ArrayLength, T: Float> Loss<B, C, T> for MeanSquaredError {
    type Target = Batch<B, C, T>;
    fn loss_and_grad(&self, output: &Batch<B, C, T>, target: &Self::Target, grad: &mut Batch<B, C, T>) -> T {
        mse(output, target, grad)
    }
}

/// Softmax cross-entropy from logits with integer class labels, averaged over the batch
/// (PyTorch's `nn.CrossEntropyLoss()`):
///
/// ```text
/// ℓ = (1/B) Σ_b [ log Σ_c exp(z_bc) − z_b,y_b ]        ∂ℓ/∂z_bc = (softmax(z_b)_c − [c = y_b]) / B
/// ```
///
/// Numerically stable: the row maximum is subtracted before exponentiating, so logits of
/// ±1000 give a finite loss. For `f32` the exponentials of the whole batch run as one
/// vectorized pass, and the batch's logarithms as one or two (of products of the row sums,
/// each in `[1, C]`), not one per row.
///
/// # Panics
/// If a label is not below the number of classes `C` (like indexing out of bounds).
///
/// ```
/// use bn_core::{softmax_cross_entropy, Batch, generic_array::arr, typenum::{U1, U2}};
/// let z: Batch<U1, U2, f64> = arr![arr![0.0, 0.0]];
/// let mut dz = Batch::default();
/// let loss = softmax_cross_entropy(&z, &arr![1], &mut dz);
/// assert!((loss - std::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(dz, arr![arr![0.5, -0.5]]);
/// ```
pub fn softmax_cross_entropy<B: ArrayLength, C: ArrayLength, T: Float>(
    logits: &Batch<B, C, T>,
    labels: &GenericArray<usize, B>,
    dlogits: &mut Batch<B, C, T>,
) -> T {
    let inv_b = T::ONE / T::from_usize(B::USIZE);
    let mut total = T::ZERO;
    for ((z, &label), dz) in logits.iter().zip(labels.iter()).zip(dlogits.iter_mut()) {
        assert!(label < C::USIZE, "label {label} is out of range for {} classes", C::USIZE);
        let max = z.iter().fold(z[0], |m, &v| m.max(v));
        for (d, &v) in dz.iter_mut().zip(z.iter()) {
            *d = v - max;
        }
        total += max - z[label];
    }
    // Every exponential at once, in whole vectors (element-wise, so the same values as one
    // at a time).
    kernels::vectorized::<T, _, _>(
        #[inline(always)]
        || crate::shape::flat_mut(dlogits).iter_mut().for_each(|d| *d = d.exp()),
    );
    // Σ_b log s_b as the logarithm of a product: each s_b is in [1, C] (the row's maximum
    // contributes e⁰ = 1), so the product is flushed into a logarithm only when it passes
    // 2⁶⁴, far from overflow: one or two logarithms per batch instead of one per row.
    let flush = T::from_f64(18_446_744_073_709_551_616.0);
    let mut product = T::ONE;
    for (dz, &label) in dlogits.iter_mut().zip(labels.iter()) {
        let mut sum = T::ZERO;
        for &d in dz.iter() {
            sum += d;
        }
        product *= sum;
        if product > flush {
            total += product.ln();
            product = T::ONE;
        }
        let scale = inv_b / sum;
        dz.iter_mut().for_each(|d| *d *= scale);
        dz[label] -= inv_b;
    }
    (total + product.ln()) * inv_b
}

/// Mean squared error over all `B·N` elements (PyTorch's `nn.MSELoss()`):
/// `ℓ = (1/(B·N)) Σ (p − t)²`, `∂ℓ/∂p = 2(p − t)/(B·N)`.
///
/// ```
/// use bn_core::{mse, Batch, generic_array::arr, typenum::{U1, U2}};
/// let p: Batch<U1, U2> = arr![arr![1.0, 3.0]];
/// let mut dp = Batch::default();
/// assert_eq!(mse(&p, &arr![arr![0.0, 1.0]], &mut dp), 2.5);
/// assert_eq!(dp, arr![arr![1.0, 2.0]]);
/// ```
pub fn mse<B: ArrayLength, N: ArrayLength, T: Float>(
    pred: &Batch<B, N, T>,
    target: &Batch<B, N, T>,
    dpred: &mut Batch<B, N, T>,
) -> T {
    let inv = T::ONE / T::from_usize(B::USIZE * N::USIZE);
    let two = T::from_f64(2.0);
    let mut total = T::ZERO;
    for ((p, t), d) in pred.iter().flatten().zip(target.iter().flatten()).zip(dpred.iter_mut().flatten()) {
        let e = *p - *t;
        total += e * e;
        *d = two * e * inv;
    }
    total * inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use generic_array::arr;
    use typenum::{U2, U3};

    #[test]
    fn cross_entropy_by_hand_and_stable() {
        let z: Batch<U2, U3, f64> = arr![arr![1.0, 2.0, 3.0], arr![1000.0, -1000.0, 0.0]];
        let mut dz = Batch::default();
        let loss = softmax_cross_entropy(&z, &arr![0, 0], &mut dz);
        // row 0: log(e + e² + e³) − 1; row 1: ≈ 0
        let l0 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 1.0;
        assert_relative_eq!(loss, l0 / 2.0, max_relative = 1e-14);
        let s = 1f64.exp() + 2f64.exp() + 3f64.exp();
        assert_relative_eq!(dz[0][0], (1f64.exp() / s - 1.0) / 2.0, max_relative = 1e-14);
        assert_relative_eq!(dz[0][2], 3f64.exp() / s / 2.0, max_relative = 1e-14);
        assert!(dz[1].iter().all(|d| d.abs() < 1e-300));
        // Each row of the gradient sums to zero.
        for row in dz.iter() {
            assert!(row.iter().sum::<f64>().abs() < 1e-15);
        }
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let z: Batch<U2, U3, f64> = arr![arr![0.3, -1.0, 2.0], arr![0.5, 0.5, -0.2]];
        let labels = arr![2, 1];
        let mut dz = Batch::default();
        softmax_cross_entropy(&z, &labels, &mut dz);
        let loss = |z: &Batch<U2, U3, f64>| softmax_cross_entropy(z, &labels, &mut Batch::default());
        let logits =
            crate::finite_difference::Tensor::new("logits", crate::shape::flat(&dz), |z: &mut Batch<U2, U3, f64>| {
                crate::shape::flat_mut(z)
            });
        let report = crate::finite_difference::check(&z, &[logits], loss);
        report.assert_passed();
        assert_eq!(report.checked, 6);
    }

    /// The batch's logarithms are taken of products of row sums, flushed past 2⁶⁴: with 64
    /// rows of 10 classes the product passes it several times, and the loss still equals
    /// the sum of per-row logarithms; in f32 it matches the f64 value; NaN propagates.
    #[test]
    fn cross_entropy_of_a_large_batch_equals_per_row_logarithms() {
        use typenum::{U10, U64};
        let mut rng = crate::Rng::seed(9);
        let mut z = Batch::<U64, U10, f64>::default();
        z.iter_mut().flatten().for_each(|v| *v = rng.normal() * 0.3);
        let mut labels = GenericArray::<usize, U64>::default();
        labels.iter_mut().for_each(|l| *l = rng.below(10));
        let mut want = 0.0;
        let mut product = 1.0;
        let mut flushes = 0;
        for (row, &label) in z.iter().zip(labels.iter()) {
            let max = row.iter().fold(f64::MIN, |m, &v| m.max(v));
            let sum: f64 = row.iter().map(|&v| (v - max).exp()).sum();
            want += sum.ln() + max - row[label];
            product *= sum;
            if product > 2f64.powi(64) {
                (product, flushes) = (1.0, flushes + 1);
            }
        }
        assert!(flushes >= 2, "the test must cross the flush threshold ({flushes})");
        want /= 64.0;
        let mut dz = Batch::default();
        assert_relative_eq!(softmax_cross_entropy(&z, &labels, &mut dz), want, max_relative = 1e-13);
        let mut z32 = Batch::<U64, U10, f32>::default();
        z32.iter_mut().flatten().zip(z.iter().flatten()).for_each(|(s, &v)| *s = v as f32);
        let mut dz32 = Batch::default();
        assert_relative_eq!(f64::from(softmax_cross_entropy(&z32, &labels, &mut dz32)), want, max_relative = 1e-6);
        for (g, w) in dz32.iter().flatten().zip(dz.iter().flatten()) {
            assert!((f64::from(*g) - w).abs() < 1e-8, "{g} vs {w}");
        }
        let mut bad = z32;
        bad[3][4] = f32::NAN;
        assert!(softmax_cross_entropy(&bad, &labels, &mut dz32).is_nan());
    }

    #[test]
    #[should_panic(expected = "label 3 is out of range for 3 classes")]
    fn out_of_range_label_is_a_clear_panic() {
        let z: Batch<U2, U3, f32> = Default::default();
        softmax_cross_entropy(&z, &arr![0, 3], &mut Batch::default());
    }
}
