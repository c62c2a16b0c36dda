// A layer width is a positive integer literal.
bn_core::network! {
    struct Net {
        input: 4,
        dense(N),
    }
}

fn main() {}
