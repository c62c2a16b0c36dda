// Settings belong to the network, not to a block.
bn_core::network! {
    struct Net {
        input: 16,
        residual { input: 16, dense(16) },
        dense(10),
    }
}

fn main() {}
