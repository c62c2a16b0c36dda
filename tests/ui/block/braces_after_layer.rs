// Only a `residual` block takes layers in braces.
bn_core::network! {
    struct Net {
        input: 16,
        dense(16) { relu },
        dense(10),
    }
}

fn main() {}
