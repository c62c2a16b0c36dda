// A comma between the two branches splits the block.
bn_core::network! {
    struct Net {
        input: 16,
        residual { dense(8), relu },
        shortcut { dense(8) },
        dense(10),
    }
}

fn main() {}
