// Every size of an image input is a positive integer.
bn_core::network! {
    struct Net {
        input: (1, 0, 28),
        conv2d(8, kernel = 3),
        flatten, dense(10),
    }
}

fn main() {}
