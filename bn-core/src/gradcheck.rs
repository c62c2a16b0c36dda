//! Finite-difference gradient checks in `f64` (as PyTorch's `torch.autograd.gradcheck`), for a
//! layer, a stack of layers written by hand, or a whole network declared with `network!`.
//!
//! Each value `p_k` of each checked tensor is moved by `±h` on a copy of the point, and the
//! central difference of the loss
//!
//! ```text
//! n_k = (ℓ(p + h·e_k) − ℓ(p − h·e_k)) / 2h,        h = 1e-6
//! ```
//!
//! is compared with the analytic gradient `a_k = ∂ℓ/∂p_k`: they agree when
//! `|a_k − n_k| ≤ 1e-6 · (1 + max(|a_k|, |n_k|))`. In `f64` the truncation error of the
//! central difference, O(h²), and its rounding error, about `ε·|ℓ|/h ≈ 2e-10·|ℓ|`, are far
//! below that tolerance for a smooth loss; a kink (ReLU at 0, a tie in a max pool) within
//! `h` of the point is not smooth, so test points must stay away from them.
//!
//! - [`check`], the core: a point `P: Clone`, its [`Tensor`]s (a name, the analytic
//!   gradient, and where each value lives in the point), and the loss as a closure.
//! - [`check_network`]: every trainable tensor of a network declared with `scalar: f64`
//!   (`Network + StateDict + Clone`), perturbed through its [`StateDict`] visitor, against
//!   the gradients that the generated `train_step` hands the optimizer; the dropout state is
//!   reset to [`DROPOUT_SEED`] before every forward, so every forward draws the same masks.
//!
//! Every mismatch is reported ([`Report`]), by tensor name and index. The pieces are public
//! for checks against another reference: [`central_differences`] and [`compare`] under
//! [`check`]; [`network_loss`], [`analytic_gradients`], [`numeric_gradients`] (of any network,
//! e.g. a twin with some quantities held fixed) and [`compare_gradients`] under
//! [`check_network`].
//!
//! ```
//! use bn_core::gradcheck::{self, Tensor};
//!
//! // ℓ(w) = Σ_k (w_k·x_k)², so ∂ℓ/∂w_k = 2·w_k·x_k².
//! let x = [0.5, -1.5, 2.0];
//! let loss = |w: &[f64; 3]| w.iter().zip(&x).map(|(w, x)| (w * x).powi(2)).sum::<f64>();
//! let w = [1.0, 2.0, -0.5];
//! let right: Vec<f64> = w.iter().zip(&x).map(|(w, x)| 2.0 * w * x * x).collect();
//! let report = gradcheck::check(&w, &[Tensor::new("w", &right, |w: &mut [f64; 3]| &mut w[..])], loss);
//! assert!(report.passed(), "{report}");
//! assert_eq!(report.checked, 3);
//!
//! // A backward that forgets the factor 2 is caught, at every index.
//! let wrong: Vec<f64> = w.iter().zip(&x).map(|(w, x)| w * x * x).collect();
//! let report = gradcheck::check(&w, &[Tensor::new("w", &wrong, |w: &mut [f64; 3]| &mut w[..])], loss);
//! assert_eq!(report.mismatches.len(), 3);
//! let m = &report.mismatches[1]; // "w[1]: analytic 4.5e0, finite difference 8.99…e0"
//! assert_eq!((m.tensor.as_str(), m.index, m.analytic), ("w", 1, 4.5));
//! assert!((m.numeric - 9.0).abs() < 1e-6);
//! ```
//!
//! A whole network:
//!
//! ```
//! bn_core::network! {
//!     pub struct Small { input: 3, scalar: f64, dense(4), batchnorm, tanh, dropout(0.2), dense(2) }
//! }
//! use bn_core::{gradcheck, typenum::U5, Batch, GenericArray, Init, Rng, SoftmaxCrossEntropy};
//!
//! let net = Small::new(1);
//! let mut x = Batch::<U5, _, f64>::default();
//! Init::Gaussian { std: 1.0 }.fill(bn_core::flat_mut(&mut x), 1, 1, &mut Rng::seed(2));
//! let labels = GenericArray::from([0, 1, 1, 0, 1]);
//! let (report, _trainer) = gradcheck::check_network(&net, &x, &labels, &SoftmaxCrossEntropy);
//! assert!(report.passed(), "{report}");
//! assert_eq!(report.checked, Small::PARAMS); // every weight, bias, γ and β
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use generic_array::ArrayLength;

