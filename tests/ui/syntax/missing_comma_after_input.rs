// A comma after the input width.
bn_core::network! {
    struct Net {
        input: 4
        dense(10),
    }
}

fn main() {}
