// A negative input width is rejected.
bn_core::network! {
    struct Net {
        input: -3,
        dense(10),
    }
}

fn main() {}
