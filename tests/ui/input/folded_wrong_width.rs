// The folded model's forward takes one sample of the declared input width.
bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let net = Net::new(0);
    let folded = net.fold();
    let _ = folded.forward(&[0.0f32; 5]);
}
