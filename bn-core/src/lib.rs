//! # bn-core
//!
//! Statically shaped neural-network layers with exact Batch Normalization
//! (Ioffe & Szegedy 2015, *Batch Normalization: Accelerating Deep Network Training by
//! Reducing Internal Covariate Shift*, arXiv 1502.03167).
//!
//! Every dimension is a [`typenum`] type and every tensor an inline [`GenericArray`]:
//! shapes are checked by the compiler, a model holds no heap pointers, and forward,
//! backward and the optimizer step never allocate.
//!
//! - Layers (one per module, forward and backward side by side): [`Dense`], [`Conv2d`],
//!   [`BatchNorm`] (over features, or over the channels of images), [`Affine`], [`LayerNorm`],
//!   [`Dropout`], the pools [`MaxPool2d`] and [`AvgPool2d`], and the [`Activation`]s
//!   [`Sigmoid`], [`ReLU`], [`Tanh`].
//! - Losses: [`softmax_cross_entropy`], [`mse`]. Optimizer: [`Sgd`].
//! - Initialization: [`Init`] with a seeded [`Rng`].
//! - Folding: [`BatchNorm::to_affine`], [`Dense::fold_affine_after`] (Dense → BN) and
//!   [`Dense::fold_affine_before`] (BN → Dense).
//! - Construction without stack temporaries: [`boxed_zeroed`] (feature `alloc`).
//!
//! Training calls of a network with Batch Normalization take the batch size as a type
//! parameter `B: `[`TrainBatch`], which rejects a batch of 1 at compile time; networks
//! without it take any [`NonEmptyBatch`].
//!
//! ```
//! use bn_core::{Activation, Batch, BatchNorm, BatchNormCache, Dense, Init, Rng, Sigmoid};
//! use bn_core::typenum::{U3, U4, U8};
//!
//! // dense(3 => 4, no bias) → batchnorm → sigmoid, one training forward at batch size 8.
//! let mut rng = Rng::seed(0);
//! let dense = Dense::<U3, U4, f32, false>::new(Init::XavierNormal, &mut rng);
//! let mut bn = BatchNorm::<U4>::new();
//! let mut x = Batch::<U8, U3>::default();
//! Init::Gaussian { std: 1.0 }.fill(bn_core::flat_mut(&mut x), 1, 1, &mut rng);
//! let (mut h, mut z, mut a) = (Batch::default(), Batch::default(), Batch::default());
//! let mut cache = BatchNormCache::default();
//! dense.forward(&x, &mut h);
//! bn.forward_train(&h, &mut z, &mut cache);
//! Sigmoid::forward(&z, &mut a);
//! // Each feature of z has batch mean 0.
//! let mean0: f32 = z.iter().map(|row| row[0]).sum::<f32>() / 8.0;
//! assert!(mean0.abs() < 1e-6);
//! assert_eq!(bn.num_batches_tracked, 1);
//! ```
//!
//! The crate's layout (see `ARCHITECTURE.md` in the repository): `layers/` (one layer per
//! file), `train/` (losses, the optimizer, the `Network` trait and [`Trainer`]), `format/`
//! (weights files and the byte layout), `kernels/` (the numeric kernels, which know no
//! layer), and at the root [`embed!`] and the plumbing every part shares: [`Float`], the
//! shapes, zeroed construction, the seeded [`Rng`] and the [`Inference`] trait.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;
// Lets the crate's own tests use `bn_core::...` paths like a downstream crate.
extern crate self as bn_core;

#[doc(hidden)]
pub mod __private;
mod embed;
mod float;
mod format;
#[cfg(feature = "alloc")]
pub mod gradcheck;
mod inference;
pub mod kernels;
mod layers;
mod rng;
mod shape;
mod train;
mod zeroed;

