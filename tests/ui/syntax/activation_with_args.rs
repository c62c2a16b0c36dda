// Activations take no arguments.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), sigmoid(2),
    }
}

fn main() {}
