//! The networks of the depth experiment: narrow CNNs on 28×28 digits, a stride-2 stem
//! (`conv2d(8, kernel = 3, stride = 2, padding = 1)` → 8×14×14) and then `d` convolutions of
//! 8 channels at 14×14, d = 2, 4, 8, 16, and the same head, `flatten, dense(10)`.
//!
//! - `DepthPlain{d}`: each convolution followed by `relu`; `DepthPlain{d}Bn`: by `batchnorm,
//!   relu` (the stem too).
//!
//! Every convolution is He-initialized (each is followed by a ReLU, BN between them or not),
//! the dense layer Xavier; biases and BN draw nothing, so the networks of one depth start
//! from the same weights for the same seed. 8 channels keep the 16-convolution networks
//! cheap (about 10 ms a training step at batch 60 here) and the crate's build short: the
//! generated code grows with the number of layers, not their width.

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
