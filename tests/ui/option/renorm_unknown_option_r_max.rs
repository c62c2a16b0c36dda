// A misspelled `renorm` option gets a suggestion.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(renorm(r_max = 3)),
    }
}

fn main() {}
