//! The networks of the PyTorch fixtures (`tools/pytorch_interop*.py`, `tests/pytorch_mlp.rs`,
//! `tests/pytorch_cnn.rs`): [`Interop`] and [`InteropCnn`]. A file of its own, re-exported by
//! `networks/mod.rs`, because the fuzz crate (`fuzz/src/lib.rs`) includes it with `#[path]`
//! instead of depending on the whole `bn-paper` package. It names only `bn_core`.

bn_core::network! {
    /// Every layer kind over features, as in `tools/pytorch_interop.py`: dense without bias
    /// (before BN), with a bias, named (`head`) and without bias at the output; BN with the
    /// default ε, with ε = 1e-3 after an activation (folds into `head`), and a cumulative
    /// one between two activations (an affine layer of the folded model); relu, tanh,
    /// sigmoid.
    pub struct Interop {
        input: 6,
        dense(8), batchnorm, relu,
        dense(8, bias), tanh,
        batchnorm(eps = 1e-3),
        head: dense(4), tanh,
        batchnorm(momentum = cumulative), sigmoid,
        dense(3, no_bias),
    }
}

bn_core::network! {
    /// Every image layer kind and option, as in `tools/pytorch_interop_cnn.py`, and a BN in
    /// every place of the fold plan:
    ///
    /// - conv (3×3, padding 1) without bias, since BN follows → BN: folds into the conv
    ///   from after;
    /// - relu → BN(ε 1e-3, momentum 0.3) → conv without padding (2×2, stride (2, 1), bias):
    ///   folds into the conv from before;
    /// - tanh → BN(cumulative) → named conv with padding ((3, 2) kernel, padding (1, 0),
    ///   `bias` although a BN follows): stays a per-channel affine layer (a depthwise 1×1
    ///   conv in PyTorch), since the padded border sees 0, not the BN's shift;
    /// - that conv → BN(ε 1e-4, momentum 0.05): folds into it from after, with its bias;
    /// - sigmoid → BN → avgpool: no linear neighbour, a per-channel affine layer;
    /// - conv with padding and `no_bias`, relu, maxpool(2), then BN(ε 1e-2, cumulative) →
    ///   flatten → dense: folds into the dense layer (per feature of its channel);
    /// - tanh → BN(ε 1e-2) over features → sigmoid: a diagonal affine (`Linear(12, 12)`).
    ///
    /// Pools: `maxpool(3, stride = 2)` (overlapping windows; over 14 columns it leaves the
    /// last out), `maxpool(2)`, `avgpool(2, stride = 1)`. The input is not square (17 × 14):
    /// a height and a width swapped anywhere would change the shapes or the values.
    pub struct InteropCnn {
        input: (2, 17, 14),
        conv2d(4, kernel = 3, padding = 1), batchnorm,
        maxpool(3, stride = 2), relu,
        batchnorm(eps = 1e-3, momentum = 0.3),
        conv2d(4 => 6, kernel = 2, stride = (2, 1)), tanh,
        batchnorm(momentum = cumulative),
        c2: conv2d(8, kernel = (3, 2), padding = (1, 0), bias),
        batchnorm(eps = 1e-4, momentum = 0.05), sigmoid,
        batchnorm,
        avgpool(2, stride = 1),
        conv2d(8 => 6, kernel = 2, padding = 1, no_bias), relu,
        maxpool(2),
        batchnorm(eps = 1e-2, momentum = cumulative),
        flatten,
        dense(12), tanh,
        batchnorm(eps = 1e-2), sigmoid,
        head: dense(3),
    }
}
