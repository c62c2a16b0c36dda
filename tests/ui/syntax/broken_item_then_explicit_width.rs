// A malformed layer must not shift the widths and numbers of the layers after it.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10) foo,
        dense(10 => 5),
    }
}

fn main() {}
