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
//!   [`GroupNorm`], [`Dropout`], the pools [`MaxPool2d`], [`AvgPool2d`] and [`GlobalAvgPool`],
//!   the skip connection's arithmetic [`Residual`], and the [`Activation`]s [`Sigmoid`],
//!   [`ReLU`], [`Tanh`].
//! - Losses: [`softmax_cross_entropy`], [`mse`]. Optimizers: [`Sgd`], [`Adam`], [`AdamW`];
//!   gradient clipping: [`Network::clip_grad_norm`].
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
//! Most code starts with [`network!`], which declares a whole network from a list of layers;
//! its documentation is the reference of the grammar and of the generated items. The
//! repository's `README.md` and `docs/` hold the experiments, measurements and guides.
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
#[cfg(any(feature = "alloc", test))]
mod finite_difference;
mod float;
mod format;
#[cfg(feature = "alloc")]
pub mod gradcheck;
mod inference;
pub mod kernels;
mod layers;
pub mod quant;
mod rng;
mod shape;
mod train;
mod zeroed;

#[doc(hidden)]
pub use embed::hidden as __embed;
pub use float::Float;
#[cfg(feature = "onnx")]
pub use format::{save_onnx, ONNX_OPSET};
pub use format::{
    Dims, Graph, LoadError, Node, Op, PlainData, PlainElement, PlainScalar, StateDict, TensorMut, TensorName,
    TensorRef, TensorShape,
};
pub use inference::{accuracy, argmax, Inference};
pub use layers::{
    Activation, Affine, AvgPool2d, BatchNorm, BatchNormCache, BatchNormGrads, Conv2d, Conv2dBuffers, Conv2dGeometry,
    Conv2dScratch, Conv2dShape, ConvBlock, Dense, Dropout, Fused, GlobalAvgPool, GroupNorm, GroupNormCache,
    GroupNormGrads, LayerNorm, LayerNormCache, LayerNormGrads, MaxPool2d, Momentum, Pool2dGeometry, Pool2dShape,
    QAffine, QConv2d, QDense, ReLU, Residual, Sigmoid, Tanh,
};
pub use rng::{Init, Rng};
pub use shape::{flat, flat_mut, sub_batch, sub_batch_mut, Batch, Matrix, NonEmptyBatch, TrainBatch, Vector};
pub use train::{
    mse, softmax_cross_entropy, Adam, AdamW, Anneal, CosineAnnealingLr, FixedLr, Freeze, LinearLr, Loss,
    MeanSquaredError, MultiStepLr, Network, OneCycleLr, Optimizer, OptimizerState, OutputAndGrad, ParamKind,
    Parameters, Schedule, Scheduled, SequentialLr, Sgd, Slots, SoftmaxCrossEntropy, StateMut, StepLr, Trainer,
};
#[cfg(feature = "alloc")]
pub use zeroed::boxed_zeroed;
pub use zeroed::{CacheAligned, Zeroable};

pub use generic_array::{self, GenericArray};
pub use typenum;

