// The input width is a positive integer.
bn_core::network! {
    struct Net {
        input: 2.5,
        dense(10),
    }
}

fn main() {}
