// A misspelled `residual` is an unknown layer with a suggestion.
bn_core::network! {
    struct Net {
        input: 16,
        resdual { dense(16), relu, dense(16) },
        dense(10),
    }
}

fn main() {}