/// Declares a statically shaped network: a list of layers becomes typed training code
/// and a folded inference type, and shape errors become compile errors at your token.
///
/// This is the one reference of the grammar and of the generated items; the README and
/// `docs/` link here.
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
/// Images work the same way; the macro works out every size:
///
/// ```
/// bn_core::network! {
///     pub struct LeNetBn {
///         input: (1, 28, 28),
///         conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
///         conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
///         flatten,
///         dense(10),
///     }
/// }
///
/// assert_eq!(LeNetBn::INPUT, 784);
/// // conv 72 + BN 16 + conv 1,152 + BN 32 + dense 16·7·7·10 + 10.
/// assert_eq!(LeNetBn::PARAMS, 9_122);
/// assert!(LeNetBn::SUMMARY.contains("16×7×7"));
/// let net = LeNetBn::new_boxed(1);
/// let image = [[[0.5f32; 28]; 28]; 1]; // or a flat [f32; 784]: the same bytes
/// assert_eq!(net.classify(&image), net.classify(&[0.5f32; 784]));
/// ```
///
/// Residual blocks (He et al. 2016) are layers whose branches are lists of layers:
///
/// ```
/// bn_core::network! {
///     pub struct ResNet {
///         input: (1, 28, 28),
///         conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
///         residual {
///             conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
///             conv2d(16, kernel = 3, padding = 1), batchnorm,
///         },
///         relu,
///         stage2: residual {
///             conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
///             conv2d(32, kernel = 3, padding = 1), batchnorm,
///         } shortcut {
///             conv2d(32, kernel = 1, stride = 2), batchnorm,
///         },
///         relu,
///         global_avgpool,
///         dense(10),
///     }
/// }
///
/// let net = ResNet::new_boxed(1);
/// // Block fields hold their branches; a branch's layers are numbered from 0.
/// assert_eq!(net.residual3.body.conv2d0.weight.len(), 16);
/// assert_eq!(net.stage2.shortcut.batchnorm1.running_var.len(), 32);
/// assert!(ResNet::SUMMARY.contains("residual: body + shortcut"));
/// let folded = net.fold_boxed(); // every BN folded into the conv before it; the sums stay
/// let image = [0.25f32; 784];
/// assert_eq!(folded.classify(&image), net.classify(&image));
/// ```
///
/// # Grammar
///
/// A network is `VISIBILITY struct NAME { SETTINGS, LAYERS }`, optionally preceded by doc
/// comments and attributes (`#[cfg]` applies to every generated item).
///
/// **Settings**, first:
///
/// - `input: N`: the width of one sample. Or `input: (C, H, W)`: an image of `C` channels of
///   `H × W` pixels, stored flat in C, H, W order (PyTorch's contiguous NCHW), so
///   `[f32; C·H·W]`, `Batch<B, U{C·H·W}>` and the MNIST loaders work unchanged; the nested
///   `[[[f32; W]; H]; C]` is accepted too (same bytes, no copy).
/// - `scalar: f64` (optional; default `f32`).
///
/// **Layers**, comma-separated, in order (options in parentheses, defaults as shown):
///
/// - `dense(N)` takes its input width from the previous layer; `dense(I => N)` states it and
///   is checked. A dense layer directly followed by `batchnorm` has no bias (β subsumes it)
///   unless written `dense(N, bias)`; `dense(N, no_bias)` drops it elsewhere. It needs
///   features: after an image, `flatten` first.
/// - `conv2d(OUT, kernel = K | (KH, KW), stride = S | (SH, SW), padding = P | (PH, PW))` on
///   an image: PyTorch's `Conv2d` (zero padding; defaults stride 1 and padding 0; padding at
///   most half the kernel). `conv2d(IN => OUT, …)` states the input channels and is checked.
///   The bias rules are `dense`'s (`bias`, `no_bias`).
/// - `batchnorm`, with options `eps = 1e-5` (> 0) and `momentum = 0.1` (in (0, 1],
///   PyTorch's convention: the weight of the new value) or `momentum = cumulative` (the
///   paper's population statistics, PyTorch's `momentum=None`). After an image it normalizes
///   each channel over the batch and every pixel (PyTorch's `BatchNorm2d`: `m' = B·H·W`,
///   also in the unbiased factor of the running variance). More options:
///   - `affine = false`: no γ/β (PyTorch's `affine=False`: no `weight`/`bias` in the weights
///     file);
///   - `renorm` or `renorm(rmax = 3, dmax = 5)`: Batch Renormalization (Ioffe 2017; see
///     [`BatchNorm::forward_train`]), `rmax ≥ 1`, `dmax ≥ 0`, the declared limits in force
///     until `set_renorm_limits` changes them.
/// - `layernorm`, with options `eps = 1e-5` and `affine = false`: [`LayerNorm`], PyTorch's
///   `nn.LayerNorm` over the values of one sample (`nn.LayerNorm([C, H, W])` after an image):
///   the same computation in training and inference, no batch statistics, so a network
///   without `batchnorm` trains at batch size 1. It does not fold into a linear layer and
///   stays a layer of the folded model.
/// - `groupnorm(G)`, with options `eps = 1e-5` and `affine = false`, on an image:
///   [`GroupNorm`], PyTorch's `nn.GroupNorm(G, C)` (Wu & He 2018): per sample, each group of
///   `C/G` channels normalized over its channels and pixels; `G` must divide `C` (checked,
///   with the nearest divisors suggested). Like `layernorm` it needs no batch (a network
///   without `batchnorm` trains at batch size 1) and stays a layer of the folded model.
/// - `dropout(p)` or `dropout(p = 0.5)`, `0 ≤ p < 1`: inverted [`Dropout`] (kept values
///   scaled by `1/(1 − p)`), masks drawn from the trainer's seeded state ([`Trainer::seed`];
///   a new trainer starts from 0, so runs are reproducible); the identity in inference,
///   absent from the folded model (a BN across it still folds).
/// - `maxpool(K)`, `maxpool(K, stride = S)`, `avgpool(K)`, `avgpool(K, stride = S)`: square
///   windows, no padding, floor semantics, default stride `K`. Max pooling routes the
///   gradient to the first maximum of a window, or to its last NaN, as PyTorch does.
/// - `global_avgpool` on an image: the mean of each channel over its `H × W` pixels, `C`
///   features ([`GlobalAvgPool`]; Keras' `GlobalAveragePooling2D`, PyTorch's
///   `AdaptiveAvgPool2d(1)` then `Flatten`, in one index).
/// - `residual { BODY }`: `y = BODY(x) + x`, and `residual { BODY } shortcut { SHORTCUT }`:
///   `y = BODY(x) + SHORTCUT(x)` (no comma before `shortcut`). A branch is a non-empty list
///   of any layers, blocks included (blocks nest), on images or features. The body must
///   give the block's input shape, or the shortcut's: otherwise an error at `residual`
///   naming both shapes and suggesting the shortcut that fits (`shortcut { conv2d(32, kernel
///   = 1, stride = 2) }`, `shortcut { dense(50) }`). Training is exact: both branches read
///   the block's input, the gradient at the fork is the sum of both branches', and every
///   layer option works inside a branch (frozen and renorm BN, `affine = false`, LayerNorm,
///   GroupNorm, dropout). A `relu` right after a block runs fused with its sum
///   ([`Residual::add_relu`]) forward and backward.
/// - `flatten`: an image's `C·H·W` values as features, in C, H, W order (nothing is
///   computed).
/// - `sigmoid`, `relu`, `tanh`, on features or images.
///
/// **Names.** Any layer may be named, `fc1: dense(100)`; the name is its field. Unnamed
/// layers are fields `dense0`, `batchnorm1`, `maxpool3`, … (kind and 0-based position K:
/// every layer, `flatten`, activations and pools included, takes the next `nn.Sequential`
/// index), so the weights files carry PyTorch's `state_dict` names. A block takes one index
/// K like any layer (field `residualK`, or its name: `stage2: residual { … }`); its branches
/// are fields `body` and `shortcut` whose layers are numbered from 0 within the branch, so a
/// weight is `K.body.J.weight` or `stage2.shortcut.J.weight`, the names of an `nn.Module`
/// with `body` and `shortcut` `nn.Sequential`s (`tools/pytorch_interop_resnet.py` ships it,
/// with `GlobalAvgPool`).
///
/// # Compile-time errors
///
/// Every rule is checked before anything is generated and *every* error is reported at the
/// offending token, with sizes in decimal:
///
/// ```text
/// error: layer 4 `dense(50 => 10)` expects 50 inputs, but the previous layer gives 100
/// error: unknown layer `desne`; did you mean `dense`?
/// error: `momentum` must be in (0, 1] or `cumulative`, found `1.5`
/// error: layer 5 `conv2d(16, kernel = 7)`: a 7×7 kernel does not fit the 5×5 input (padding 0)
/// error: layer 9 `dense(10)` after a 16×7×7 image: add `flatten` first
/// error: `conv2d(3 => 16)` expects 3 channels, but the previous layer gives 8
/// error[E0277]: training needs a batch of at least 2 samples
/// error[E0277]: `[f32; 3]` is not an input of `Mlp`: it takes 784 values of `f32`
/// ```
///
/// After an error the macro still declares every item below (with unreachable bodies), so
/// code that uses the network shows the one real error, not a cascade. `tests/ui/` in the
/// repository holds over a hundred such cases, one rule per file, with their `.stderr`
/// snapshots.
///
/// # Generated items (for `struct Mlp`, with its visibility)
///
/// **The network `Mlp`**: the parameters and population statistics, one public field per
/// dense, conv, BN and LayerNorm layer. `#[repr(C, align(64))]` (as are `MlpGrads` and
/// `MlpWorkspace`: each starts on a cache line, as does every buffer in it that follows whole
/// lines); `Clone`, `Debug`, `PartialEq`, and `Display` (the summary).
///
/// - `Mlp::INPUT`, `OUTPUT` (widths), `PARAMS` (trainable scalars), `SUMMARY` (a layer table
///   like Keras' `summary()`: each layer's output shape, `8×28×28` for an image, and its
///   parameter count, then the folded model's layers).
/// - `new(seed)` (on the stack: small networks), `new_boxed(seed)` (zeroed on the heap and
///   initialized in place, no stack temporary), `init(seed)`, `init_with(`[`Init`]`, seed)`.
///   The default initialization is He normal before a ReLU, Xavier normal otherwise, biases
///   zero.
///
/// **Training**, at a batch size `B` fixed at compile time: `B ≥ 2` ([`TrainBatch`]) for a
/// network with a `batchnorm` (batch statistics; a batch of 1 does not compile), `B ≥ 1`
/// ([`NonEmptyBatch`]) without.
///
/// - `forward_train(&x, &mut ws)`: every layer's output into the workspace.
/// - `backward(&x, &mut ws, &mut grads)`: the exact gradient, through BN's μ_B and σ²_B.
/// - `step(&grads, &mut state, &opt)`: the optimizer step ([`Sgd`], [`Adam`], [`AdamW`], or
///   any [`Optimizer`]) with its state, an [`OptimizerState`]`<MlpGrads>` (moments and step
///   count: the step count moves on first, then every trained tensor gets its gradient, its
///   slots and its [`ParamKind`]).
/// - `clip_grad_norm(&mut grads, max_norm) -> norm`: PyTorch's `clip_grad_norm_` over every
///   trained tensor (between `backward` and `step`).
/// - `train_step(&x, &labels, &loss, &opt, &mut trainer) -> loss`: forward, loss, backward
///   and step in one call; [`Trainer`] bundles a workspace, the gradients and the optimizer
///   state. `train_step_clipped(&x, &labels, &loss, &opt, max_norm, &mut trainer) -> (loss,
///   norm)` clips the gradients before the step.
/// - `recompute_population_statistics(batches, &mut ws)`: the paper's Algorithm 2, steps
///   8–11, with the parameters frozen (every BN gets plain statistics, frozen and renorm
///   modes switched off meanwhile).
/// - `freeze_batchnorm(`[`Freeze`]`)` for fine-tuning: `Freeze::Statistics` makes training
///   steps normalize with the population statistics (left unchanged) and backpropagate
///   through that fixed affine map, as PyTorch's `bn.eval()` in a training loop;
///   `Freeze::All` also fixes γ and β; `Freeze::No` undoes it. One layer: its field's
///   `freeze`.
/// - `set_renorm_limits(rmax, dmax)`: the current limits of every `batchnorm(renorm)` layer
///   (one layer: its `rmax` and `dmax` fields).
///
/// **Inference** with the population statistics: `eval(&x)`, `eval_batch(&x, &mut y)`,
/// `forward_eval(&x, &mut ws)` (into a workspace, keeping every layer's output) and
/// `classify(&x)`.
///
/// **`MlpWorkspace<B>`**, inline arrays for a batch of `B`: layer K's output `aK` and its
/// gradient `dK`; each BN's batch statistics (each LayerNorm's per-sample statistics) `cK`;
/// each dropout's mask `mK`, and `dropout_state`; each conv's buffers `sK` (a padded image,
/// or the column matrix for strides other than 1); each max pool's argmax `iK`. `flatten`
/// has no buffer of its own, and a BN over images followed by `relu` runs fused (one pass
/// forward and one backward) and writes the ReLU's buffer. The four layers of a
/// `conv2d, batchnorm, relu, maxpool` block (a BN without `renorm`) train as one block, a
/// sample at a time, so some of their buffers hold only scratch after a training step; each
/// field's doc says which.
///
/// **`MlpGrads`**: one field per parameter layer (also the type of each slot of the optimizer
/// state: [`OptimizerState`]`<MlpGrads>` holds three, `m`, `v` and `v_max`).
///
/// The pieces of a training step, as in a PyTorch loop (`loss.backward()`,
/// `clip_grad_norm_(model.parameters(), 1.0)`, `opt.step()`), for code that needs them apart:
///
/// ```
/// bn_core::network! {
///     pub struct Small { input: 4, dense(8), batchnorm, relu, dense(3) }
/// }
/// use bn_core::{typenum::U16, AdamW, Batch, Loss, Network, SoftmaxCrossEntropy, Trainer};
/// let mut net = Small::new_boxed(1);
/// let mut trainer = Trainer::<Small, U16>::new_boxed();
/// let opt = AdamW::new(1e-3).with_weight_decay(0.05).excluding_norm_and_bias_from_decay();
/// let x = Batch::<U16, _>::default();
/// let labels = Default::default();
/// net.forward_train(&x, &mut trainer.workspace);
/// let (out, dout) = Small::output_and_grad(&mut trainer.workspace);
/// let loss = SoftmaxCrossEntropy.loss_and_grad(out, &labels, dout);
/// net.backward(&x, &mut trainer.workspace, &mut trainer.grads);
/// let norm = net.clip_grad_norm(&mut trainer.grads, 1.0);
/// net.step(&trainer.grads, &mut trainer.state, &opt);
/// assert_eq!(trainer.state.step, 1);
/// // The same in one call:
/// let (loss2, norm2) = net.train_step_clipped(&x, &labels, &SoftmaxCrossEntropy, &opt, 1.0, &mut trainer);
/// assert!(loss.is_finite() && norm.is_finite() && loss2.is_finite() && norm2.is_finite());
/// ```
///
/// **Blocks.** A `residual` at index K of `Mlp` declares `MlpResidualK` (the field's type)
/// with the fields `body: MlpResidualKBody` and, with a shortcut, `shortcut:
/// MlpResidualKShortcut`, each built by the rules above, and their `…Grads`, `…Workspace`
/// and `…Folded` twins; a nested block continues the name (`MlpResidual3BodyResidual1`). The
/// SUMMARY shows each block's branches indented, with shapes and parameter counts.
///
/// **Folding: `fold()`, `fold_boxed()`, `fold_into(&mut out)` → `MlpFolded`**, the
/// inference model: no BN layer left, no dropout, LayerNorms kept as they are. Each BN folds
/// into the dense or conv layer before it (for a conv, PyTorch's `fuse_conv_bn_eval`
/// formula), else into the layer after it where that is exact (a dense layer, also across
/// `flatten`, or a conv without padding: `W·diag(a)`), else it stays a per-feature or
/// per-channel [`Affine`] layer; folding never crosses a nonlinearity. Inside a block each
/// branch is planned on its own (a BN first in a branch has no layer before it there), the
/// shortcut's BN folds into the shortcut's conv, and the addition stays; the folded
/// branches are renumbered from 0. `MlpFolded` is
/// `#[repr(C)]`, only scalars, `Copy`, `Send`, `Sync`, `Clone`, `Debug`, `PartialEq`,
/// `Display`; it has `INPUT`, `OUTPUT`, `forward`, `forward_batch` (chunks of samples, the
/// same results as one at a time) and `classify`, and its bytes are the model file:
/// [`PlainData`]'s `to_bytes`/`from_bytes`, and [`embed!`] for a `static` in a `no_std`
/// binary (wrap it in [`CacheAligned`] for the lowest one-sample latency).
///
/// **Weights files** (feature `safetensors`): `save_safetensors()`,
/// `load_safetensors(bytes)` (on the heap) and `load_safetensors_into(&mut self, bytes)` on
/// `Mlp` and `MlpFolded`, with the names, shapes and dtypes of the equivalent
/// `torch.nn.Sequential`'s `state_dict` (see [`StateDict`], which both types implement, with
/// `is_finite()`). A bad file is a [`LoadError`] and leaves the model unchanged.
///
/// **ONNX files** (feature `onnx`, default): `save_onnx()` on `Mlp` (inference: BN with its
/// population statistics, dropout left out) and on `MlpFolded`, opset 17, input `input`
/// `[batch, 784]`, output `logits`, `FLOAT` values (an `f64` network's too), the
/// initializers under the weights files' names, the nodes under the fields' names (see
/// [`save_onnx`]). Both types implement [`Graph`], the layers as data.
///
/// **int8: `MlpFolded::quantize(&calibration)` → `Box<MlpQuantized>`** (with `alloc`), the
/// folded model quantized post-training with TFLite's scheme (see [`quant`]): `calibrate(
/// &inputs, Observer::MinMax | Observer::Percentile(p))` records the range of the input and
/// of each dense, conv or affine layer's output over the user's inputs (after the ReLU that
/// follows it, which becomes its clamp), `quantize_with(&ranges)` builds the model from
/// ranges (yours or `calibrate`'s), `quantize` is both with min/max. Weights int8 symmetric
/// per output channel, activations int8 asymmetric per tensor, biases `i32`, requantization
/// by fixed-point multipliers, sigmoid and tanh as 256-entry tables: integers only from
/// the quantized input to the int8 logits. `MlpQuantized` is bytes only (`#[repr(C)]`,
/// alignment 1, [`PlainData`] with `u8` scalars, `Copy`: [`embed!`] compiles it in) and has
/// `TENSORS` (the calibrated tensors' names), `forward_q(&x_i8, &mut logits_i8)`,
/// `quantize_input`, `forward`, `forward_batch` and `classify` (`f32` in, `f32` out, through
/// [`Inference`]). A network with a LayerNorm, a GroupNorm, a residual block, or of `f64`
/// gets no `MlpQuantized`: its `quantize` is a compile error that names the layer kind. The
/// folded type implements [`quant::Quantize`] for generic code.
///
/// **Traits**: `MlpInput` (`[f32; 784]` or `GenericArray<f32, U784>`; for an image also
/// `[[[f32; W]; H]; C]`) and `MlpBatch`, which turn a wrong input width into a readable
/// error; impls of [`Network`] and [`Inference`] for code generic over networks
/// ([`Trainer`], [`accuracy`]).
///
/// # The expansion
///
/// Generated code names only `::core::…` and `::bn_core::__private::…`, and its size grows
/// with the number of layers, not their widths or image sizes: every loop lives in bn-core,
/// and a size above 1024 is spelled `Sum<Prod<hi, U1024>, lo>`, so even its spelling stays
/// short: `bn-macros-impl/src/snapshot_tests.rs` bounds a LeNet's expansion at 1.5 times a
/// tiny conv net's and a 3×224×224 stem's at 1.7 times (they were 1.36 and 1.58 times on
/// 2026-12-02). The checked-in expansion of a small network is
/// `bn-macros-impl/snapshots/tiny.expanded.rs`.
pub use bn_macros::network;
