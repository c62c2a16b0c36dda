//! Optimizers: an [`Optimizer`] updates one parameter tensor at a time, with its
//! [`Slots`] of state; every layer with parameters implements [`Parameters`] to hand each of
//! its tensors to it, and a network's state is an [`OptimizerState`].

use crate::float::Float;
use crate::zeroed::Zeroable;

/// What a parameter tensor is, for options that treat kinds differently (weight decay that
/// spares normalization parameters and biases, as PyTorch's parameter groups do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A dense or convolution weight.
    Weight,
    /// A dense or convolution bias.
    Bias,
    /// γ or β of a normalization layer (BatchNorm, LayerNorm, GroupNorm).
    Norm,
}

/// The optimizer state of one parameter tensor, each slot of the tensor's length, all zero
/// before the first step.
///
/// An optimizer uses the slots it needs: [`Sgd`] keeps its momentum buffer in `m`; Adam its
/// first moment (`exp_avg`) in `m`, its second (`exp_avg_sq`) in `v` and, with amsgrad, the
/// running maximum of the second (`max_exp_avg_sq`) in `v_max`.
#[derive(Debug)]
pub struct Slots<'a, T> {
    /// SGD's momentum buffer, Adam's `exp_avg`.
    pub m: &'a mut [T],
    /// Adam's `exp_avg_sq`.
    pub v: &'a mut [T],
    /// Adam's `max_exp_avg_sq` (amsgrad).
    pub v_max: &'a mut [T],
    /// The number of optimizer steps taken, this one included (1 on the first step).
    pub step: u64,
}

/// Updates parameter tensors from their gradients.
pub trait Optimizer<T: Float> {
    /// Updates one tensor in place from its gradient, with its state (see [`Slots`]);
    /// `kind` says what the tensor is.
    fn update(&self, param: &mut [T], grad: &[T], state: Slots<'_, T>, kind: ParamKind);
}

/// The optimizer state of a layer or network whose gradients have the type `G`: the three
/// slots of every tensor, each a `G` ([`Slots`] says which optimizer uses which), and the
/// number of steps taken. All zero at the start; [`Trainer`](crate::Trainer) holds one.
///
/// A network's [`step`](crate::Network::step) increments `step` and hands every tensor its
/// slots.
#[repr(C)]
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<G> {
    /// The number of optimizer steps taken.
    pub step: u64,
    /// Every tensor's first slot (SGD momentum, Adam's `exp_avg`).
    pub m: G,
    /// Every tensor's second slot (Adam's `exp_avg_sq`).
    pub v: G,
    /// Every tensor's third slot (Adam's `max_exp_avg_sq`, amsgrad).
    pub v_max: G,
}

// SAFETY: a `u64` (all-zero is 0) and three `G`s, each `Zeroable`.
unsafe impl<G: Zeroable> Zeroable for OptimizerState<G> {}

impl<G: Zeroable> Default for OptimizerState<G> {
    /// All zero (on the stack).
    fn default() -> Self {
        Self::zeroed()
    }
}

/// The state a layer's [`Parameters::step`] receives: its share of a network's
/// [`OptimizerState`] (the three slots, each of the layer's gradients' type) and the step
/// count, this step included.
#[derive(Debug)]
pub struct StateMut<'a, G> {
    /// The layer's first slots.
    pub m: &'a mut G,
    /// The layer's second slots.
    pub v: &'a mut G,
    /// The layer's third slots.
    pub v_max: &'a mut G,
    /// The number of optimizer steps taken, this one included.
    pub step: u64,
}

impl<'a, G> StateMut<'a, G> {
    /// The [`Slots`] of one tensor, which `tensor` selects from a gradients-shaped value
    /// (e.g. `|g| &mut g.gamma[..]`).
    #[inline(always)]
    pub fn slots<T>(&mut self, tensor: fn(&mut G) -> &mut [T]) -> Slots<'_, T> {
        Slots { m: tensor(self.m), v: tensor(self.v), v_max: tensor(self.v_max), step: self.step }
    }
}

impl<'a, G> From<&'a mut OptimizerState<G>> for StateMut<'a, G> {
    /// The whole state, for a single layer trained on its own (the step count as it is:
    /// increment it before each step, as a network's `step` does).
    fn from(state: &'a mut OptimizerState<G>) -> Self {
        StateMut { m: &mut state.m, v: &mut state.v, v_max: &mut state.v_max, step: state.step }
    }
}

/// A layer (or network) with trainable parameters.
pub trait Parameters<T: Float> {
    /// The gradients of the parameters, one tensor per parameter tensor. Also the shape of
    /// each optimizer state slot ([`OptimizerState`]).
    type Grads;

