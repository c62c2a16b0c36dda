// A misspelled `batchnorm` option gets a suggestion.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(momentun = 0.1),
    }
}

fn main() {}
