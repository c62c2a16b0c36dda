//! The paper's MNIST network written by hand from bn-core's layers (784-100-100-100-10;
//! three hidden dense layers without bias, BN's β replacing it, each followed by BN and a
//! sigmoid; a dense output layer with bias), and its gradients (the same type holds the SGD
//! momentum buffers). Shared by the tests through `common`.

use bn_core::typenum::{U10, U100, U784};
use bn_core::{BatchNorm, BatchNormGrads, Dense, Zeroable};

#[repr(C)]
pub struct Net {
    pub d1: Dense<U784, U100, f32, false>,
    pub bn1: BatchNorm<U100>,
    pub d2: Dense<U100, U100, f32, false>,
    pub bn2: BatchNorm<U100>,
    pub d3: Dense<U100, U100, f32, false>,
    pub bn3: BatchNorm<U100>,
    pub d4: Dense<U100, U10>,
}
// SAFETY: `repr(C)` struct of `Zeroable` fields only (`Dense` and `BatchNorm` are).
unsafe impl Zeroable for Net {}

#[repr(C)]
pub struct Grads {
    pub d1: Dense<U784, U100, f32, false>,
    pub bn1: BatchNormGrads<U100>,
    pub d2: Dense<U100, U100, f32, false>,
    pub bn2: BatchNormGrads<U100>,
    pub d3: Dense<U100, U100, f32, false>,
    pub bn3: BatchNormGrads<U100>,
    pub d4: Dense<U100, U10>,
}
// SAFETY: `repr(C)` struct of `Zeroable` fields only.
unsafe impl Zeroable for Grads {}