use crate::format::{StateDict, TensorMut, TensorName};
use crate::shape::Batch;
use crate::train::{Loss, Network, Optimizer, ParamKind, Slots, Trainer};

pub use crate::finite_difference::{
    agree, central_differences, check, compare, tolerance, Mismatch, Report, Tensor, STEP,
};

/// The dropout seed of every forward of [`check_network`], [`network_loss`],
/// [`analytic_gradients`] and [`numeric_gradients`]: the finite-difference forwards draw the
/// same masks as the analytic one.
pub const DROPOUT_SEED: u64 = 0x5eed;

// ---- whole networks ----

/// The gradient of one tensor of a network, by its `state_dict` name.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradient {
    /// The tensor's name, `{layer}.{tensor}` (see [`TensorName`]).
    pub name: String,
    /// `∂ℓ/∂value` for each of the tensor's values (flat, row-major).
    pub values: Vec<f64>,
}

/// Whether a tensor is trained (not a population statistic or the batch counter).
pub fn is_trainable(name: TensorName<'_>) -> bool {
    !matches!(name.tensor, "running_mean" | "running_var" | "num_batches_tracked")
}

/// The values of a tensor, whatever its shape (none for a counter).
fn values_mut<'t>(t: TensorMut<'t, f64>) -> Option<&'t mut [f64]> {
    match t {
        TensorMut::Vector(v) | TensorMut::Diagonal(v) => Some(v),
        TensorMut::Matrix { data, .. } | TensorMut::Tensor3 { data, .. } | TensorMut::Tensor4 { data, .. } => {
            Some(data)
        }
        TensorMut::Count(_) => None,
    }
}

/// The name and length of every trainable tensor of `net`, in the visitor's order.
fn trainable_tensors<N: StateDict<Scalar = f64>>(net: &mut N) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    net.visit_mut(&mut |name, t| {
        if is_trainable(name) {
            if let Some(v) = values_mut(t) {
                out.push((name.to_string(), v.len()));
            }
        }
    });
    out
}

/// Adds `delta` to value `k` of trainable tensor `i` (visitor order).
fn nudge_trainable<N: StateDict<Scalar = f64>>(net: &mut N, i: usize, k: usize, delta: f64) {
    let mut seen = 0;
    net.visit_mut(&mut |name, t| {
        if is_trainable(name) {
            if let Some(v) = values_mut(t) {
                if seen == i {
                    v[k] += delta;
                }
                seen += 1;
            }
        }
    });
}

/// An optimizer that changes nothing and records every gradient it is handed, in order.
struct Recorder(RefCell<Vec<Vec<f64>>>);

impl Optimizer<f64> for Recorder {
    fn update(&self, _param: &mut [f64], grad: &[f64], _state: Slots<'_, f64>, _kind: ParamKind) {
        self.0.borrow_mut().push(grad.to_vec());
    }
}

/// The loss of a training forward of a copy of `net` (so that every forward starts from the
/// same population statistics, which Batch Renormalization reads), dropout state
/// [`DROPOUT_SEED`].
pub fn network_loss<N, B, L>(net: &N, x: &Batch<B, N::Input, f64>, target: &L::Target, loss: &L) -> f64
where
    N: Network<Scalar = f64> + Clone,
    B: ArrayLength,
    L: Loss<B, N::Output, f64>,
{
    let mut net = net.clone();
    let mut trainer = Trainer::<N, B>::new_boxed();
    trainer.seed(DROPOUT_SEED);
    let out = net.forward_train(x, &mut trainer.workspace);
    let mut grad = Batch::default();
    loss.loss_and_grad(out, target, &mut grad)
}

