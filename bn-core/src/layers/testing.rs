//! Test helpers: random data and a finite-difference gradient checker (f64).

use alloc::vec::Vec;

use generic_array::ArrayLength;

use crate::rng::{Init, Rng};
use crate::shape::Batch;

/// A batch with standard normal entries.
pub fn random_batch<B: ArrayLength, N: ArrayLength>(rng: &mut Rng) -> Batch<B, N, f64> {
    let mut x = Batch::<B, N, f64>::default();
    Init::Gaussian { std: 1.0 }.fill(crate::shape::flat_mut(&mut x), 1, 1, rng);
    x
}

/// Checks a layer's backward against central finite differences of
/// `ℓ = Σ r ⊙ forward(x)` for a fixed random `r`, for the input and every parameter.
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
    let loss = |l: &L, x: &Batch<B, I, f64>| -> f64 {
        let y = forward(l, x);
        y.iter().flatten().zip(r.iter().flatten()).map(|(a, b)| a * b).sum()
    };
    let (dx, grads) = backward(layer, x, &r);
    assert_eq!(grads.len(), n_params, "backward returned {} gradients for {} parameters", grads.len(), n_params);
    let h = 1e-6;
    let close = |what: &str, k: usize, analytic: f64, numeric: f64| {
        let tol = 1e-6 * (1.0 + analytic.abs().max(numeric.abs()));
        assert!(
            (analytic - numeric).abs() <= tol,
            "{what}[{k}]: analytic {analytic:e} vs finite difference {numeric:e}"
        );
    };
    let flat_x = crate::shape::flat(x).len();
    for k in 0..flat_x {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        crate::shape::flat_mut(&mut xp)[k] += h;
        crate::shape::flat_mut(&mut xm)[k] -= h;
        let numeric = (loss(layer, &xp) - loss(layer, &xm)) / (2.0 * h);
        close("dx", k, crate::shape::flat(&dx)[k], numeric);
    }
    for (k, &analytic) in grads.iter().enumerate() {
        let (mut lp, mut lm) = (layer.clone(), layer.clone());
        *param(&mut lp, k) += h;
        *param(&mut lm, k) -= h;
        let numeric = (loss(&lp, x) - loss(&lm, x)) / (2.0 * h);
        close("dparam", k, analytic, numeric);
    }
}
