// PyTorch's rule: the padding is at most half the kernel.
bn_core::network! {
    struct Net {
        input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 2),
        flatten, dense(10),
    }
}

fn main() {}
