// Every error of every branch is reported, each once; a block after them is still checked
// (the identity fixes the first block's output, the body the second's).
bn_core::network! {
    struct Net {
        input: (4, 8, 8),
        residual {
            conv2d(4, kernal = 3), batchnorm(momentum = 2),
        },
        residual {
            conv2d(8, kernel = 3, padding = 1),
        } shortcut {
            desne(8),
        },
        residual { conv2d(16, kernel = 1) },
        global_avgpool, dense(10),
    }
}

fn main() {}
