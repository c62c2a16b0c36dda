// Quantization starts from an `f32` network: an `f64` one's `quantize` is a compile error.

bn_core::network! {
    struct Wide { input: 3, scalar: f64, dense(4), batchnorm, relu, dense(2) }
}

fn main() {
    let folded = Wide::new(1).fold();
    let _ = folded.quantize(&[[0.0f64; 3]]);
}
