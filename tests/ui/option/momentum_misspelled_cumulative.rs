// `cumulative` misspelled.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(momentum = cumulativ),
    }
}

fn main() {}
