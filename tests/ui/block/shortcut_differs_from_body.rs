// Both branches must give the same shape: the shortcut forgot the stride.
bn_core::network! {
    struct Net {
        input: (16, 28, 28),
        residual {
            conv2d(32, kernel = 3, stride = 2, padding = 1), batchnorm, relu,
            conv2d(32, kernel = 3, padding = 1), batchnorm,
        } shortcut {
            conv2d(32, kernel = 1), batchnorm,
        },
        relu, global_avgpool, dense(10),
    }
}

fn main() {}
