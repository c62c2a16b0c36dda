// `eps` is finite.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = 1e999),
    }
}

fn main() {}
