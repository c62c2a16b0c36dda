// One flag at most.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10, bias, no_bias),
    }
}

fn main() {}
