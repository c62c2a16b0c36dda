// A second width is not a `dense` flag.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10, 20),
    }
}

fn main() {}
