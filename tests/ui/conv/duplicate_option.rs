// Each option of a conv is given once.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1, kernel = 5),
        flatten, dense(10),
    }
}

fn main() {}
