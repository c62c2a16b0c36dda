// A layer's output (C·H·W values) is bounded like a width.
bn_core::network! {
    struct Net {
        input: (3, 512, 512),
        conv2d(128, kernel = 3, padding = 1),
        flatten, dense(10),
    }
}

fn main() {}
