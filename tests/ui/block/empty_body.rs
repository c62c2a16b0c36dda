// A block needs at least one layer in its body.
bn_core::network! {
    struct Net {
        input: 16,
        residual {},
        dense(10),
    }
}

fn main() {}