#[doc(hidden)]
pub use embed::hidden as __embed;
pub use float::Float;
pub use format::{LoadError, PlainData, PlainScalar, StateDict, TensorMut, TensorName, TensorRef, TensorShape};
pub use inference::{accuracy, argmax, Inference};
pub use layers::{
    Activation, Affine, AvgPool2d, BatchNorm, BatchNormCache, BatchNormGrads, Conv2d, Conv2dBuffers, Conv2dGeometry,
    Conv2dScratch, Conv2dShape, ConvBlock, Dense, Dropout, Fused, LayerNorm, LayerNormCache, LayerNormGrads, MaxPool2d,
    Momentum, Pool2dGeometry, Pool2dShape, ReLU, Sigmoid, Tanh,
};
pub use rng::{Init, Rng};
pub use shape::{flat, flat_mut, sub_batch, sub_batch_mut, Batch, Matrix, NonEmptyBatch, TrainBatch, Vector};
pub use train::{
    mse, softmax_cross_entropy, Freeze, Loss, MeanSquaredError, Network, Optimizer, OutputAndGrad, Parameters, Sgd,
    SoftmaxCrossEntropy, Trainer,
};
#[cfg(feature = "alloc")]
pub use zeroed::boxed_zeroed;
pub use zeroed::{CacheAligned, Zeroable};

pub use generic_array::{self, GenericArray};
pub use typenum;

