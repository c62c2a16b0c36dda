// The body is in braces.
bn_core::network! {
    struct Net (
        input: 4,
        dense(10),
    )
}

fn main() {}
