// The smallest networks: one layer, no BN; a lone activation; a lone BN.
bn_core::network! {
    struct One {
        input: 3,
        dense(1),
    }
}

bn_core::network! {
    struct JustRelu {
        input: 3,
        relu,
    }
}

bn_core::network! {
    struct JustBn {
        input: 3,
        batchnorm,
    }
}

fn main() {
    assert_eq!(One::new(0).eval(&[1.0f32, 2.0, 3.0]).len(), 1);
    assert_eq!(JustRelu::new(0).eval(&[-1.0f32, 0.0, 2.0]).as_slice(), &[0.0, 0.0, 2.0]);
    let bn = JustBn::new(0);
    let y = bn.eval(&[1.0f32, 2.0, 3.0]);
    assert!((y[2] - 3.0).abs() < 1e-3);
    let _ = bn.fold().forward(&[1.0f32, 2.0, 3.0]);
}
