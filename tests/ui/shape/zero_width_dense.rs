// A layer of width 0 is rejected.
bn_core::network! {
    struct Net {
        input: 4,
        dense(0),
    }
}

fn main() {}
