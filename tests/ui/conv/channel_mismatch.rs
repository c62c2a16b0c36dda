// `conv2d(IN => OUT, …)` states its input channels; they must match the image before it.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3), relu,
        conv2d(3 => 16, kernel = 3),
        flatten, dense(10),
    }
}

fn main() {}
