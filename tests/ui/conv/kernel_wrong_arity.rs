// A kernel is one size or a (height, width) pair.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = (3, 3, 3)),
        flatten, dense(10),
    }
}

fn main() {}
