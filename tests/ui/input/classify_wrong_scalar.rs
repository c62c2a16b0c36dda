// An `f64` network does not take `f32` samples.
bn_core::network! {
    struct Net {
        input: 4,
        scalar: f64,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let net = Net::new(0);
    let _ = net.classify(&[0.0f32; 4]);
}
