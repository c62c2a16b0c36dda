// A network behind a disabled `#[cfg]` generates nothing at all (every generated item carries
// the cfg), and one behind an enabled `#[cfg]` works.
bn_core::network! {
    #[cfg(any())]
    pub struct Disabled {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

bn_core::network! {
    #[cfg(all())]
    pub struct Enabled {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let net = Enabled::new(1);
    assert_eq!(net.fold().classify(&[0.0f32; 4]), net.classify(&[0.0f32; 4]));
}
