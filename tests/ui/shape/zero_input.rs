// An input of width 0 is rejected.
bn_core::network! {
    struct Net {
        input: 0,
        dense(10),
    }
}

fn main() {}
