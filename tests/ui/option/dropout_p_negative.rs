// The drop probability is in [0, 1).
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), dropout(-0.1), dense(2),
    }
}

fn main() {}
