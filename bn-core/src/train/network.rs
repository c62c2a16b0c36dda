//! The training side of the types that `network!` generates: the [`Network`] trait (the
//! training type) and [`Trainer`] (workspace, gradients and optimizer state of one batch
//! size), for code that is generic over networks.

use generic_array::ArrayLength;

use super::freeze::Freeze;
use super::loss::Loss;
use super::optim::{Optimizer, OptimizerState, ParamKind};
use crate::float::Float;
use crate::inference::Inference;
use crate::rng::{Init, Rng};
use crate::shape::Batch;
use crate::zeroed::Zeroable;

/// A batch's output and the gradient buffer of the same shape.
pub type OutputAndGrad<'w, N, B> = (
    &'w Batch<B, <N as Inference>::Output, <N as Inference>::Scalar>,
    &'w mut Batch<B, <N as Inference>::Output, <N as Inference>::Scalar>,
);

/// A trainable network, implemented by the types that `network!` generates.
///
/// The generated type also has inherent methods of the same names (no import needed);
/// this trait is for code that is generic over networks.
pub trait Network: Inference + Zeroable + Sized {
    /// Gradients, one tensor per parameter tensor (also the shape of each slot of the
    /// optimizer state, [`OptimizerState`]).
    type Grads: Zeroable;
    /// What a training forward at batch size `B` records for the backward: every layer's
    /// output, the BN batch statistics, and the gradient buffers.
    type Workspace<B: ArrayLength>: Zeroable;
    /// The inference model with every Batch Normalization folded away.
    type Folded: Inference<Scalar = Self::Scalar, Input = Self::Input, Output = Self::Output> + Zeroable;

    /// Number of trainable scalars.
    const PARAMS: usize;

    /// Initializes every parameter in place: dense weights from `init` (or, with `None`,
    /// from each layer's default: He before ReLU, Xavier otherwise), biases 0, BN γ = 1,
    /// β = 0 and fresh population statistics (keeping each BN's ε and momentum).
    fn init_with(&mut self, init: Option<Init>, rng: &mut Rng);

