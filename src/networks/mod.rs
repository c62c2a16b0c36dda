//! Every network the experiments, benches, integration tests and fuzz targets share,
//! declared once.
//!
//! - The paper's MNIST network (Ioffe & Szegedy 2015, §4.1) and its variants:
//!   [`PaperBn`], [`PaperPlain`], [`PaperRenorm`], [`PaperLayerNorm`], [`PaperDropout`],
//!   [`PaperBnDropout`].
//! - The convolutional experiment's LeNet: [`LeNetBn`], [`LeNetPlain`].
//! - The ResNet experiment's networks: [`ResNetBn`] (the benches' W5), [`ResNetPlain`].
//! - [`TinyMlp`]: a 16-32-32-4 classifier, the smallest workload of the benches.
//! - The networks of the PyTorch fixtures (`tools/pytorch_interop*.py`): [`Interop`] (every
//!   layer kind over features) and [`InteropCnn`] (every image layer kind and every place of
//!   the fold plan).
//! - Networks that several integration tests share: [`Moons`], [`Everything`] (f64),
//!   [`Every`], [`Every64`], [`Lonely`], [`InputBnPadded`] and [`ResNetTiny`] (residual
//!   blocks).
//!
//! Each `network!` also declares its `…Folded`, `…Grads`, `…Workspace`, `…Input` and
//! `…Batch` items (see the rustdoc of `bn_core::network!`).

bn_core::network! {
    /// The paper's MNIST network with Batch Normalization before every sigmoid (the dense
    /// layers before BN have no bias: β takes its role).
    pub struct PaperBn {
        input: 784,
        dense(100), batchnorm, sigmoid,
        dense(100), batchnorm, sigmoid,
        dense(100), batchnorm, sigmoid,
        dense(10),
    }
}

bn_core::network! {
    /// The paper's MNIST network without Batch Normalization.
    pub struct PaperPlain {
        input: 784,
        dense(100), sigmoid,
        dense(100), sigmoid,
        dense(100), sigmoid,
        dense(10),
    }
}

/// The folded [`PaperBn`] written by hand as a chain of its layers on a whole batch (one
/// matrix product per layer, the sigmoid in place): the reference that the benches and the
/// zero-allocation test set beside the generated `forward_batch` (the same values, bit for
/// bit).
pub fn paper_bn_folded_chain<B: bn_core::generic_array::ArrayLength>(
    f: &PaperBnFolded,
    x: &bn_core::Batch<B, bn_core::typenum::U784>,
    h: &mut [bn_core::Batch<B, bn_core::typenum::U100>; 2],
    y: &mut bn_core::Batch<B, bn_core::typenum::U10>,
) {
    use bn_core::{flat_mut, Activation, Sigmoid};
    let [h0, h1] = h;
    f.dense0.forward(x, h0);
    Sigmoid::apply(flat_mut(h0));
    f.dense3.forward(h0, h1);
    Sigmoid::apply(flat_mut(h1));
    f.dense6.forward(h1, h0);
    Sigmoid::apply(flat_mut(h0));
    f.dense9.forward(h0, y);
}

bn_core::network! {
    /// The paper's network with Batch Renormalization before every sigmoid.
    pub struct PaperRenorm {
        input: 784,
        dense(100), batchnorm(renorm(rmax = 3, dmax = 5)), sigmoid,
        dense(100), batchnorm(renorm(rmax = 3, dmax = 5)), sigmoid,
        dense(100), batchnorm(renorm(rmax = 3, dmax = 5)), sigmoid,
        dense(10),
    }
}

bn_core::network! {
    /// The paper's network with Layer Normalization before every sigmoid.
    pub struct PaperLayerNorm {
        input: 784,
        dense(100), layernorm, sigmoid,
        dense(100), layernorm, sigmoid,
        dense(100), layernorm, sigmoid,
        dense(10),
    }
}

bn_core::network! {
    /// The paper's network with dropout after every hidden sigmoid.
    pub struct PaperDropout {
        input: 784,
        dense(100), sigmoid, dropout(0.3),
        dense(100), sigmoid, dropout(0.3),
        dense(100), sigmoid, dropout(0.3),
        dense(10),
    }
}

bn_core::network! {
    /// The paper's BN network with dropout after every hidden sigmoid.
    pub struct PaperBnDropout {
        input: 784,
        dense(100), batchnorm, sigmoid, dropout(0.3),
        dense(100), batchnorm, sigmoid, dropout(0.3),
        dense(100), batchnorm, sigmoid, dropout(0.3),
        dense(10),
    }
}

bn_core::network! {
    /// The LeNet-style MNIST network with Batch Normalization after each convolution (per
    /// channel); the convolutions have no bias.
    pub struct LeNetBn {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        flatten,
        dense(10),
    }
}

bn_core::network! {
    /// The same network without Batch Normalization (the convolutions have a bias).
    pub struct LeNetPlain {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1), relu, maxpool(2),
        conv2d(8 => 16, kernel = 3, padding = 1), relu, maxpool(2),
        flatten,
        dense(10),
    }
}

