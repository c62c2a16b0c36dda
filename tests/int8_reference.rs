//! bn-core's integer arithmetic against an independent reference: `tools/int8_reference.py`
//! computes TFLite's int8 fully connected layer (per-channel multipliers, both zero points,
//! positive and negative shifts, saturation, a ReLU clamp) in Python integers; bn-core's
//! `QDense` must give the same int8 outputs, bit for bit.

mod common;

use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U11, U37};
use bn_core::QDense;
use common::files::{tensors, Tensor};

fn i8s(t: &Tensor) -> Vec<i8> {
    assert_eq!(t.dtype, "I8");
    t.data.iter().map(|&b| b as i8).collect()
}

fn i32s(t: &Tensor) -> Vec<i32> {
    assert_eq!(t.dtype, "I32");
    t.data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn int8_dense_matches_the_reference_bit_for_bit() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/int8/dense_reference.safetensors");
    let file = tensors(&std::fs::read(path).unwrap());
    let (weight, x) = (i8s(&file["weight"]), i8s(&file["x"]));
    let zero_points = i32s(&file["zero_points"]);
    let mut layer = QDense::<U37, U11> {
        weight: weight.chunks_exact(37).map(|row| *GenericArray::from_slice(row)).collect(),
        bias: *GenericArray::from_slice(&i32s(&file["bias"])),
        mantissa: *GenericArray::from_slice(&i32s(&file["mantissa"])),
        shift: *GenericArray::from_slice(&i32s(&file["shift"])),
        input_zero_point: zero_points[0],
        output_zero_point: zero_points[1],
        min: -128,
        max: 127,
    };
    for (name, min) in [("y", -128), ("y_relu", zero_points[1])] {
        layer.min = min;
        let want = i8s(&file[name]);
        let mut got = Vec::new();
        for sample in x.chunks_exact(37) {
            let mut y = GenericArray::default();
            layer.forward_q(GenericArray::from_slice(sample), &mut y);
            got.extend(y);
        }
        assert_eq!(got, want, "{name}");
    }
}
