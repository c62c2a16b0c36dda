// An error inside a branch points at its token and says where the layer is.
bn_core::network! {
    struct Net {
        input: (8, 12, 12),
        residual {
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu,
            conv2d(8, kernel = 5, padding = 3),
        },
        global_avgpool, dense(10),
    }
}

fn main() {}
