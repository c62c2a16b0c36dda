// `momentum` is in (0, 1]: 0 would freeze the population statistics.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(momentum = 0),
    }
}

fn main() {}
