// A misspelled `layernorm` option gets a suggestion.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), layernorm(epsilon = 1e-3),
    }
}

fn main() {}
