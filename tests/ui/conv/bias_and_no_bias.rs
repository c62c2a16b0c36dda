// A conv has a bias or not, as for `dense`.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, bias, no_bias),
        flatten, dense(10),
    }
}

fn main() {}
