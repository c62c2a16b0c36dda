// `affine` is `true` or `false`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(10), layernorm(affine = maybe),
    }
}

fn main() {}
