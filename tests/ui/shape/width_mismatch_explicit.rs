// `dense(a => b)` states its input width; it must match the previous layer's output.
bn_core::network! {
    struct Net {
        input: 784,
        dense(100), batchnorm, sigmoid,
        dense(50 => 10),
    }
}

fn main() {}
