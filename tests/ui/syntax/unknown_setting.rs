// A misspelled setting gets a suggestion.
bn_core::network! {
    struct Net {
        inptu: 4,
        dense(10),
    }
}

fn main() {}
