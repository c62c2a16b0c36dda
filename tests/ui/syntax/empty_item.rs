// A doubled comma.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10),, relu,
    }
}

fn main() {}
