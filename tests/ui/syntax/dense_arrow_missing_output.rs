// `dense(a => )` lacks its output width.
bn_core::network! {
    struct Net {
        input: 4,
        dense(4 => ),
    }
}

fn main() {}