bn_core::network! {
    /// The ResNet experiment's network (He et al. 2016, the CIFAR layout scaled to MNIST),
    /// W5 of the benches: a stem `conv 3×3, 16` at 28×28, then three stages of one residual
    /// block each at 16, 32 and 64 channels (28×28, 14×14, 7×7), each block two 3×3 convs with
    /// BN and the stride-2 stages a projection shortcut (1×1 conv, BN), a ReLU after each
    /// block, `global_avgpool` and `dense(10)`. 77,754 parameters.
    pub struct ResNetBn {
        input: (1, 28, 28),
        conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
        residual {
            conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(16, kernel = 3, padding = 1), batchnorm,
        },
        relu,
        residual {
            conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(32, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(32, kernel = 1, stride = 2), batchnorm,
        },
        relu,
        residual {
            conv2d(64, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(64, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(64, kernel = 1, stride = 2), batchnorm,
        },
        relu,
        global_avgpool,
        dense(10),
    }
}

bn_core::network! {
    /// [`ResNetBn`] without Batch Normalization (the convolutions have a bias).
    pub struct ResNetPlain {
        input: (1, 28, 28),
        conv2d(16, kernel = 3, padding = 1), relu,
        residual {
            conv2d(16, kernel = 3, padding = 1), relu,
            conv2d(16, kernel = 3, padding = 1),
        },
        relu,
        residual {
            conv2d(32, kernel = 3, stride = 2, padding = 1), relu,
            conv2d(32, kernel = 3, padding = 1),
        } shortcut {
            conv2d(32, kernel = 1, stride = 2),
        },
        relu,
        residual {
            conv2d(64, kernel = 3, stride = 2, padding = 1), relu,
            conv2d(64, kernel = 3, padding = 1),
        } shortcut {
            conv2d(64, kernel = 1, stride = 2),
        },
        relu,
        global_avgpool,
        dense(10),
    }
}

bn_core::network! {
    /// A small residual network: a stem, an identity block and a projection block (stride
    /// 2, a 1×1 conv and a BN in the shortcut), each followed by a ReLU (fused with the
    /// block's sum), global average pooling. What the tests of residual blocks share
    /// (folding, weights files, frozen BNs, zero allocation).
    pub struct ResNetTiny {
        input: (2, 8, 8),
        conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
        residual {
            conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(4, kernel = 3, padding = 1), batchnorm,
        },
        relu,
        residual {
            conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(8, kernel = 1, stride = 2), batchnorm,
        },
        relu,
        global_avgpool,
        dense(3),
    }
}

bn_core::network! {
    /// A tiny classifier, 16 → 32 → 32 → 4 with BN and sigmoids: the smallest workload.
    pub struct TinyMlp {
        input: 16,
        dense(32), batchnorm, sigmoid,
        dense(32), batchnorm, sigmoid,
        dense(4),
    }
}

// The networks of the PyTorch fixtures, in their own file: the fuzz crate includes it by
// path (it does not depend on this package).
mod interop;
pub use self::interop::*;

// ---- networks shared by the integration tests (tests/) ----

bn_core::network! {
    /// A two-moons classifier, 2 → 2 × [dense(16), batchnorm, relu] → dense(2)
    /// (`tests/training.rs`, `tests/generated_items.rs`).
    pub struct Moons {
        input: 2,
        dense(16), batchnorm, relu,
        dense(16), batchnorm, relu,
        dense(2),
    }
}

bn_core::network! {
    /// Every layer kind over features and every BN placement (on the input, after a dense
    /// layer, after an activation, two in a row, last), in f64 for sharp finite differences
    /// (`tests/gradients.rs`, `tests/folding.rs`).
    pub struct Everything {
        input: 4,
        scalar: f64,
        batchnorm,
        dense(5), batchnorm(eps = 1e-3), sigmoid,
        batchnorm(momentum = cumulative),
        dense(5, bias), tanh,
        batchnorm, batchnorm,
        dense(5 => 3), relu,
        batchnorm,
    }
}

bn_core::network! {
    /// Every layer kind of a weights file over features (`tests/weights_files.rs`,
    /// `tests/weights_file_errors.rs`): named layers, a bias-less dense, an explicit bias
    /// before BN, a BN after an activation (folded into the next dense) and one between two
    /// activations (an affine layer of the folded model), every BN option.
    pub struct Every {
        input: 5,
        fc1: dense(6), batchnorm, relu,
        dense(6, bias), norm: batchnorm(eps = 1e-3), tanh,
        batchnorm(momentum = cumulative), sigmoid,
        dense(4, no_bias), relu,
        batchnorm(momentum = 0.5),
        head: dense(3),
    }
}

bn_core::network! {
    /// [`Every`] in f64.
    pub struct Every64 {
        input: 5,
        scalar: f64,
        fc1: dense(6), batchnorm, relu,
        dense(6, bias), norm: batchnorm(eps = 1e-3), tanh,
        batchnorm(momentum = cumulative), sigmoid,
        dense(4, no_bias), relu,
        batchnorm(momentum = 0.5),
        head: dense(3),
    }
}

bn_core::network! {
    /// A BN that cannot fold at all: between two activations, with no dense layer anywhere
    /// near (the folded model's first layer is an affine one).
    pub struct Lonely { input: 3, relu, batchnorm, tanh, dense(2) }
}

bn_core::network! {
    /// A BN on the input, before a padded conv (kept: an affine layer over channels), and one
    /// after a pool at the end (kept) (`tests/folding.rs`, `tests/weights_files.rs`).
    pub struct InputBnPadded {
        input: (2, 5, 5),
        batchnorm, conv2d(3, kernel = 3, padding = 1), relu, avgpool(2), batchnorm,
    }
}
