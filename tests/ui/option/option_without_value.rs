// An option needs `= value`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps),
    }
}

fn main() {}
