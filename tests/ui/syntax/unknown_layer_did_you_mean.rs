// A misspelled layer gets a suggestion.
bn_core::network! {
    struct Net {
        input: 4,
        desne(10),
    }
}

fn main() {}
