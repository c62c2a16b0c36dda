// On features, the body's width must be the block's input width.
bn_core::network! {
    struct Net {
        input: 784,
        dense(100), batchnorm, relu,
        residual { dense(50), batchnorm, relu, dense(50), batchnorm },
        relu, dense(10),
    }
}

fn main() {}
