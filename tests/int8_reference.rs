//! bn-core's integer arithmetic against an independent reference: `tools/int8_reference.py`
//! computes TFLite's int8 fully connected layer (per-channel multipliers, both zero points,
//! positive and negative shifts, saturation, a ReLU clamp) in Python integers; bn-core's
//! `QDense` must give the same int8 outputs, bit for bit. (The whole network's reference
//! is `tests/int8_network.rs`.)

mod common;

use bn_core::generic_array::GenericArray;
use bn_core::quant::{LeI32, Requantized};
use bn_core::typenum::{U11, U37};
use bn_core::QDense;
use common::files::tensors;

#[test]
fn int8_dense_matches_the_reference_bit_for_bit() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/int8/dense_reference.safetensors");
    let file = tensors(&std::fs::read(path).unwrap());
    let (weight, x) = (file["weight"].i8s(), file["x"].i8s());
    let [zx, zy] = file["zero_points"].i32s()[..] else { panic!("two zero points") };
    let mut out = Requantized::<U11>::default();
    // The layer stores TFLite's bias with the input's offset folded in: b − (z_x + 128)·Σw.
    for (o, (b, row)) in file["bias"].i32s().into_iter().zip(weight.chunks_exact(37)).enumerate() {
        let sum: i32 = row.iter().map(|&w| i32::from(w)).sum();
        out.bias[o] = LeI32::new(b - (zx + 128) * sum);
    }
    for (o, (m, s)) in file["mantissa"].i32s().into_iter().zip(file["shift"].i32s()).enumerate() {
        (out.mantissa[o], out.shift[o]) = (LeI32::new(m), s as i8);
    }
    out.output_zero_point = zy as i8;
    let mut layer =
        QDense::<U37, U11> { weight: weight.chunks_exact(37).map(|row| *GenericArray::from_slice(row)).collect(), out };
    for (name, min) in [("y", -128), ("y_relu", zy as i8)] {
        (layer.out.min, layer.out.max) = (min, 127);
        let want = file[name].i8s();
        let mut got = Vec::new();
        for sample in x.chunks_exact(37) {
            let mut y = GenericArray::default();
            layer.forward_q(GenericArray::from_slice(sample), &mut y);
            got.extend(y);
        }
        assert_eq!(got, want, "{name}");
    }
}
