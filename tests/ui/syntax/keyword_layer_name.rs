// A keyword as a layer name.
bn_core::network! {
    struct Net {
        input: 4,
        type: dense(10),
    }
}

fn main() {}
