//! The networks of the depth experiment: narrow CNNs on 28×28 digits, a stride-2 stem
//! (`conv2d(8, kernel = 3, stride = 2, padding = 1)` → 8×14×14) and then `d` convolutions of
//! 8 channels at 14×14, d = 2, 4, 8, 16, and the same head, `flatten, dense(10)`.
//!
//! - `DepthPlain{d}`: each convolution followed by `relu`; `DepthPlain{d}Bn`: by `batchnorm,
//!   relu` (the stem too).
//! - `DepthRes{d}`: the `d` convolutions in `d/2` identity blocks `residual { conv, relu,
//!   conv }, relu`; `DepthRes{d}Bn`: `residual { conv, batchnorm, relu, conv, batchnorm },
//!   relu` (and `batchnorm` after the stem); [`DepthRes16Gn`]: the same with `groupnorm(2)`
//!   (two groups of 4 channels, between LayerNorm's one group and InstanceNorm's 8) in place
//!   of every `batchnorm`.
//!
//! Every convolution is He-initialized (each is followed by a ReLU, a normalization or the
//! end of a block between them or not), the dense layer Xavier; biases and normalizations
//! draw nothing, so the networks of one depth, plain or residual, with or without a
//! normalization, start from the same weights for the same seed
//! ([`initial_weights`](super::initial_weights)). 8 channels keep the 16-convolution
//! networks cheap (about 10–20 ms a training step at batch 60 here, evaluations included,
//! with the load) and the crate's build short: the generated code grows with the number of
//! layers, not their width.

/// Declares a depth network with `network!`: `input: (1, 28, 28)`, the `stem` layers, the
/// `unit` layers once per `x` of `times`, then `flatten, dense(10)`.
macro_rules! depth_network {
    ($(#[$attr:meta])* $name:ident: stem [$($stem:tt)*] unit [$($unit:tt)*] times [$($x:ident)*]) => {
        depth_network!(@munch [$(#[$attr])*] $name [$($stem)*] [$($unit)*] [$($x)*]);
    };
    (@munch [$($attrs:tt)*] $name:ident [$($layers:tt)*] [$($unit:tt)*] [x $($rest:ident)*]) => {
        depth_network!(@munch [$($attrs)*] $name [$($layers)* $($unit)*] [$($unit)*] [$($rest)*]);
    };
    (@munch [$($attrs:tt)*] $name:ident [$($layers:tt)*] [$($unit:tt)*] []) => {
        bn_core::network! {
            $($attrs)*
            pub struct $name {
                input: (1, 28, 28),
                $($layers)*
                flatten,
                dense(10),
            }
        }
    };
}

depth_network! {
    /// 2 convolutions after the stem, no normalization.
    DepthPlain2: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [conv2d(8, kernel = 3, padding = 1), relu,] times [x x]
}

depth_network! {
    /// 4 convolutions after the stem, no normalization.
    DepthPlain4: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [conv2d(8, kernel = 3, padding = 1), relu,] times [x x x x]
}

depth_network! {
    /// 8 convolutions after the stem, no normalization.
    DepthPlain8: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [conv2d(8, kernel = 3, padding = 1), relu,] times [x x x x x x x x]
}

depth_network! {
    /// 16 convolutions after the stem, no normalization.
    DepthPlain16: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [conv2d(8, kernel = 3, padding = 1), relu,] times [x x x x x x x x x x x x x x x x]
}

depth_network! {
    /// 2 convolutions after the stem, each (the stem too) followed by BN.
    DepthPlain2Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [conv2d(8, kernel = 3, padding = 1), batchnorm, relu,] times [x x]
}

depth_network! {
    /// 4 convolutions after the stem, each (the stem too) followed by BN.
    DepthPlain4Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [conv2d(8, kernel = 3, padding = 1), batchnorm, relu,] times [x x x x]
}

depth_network! {
    /// 8 convolutions after the stem, each (the stem too) followed by BN.
    DepthPlain8Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [conv2d(8, kernel = 3, padding = 1), batchnorm, relu,] times [x x x x x x x x]
}

depth_network! {
    /// 16 convolutions after the stem, each (the stem too) followed by BN.
    DepthPlain16Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [conv2d(8, kernel = 3, padding = 1), batchnorm, relu,] times [x x x x x x x x x x x x x x x x]
}

depth_network! {
    /// 2 convolutions after the stem in 1 identity block, no normalization.
    DepthRes2: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [residual { conv2d(8, kernel = 3, padding = 1), relu, conv2d(8, kernel = 3, padding = 1) }, relu,] times [x]
}

depth_network! {
    /// 4 convolutions after the stem in 2 identity blocks, no normalization.
    DepthRes4: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [residual { conv2d(8, kernel = 3, padding = 1), relu, conv2d(8, kernel = 3, padding = 1) }, relu,] times [x x]
}

depth_network! {
    /// 8 convolutions after the stem in 4 identity blocks, no normalization.
    DepthRes8: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [residual { conv2d(8, kernel = 3, padding = 1), relu, conv2d(8, kernel = 3, padding = 1) }, relu,] times [x x x x]
}

depth_network! {
    /// 16 convolutions after the stem in 8 identity blocks, no normalization.
    DepthRes16: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), relu,]
        unit [residual { conv2d(8, kernel = 3, padding = 1), relu, conv2d(8, kernel = 3, padding = 1) }, relu,] times [x x x x x x x x]
}

depth_network! {
    /// 2 convolutions after the stem in 1 identity block, each convolution (the stem too) followed by BN.
    DepthRes2Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [residual {
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), batchnorm,
        },
        relu,] times [x]
}

depth_network! {
    /// 4 convolutions after the stem in 2 identity blocks, each convolution (the stem too) followed by BN.
    DepthRes4Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [residual {
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), batchnorm,
        },
        relu,] times [x x]
}

depth_network! {
    /// 8 convolutions after the stem in 4 identity blocks, each convolution (the stem too) followed by BN.
    DepthRes8Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [residual {
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), batchnorm,
        },
        relu,] times [x x x x]
}

depth_network! {
    /// 16 convolutions after the stem in 8 identity blocks, each convolution (the stem too) followed by BN.
    DepthRes16Bn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), batchnorm, relu,]
        unit [residual {
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 3, padding = 1), batchnorm,
        },
        relu,] times [x x x x x x x x]
}

depth_network! {
    /// [`DepthRes16Bn`] with GroupNorm of 2 groups (4 channels each) in place of every BN.
    DepthRes16Gn: stem [conv2d(8, kernel = 3, stride = 2, padding = 1), groupnorm(2), relu,]
        unit [residual {
            conv2d(8, kernel = 3, padding = 1), groupnorm(2), relu,
            conv2d(8, kernel = 3, padding = 1), groupnorm(2),
        },
        relu,] times [x x x x x x x x]
}
