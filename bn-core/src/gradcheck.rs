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
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use generic_array::ArrayLength;

use crate::format::{StateDict, TensorMut, TensorName};
use crate::shape::Batch;
use crate::train::{Loss, Network, Optimizer, Trainer};

/// The step `h` of the central differences.
pub const STEP: f64 = 1e-6;

/// The dropout seed of every forward of [`check_network`], [`network_loss`],
/// [`analytic_gradients`] and [`numeric_gradients`]: the finite-difference forwards draw the
/// same masks as the analytic one.
pub const DROPOUT_SEED: u64 = 0x5eed;

/// The largest difference accepted between an analytic gradient `a` and its finite
/// difference `n`: `1e-6 · (1 + max(|a|, |n|))`.
pub fn tolerance(analytic: f64, numeric: f64) -> f64 {
    1e-6 * (1.0 + analytic.abs().max(numeric.abs()))
}

/// Whether `analytic` and `numeric` agree within [`tolerance`] (never when either is NaN).
pub fn agree(analytic: f64, numeric: f64) -> bool {
    (analytic - numeric).abs() <= tolerance(analytic, numeric)
}

/// One value whose analytic gradient and finite difference disagree.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// The tensor's name.
    pub tensor: String,
    /// The value's index in the tensor (flat, row-major).
    pub index: usize,
    /// The analytic gradient.
    pub analytic: f64,
    /// The central difference.
    pub numeric: f64,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: analytic {:e}, finite difference {:e}", self.tensor, self.index, self.analytic, self.numeric)
    }
}

/// The outcome of a check: how many values were compared, and every mismatch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The number of values compared.
    pub checked: usize,
    /// Every value that does not [`agree`], in the order checked.
    pub mismatches: Vec<Mismatch>,
}

impl Report {
    /// Whether every value agreed.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// Panics, listing every mismatch, unless every value agreed.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "gradient check failed: {self}");
    }

    /// Adds the values and mismatches of `other`.
    pub fn merge(&mut self, other: Report) {
        self.checked += other.checked;
        self.mismatches.extend(other.mismatches);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} values checked, {} mismatches", self.checked, self.mismatches.len())?;
        for m in &self.mismatches {
            write!(f, "\n  {m}")?;
        }
        Ok(())
    }
}

/// Compares an analytic gradient with its finite differences, value by value.
///
/// # Panics
/// If the two have different lengths.
pub fn compare(tensor: &str, analytic: &[f64], numeric: &[f64]) -> Report {
    assert_eq!(
        analytic.len(),
        numeric.len(),
        "{tensor}: {} analytic values, {} finite differences",
        analytic.len(),
        numeric.len()
    );
    let mismatches = analytic
        .iter()
        .zip(numeric)
        .enumerate()
        .filter(|(_, (&a, &n))| !agree(a, n))
        .map(|(index, (&analytic, &numeric))| Mismatch { tensor: tensor.to_string(), index, analytic, numeric })
        .collect();
    Report { checked: analytic.len(), mismatches }
}

/// The central differences `(ℓ(p + h·e_k) − ℓ(p − h·e_k)) / 2h` for `k < len`, where
/// `nudge(p, k, δ)` adds `δ` to value `k` of a copy `p` of the point.
pub fn central_differences<P: Clone>(
    point: &P,
    len: usize,
    nudge: impl Fn(&mut P, usize, f64),
    loss: impl Fn(&P) -> f64,
) -> Vec<f64> {
    (0..len)
        .map(|k| {
            let (mut plus, mut minus) = (point.clone(), point.clone());
            nudge(&mut plus, k, STEP);
            nudge(&mut minus, k, -STEP);
            (loss(&plus) - loss(&minus)) / (2.0 * STEP)
        })
        .collect()
}

/// How a value of a point is reached: `nudge(p, k, δ)` adds `δ` to value `k`.
type Nudge<'a, P> = Box<dyn Fn(&mut P, usize, f64) + 'a>;
/// A slice tensor's length in a point.
type Len<'a, P> = Box<dyn Fn(&mut P) -> usize + 'a>;

/// One tensor of a point `P` for [`check`]: its name, the analytic gradient of the loss with
/// respect to its values, and where those values are in the point.
pub struct Tensor<'a, P> {
    name: String,
    analytic: Vec<f64>,
    nudge: Nudge<'a, P>,
    /// The tensor's length in a point, when it is known (a slice).
    len: Option<Len<'a, P>>,
}

impl<'a, P> Tensor<'a, P> {
    /// A tensor that is a slice of the point (`values(p)`), checked for its whole length
    /// (the analytic gradient must have that length).
    pub fn new(name: impl Into<String>, analytic: &[f64], values: impl Fn(&mut P) -> &mut [f64] + 'a) -> Self {
        let values = Rc::new(values);
        let for_len = Rc::clone(&values);
        Tensor {
            name: name.into(),
            analytic: analytic.to_vec(),
            nudge: Box::new(move |p, k, delta| values(p)[k] += delta),
            len: Some(Box::new(move |p| for_len(p).len())),
        }
    }

    /// A tensor whose value `k` is `value(p, k)`, for `k` below the analytic gradient's
    /// length (scalars spread over a point, e.g. a layer's parameters one by one).
    pub fn each(name: impl Into<String>, analytic: &[f64], value: impl Fn(&mut P, usize) -> &mut f64 + 'a) -> Self {
        Tensor::nudged(name, analytic.to_vec(), move |p, k, delta| *value(p, k) += delta)
    }

    /// A tensor moved by `nudge(p, k, δ)` (add `δ` to value `k`), for `k` below the analytic
    /// gradient's length: for values that no borrow can reach, e.g. through a visitor.
    pub fn nudged(name: impl Into<String>, analytic: Vec<f64>, nudge: impl Fn(&mut P, usize, f64) + 'a) -> Self {
        Tensor { name: name.into(), analytic, nudge: Box::new(nudge), len: None }
    }

    /// The tensor's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Checks the analytic gradient of every tensor of `point` against central differences of
/// `loss`, value by value.
///
/// # Panics
/// If a slice tensor ([`Tensor::new`]) and its analytic gradient have different lengths.
pub fn check<P: Clone>(point: &P, tensors: &[Tensor<'_, P>], loss: impl Fn(&P) -> f64) -> Report {
    let mut report = Report::default();
    for t in tensors {
        if let Some(len) = &t.len {
            let len = len(&mut point.clone());
            assert_eq!(len, t.analytic.len(), "{}: {len} values, {} analytic gradients", t.name, t.analytic.len());
        }
        let numeric = central_differences(point, t.analytic.len(), &t.nudge, &loss);
        report.merge(compare(&t.name, &t.analytic, &numeric));
    }
    report
}

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
    fn update(&self, _param: &mut [f64], grad: &[f64], _state: &mut [f64]) {
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
