// The `dense` flags are `bias` and `no_bias`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10, biass),
    }
}

fn main() {}
