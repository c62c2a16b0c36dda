//! Measuring a network: the accuracy of its eval path over a data set in chunks, and the
//! predictions of an inference model (the eval path or the folded model), one sample at a
//! time and batched, timed.

use std::time::Instant;

use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::quant::Quantize;
use bn_core::typenum::{U10, U100, U784};
use bn_core::{Batch, Inference, Network, PlainData, Trainer};

use super::sampler::fill_rows;
use crate::mnist::Dataset;

/// The accuracy of `net`'s eval path (population statistics) on `data`, through
/// `forward_eval` in chunks of `C` digits, with `ws` and `x` as the chunk's workspace and
/// input; `inspect(ws, n)` sees the workspace after each chunk's forward (its first `n` rows
/// are the chunk's digits), e.g. to read a hidden layer's values.
pub fn evaluate<N, C>(
    net: &N,
    data: &Dataset,
    ws: &mut N::Workspace<C>,
    x: &mut Batch<C, U784>,
    mut inspect: impl FnMut(&N::Workspace<C>, usize),
) -> f64
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
    C: ArrayLength,
{
    let mut correct = 0;
    for start in (0..data.len()).step_by(C::USIZE) {
        let n = C::USIZE.min(data.len() - start);
        fill_rows(x, data, start, n);
        let out = net.forward_eval(x, ws);
        correct +=
            out.iter().take(n).zip(&data.labels()[start..]).filter(|(o, &l)| bn_core::argmax(o) == l as usize).count();
        inspect(ws, n);
    }
    correct as f64 / data.len().max(1) as f64
}

/// The buffers of [`evaluate`] for a network `N` and chunks of `C` digits, on the heap.
pub struct Evaluator<N: Network, C: ArrayLength> {
    trainer: Box<Trainer<N, C>>,
    x: Box<Batch<C, U784>>,
}

impl<N, C> Evaluator<N, C>
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
    C: ArrayLength,
{
    /// Zeroed buffers.
    pub fn new() -> Self {
        Evaluator { trainer: Trainer::new_boxed(), x: bn_core::boxed_zeroed() }
    }

    /// [`evaluate`] with these buffers.
    pub fn accuracy(&mut self, net: &N, data: &Dataset, inspect: impl FnMut(&N::Workspace<C>, usize)) -> f64 {
        evaluate(net, data, &mut self.trainer.workspace, &mut self.x, inspect)
    }
}

impl<N, C> Default for Evaluator<N, C>
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
    C: ArrayLength,
{
    fn default() -> Self {
        Self::new()
    }
}

/// The accuracy of `net`'s eval path on `data` ([`evaluate`] in chunks of 100, with
/// buffers of its own).
pub fn accuracy<N>(net: &N, data: &Dataset) -> f64
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
{
    Evaluator::<N, U100>::new().accuracy(net, data, |_, _| {})
}

/// Inference time per sample, in nanoseconds: the mean over passes over the whole test set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// The folded model, one sample at a time (`classify`).
    pub folded_one: f64,
    /// The folded model's `forward_batch`, in chunks.
    pub folded_batch: f64,
    /// The network's eval path (population statistics), one sample at a time.
    pub eval_one: f64,
    /// The eval path's `forward_batch`, in chunks.
    pub eval_batch: f64,
}

/// A trained BN network's folded model checked against its eval path on the test set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FoldCheck {
    /// Test accuracy of the eval path, one sample at a time.
    pub eval_acc: f64,
    /// Test accuracy of the folded model, one sample at a time.
    pub folded_acc: f64,
    /// Test samples on which the folded and the eval predictions differ (one sample at a
    /// time).
    pub folded_disagreements: usize,
    /// Test samples on which a `forward_batch` prediction differs from the same model's
    /// one-sample prediction (folded model and eval path together).
    pub batch_disagreements: usize,
    /// Inference time per sample.
    pub timing: Timing,
}

/// Folds `net` and compares and times its inference paths on every digit of `test`: the
/// eval path and the folded model, each one sample at a time (`classify`) and through
/// `forward_batch` in chunks of `C` (the test set copied into chunks beforehand), each timed
/// over at least `timed_forwards` forwards (whole passes over the test set, at least one).
pub fn check_folding<N, C>(net: &N, test: &Dataset, timed_forwards: usize) -> (Box<N::Folded>, FoldCheck)
where
    N: Network<Scalar = f32, Input = U784, Output = U10>,
    C: ArrayLength,
{
    let folded = net.fold_boxed();
    let chunks = test_chunks::<C>(test);
    let passes = timed_forwards.div_ceil(test.len().max(1)).max(1);
    let ([eval_pred, eval_batch_pred], [eval_one, eval_batch]) = predictions(net, test, &chunks, passes);
    let ([folded_pred, folded_batch_pred], [folded_one, folded_batch]) = predictions(&*folded, test, &chunks, passes);

    let hits = |pred: &[usize]| hits(pred, test);
    let n = test.len().max(1) as f64;
    let check = FoldCheck {
        eval_acc: hits(&eval_pred) as f64 / n,
        folded_acc: hits(&folded_pred) as f64 / n,
        folded_disagreements: differ(&eval_pred, &folded_pred),
        batch_disagreements: differ(&eval_pred, &eval_batch_pred) + differ(&folded_pred, &folded_batch_pred),
        timing: Timing { folded_one, folded_batch, eval_one, eval_batch },
    };
    (folded, check)
}

