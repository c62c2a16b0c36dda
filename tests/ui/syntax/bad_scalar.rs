// The scalar is `f32` or `f64`.
bn_core::network! {
    struct Net {
        input: 4,
        scalar: f16,
        dense(10),
    }
}

fn main() {}
