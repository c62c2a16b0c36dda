//! # mnist-embedded
//!
//! A `#![no_std]` crate without an allocator that classifies MNIST digits with two trained
//! networks, every Batch Normalization folded away, each in `f32` and in int8:
//!
//! - [`classify`]: the paper's MLP (Ioffe & Szegedy 2015, §4.1), [`PaperBn`] folded into
//!   [`MODEL`]; [`classify_int8`]: the same quantized, [`MODEL_INT8`];
//! - [`classify_lenet`]: the convolutional experiment's LeNet, [`LeNetBn`] folded into
//!   [`LENET`]; [`classify_lenet_int8`]: quantized, [`LENET_INT8`].
//!
//! Each model is compiled in: a `static` that [`bn_core::embed!`] decodes from its
//! `model_folded.bin` or `model_int8.bin` at compile time: no parsing, no allocation and no
//! initialization at run time. The int8 models run integers only after the input's
//! quantization (TFLite's scheme: see bn-core's `quant` module); each is its folded model
//! quantized on the first 1,000 training digits (the host test checks this byte for byte).
//!
//! ## What it costs
//!
//! | | [`classify`] (MLP) | [`classify_int8`] | [`classify_lenet`] (LeNet) | [`classify_lenet_int8`] |
//! |---|---|---|---|---|
//! | `.rodata`: the model | 398,840 bytes (99,710 `f32`s) | 102,980 bytes | 36,392 bytes (9,098 `f32`s) | 9,391 bytes |
//! | `.text` of the whole binary | 6,839 bytes (3,128 with `portable`) | 5,264 (1,665) | 36,432 bytes (3,639 with `portable`) | 15,786 (5,913) |
//! | stack, no heap | 2,992 bytes | 2,672 (2,704) | 101,408 bytes | 5,352 |
//! | test digits right (of 1,000) | 902 | 899 | 961 | 960 |
//!
//! *Measured 2026-12-07 on a 2-core AMD EPYC (Zen 5, family 26) KVM guest, rustc 1.95.0.*
//! The int8 LeNet needs 19 times less stack than the `f32` one: its conv and max pool run as
//! one call, and its activations are bytes.
//! For each function, a `#![no_std]`, `#![no_main]` x86-64 binary outside this repository
//! (`x86_64-unknown-linux-gnu`, default target features, `opt-level = "s"`, LTO,
//! `panic = "abort"`, linked with `-nostartfiles -nostdlib -static`; a `memset` and a
//! `memcpy` of one `rep stosb` or `rep movsb`, and an entry point that calls the function on
//! an image in `.bss` and exits with the digit), and beside it the same binary with the same
//! code reading a zeroed model from `.bss`. From `size -A` and `nm`:
//!
//! - **`.rodata`**: the model is one symbol of exactly its file's bytes. The section grows by
//!   96 bytes more than that (398,936 and 36,488 bytes against the zeroed build): the
//!   optimizer also copies the output layer's 10 biases (40 bytes, and alignment) into a
//!   constant pool. With bn-core's `portable` feature the section grows by exactly the
//!   model's bytes.
//! - **`.text`**: everything in the binary, almost all of it inference code. Without `std`,
//!   bn-core takes its SIMD level from the compile-time target features, so with the
//!   default x86-64 features both functions run the portable kernels, yet the AVX2 and
//!   AVX-512 kernels are linked in too (31.8 KB of the LeNet's `.text`, 4.5 KB of the
//!   MLP's). The `portable` feature leaves them out (the sizes in parentheses);
//!   `-C target-cpu` with AVX2 or AVX-512 makes them the ones that run.
//! - **Stack**, measured by running: the binary paints 1 MiB below its stack pointer, calls
//!   the function through a pointer, and finds the deepest byte that changed. Along the
//!   deepest call chain of any kernel path, the frames in `objdump -d` (pushes and
//!   `sub rsp` of each prologue) add up to about 4.0 KB and 103.5 KB. The LeNet's stack is
//!   nearly all [`classify_lenet`]'s own frame (100,800 bytes of `sub rsp`): the
//!   buffers of its layers' activations, the first convolution's output alone 8×28×28
//!   `f32`s (25 KB). The LeNet takes 11 times less `.rodata` than the MLP, and 34 times
//!   more stack. For the int8 models the static bound is 3.4 KB (MLP) and 56.0 KB
//!   (LeNet: the SIMD conv kernels' stack buffers, linked but not run without AVX target
//!   features; 5.4 KB with `portable`, as measured).
//!
//! ## The model files
//!
//! They are what the examples write with their default settings:
//!
//! ```sh
//! cargo run --release --example paper -- --save examples/embedded/model
//! cargo run --release --example cnn -- --save examples/embedded/model/lenet
//! ```
//!
//! `model_folded.bin` and `model_int8.bin` are embedded (the examples write the int8 model,
//! calibrated on the first 1,000 training digits, beside the folded one; `UPDATE_INT8=1 cargo
//! test -p mnist-embedded` rewrites it from `model_folded.bin`); `model.safetensors` (the
//! trained BN network) is what the host tests check the embedded model against; the crate
//! keeps no other file. The paper
//! run (5000 SGD steps on the embedded 4000-digit training split) printed a test accuracy of
//! 90.20% for the eval path and for the folded model, with 0 of 1000 predictions
//! differing; the cnn run (2000 SGD steps at batch 60, run on 2026-12-07), 96.10% for both,
//! 0 of 1000 differing. Retrain and rebuild: a model of another shape does not compile, and
//! names both sizes.
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
    /// The convolutional experiment's LeNet with Batch Normalization after each convolution
    /// (per channel): the same layer list as `bn_paper::networks::LeNetBn` (a test asserts
    /// that the two declarations agree, layer by layer).
    pub struct LeNetBn {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        flatten,
        dense(10),
    }
}

