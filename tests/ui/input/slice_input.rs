// A slice has no static width: the eval forward takes an array or a `GenericArray`.
bn_core::network! {
    struct Net {
        input: 4,
        dense(2),
    }
}

fn main() {
    let net = Net::new(0);
    let v = vec![0.0f32; 4];
    let _ = net.eval(&v[..]);
}
