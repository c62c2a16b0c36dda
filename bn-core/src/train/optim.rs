//! Optimizers: an [`Optimizer`] updates one parameter tensor at a time; every layer with
//! parameters implements [`Parameters`] to hand each of its tensors to it.

use crate::float::Float;

/// Updates parameter tensors from their gradients.
///
/// `state` has the shape of `param` and persists across steps (for [`Sgd`], the
/// momentum buffer); start it at zero.
pub trait Optimizer<T: Float> {
    /// Updates one tensor in place.
    fn update(&self, param: &mut [T], grad: &[T], state: &mut [T]);
}

/// A layer (or network) with trainable parameters.
pub trait Parameters<T: Float> {
    /// The gradients of the parameters, one tensor per parameter tensor. Also used as the
    /// optimizer state.
    type Grads;

    /// Applies `opt` to every parameter tensor, with its gradient and its state.
    fn step<O: Optimizer<T>>(&mut self, grads: &Self::Grads, state: &mut Self::Grads, opt: &O);
}

/// Stochastic gradient descent with optional momentum and weight decay, with PyTorch's
/// `torch.optim.SGD` semantics (dampening 0):
///
/// ```text
/// g ← ∇θ + λ·θ            (weight decay λ)
/// v ← μ·v + g             (momentum μ; v = g on the first step when v starts at 0)
/// θ ← θ − η·v             (or θ − η·(g + μ·v) with Nesterov)
/// ```
///
/// Weight decay applies to every parameter, BN's γ and β included, as in PyTorch.
///
/// ```
/// use bn_core::{Optimizer, Sgd};
/// let sgd = Sgd::new(0.5f32).with_momentum(0.9);
/// let (mut p, mut v) = ([1.0f32], [0.0f32]);
/// sgd.update(&mut p, &[2.0], &mut v); // v = 2, p = 1 - 0.5·2
/// assert_eq!((p[0], v[0]), (0.0, 2.0));
/// sgd.update(&mut p, &[2.0], &mut v); // v = 0.9·2 + 2 = 3.8, p = 0 - 0.5·3.8
/// assert_eq!((p[0], v[0]), (-1.9, 3.8));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<T = f32> {
    /// Learning rate η.
    pub lr: T,
    /// Momentum μ (0 disables it and the state is unused).
    pub momentum: T,
    /// L2 weight decay λ.
    pub weight_decay: T,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl<T: Float> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: T) -> Self {
        Sgd { lr, momentum: T::ZERO, weight_decay: T::ZERO, nesterov: false }
    }
    /// Sets the momentum.
    pub fn with_momentum(self, momentum: T) -> Self {
        Sgd { momentum, ..self }
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(self, weight_decay: T) -> Self {
        Sgd { weight_decay, ..self }
    }
    /// Enables Nesterov momentum.
    pub fn with_nesterov(self) -> Self {
        Sgd { nesterov: true, ..self }
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    #[inline]
    fn update(&self, param: &mut [T], grad: &[T], state: &mut [T]) {
        let (lr, mu, wd) = (self.lr, self.momentum, self.weight_decay);
        if mu == T::ZERO {
            for (p, &g) in param.iter_mut().zip(grad) {
                *p -= lr * (g + wd * *p);
            }
        } else {
            for ((p, &g), v) in param.iter_mut().zip(grad).zip(state.iter_mut()) {
                let g = g + wd * *p;
                *v = mu * *v + g;
                *p -= lr * if self.nesterov { g + mu * *v } else { *v };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_decay_and_nesterov_follow_pytorch() {
        // torch: p=1, g=2, lr=0.1, wd=0.5, momentum=0.9, nesterov=True
        // g' = 2.5, v = 2.5, update = 2.5 + 0.9*2.5 = 4.75, p = 1 - 0.475 = 0.525
        let sgd = Sgd::new(0.1f64).with_momentum(0.9).with_weight_decay(0.5).with_nesterov();
        let (mut p, mut v) = ([1.0], [0.0]);
        sgd.update(&mut p, &[2.0], &mut v);
        approx::assert_relative_eq!(p[0], 0.525, max_relative = 1e-15);
        approx::assert_relative_eq!(v[0], 2.5);
        // Without momentum the state is untouched.
        let (mut p, mut v) = ([1.0], [7.0]);
        Sgd::new(0.1f64).with_weight_decay(0.5).update(&mut p, &[2.0], &mut v);
        approx::assert_relative_eq!(p[0], 0.75);
        assert_eq!(v[0], 7.0);
    }
}
