// `residual` needs its layers in braces.
bn_core::network! {
    struct Net {
        input: 16,
        residual,
        dense(10),
    }
}

fn main() {}
