// `dense` has one `=>`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(4 => 10 => 3),
    }
}

fn main() {}
