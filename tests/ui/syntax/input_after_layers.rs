// `input` comes first.
bn_core::network! {
    struct Net {
        dense(10),
        input: 4,
    }
}

fn main() {}
