// The eval forward takes one sample of the declared input width.
bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let net = Net::new(0);
    let _ = net.eval(&[0.0f32; 3]);
}
