// Batch Renormalization clips d to [-dmax, dmax]: `dmax` is at least 0.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(renorm(rmax = 2, dmax = -1)),
    }
}

fn main() {}
