// After the output channels, every conv option is named.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, 3),
        flatten, dense(10),
    }
}

fn main() {}
