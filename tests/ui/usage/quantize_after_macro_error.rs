// After a `network!` error, code that quantizes the network reports the macro's error only.
use bn_core::quant::Observer;

bn_core::network! {
    struct Net {
        input: 4,
        desne(10),
    }
}

fn main() {
    let folded = Net::new(0).fold();
    let q = folded.quantize(&[[0.0f32; 4]]).unwrap();
    let _ = q.classify(&[0.0f32; 4]);
    let _ = folded.calibrate(&[[0.0f32; 4]], Observer::MinMax);
}
