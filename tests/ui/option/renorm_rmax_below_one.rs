// Batch Renormalization clips r to [1/rmax, rmax]: `rmax` is at least 1.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(renorm(rmax = 0.5, dmax = 1)),
    }
}

fn main() {}
