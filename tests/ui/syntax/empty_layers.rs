// A network needs at least one layer.
bn_core::network! {
    struct Net {
        input: 4,
    }
}

fn main() {}
