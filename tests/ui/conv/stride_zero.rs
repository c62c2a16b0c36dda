// A stride is at least 1.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, stride = 0),
        flatten, dense(10),
    }
}

fn main() {}
