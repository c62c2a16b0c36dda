// `input` is not a layer name.
bn_core::network! {
    struct Net {
        input: 4,
        input: dense(10),
    }
}

fn main() {}