/// The trained, folded LeNet, decoded from `model/lenet/model_folded.bin` by the compiler.
pub static LENET: LeNetBnFolded = bn_core::embed!(LeNetBnFolded, "../model/lenet/model_folded.bin");

// The class index fits the `u8` that `classify_lenet` returns.
const _: () = assert!(LeNetBnFolded::OUTPUT <= 256);

/// The digit (0–9) that the embedded LeNet predicts for a 28×28 image, row-major (one
/// channel), pixel values scaled to `[0, 1]` (as `bn_paper::mnist` loads them).
pub fn classify_lenet(image: &[f32; 784]) -> u8 {
    LENET.classify(image) as u8
}

/// The MLP quantized to int8 ([`PaperBnFolded::quantize`] on the first 1,000 training digits),
/// decoded from `model/model_int8.bin` by the compiler: a quarter of [`MODEL`]'s bytes.
pub static MODEL_INT8: PaperBnQuantized = bn_core::embed!(PaperBnQuantized, "../model/model_int8.bin");

/// The LeNet quantized to int8 (calibrated on the first 1,000 training digits), decoded from
/// `model/lenet/model_int8.bin` by the compiler.
pub static LENET_INT8: LeNetBnQuantized = bn_core::embed!(LeNetBnQuantized, "../model/lenet/model_int8.bin");

/// The digit that the int8 MLP predicts for a 28×28 image (pixels in `[0, 1]`): the image
/// quantized with the model's input parameters, then integers only.
pub fn classify_int8(image: &[f32; 784]) -> u8 {
    let (mut x, mut logits) = (GenericArray::default(), GenericArray::default());
    MODEL_INT8.quantize_input(image.into(), &mut x);
    MODEL_INT8.forward_q(&x, &mut logits);
    bn_core::argmax(&logits) as u8
}

/// The digit that the int8 LeNet predicts for a 28×28 image (pixels in `[0, 1]`).
pub fn classify_lenet_int8(image: &[f32; 784]) -> u8 {
    let (mut x, mut logits) = (GenericArray::default(), GenericArray::default());
    LENET_INT8.quantize_input(image.into(), &mut x);
    LENET_INT8.forward_q(&x, &mut logits);
    bn_core::argmax(&logits) as u8
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