/// The digits of `test` in chunks of `C` (the last one padded with zeros), for
/// `forward_batch`.
fn test_chunks<C: ArrayLength>(test: &Dataset) -> Vec<Box<Batch<C, U784>>> {
    let mut chunks = Vec::new();
    for start in (0..test.len()).step_by(C::USIZE) {
        let mut x = bn_core::boxed_zeroed::<Batch<C, U784>>();
        fill_rows(&mut x, test, start, C::USIZE.min(test.len() - start));
        chunks.push(x);
    }
    chunks
}

/// How many of the predictions `pred` (one per digit of `test`) are the digits' labels.
fn hits(pred: &[usize], test: &Dataset) -> usize {
    pred.iter().zip(test.labels()).filter(|(p, &l)| **p == l as usize).count()
}

/// How many of two prediction lists' classes differ.
fn differ(a: &[usize], b: &[usize]) -> usize {
    a.iter().zip(b).filter(|(a, b)| a != b).count()
}

/// A folded model's int8 model (calibrated on the first `CALIBRATION` training digits)
/// checked against it on the test set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Int8Check {
    /// Test accuracy of the folded `f32` model, one sample at a time.
    pub folded_acc: f64,
    /// Test accuracy of the int8 model.
    pub int8_acc: f64,
    /// Test digits on which the two predict different classes.
    pub disagreements: usize,
    /// The folded model's bytes and the int8 model's.
    pub bytes: [usize; 2],
    /// Nanoseconds per sample: folded one sample, folded batched, int8 one sample, int8 batched.
    pub ns: [f64; 4],
}

/// How many training digits calibrate an int8 model (the first ones of the training set).
pub const CALIBRATION: usize = 1000;

/// Quantizes `folded` on the first [`CALIBRATION`] digits of `train` (min/max ranges) and
/// compares and times both models on every digit of `test`, one sample at a time and through
/// `forward_batch` in chunks of 100, over at least `timed_forwards` forwards each.
///
/// # Errors
/// The quantization's ([`bn_core::quant::QuantizeError`]).
pub fn check_int8<F>(
    folded: &F,
    train: &Dataset,
    test: &Dataset,
    timed_forwards: usize,
) -> Result<(Box<F::Quantized>, Int8Check), bn_core::quant::QuantizeError>
where
    F: Quantize + Inference<Scalar = f32, Input = U784, Output = U10> + PlainData,
{
    let calibration: Vec<_> =
        (0..CALIBRATION.min(train.len())).map(|i| *GenericArray::from_slice(train.sample(i))).collect();
    let quantized = folded.quantize(&calibration)?;
    let chunks = test_chunks::<U100>(test);
    let passes = timed_forwards.div_ceil(test.len().max(1)).max(1);
    let ([f_pred, _], [f_one, f_batch]) = predictions(folded, test, &chunks, passes);
    let ([q_pred, _], [q_one, q_batch]) = predictions(&*quantized, test, &chunks, passes);
    let n = test.len().max(1) as f64;
    let check = Int8Check {
        folded_acc: hits(&f_pred, test) as f64 / n,
        int8_acc: hits(&q_pred, test) as f64 / n,
        disagreements: differ(&f_pred, &q_pred),
        bytes: [F::BYTE_LEN, <F::Quantized as PlainData>::BYTE_LEN],
        ns: [f_one, f_batch, q_one, q_batch],
    };
    Ok((quantized, check))
}

/// The predictions of `model` on every test digit, one sample at a time (`classify`) and
/// through `forward_batch` over `chunks` (the test set in chunks of `C`), and the mean
/// nanoseconds per sample of each over `passes` passes.
fn predictions<M, C>(
    model: &M,
    test: &Dataset,
    chunks: &[Box<Batch<C, U784>>],
    passes: usize,
) -> ([Vec<usize>; 2], [f64; 2])
where
    M: Inference<Scalar = f32, Input = U784, Output = U10>,
    C: ArrayLength,
{
    let n = test.len();
    let (mut one, mut batched) = (Vec::with_capacity(n), Vec::with_capacity(chunks.len() * C::USIZE));
    let t0 = Instant::now();
    for pass in 0..passes {
        for i in 0..n {
            let class = model.classify(GenericArray::from_slice(test.sample(i)));
            if pass == 0 {
                one.push(class);
            }
        }
    }
    let one_ns = t0.elapsed().as_nanos() as f64 / (passes * n).max(1) as f64;
    let mut y = bn_core::boxed_zeroed::<Batch<C, U10>>();
    let t0 = Instant::now();
    for pass in 0..passes {
        for x in chunks {
            model.forward_batch(x, &mut y);
            if pass == 0 {
                batched.extend(y.iter().map(|o| bn_core::argmax(o)));
            }
        }
    }
    let batch_ns = t0.elapsed().as_nanos() as f64 / (passes * n).max(1) as f64;
    batched.truncate(n);
    ([one, batched], [one_ns, batch_ns])
}
