// Blocks nest; the inner block's body is checked against the inner block's input.
bn_core::network! {
    struct Net {
        input: 32,
        residual {
            dense(32), relu,
            residual { dense(16), relu },
        },
        dense(10),
    }
}

fn main() {}
