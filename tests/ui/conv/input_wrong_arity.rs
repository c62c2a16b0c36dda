// An image input is (channels, height, width).
bn_core::network! {
    struct Net {
        input: (28, 28),
        conv2d(8, kernel = 3),
        flatten, dense(10),
    }
}

fn main() {}
