// A network with a LayerNorm has no int8 model: `quantize` is a compile error at the call
// that names the layer kind.

bn_core::network! {
    struct Normed { input: 4, dense(8), layernorm, relu, dense(2) }
}

fn main() {
    let folded = Normed::new(1).fold();
    let _ = folded.quantize(&[[0.0f32; 4]]);
}
