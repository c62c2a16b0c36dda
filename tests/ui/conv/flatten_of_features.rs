// `flatten` of features would do nothing.
bn_core::network! {
    struct Net {
        input: 784,
        dense(100), relu,
        flatten,
        dense(10),
    }
}

fn main() {}
