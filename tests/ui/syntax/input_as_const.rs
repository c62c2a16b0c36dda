// Widths are literals, not constants.
bn_core::network! {
    struct Net {
        input: WIDTH,
        dense(10),
    }
}

fn main() {}
