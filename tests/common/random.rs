//! Random batches, and exact comparisons of floats.

use bn_core::generic_array::ArrayLength;
use bn_core::{flat_mut, Batch, Float, Init, Rng};

/// A batch of standard normal entries drawn from `seed`, in `f32` or `f64`.
pub fn random_batch<B: ArrayLength, N: ArrayLength, T: Float>(seed: u64) -> Batch<B, N, T> {
    let mut x = Batch::<B, N, T>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, &mut Rng::seed(seed));
    x
}

/// The bits of every value, to compare `f32`s exactly.
pub fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}
