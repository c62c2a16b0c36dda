// A kernel must fit the image before it (with its padding).
bn_core::network! {
    struct Net {
        input: (1, 14, 14),
        conv2d(8, kernel = 3), maxpool(2), conv2d(8, kernel = 2), relu,
        conv2d(16, kernel = 7),
        flatten, dense(10),
    }
}

fn main() {}
