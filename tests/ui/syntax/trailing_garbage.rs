// `network!` takes exactly one struct.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10),
    }
    extra tokens
}

fn main() {}