    /// Training forward at batch size `B ≥ 2`: batch statistics in every BN, population
    /// statistics updated; returns the output, which stays in `ws`.
    fn forward_train<'w, B: ArrayLength>(
        &mut self,
        x: &Batch<B, Self::Input, Self::Scalar>,
        ws: &'w mut Self::Workspace<B>,
    ) -> &'w Batch<B, Self::Output, Self::Scalar>;

    /// Eval forward of a batch (population statistics, any batch size) that keeps every
    /// layer's output in `ws`, e.g. to inspect activations; returns the output.
    fn forward_eval<'w, B: ArrayLength>(
        &self,
        x: &Batch<B, Self::Input, Self::Scalar>,
        ws: &'w mut Self::Workspace<B>,
    ) -> &'w Batch<B, Self::Output, Self::Scalar>;

    /// The output of the last training forward, and the buffer for `∂ℓ/∂output` that
    /// [`backward`](Self::backward) reads.
    fn output_and_grad<B: ArrayLength>(ws: &mut Self::Workspace<B>) -> OutputAndGrad<'_, Self, B>;

    /// Backward from the `∂ℓ/∂output` in `ws` (see [`output_and_grad`](Self::output_and_grad))
    /// for the input `x` of the last training forward; overwrites `grads`.
    fn backward<B: ArrayLength>(
        &self,
        x: &Batch<B, Self::Input, Self::Scalar>,
        ws: &mut Self::Workspace<B>,
        grads: &mut Self::Grads,
    );

    /// Applies the optimizer to every trained parameter (dense and convolution weights and
    /// biases, the normalization layers' γ and β): increments `state.step`, then hands every
    /// tensor its gradient, its slots of `state` and its [`ParamKind`].
    fn step<O: Optimizer<Self::Scalar>>(
        &mut self,
        grads: &Self::Grads,
        state: &mut OptimizerState<Self::Grads>,
        opt: &O,
    );

    /// Hands every tensor of `tensors` (the gradients, or a slot of the optimizer state) that
    /// [`step`](Self::step) updates to `visit`, mutably, layer by layer in `step`'s order,
    /// with its kind: see [`Parameters::visit_grads`](crate::Parameters::visit_grads).
    fn visit_grads<F: FnMut(&mut [Self::Scalar], ParamKind)>(&self, tensors: &mut Self::Grads, visit: &mut F);

    /// Clips the gradients by their global norm as PyTorch's
    /// `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)`: the norm of the norms
    /// of every trained tensor (the L2 norm of all gradients concatenated); if
    /// `max_norm / (norm + 1e-6)` is below 1, every gradient is multiplied by it. Returns the
    /// norm before clipping. Call it between [`backward`](Self::backward) and
    /// [`step`](Self::step) (or use [`train_step_clipped`](Self::train_step_clipped)).
    ///
    /// Each tensor's sum of squares is accumulated in `f64`; its norm, the total and the
    /// coefficient are rounded to the scalar type as PyTorch's tensors are.
    fn clip_grad_norm(&self, grads: &mut Self::Grads, max_norm: Self::Scalar) -> Self::Scalar {
        let mut total = 0f64;
        self.visit_grads(grads, &mut |g, _| {
            let norm = Self::Scalar::from_f64(libm::sqrt(g.iter().map(|&x| x.to_f64() * x.to_f64()).sum::<f64>()));
            total += norm.to_f64() * norm.to_f64();
        });
        let total = Self::Scalar::from_f64(libm::sqrt(total));
        let coef = max_norm / (total + Self::Scalar::from_f64(1e-6));
        if coef < Self::Scalar::ONE {
            self.visit_grads(grads, &mut |g, _| g.iter_mut().for_each(|x| *x *= coef));
        }
        total
    }

    /// Recomputes every BN's population statistics over `batches` with the parameters
    /// frozen (Algorithm 2, steps 8–11): each BN's `E[x]` becomes the mean of its batch
    /// means and `Var[x]` the unbiased mean of its batch variances. Each BN's momentum
    /// setting is kept.
    fn recompute_population_statistics<'a, B: ArrayLength>(
        &mut self,
        batches: impl IntoIterator<Item = &'a Batch<B, Self::Input, Self::Scalar>>,
        ws: &mut Self::Workspace<B>,
    );

    /// Writes the folded model into `out` (no temporaries of the model's size).
    fn fold_into(&self, out: &mut Self::Folded);

    /// Freezes (or unfreezes) every BN layer for fine-tuning (see [`Freeze`]); each layer's
    /// `freeze` field sets it for that layer alone. Does nothing without BN layers.
    fn freeze_batchnorm(&mut self, freeze: Freeze);

    /// Sets the current limits `r_max`, `d_max` of every Batch Renormalization layer (the
    /// paper relaxes them from 1 and 0 during training); each layer's `rmax` and `dmax`
    /// fields set them for that layer alone. Does nothing without such layers.
    fn set_renorm_limits(&mut self, rmax: Self::Scalar, dmax: Self::Scalar);

    /// The random state of the dropout masks in a workspace (`None` without dropout).
    fn dropout_state<B: ArrayLength>(ws: &mut Self::Workspace<B>) -> Option<&mut u64> {
        let _ = ws;
        None
    }

    /// One training step: forward, loss, backward, optimizer. Returns the loss.
    fn train_step<B: ArrayLength, L: Loss<B, Self::Output, Self::Scalar>, O: Optimizer<Self::Scalar>>(
        &mut self,
        x: &Batch<B, Self::Input, Self::Scalar>,
        target: &L::Target,
        loss: &L,
        opt: &O,
        trainer: &mut Trainer<Self, B>,
    ) -> Self::Scalar {
        self.forward_train(x, &mut trainer.workspace);
        let (out, dout) = Self::output_and_grad(&mut trainer.workspace);
        let value = loss.loss_and_grad(out, target, dout);
        self.backward(x, &mut trainer.workspace, &mut trainer.grads);
        self.step(&trainer.grads, &mut trainer.state, opt);
        value
    }

    /// One training step with the gradients clipped by their global norm: forward, loss,
    /// backward, [`clip_grad_norm`](Self::clip_grad_norm)`(max_norm)`, optimizer. Returns the
    /// loss and the gradients' norm before clipping.
    fn train_step_clipped<B: ArrayLength, L: Loss<B, Self::Output, Self::Scalar>, O: Optimizer<Self::Scalar>>(
        &mut self,
        x: &Batch<B, Self::Input, Self::Scalar>,
        target: &L::Target,
        loss: &L,
        opt: &O,
        max_norm: Self::Scalar,
        trainer: &mut Trainer<Self, B>,
    ) -> (Self::Scalar, Self::Scalar) {
        self.forward_train(x, &mut trainer.workspace);
        let (out, dout) = Self::output_and_grad(&mut trainer.workspace);
        let value = loss.loss_and_grad(out, target, dout);
        self.backward(x, &mut trainer.workspace, &mut trainer.grads);
        let norm = self.clip_grad_norm(&mut trainer.grads, max_norm);
        self.step(&trainer.grads, &mut trainer.state, opt);
        (value, norm)
    }

    /// A network initialized with the layers' default schemes from `seed`, on the stack
    /// (small networks; see [`new_boxed`](Self::new_boxed)).
    fn new(seed: u64) -> Self {
        let mut net = Self::zeroed();
        net.init_with(None, &mut Rng::seed(seed));
        net
    }

    /// A network initialized from `seed`, allocated and initialized directly on the heap.
    #[cfg(feature = "alloc")]
    fn new_boxed(seed: u64) -> alloc::boxed::Box<Self> {
        let mut net = crate::zeroed::boxed_zeroed::<Self>();
        net.init_with(None, &mut Rng::seed(seed));
        net
    }

    /// The folded model, on the stack (see [`fold_boxed`](Self::fold_boxed) for big ones).
    fn fold(&self) -> Self::Folded {
        let mut out = Self::Folded::zeroed();
        self.fold_into(&mut out);
        out
    }

    /// The folded model, built directly on the heap.
    #[cfg(feature = "alloc")]
    fn fold_boxed(&self) -> alloc::boxed::Box<Self::Folded> {
        let mut out = crate::zeroed::boxed_zeroed::<Self::Folded>();
        self.fold_into(&mut out);
        out
    }
}

