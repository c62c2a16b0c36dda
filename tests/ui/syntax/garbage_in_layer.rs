// A layer item is followed by `,`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10) foo,
    }
}

fn main() {}
