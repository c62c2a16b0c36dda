//! The training side of the types that `network!` generates: the [`Network`] trait (the
//! training type) and [`Trainer`] (workspace, gradients and optimizer state of one batch
//! size), for code that is generic over networks.

use generic_array::ArrayLength;

use super::freeze::Freeze;
use super::loss::Loss;
use super::optim::Optimizer;
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
    /// Gradients, one tensor per parameter tensor (also the SGD momentum state).
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

    /// Applies the optimizer to every parameter (dense weights and biases, BN γ and β).
    fn step<O: Optimizer<Self::Scalar>>(&mut self, grads: &Self::Grads, state: &mut Self::Grads, opt: &O);

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
#[repr(C)]
pub struct Trainer<N: Network, B: ArrayLength> {
    /// Activations, BN statistics and gradient buffers of the last step.
    pub workspace: N::Workspace<B>,
    /// The gradients of the last step.
    pub grads: N::Grads,
    /// The optimizer state (SGD momentum buffers), zero at the start.
    pub state: N::Grads,
}

// SAFETY: three fields whose types are `Zeroable` by the bounds on `Network`'s types.
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

    /// Resets the optimizer state (momentum buffers) to zero.
    pub fn reset_state(&mut self) {
        // SAFETY: all-zero bytes are a valid `N::Grads` (`Zeroable`), and `write_bytes`
        // writes exactly one `N::Grads` through a valid, exclusive pointer.
        unsafe { core::ptr::write_bytes(&mut self.state as *mut N::Grads, 0, 1) }
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
