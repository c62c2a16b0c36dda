// `eps` is positive.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = -1e-3),
    }
}

fn main() {}
