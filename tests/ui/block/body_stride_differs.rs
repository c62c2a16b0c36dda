// A stride in the body shrinks the image: the identity no longer fits.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(16, kernel = 3, padding = 1), batchnorm, relu,
        residual {
            conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(32, kernel = 3, padding = 1), batchnorm,
        },
        relu, global_avgpool, dense(10),
    }
}

fn main() {}
