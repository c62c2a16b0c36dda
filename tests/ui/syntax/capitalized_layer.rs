// Layer kinds are lowercase.
bn_core::network! {
    struct Net {
        input: 4,
        Dense(10),
    }
}

fn main() {}
