// `scalar` is not a layer name.
bn_core::network! {
    struct Net {
        input: 4,
        scalar: dense(10),
    }
}

fn main() {}
