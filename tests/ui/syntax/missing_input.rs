// `input: N` is required.
bn_core::network! {
    struct Net {
        dense(10),
    }
}

fn main() {}
