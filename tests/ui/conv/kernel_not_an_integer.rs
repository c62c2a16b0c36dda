// Sizes are positive integers.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 2.5),
        flatten, dense(10),
    }
}

fn main() {}
