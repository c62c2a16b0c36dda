// A user derive that the expansion already provides.
bn_core::network! {
    #[derive(Clone)]
    struct Net {
        input: 4,
        dense(10),
    }
}

fn main() {}
