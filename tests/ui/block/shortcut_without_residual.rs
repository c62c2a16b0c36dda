// `shortcut { … }` only follows a `residual { … }`.
bn_core::network! {
    struct Net {
        input: 16,
        dense(16), relu,
        shortcut { dense(16) },
        dense(10),
    }
}

fn main() {}
