// An option needs a value after `=`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = ),
    }
}

fn main() {}
