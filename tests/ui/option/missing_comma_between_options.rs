// Options are separated by commas.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = 1e-3 momentum = 0.1),
    }
}

fn main() {}
