//! The validated network: widths are known, options are in range, and every layer keeps
//! the user's tokens for spans. And, for an invocation with errors, its [`Outline`]: what
//! the checks could still establish.

use syn::{Attribute, Ident, Visibility};

pub struct Model {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Shape,
    /// `f32` or `f64`.
    pub scalar: Ident,
    pub layers: Vec<Layer>,
}

/// What the checks learned of an invocation that has errors: enough for the fallback to
/// declare the network's items, so that the code using it type-checks.
pub struct Outline {
    /// The user's attributes (the fallback keeps only the `#[cfg]`s).
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// `f32` or `f64` (`f32` when not given, or not valid).
    pub scalar: Ident,
    /// The input shape, if it was given and valid.
    pub input: Option<Shape>,
    /// The output width (elements of one output sample), if known: tracked through the
    /// layers (unknown after an error until a later `dense(N)`).
    pub output: Option<usize>,
}

/// The shape of one sample between two layers: a vector of features, or a `C × H × W`
/// image stored flat in C, H, W order (PyTorch's contiguous NCHW), so that either is one
/// vector of [`len`](Shape::len) values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `N` features.
    Flat(usize),
    /// `c` channels of `h × w` pixels.
    Image { c: usize, h: usize, w: usize },
}

impl Shape {
    /// The number of values of one sample.
    pub fn len(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image { c, h, w } => c * h * w,
        }
    }

    /// The values per channel: `h·w` for an image, 1 for features (each its own channel).
    #[allow(dead_code)] // for the generators of the image layers
    pub fn pixels(self) -> usize {
        match self {
            Shape::Flat(_) => 1,
            Shape::Image { h, w, .. } => h * w,
        }
    }

    /// The channels BN normalizes over: an image's channels, or every feature.
    pub fn channels(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image { c, .. } => c,
        }
    }

    /// `784` or `8×28×28`.
    pub fn show(self) -> String {
        match self {
            Shape::Flat(n) => n.to_string(),
            Shape::Image { c, h, w } => format!("{c}×{h}×{w}"),
        }
    }
}

pub struct Layer {
    /// The field name: the user's name, or `{kind}{index}` (0-based, like PyTorch's
    /// `nn.Sequential` indices).
    pub field: Ident,
    /// Whether the user named the layer (`fc1: dense(100)`): its weights file names then use
    /// the name as prefix (`fc1.weight`) instead of the layer's index (`0.weight`).
    pub named: bool,
    pub kind: Kind,
    /// The shape of the layer's input.
    pub input: Shape,
    /// How the layer is shown in summaries.
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Sigmoid,
    ReLU,
    Tanh,
}

impl Act {
    pub const ALL: [(&'static str, Act); 3] = [("sigmoid", Act::Sigmoid), ("relu", Act::ReLU), ("tanh", Act::Tanh)];
    pub fn type_name(self) -> &'static str {
        match self {
            Act::Sigmoid => "Sigmoid",
            Act::ReLU => "ReLU",
            Act::Tanh => "Tanh",
        }
    }
}

/// The ε of a `batchnorm` without `eps = …` (PyTorch's default).
pub const DEFAULT_EPS: f64 = 1e-5;
/// The momentum of a `batchnorm` without `momentum = …` (PyTorch's default).
pub const DEFAULT_MOMENTUM: f64 = 0.1;
/// Batch Renormalization's limits of a bare `renorm` (the paper's final values).
pub const DEFAULT_RMAX: f64 = 3.0;
pub const DEFAULT_DMAX: f64 = 5.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Momentum {
    Exponential(f64),
    Cumulative,
}

/// A 2-d window's extent, stride or padding: `(height, width)`.
pub type Pair = (usize, usize);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pool {
    Max,
    Avg,
}

impl Pool {
    /// `maxpool` or `avgpool`.
    pub fn name(self) -> &'static str {
        match self {
            Pool::Max => "maxpool",
            Pool::Avg => "avgpool",
        }
    }
}

pub enum Kind {
    Dense {
        output: usize,
        bias: bool,
    },
    /// PyTorch's `Conv2d` with zero padding, on an image input.
    Conv2d {
        out_channels: usize,
        kernel: Pair,
        stride: Pair,
        padding: Pair,
        bias: bool,
    },
    /// Over the features of a flat input (BatchNorm1d), or per channel over the batch and
    /// every pixel of an image input (BatchNorm2d).
    BatchNorm {
        eps: f64,
        momentum: Momentum,
        /// Whether γ and β are learned (PyTorch's `affine`).
        affine: bool,
        /// Batch Renormalization's limits `(r_max, d_max)`, if it renormalizes.
        renorm: Option<(f64, f64)>,
    },
    /// PyTorch's `LayerNorm` over all values of one sample (`[C, H, W]` for an image).
    LayerNorm {
        eps: f64,
        affine: bool,
    },
    /// Inverted dropout with drop probability `p` in [0, 1): identity in eval.
    Dropout {
        p: f64,
    },
    Activation(Act),
    /// Max or average pooling of an image, square `size × size` windows every `stride`
    /// pixels, no padding, floor semantics.
    Pool {
        pool: Pool,
        size: usize,
        stride: usize,
    },
    /// An image as its `C·H·W` features (C, H, W order): no computation, the storage is
    /// already flat.
    Flatten,
    /// PyTorch's `nn.GroupNorm(groups, C)` over an image: per sample, each group of
    /// `C/groups` channels normalized over its values.
    GroupNorm {
        groups: usize,
        eps: f64,
        affine: bool,
    },
    /// The mean of each channel of an image over its pixels: `C` features.
    GlobalAvgPool,
    /// A residual block: `y = body(x) + shortcut(x)` (the identity without a shortcut).
    Residual(Box<Block>),
}

