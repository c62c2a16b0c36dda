// `dense` needs its output width.
bn_core::network! {
    struct Net {
        input: 4,
        dense,
    }
}

fn main() {}