    /// Applies `opt` to every trained parameter tensor, with its gradient, its slots of
    /// `state` and its [`ParamKind`].
    fn step<O: Optimizer<T>>(&mut self, grads: &Self::Grads, state: StateMut<'_, Self::Grads>, opt: &O);

    /// Hands every tensor of `tensors` (gradients, or one slot of the optimizer state) that
    /// [`step`](Self::step) would update to `visit`, mutably, in `step`'s order, with its
    /// kind; the tensors of parameters that are not trained (a BN without γ and β, or frozen
    /// with [`Freeze::All`](crate::Freeze::All), a layer's unused bias) are skipped.
    fn visit_grads<F: FnMut(&mut [T], ParamKind)>(&self, tensors: &mut Self::Grads, visit: &mut F);
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
/// The momentum buffer `v` is the tensor's slot `m` ([`Slots`]). Weight decay applies to
/// every parameter, BN's γ and β included, as in PyTorch, unless
/// [`excluding_norm_and_bias_from_decay`](Self::excluding_norm_and_bias_from_decay).
///
/// ```
/// use bn_core::{Optimizer, ParamKind, Sgd, Slots};
/// let sgd = Sgd::new(0.5f32).with_momentum(0.9);
/// let (mut p, mut m) = ([1.0f32], [0.0f32]);
/// // SGD uses only the slot `m` (and the trainer holds it for a network).
/// fn slots(m: &mut [f32]) -> Slots<'_, f32> {
///     Slots { m, v: &mut [], v_max: &mut [], step: 1 }
/// }
/// sgd.update(&mut p, &[2.0], slots(&mut m), ParamKind::Weight); // v = 2, p = 1 - 0.5·2
/// assert_eq!((p[0], m[0]), (0.0, 2.0));
/// sgd.update(&mut p, &[2.0], slots(&mut m), ParamKind::Weight); // v = 0.9·2 + 2 = 3.8, p = 0 - 0.5·3.8
/// assert_eq!((p[0], m[0]), (-1.9, 3.8));
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
    /// Whether the weight decay also applies to biases and normalization parameters
    /// ([`ParamKind::Bias`], [`ParamKind::Norm`]); true unless
    /// [`excluding_norm_and_bias_from_decay`](Self::excluding_norm_and_bias_from_decay).
    pub decay_norm_and_bias: bool,
}

impl<T: Float> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: T) -> Self {
        Sgd { lr, momentum: T::ZERO, weight_decay: T::ZERO, nesterov: false, decay_norm_and_bias: true }
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
    /// Applies the weight decay to weights only (dense and convolution weights), not to
    /// biases nor to the γ and β of normalization layers: PyTorch's two parameter groups
    /// `[{"params": weights, "weight_decay": λ}, {"params": biases and norm parameters,
    /// "weight_decay": 0}]`.
    pub fn excluding_norm_and_bias_from_decay(self) -> Self {
        Sgd { decay_norm_and_bias: false, ..self }
    }
}

/// The weight decay of a tensor of kind `kind`: `weight_decay`, or 0 for a bias or
/// normalization parameter when those are excluded.
#[inline(always)]
pub(super) fn decay_for<T>(weight_decay: T, zero: T, decay_norm_and_bias: bool, kind: ParamKind) -> T {
    if decay_norm_and_bias || kind == ParamKind::Weight {
        weight_decay
    } else {
        zero
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    #[inline]
    fn update(&self, param: &mut [T], grad: &[T], state: Slots<'_, T>, kind: ParamKind) {
        let (lr, mu) = (self.lr, self.momentum);
        let wd = decay_for(self.weight_decay, T::ZERO, self.decay_norm_and_bias, kind);
        if mu == T::ZERO {
            for (p, &g) in param.iter_mut().zip(grad) {
                *p -= lr * (g + wd * *p);
            }
        } else {
            for ((p, &g), v) in param.iter_mut().zip(grad).zip(state.m.iter_mut()) {
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

    fn slots<'a>(m: &'a mut [f64], v: &'a mut [f64], v_max: &'a mut [f64], step: u64) -> Slots<'a, f64> {
        Slots { m, v, v_max, step }
    }

    #[test]
    fn weight_decay_and_nesterov_follow_pytorch() {
        // torch: p=1, g=2, lr=0.1, wd=0.5, momentum=0.9, nesterov=True
        // g' = 2.5, v = 2.5, update = 2.5 + 0.9*2.5 = 4.75, p = 1 - 0.475 = 0.525
        let sgd = Sgd::new(0.1f64).with_momentum(0.9).with_weight_decay(0.5).with_nesterov();
        let (mut p, mut v) = ([1.0], [0.0]);
        sgd.update(&mut p, &[2.0], slots(&mut v, &mut [], &mut [], 1), ParamKind::Weight);
        approx::assert_relative_eq!(p[0], 0.525, max_relative = 1e-15);
        approx::assert_relative_eq!(v[0], 2.5);
        // Without momentum the state is untouched.
        let (mut p, mut v) = ([1.0], [7.0]);
        Sgd::new(0.1f64).with_weight_decay(0.5).update(
            &mut p,
            &[2.0],
            slots(&mut v, &mut [], &mut [], 1),
            ParamKind::Norm,
        );
        approx::assert_relative_eq!(p[0], 0.75);
        assert_eq!(v[0], 7.0);
    }

    #[test]
    fn sgd_decay_exclusion_spares_biases_and_norm_parameters() {
        let sgd = Sgd::new(0.1f64).with_weight_decay(0.5).excluding_norm_and_bias_from_decay();
        for (kind, want) in [(ParamKind::Weight, 0.75), (ParamKind::Bias, 0.8), (ParamKind::Norm, 0.8)] {
            let mut p = [1.0];
            sgd.update(&mut p, &[2.0], slots(&mut [0.0], &mut [], &mut [], 1), kind);
            assert_eq!(p[0], want, "{kind:?}");
        }
    }
}
