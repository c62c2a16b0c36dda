//! Test helpers: random data, and a layer's gradient check on top of [`crate::finite_difference`].

use alloc::vec::Vec;

use generic_array::ArrayLength;

use crate::finite_difference::{self, Tensor};
use crate::rng::{Init, Rng};
use crate::shape::{flat, flat_mut, Batch};

/// A batch with standard normal entries.
pub fn random_batch<B: ArrayLength, N: ArrayLength>(rng: &mut Rng) -> Batch<B, N, f64> {
    let mut x = Batch::<B, N, f64>::default();
    Init::Gaussian { std: 1.0 }.fill(flat_mut(&mut x), 1, 1, rng);
    x
}

/// Checks a layer's backward against central finite differences of
/// `ℓ = Σ r ⊙ forward(x)` for a fixed random `r`, for the input (`dx`) and every parameter
/// (`dparam`), with [`finite_difference::check`].
///
/// `forward` must not change the layer (clone it when the forward needs `&mut`);
/// `backward(layer, x, dy)` returns `dX` and the parameter gradients in the order of
/// `param(layer, k)`, `k < n_params`.
pub fn check_gradient<B: ArrayLength, I: ArrayLength, O: ArrayLength, L: Clone>(
    x: &Batch<B, I, f64>,
    layer: &L,
    n_params: usize,
    param: impl Fn(&mut L, usize) -> &mut f64,
    forward: impl Fn(&L, &Batch<B, I, f64>) -> Batch<B, O, f64>,
    backward: impl Fn(&L, &Batch<B, I, f64>, &Batch<B, O, f64>) -> (Batch<B, I, f64>, Vec<f64>),
) {
    let r: Batch<B, O, f64> = random_batch(&mut Rng::seed(99));
    let (dx, grads) = backward(layer, x, &r);
    assert_eq!(grads.len(), n_params, "backward returned {} gradients for {} parameters", grads.len(), n_params);
    // The point: the input and the layer.
    let loss = |(x, l): &(Batch<B, I, f64>, L)| -> f64 {
        let y = forward(l, x);
        flat(&y).iter().zip(flat(&r)).map(|(a, b)| a * b).sum()
    };
    let tensors = [
        Tensor::new("dx", flat(&dx), |(x, _): &mut (Batch<B, I, f64>, L)| flat_mut(x)),
        Tensor::each("dparam", &grads, |(_, l): &mut (Batch<B, I, f64>, L), k| param(l, k)),
    ];
    finite_difference::check(&(x.clone(), layer.clone()), &tensors, loss).assert_passed();
}
