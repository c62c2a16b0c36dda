// Layers are separated by commas.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10) relu,
        dense(2),
    }
}

fn main() {}
