//! [`Freeze`]: whether a training step normalizes a Batch Normalization with the batch's
//! statistics or with the population statistics (fine-tuning).

/// How a training step treats a [`BatchNorm`](crate::BatchNorm): for fine-tuning, the
/// normalization can be frozen to the population statistics (what PyTorch users get with
/// `bn.eval()` inside a training loop, and Keras users with `trainable = False`).
///
/// Frozen, a training step computes `y = γ·(x − E[x])/√(Var[x] + ε) + β` exactly as the
/// eval path does, leaves `E[x]`, `Var[x]` and the batch counter untouched, and
/// backpropagates through that fixed affine map: `∂ℓ/∂x = ∂ℓ/∂y · γ/√(Var[x] + ε)`.
///
/// ```
/// use bn_core::{generic_array::arr, typenum::{U1, U2}, Batch, BatchNorm, BatchNormCache, Freeze};
/// let mut bn = BatchNorm::<U1, f64>::new(); // E[x] = 0, Var[x] = 1
/// bn.freeze = Freeze::Statistics;
/// let x: Batch<U2, U1, f64> = arr![arr![1.0], arr![3.0]];
/// let (mut y, mut cache) = (Batch::default(), BatchNormCache::default());
/// bn.forward_train(&x, &mut y, &mut cache);
/// // y = x/√(1 + ε), not the batch's ±1; the population statistics stay as they were.
/// assert_eq!(y[1][0], 3.0 * (1.0 / (1.0 + 1e-5f64).sqrt()));
/// assert_eq!((bn.running_mean[0], bn.num_batches_tracked), (0.0, 0));
/// ```
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Freeze {
    /// Training normalizes with the batch statistics (the default).
    #[default]
    No = 0,
    /// The population statistics normalize; γ and β still learn.
    Statistics = 1,
    /// The population statistics normalize and γ, β are fixed too: the layer is a constant
    /// affine map.
    All = 2,
}
