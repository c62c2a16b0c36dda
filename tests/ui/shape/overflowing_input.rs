// A width that does not even fit in 64 bits.
bn_core::network! {
    struct Net {
        input: 99999999999999999999999,
        dense(10),
    }
}

fn main() {}
