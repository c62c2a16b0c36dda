// Widths beyond the supported maximum are rejected.
bn_core::network! {
    struct Net {
        input: 99999999999,
        dense(10),
    }
}

fn main() {}
