// An empty shortcut would be the identity, which is written by leaving it out.
bn_core::network! {
    struct Net {
        input: 16,
        residual { dense(16), relu } shortcut {},
        dense(10),
    }
}

fn main() {}
