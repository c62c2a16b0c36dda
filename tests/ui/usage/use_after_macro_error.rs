// After a `network!` error, code that uses the network reports the macro's error only.
bn_core::network! {
    struct Net {
        input: 4,
        desne(10),
    }
}

fn main() {
    let net = Net::new(0);
    let _ = net.eval(&[0.0f32; 4]);
}
