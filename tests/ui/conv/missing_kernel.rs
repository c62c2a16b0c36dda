// `conv2d` needs its kernel.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, padding = 1),
        flatten, dense(10),
    }
}

fn main() {}
