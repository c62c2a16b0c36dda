// `momentum` is in (0, 1].
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(momentum = 1.5),
    }
}

fn main() {}
