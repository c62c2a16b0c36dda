// The drop probability is in [0, 1): 1 would drop everything.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), dropout(1.0), dense(2),
    }
}

fn main() {}
