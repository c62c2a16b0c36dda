//! A model's computation as data: [`Graph`], the layers of a `network!` type in order, with
//! their input shapes, options, names and the `state_dict` keys of their tensors. Exporters
//! read it (ONNX, [`save_onnx`](crate::save_onnx)); it needs no allocation.

/// The shape of one sample between two layers: `n` features, or a `c × h × w` image stored
/// flat in C, H, W order (PyTorch's contiguous NCHW).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dims {
    /// `n` features.
    Flat(usize),
    /// `c` channels of `h × w` pixels.
    Image {
        /// Channels.
        c: usize,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
    },
}

impl Dims {
    /// The number of values of one sample.
    pub const fn len(self) -> usize {
        match self {
            Dims::Flat(n) => n,
            Dims::Image { c, h, w } => c * h * w,
        }
    }

    /// Whether a sample has no values (never, for a `network!` type).
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The dimensions, outermost first: `[n]` or `[c, h, w]`.
    #[cfg(feature = "alloc")]
    pub fn to_vec(self) -> alloc::vec::Vec<usize> {
        match self {
            Dims::Flat(n) => alloc::vec![n],
            Dims::Image { c, h, w } => alloc::vec![c, h, w],
        }
    }

    /// The channels a BN normalizes: an image's channels, or every feature.
    pub const fn channels(self) -> usize {
        match self {
            Dims::Flat(n) => n,
            Dims::Image { c, .. } => c,
        }
    }
}

/// One layer of a [`Graph`]: what it computes, on which shape, under which names.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node {
    /// The layer's path of fields in the generated type: `dense0`, `fc1`,
    /// `stage2.body.conv2d0` (a layer without parameters has the field name it would have).
    pub name: &'static str,
    /// The key of its tensors in the `state_dict` (see [`StateDict`](crate::StateDict)):
    /// `0`, `fc1`, `stage2.body.0`, so the weight is `{key}.weight`.
    pub key: &'static str,
    /// The shape of one input sample.
    pub input: Dims,
    /// The shape of one output sample.
    pub output: Dims,
    /// What the layer computes.
    pub op: Op,
}

/// What a [`Node`] computes, in inference (dropout is the identity, BN uses its population
/// statistics). The tensors are the layer's in the `state_dict`, `{key}.weight`, … .
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// `y = W x + b`: `weight` `[output, input]`, `bias` `[output]` when `bias`.
    Dense {
        /// Output features.
        output: usize,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// Zero-padded cross-correlation: `weight` `[out, c, kh, kw]`, `bias` `[out]` when
    /// `bias`.
    Conv2d {
        /// Output channels.
        out_channels: usize,
        /// `[height, width]` of the kernel.
        kernel: [usize; 2],
        /// `[height, width]` steps.
        stride: [usize; 2],
        /// Zeros added at each border, `[height, width]`.
        padding: [usize; 2],
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// A folded model's affine layer over features (BNs with no linear layer to fold into),
    /// `y = a ⊙ x + b`, saved as a diagonal `Linear`: `weight` `[n, n]`, `bias` `[n]`.
    DiagonalAffine,
    /// A folded model's affine layer over an image's channels, saved as a depthwise 1×1
    /// convolution: `weight` `[c, 1, 1, 1]`, `bias` `[c]`.
    ChannelAffine,
    /// Batch normalization with population statistics: `running_mean`, `running_var`, and
    /// `weight` (γ), `bias` (β) when `affine`. A renorm BN's `running_var` is `σ² − ε`.
    BatchNorm {
        /// ε.
        eps: f64,
        /// Whether γ and β are learned (otherwise 1 and 0).
        affine: bool,
    },
    /// Layer normalization over all values of a sample: `weight` (γ), `bias` (β) with the
    /// sample's shape when `affine`.
    LayerNorm {
        /// ε.
        eps: f64,
        /// Whether γ and β are learned.
        affine: bool,
    },
    /// Group normalization of an image: `weight` (γ), `bias` (β) `[c]` when `affine`.
    GroupNorm {
        /// The number of groups.
        groups: usize,
        /// ε.
        eps: f64,
        /// Whether γ and β are learned.
        affine: bool,
    },
    /// `1 / (1 + e^−x)`.
    Sigmoid,
    /// `max(x, 0)`.
    ReLU,
    /// `tanh x`.
    Tanh,
    /// The maximum of each `size × size` window, every `stride` pixels, no padding.
    MaxPool {
        /// Window side.
        size: usize,
        /// Step.
        stride: usize,
    },
    /// The mean of each `size × size` window, every `stride` pixels, no padding.
    AvgPool {
        /// Window side.
        size: usize,
        /// Step.
        stride: usize,
    },
    /// The mean of each channel over its pixels: `c` features.
    GlobalAvgPool,
    /// An image's values as features (nothing is computed).
    Flatten,
    /// Dropout with probability `p`: the identity in inference.
    Dropout {
        /// The drop probability in training.
        p: f64,
    },
    /// `y = body(x) + shortcut(x)`, the shortcut the identity when `None`. The branches'
    /// keys and names are full paths (`3.body.0`, `residual3.body.dense0`).
    ///
    /// More kinds may come (the enum is `#[non_exhaustive]`).
    Residual {
        /// The body's layers.
        body: &'static [Node],
        /// The shortcut's layers, or `None` for the identity.
        shortcut: Option<&'static [Node]>,
    },
}

/// The layers of a `network!` type in order, for exporters: implemented by the network type
/// and its folded type (the folded one has no BN, no dropout, and the affine layers of BNs
/// that could not fold). Together with [`StateDict`](crate::StateDict) (the tensors, under
/// each node's key) it describes the model completely.
///
/// Only `network!` implements it (the trait is sealed): the macro checks every shape and
/// names every tensor the `StateDict` holds, which is what lets
/// [`save_onnx`](crate::save_onnx) return the file rather than a `Result`.
///
/// ```
/// use bn_core::{Dims, Graph, Op};
/// bn_core::network! {
///     pub struct Net { input: 3, fc1: dense(4), batchnorm, relu, dense(2) }
/// }
/// assert_eq!(<Net as Graph>::INPUT, Dims::Flat(3)); // `Net::INPUT` is the width, 3
/// let ops: Vec<Op> = Net::NODES.iter().map(|n| n.op).collect();
/// assert_eq!(ops[0], Op::Dense { output: 4, bias: false });
/// assert!(matches!(ops[1], Op::BatchNorm { .. }));
/// assert_eq!((Net::NODES[0].name, Net::NODES[0].key), ("fc1", "fc1"));
/// assert_eq!((Net::NODES[3].name, Net::NODES[3].key), ("dense3", "3"));
/// // The folded type: the BN is folded into `fc1`, which gains a bias.
/// let folded: Vec<Op> = NetFolded::NODES.iter().map(|n| n.op).collect();
/// assert_eq!(folded, [Op::Dense { output: 4, bias: true }, Op::ReLU, Op::Dense { output: 2, bias: true }]);
/// ```
pub trait Graph: crate::__private::SealedGraph {
    /// The shape of one input sample.
    const INPUT: Dims;
    /// The layers, first to last.
    const NODES: &'static [Node];

    /// The shape of one output sample.
    fn output() -> Dims {
        match Self::NODES.last() {
            Some(last) => last.output,
            None => Self::INPUT,
        }
    }
}
