// A dense layer takes features: an image needs `flatten` first.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        dense(10),
    }
}

fn main() {}
