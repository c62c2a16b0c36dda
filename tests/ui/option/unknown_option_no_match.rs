// An option that batchnorm does not have.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), batchnorm(affine = false),
    }
}

fn main() {}
