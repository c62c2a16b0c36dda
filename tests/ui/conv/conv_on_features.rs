// A conv needs an image: `input: N` is features.
bn_core::network! {
    struct Net {
        input: 784,
        conv2d(8, kernel = 3),
        flatten, dense(10),
    }
}

fn main() {}
