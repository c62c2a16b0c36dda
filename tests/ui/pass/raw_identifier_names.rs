// Raw identifiers work as layer names.
bn_core::network! {
    struct Net {
        input: 4,
        r#type: dense(8), r#match: batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let net = Net::new(0);
    let _ = &net.r#type;
    let _ = &net.r#match;
    assert_eq!(net.eval(&[1.0f32; 4]).len(), 2);
}
