// `dropout` needs its drop probability.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), dropout, dense(2),
    }
}

fn main() {}
