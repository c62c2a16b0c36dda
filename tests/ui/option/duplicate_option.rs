// Each option is given once.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(eps = 1e-3, eps = 1e-4),
    }
}

fn main() {}