/// Everything a training step at batch size `B` needs besides the network: the workspace,
/// the gradients and the optimizer state. Build it with [`Trainer::new_boxed`] (or `new`
/// on the stack for small networks).
///
/// Its size: the workspace, plus four times the gradients' (the gradients and the three
/// slots of [`OptimizerState`], whichever optimizer is used: [`Sgd`](crate::Sgd) uses only
/// `m`, and only with momentum; [`Adam`](crate::Adam) and [`AdamW`](crate::AdamW) `m` and
/// `v`, and `v_max` with amsgrad), plus the step count. All inline: a step allocates
/// nothing, whatever the optimizer.
#[repr(C)]
pub struct Trainer<N: Network, B: ArrayLength> {
    /// Activations, BN statistics and gradient buffers of the last step.
    pub workspace: N::Workspace<B>,
    /// The gradients of the last step.
    pub grads: N::Grads,
    /// The optimizer state (moments, step count), zero at the start.
    pub state: OptimizerState<N::Grads>,
}

// SAFETY: three fields whose types are `Zeroable` by the bounds on `Network`'s types (and
// `OptimizerState<G: Zeroable>`'s impl).
unsafe impl<N: Network, B: ArrayLength> Zeroable for Trainer<N, B> {}

impl<N: Network, B: ArrayLength> Trainer<N, B> {
    /// A zeroed trainer on the stack (small networks).
    pub fn new() -> Self {
        Self::zeroed()
    }

    /// A zeroed trainer allocated directly on the heap.
    #[cfg(feature = "alloc")]
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        crate::zeroed::boxed_zeroed()
    }

    /// Resets the optimizer state (moments, momentum buffers and the step count) to zero.
    pub fn reset_state(&mut self) {
        // SAFETY: all-zero bytes are a valid `OptimizerState<N::Grads>` (`Zeroable`), and
        // `write_bytes` writes exactly one through a valid, exclusive pointer.
        unsafe { core::ptr::write_bytes(&mut self.state as *mut OptimizerState<N::Grads>, 0, 1) }
    }

    /// Seeds the random state of the network's dropout masks (a new trainer starts from
    /// state 0: runs are reproducible either way). Each training forward draws the masks of
    /// every `dropout` layer from [`Rng::seed`] of the state, then advances the state.
    pub fn seed(&mut self, seed: u64) {
        if let Some(state) = N::dropout_state(&mut self.workspace) {
            *state = seed;
        }
    }
}

impl<N: Network, B: ArrayLength> Default for Trainer<N, B> {
    fn default() -> Self {
        Self::new()
    }
}
