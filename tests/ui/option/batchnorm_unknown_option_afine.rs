// A misspelled `affine` gets a suggestion.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(afine = false),
    }
}

fn main() {}