/// The branches of a residual block, each a sequence of layers like the network's (nested
/// blocks included), each taking the block's input; the layers are numbered from 0 within
/// their branch.
pub struct Block {
    pub body: Vec<Layer>,
    /// `None` for the identity.
    pub shortcut: Option<Vec<Layer>>,
}

impl Block {
    /// The branches: the body, then the shortcut if any.
    pub fn branches(&self) -> impl Iterator<Item = &[Layer]> {
        std::iter::once(self.body.as_slice()).chain(self.shortcut.as_deref())
    }
}

/// The output extent of a window sweep: `⌊(n + 2·padding − kernel)/stride⌋ + 1` (PyTorch's),
/// `None` when the window does not fit (or the stride is 0).
pub fn sweep(n: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = n.checked_add(padding.checked_mul(2)?)?;
    (stride > 0 && kernel > 0 && kernel <= padded).then(|| (padded - kernel) / stride + 1)
}

impl Layer {
    /// The shape of the layer's output. The checks guarantee the geometry fits (a conv or
    /// pool on an image, a dense on features); the fallbacks keep the input shape.
    pub fn output(&self) -> Shape {
        let input = self.input;
        match (&self.kind, input) {
            (Kind::Dense { output, .. }, _) => Shape::Flat(*output),
            (Kind::Conv2d { out_channels, kernel, stride, padding, .. }, Shape::Image { h, w, .. }) => Shape::Image {
                c: *out_channels,
                h: sweep(h, kernel.0, stride.0, padding.0).unwrap_or(h),
                w: sweep(w, kernel.1, stride.1, padding.1).unwrap_or(w),
            },
            (Kind::Pool { size, stride, .. }, Shape::Image { c, h, w }) => Shape::Image {
                c,
                h: sweep(h, *size, *stride, 0).unwrap_or(h),
                w: sweep(w, *size, *stride, 0).unwrap_or(w),
            },
            (Kind::Flatten, _) => Shape::Flat(input.len()),
            (Kind::GlobalAvgPool, _) => Shape::Flat(input.channels()),
            (Kind::Residual(block), _) => block.body.last().map_or(input, Layer::output),
            _ => input,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Dense { .. } => "dense",
            Kind::Conv2d { .. } => "conv2d",
            Kind::BatchNorm { .. } => "batchnorm",
            Kind::Activation(a) => Act::ALL.iter().find(|(_, b)| b == a).map(|(n, _)| *n).unwrap_or("activation"),
            Kind::Pool { pool, .. } => pool.name(),
            Kind::Flatten => "flatten",
            Kind::LayerNorm { .. } => "layernorm",
            Kind::Dropout { .. } => "dropout",
            Kind::GroupNorm { .. } => "groupnorm",
            Kind::GlobalAvgPool => "global_avgpool",
            Kind::Residual(_) => "residual",
        }
    }

    /// Trainable scalars: `out·in (+ out)` for dense, `out·in_channels·kh·kw (+ out)` for
    /// conv2d, `2·channels` for batchnorm and groupnorm, those of both branches for a block.
    pub fn params(&self) -> usize {
        match self.kind {
            Kind::Residual(ref block) => block.branches().map(params).sum(),
            Kind::GroupNorm { affine, .. } => {
                if affine {
                    2 * self.input.channels()
                } else {
                    0
                }
            }
            Kind::Dense { output, bias } => output * self.input.len() + if bias { output } else { 0 },
            Kind::Conv2d { out_channels, kernel, bias, .. } => {
                out_channels * self.input.channels() * kernel.0 * kernel.1 + if bias { out_channels } else { 0 }
            }
            Kind::BatchNorm { affine, .. } => {
                if affine {
                    2 * self.input.channels()
                } else {
                    0
                }
            }
            Kind::LayerNorm { affine, .. } => {
                if affine {
                    2 * self.input.len()
                } else {
                    0
                }
            }
            Kind::Activation(_) | Kind::Pool { .. } | Kind::Flatten | Kind::Dropout { .. } | Kind::GlobalAvgPool => 0,
        }
    }
}

/// The trainable scalars of a sequence of layers.
pub fn params(layers: &[Layer]) -> usize {
    layers.iter().map(Layer::params).sum()
}

/// Whether any layer of `layers`, or of a block among them (at any depth), satisfies `pred`.
pub fn any_layer(layers: &[Layer], pred: &impl Fn(&Layer) -> bool) -> bool {
    layers
        .iter()
        .any(|l| pred(l) || matches!(&l.kind, Kind::Residual(block) if block.branches().any(|b| any_layer(b, pred))))
}

impl Model {
    pub fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, Layer::output)
    }

    pub fn params(&self) -> usize {
        params(&self.layers)
    }

    /// Whether any layer, inside blocks too, is a `batchnorm` (training then needs batches
    /// of at least 2).
    pub fn has_batchnorm(&self) -> bool {
        any_layer(&self.layers, &|l| matches!(l.kind, Kind::BatchNorm { .. }))
    }

    /// Whether any layer, inside blocks too, is a `dropout`.
    pub fn has_dropout(&self) -> bool {
        any_layer(&self.layers, &|l| matches!(l.kind, Kind::Dropout { .. }))
    }
}
