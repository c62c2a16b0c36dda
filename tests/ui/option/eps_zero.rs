// `eps` is positive.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = 0),
    }
}

fn main() {}
