// `eps` is a number.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = small),
    }
}

fn main() {}
