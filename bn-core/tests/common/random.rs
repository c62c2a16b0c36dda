//! Random test data (f64).

use bn_core::generic_array::ArrayLength;
use bn_core::{flat_mut, Batch, Init, Rng};

/// A batch with standard normal entries.
pub fn random_batch<B: ArrayLength, N: ArrayLength>(rng: &mut Rng) -> Batch<B, N, f64> {
    let mut x = Batch::<B, N, f64>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, rng);
    x
}
