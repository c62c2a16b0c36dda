// The paper's MNIST network as in the crate docs, with a `pub` struct and doc comments.
bn_core::network! {
    /// Doc comments and attributes pass through.
    pub struct Mlp {
        input: 784,
        dense(100), batchnorm, sigmoid,
        dense(100), batchnorm(eps = 1e-3, momentum = 0.01), sigmoid,
        dense(100), batchnorm(momentum = cumulative), relu,
        fc_out: dense(100 => 10, bias),
    }
}

fn main() {
    let net = Mlp::new_boxed(0);
    let y = net.eval(&[0.5f32; 784]);
    assert_eq!(y.len(), 10);
    assert!(net.classify(&[0.5f32; 784]) < 10);
    assert!(Mlp::SUMMARY.contains("fc_out"));
}
