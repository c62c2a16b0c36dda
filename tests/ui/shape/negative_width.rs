// A negative layer width is rejected.
bn_core::network! {
    struct Net {
        input: 4,
        dense(-5),
    }
}

fn main() {}