/// The gradients that the generated `train_step` of a copy of `net` hands the optimizer
/// (dropout state [`DROPOUT_SEED`]), one per trainable tensor with its name, and the trainer
/// after the step (its workspace holds every layer's output and gradient).
///
/// # Panics
/// If the step updates other tensors than the trainable ones of the `state_dict` (a BN frozen
/// with `Freeze::All` keeps γ and β: unfreeze it to check them).
#[allow(clippy::type_complexity)]
pub fn analytic_gradients<N, B, L>(
    net: &N,
    x: &Batch<B, N::Input, f64>,
    target: &L::Target,
    loss: &L,
) -> (Vec<Gradient>, Box<Trainer<N, B>>)
where
    N: Network<Scalar = f64> + StateDict<Scalar = f64> + Clone,
    B: ArrayLength,
    L: Loss<B, N::Output, f64>,
{
    let mut net = net.clone();
    let tensors = trainable_tensors(&mut net);
    let mut trainer = Trainer::<N, B>::new_boxed();
    trainer.seed(DROPOUT_SEED);
    let recorder = Recorder(RefCell::new(Vec::new()));
    net.train_step(x, target, loss, &recorder, &mut trainer);
    let recorded = recorder.0.into_inner();
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        recorded.len(),
        tensors.len(),
        "the step updated {} tensors; the trainable ones are {names:?}",
        recorded.len()
    );
    let gradients = tensors
        .into_iter()
        .zip(recorded)
        .map(|((name, len), values)| {
            assert_eq!(values.len(), len, "{name}: the step's gradient has {} values, the tensor {len}", values.len());
            Gradient { name, values }
        })
        .collect();
    (gradients, trainer)
}

/// Central differences of [`network_loss`] for every value of every trainable tensor of
/// `net`, perturbed through its `state_dict` visitor (so that no tensor is forgotten).
pub fn numeric_gradients<N, B, L>(net: &N, x: &Batch<B, N::Input, f64>, target: &L::Target, loss: &L) -> Vec<Gradient>
where
    N: Network<Scalar = f64> + StateDict<Scalar = f64> + Clone,
    B: ArrayLength,
    L: Loss<B, N::Output, f64>,
{
    let tensors = trainable_tensors(&mut net.clone());
    tensors
        .into_iter()
        .enumerate()
        .map(|(i, (name, len))| Gradient {
            name,
            values: central_differences(
                net,
                len,
                |n: &mut N, k, delta| nudge_trainable(n, i, k, delta),
                |n: &N| network_loss(n, x, target, loss),
            ),
        })
        .collect()
}

/// Compares two lists of gradients, tensor by tensor.
///
/// # Panics
/// If the lists do not name the same tensors in the same order.
pub fn compare_gradients(analytic: &[Gradient], reference: &[Gradient]) -> Report {
    let names = |g: &[Gradient]| g.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(analytic), names(reference), "the two lists name other tensors");
    let mut report = Report::default();
    for (a, r) in analytic.iter().zip(reference) {
        report.merge(compare(&a.name, &a.values, &r.values));
    }
    report
}

/// Checks the gradient of every trainable tensor of `net` (dense and conv weights and
/// biases, BN and LayerNorm γ and β) that the generated `train_step` computes on the batch
/// `x` against central differences of the loss; returns the report and the trainer of the
/// analytic step.
///
/// # Panics
/// As [`analytic_gradients`].
#[allow(clippy::type_complexity)]
pub fn check_network<N, B, L>(
    net: &N,
    x: &Batch<B, N::Input, f64>,
    target: &L::Target,
    loss: &L,
) -> (Report, Box<Trainer<N, B>>)
where
    N: Network<Scalar = f64> + StateDict<Scalar = f64> + Clone,
    B: ArrayLength,
    L: Loss<B, N::Output, f64>,
{
    let (analytic, trainer) = analytic_gradients(net, x, target, loss);
    let numeric = numeric_gradients(net, x, target, loss);
    (compare_gradients(&analytic, &numeric), trainer)
}
