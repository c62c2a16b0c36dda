//! # mnist-embedded
//!
//! A `#![no_std]` crate without an allocator that classifies MNIST digits with the paper's
//! trained network (Ioffe & Szegedy 2015, §4.1), every Batch Normalization folded away.
//!
//! The folded model is compiled in: [`MODEL`] is a `static` that [`bn_core::embed!`] decodes
//! from `model/model_folded.bin` at compile time: no parsing, no allocation and no
//! initialization at run time.
//!
//! What it costs, measured on x86-64 in a `#![no_std]`, `#![no_main]` binary that calls
//! [`classify`] (`opt-level = "s"`, LTO, `panic = "abort"`): the model adds exactly its
//! 398,840 bytes (99,710 `f32`s) to `.rodata` (binary 405,344 bytes with it, 6,504 bytes
//! with the same code reading a zeroed model from `.bss`); all of the inference code is
//! about 3 KB of `.text`; [`classify`] uses about 2.7 KB of stack (its three 100-wide
//! hidden layers) and no heap.
//!
//! The model file is what the paper example writes:
//!
//! ```sh
//! cargo run --release --example paper -- --save examples/embedded/model
//! ```
//!
//! (the default settings: 5000 SGD steps on the embedded 4000-digit training split; the run
//! printed a test accuracy of 90.20% for the eval path and for the folded model, with 0 of
//! 1000 predictions differing). Retrain and rebuild: a model of another shape does not
//! compile, and names both sizes.
//!
//! [`train_tiny_demo`] shows that training works in `no_std` too: a small network learns
//! XOR with a [`Trainer`] on the stack.
#![no_std]
#![warn(missing_docs)]

use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U2, U4};
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    /// The paper's MNIST network with Batch Normalization before every sigmoid: the same
    /// layer list as `bn_paper::experiment::PaperBn` (a test asserts that the two
    /// declarations agree, layer by layer).
    pub struct PaperBn {
        input: 784,
        dense(100), batchnorm, sigmoid,
        dense(100), batchnorm, sigmoid,
        dense(100), batchnorm, sigmoid,
        dense(10),
    }
}

/// The trained, folded MNIST model, decoded from `model/model_folded.bin` by the compiler.
pub static MODEL: PaperBnFolded = bn_core::embed!(PaperBnFolded, "../model/model_folded.bin");

// The class index fits the `u8` that `classify` returns.
const _: () = assert!(PaperBnFolded::OUTPUT <= 256);

/// The digit (0–9) that the embedded model predicts for a 28×28 image, row-major, pixel
/// values scaled to `[0, 1]` (as `bn_paper::mnist` loads them).
pub fn classify(image: &[f32; 784]) -> u8 {
    MODEL.classify(image) as u8
}

bn_core::network! {
    /// A tiny network for the `no_std` training demo: 2 → 8 (BN, tanh) → 2.
    pub struct TinyXor {
        input: 2,
        dense(8), batchnorm, tanh,
        dense(2),
    }
}

/// What [`train_tiny_demo`] reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TinyDemo {
    /// The loss of the first training step.
    pub first_loss: f32,
    /// The loss of the last training step.
    pub last_loss: f32,
    /// How many of the four XOR points the folded model classifies correctly.
    pub folded_correct: usize,
}

/// Trains [`TinyXor`] on XOR for `steps` full-batch SGD steps (learning rate 0.2, momentum
/// 0.9), with no heap: the network, the [`Trainer`] (workspace, gradients, momentum) and
/// the folded model are on the stack. Then recomputes the population statistics over the
/// training batch (Algorithm 2), folds, and counts the folded model's correct predictions.
pub fn train_tiny_demo(steps: usize) -> TinyDemo {
    let x: Batch<U4, U2> = GenericArray::from([
        GenericArray::from([0.0, 0.0]),
        GenericArray::from([0.0, 1.0]),
        GenericArray::from([1.0, 0.0]),
        GenericArray::from([1.0, 1.0]),
    ]);
    let labels = GenericArray::<usize, U4>::from([0, 1, 1, 0]);
    let mut net = TinyXor::new(1);
    let mut trainer = Trainer::<TinyXor, U4>::new();
    let opt = Sgd::new(0.2).with_momentum(0.9);
    let (mut first_loss, mut last_loss) = (f32::NAN, f32::NAN);
    for step in 0..steps {
        last_loss = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
        if step == 0 {
            first_loss = last_loss;
        }
    }
    net.recompute_population_statistics([&x], &mut trainer.workspace);
    let folded = net.fold();
    let folded_correct = x.iter().zip(labels.iter()).filter(|(xi, &label)| folded.classify(*xi) == label).count();
    TinyDemo { first_loss, last_loss, folded_correct }
}