/// Declares a statically shaped network: a list of layers becomes typed training code
/// and a folded inference type, and shape errors become compile errors at your token.
///
/// ```
/// bn_core::network! {
///     /// Doc comments and attributes pass through to the generated type.
///     pub struct Mlp {
///         input: 784,
///         dense(100), batchnorm, sigmoid,
///         dense(100), batchnorm(eps = 1e-3, momentum = 0.01), sigmoid,
///         dense(100), batchnorm(momentum = cumulative), relu,
///         dense(10),
///     }
/// }
///
/// use bn_core::{typenum::U60, Batch, Sgd, SoftmaxCrossEntropy, Trainer};
/// let mut net = Mlp::new_boxed(42); // zeroed on the heap, initialized in place
/// let mut trainer = Trainer::<Mlp, U60>::new_boxed();
/// let x = Batch::<U60, _>::default();
/// let labels = Default::default();
/// let loss = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
/// assert!((loss - 10f32.ln()).abs() < 0.1);
/// let folded = net.fold_boxed(); // MlpFolded: no BN layer left
/// assert_eq!(folded.classify(&[0.0f32; 784]), net.classify(&[0.0f32; 784]));
/// assert_eq!(Mlp::PARAMS, 78_400 + 200 + 10_000 + 200 + 10_000 + 200 + 1_010);
/// ```
///
/// # Grammar
///
/// - `input: N` (first): the width of one sample; or `input: (C, H, W)`, an image of `C`
///   channels of `H × W` pixels, stored flat in C, H, W order (PyTorch's contiguous NCHW),
///   so a `[f32; C·H·W]` is a sample (as is `[[[f32; W]; H]; C]`). Optional `scalar: f64`
///   (default `f32`).
/// - `dense(N)` takes its input width from the previous layer; `dense(I => N)` states it and
///   is checked. A dense layer directly followed by `batchnorm` has no bias (β subsumes it)
///   unless written `dense(N, bias)`; `dense(N, no_bias)` drops it elsewhere. It needs
///   features: after an image, `flatten` first.
/// - `conv2d(OUT, kernel = K | (KH, KW), stride = S | (SH, SW), padding = P | (PH, PW))` on
///   an image (PyTorch's `Conv2d`, zero padding; defaults stride 1, padding 0; padding at
///   most half the kernel); `conv2d(IN => OUT, …)` states the input channels and is checked.
///   The bias rules are `dense`'s (`bias`, `no_bias`).
/// - `batchnorm`, with options `eps = 1e-5` (> 0) and `momentum = 0.1` (in (0, 1]) or
///   `momentum = cumulative` (the paper's population statistics). After an image it
///   normalizes each channel over the batch and every pixel (BatchNorm2d, `m' = B·H·W`).
///   `affine = false`: no γ/β (PyTorch's `affine=False`). `renorm` or `renorm(rmax = 3,
///   dmax = 5)`: Batch Renormalization (see [`BatchNorm::forward_train`]), `rmax ≥ 1`,
///   `dmax ≥ 0`, the declared limits in force until `set_renorm_limits`.
/// - `layernorm`, with options `eps = 1e-5` and `affine = false`: [`LayerNorm`] over the
///   values of one sample (`nn.LayerNorm([C, H, W])` after an image); kept in the folded
///   model. A network without `batchnorm` trains at batch size 1.
/// - `dropout(p)`, `0 ≤ p < 1`: inverted [`Dropout`] with masks from the trainer's seeded
///   state ([`Trainer::seed`]); the identity in eval, absent from the folded model.
/// - `maxpool(K)`, `maxpool(K, stride = S)`, `avgpool(K)`, `avgpool(K, stride = S)`: square
///   windows, no padding, floor semantics, default stride `K`. `flatten`: an image as its
///   `C·H·W` features (nothing is computed).
/// - `sigmoid`, `relu`, `tanh`, on features or images.
/// - Any layer may be named, `fc1: dense(100)`; the name is the field's name. Unnamed
///   layers are fields `dense0`, `batchnorm1`, `maxpool3`, … (kind and 0-based position:
///   every layer, `flatten` and pools included, takes the next `nn.Sequential` index).
///
/// # Generated items (for `struct Mlp`, with its visibility)
///
/// - `Mlp`: the parameters and population statistics, one field per dense/conv/BN layer;
///   `Mlp::INPUT`, `OUTPUT`, `PARAMS`, `SUMMARY` (also its `Display`: a layer table);
///   `new(seed)` (stack), `new_boxed(seed)` (heap, no stack temporaries), `init`,
///   `init_with(Init, seed)`.
/// - Training: `forward_train(&x, &mut ws)` at a batch size fixed at compile time, `B ≥ 2`
///   with a `batchnorm` (a batch of 1 does not compile), `B ≥ 1` without; `backward`,
///   `step(&grads, &mut state, &opt)`,
///   `train_step(&x, &labels, &loss, &opt, &mut trainer) -> loss`,
///   `recompute_population_statistics(batches, &mut ws)` (Algorithm 2),
///   `freeze_batchnorm(`[`Freeze`]`)` (fine-tuning), `set_renorm_limits(rmax, dmax)`.
/// - `MlpWorkspace<B>`: every layer's output `aK`, its gradient `dK`, each BN's batch
///   statistics `cK`, each conv's buffers `sK`, each max pool's argmax `iK` (a `flatten`
///   shares its input's buffers); `MlpGrads`: one field per parameter layer. [`Trainer`] bundles a
///   workspace, the gradients and the optimizer state.
/// - Eval with population statistics: `eval(&x)`, `eval_batch`, `forward_eval` (into a
///   workspace, keeping every layer's output), `classify`.
/// - `fold()`, `fold_boxed()`, `fold_into(&mut out)` → `MlpFolded`: no BN layer left (each BN
///   folded into the dense or conv layer before it, or into the one after it where that is
///   exact — a dense layer, also across `flatten`, or a conv without padding — or kept as
///   an [`Affine`] layer, per feature or per channel),
///   `Copy`, `#[repr(C)]`, with `forward`, `forward_batch` and `classify`.
/// - Weights files (feature `safetensors`): `save_safetensors()`, `load_safetensors(bytes)`
///   (on the heap) and `load_safetensors_into(&mut self, bytes)` on `Mlp` and `MlpFolded`, with
///   the tensor names of the equivalent `torch.nn.Sequential` (see [`StateDict`]); the folded
///   type's raw bytes through [`PlainData`] and [`embed!`].
/// - Traits `MlpInput` (`[f32; 784]` or `GenericArray<f32, U784>`) and `MlpBatch`, which
///   turn a wrong input width into a readable error; impls of [`Network`] and [`Inference`]
///   for generic code.
pub use bn_macros::network;
