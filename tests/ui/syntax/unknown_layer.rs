// An unknown layer without a close match lists the layers.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), softmax,
    }
}

fn main() {}
