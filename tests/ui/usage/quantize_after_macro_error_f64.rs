// After a `network!` error in an `f64` network, its folded type still type-checks: only the
// macro's error is reported.
bn_core::network! {
    struct Net {
        input: 4,
        scalar: f64,
        desne(10),
    }
}

fn main() {
    let folded = Net::new(0).fold();
    let _ = folded.classify(&[0.0f64; 4]);
}
