// A residual block has no int8 model yet: `quantize` is a compile error at the call.

bn_core::network! {
    struct Res {
        input: (1, 4, 4),
        conv2d(2, kernel = 3, padding = 1), relu,
        residual { conv2d(2, kernel = 3, padding = 1), batchnorm },
        flatten, dense(2),
    }
}

fn main() {
    let folded = Res::new(1).fold();
    let _ = folded.quantize(&[[0.0f32; 16]]);
}
