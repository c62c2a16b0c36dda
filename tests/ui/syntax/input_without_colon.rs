// `input` needs a colon.
bn_core::network! {
    struct Net {
        input 4,
        dense(10),
    }
}

fn main() {}
