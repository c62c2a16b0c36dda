//! The core of [`gradcheck`](crate::gradcheck): central finite differences of a loss over
//! the values of a point's tensors, compared with analytic gradients,
//!
//! ```text
//! n_k = (ℓ(p + h·e_k) − ℓ(p − h·e_k)) / 2h,   accepted when |a_k − n_k| ≤ 1e-6 · (1 + max(|a_k|, |n_k|))
//! ```
//!
//! It knows nothing of layers, networks or files (the layers' unit tests use it; the
//! whole-network check in `gradcheck` builds on it). Public through `bn_core::gradcheck`.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The step `h` of the central differences.
pub const STEP: f64 = 1e-6;

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
