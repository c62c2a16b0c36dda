//! The file's structure, decoded with the same prost messages: names, shapes, initializers,
//! nodes. (What the nodes compute is checked against onnxruntime by the workspace's
//! `tests/onnx_export.rs`.)

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use prost::Message;

use super::proto::{DimensionValue, ModelProto, ValueInfoProto};
use crate::StateDict;

crate::network! {
    struct Named {
        input: (1, 4, 4),
        stem: conv2d(2, kernel = 3), batchnorm(affine = false), relu,
        residual { conv2d(2, kernel = 1), groupnorm(2) },
        flatten, dropout(0.5), head: dense(3),
    }
}

fn decode(bytes: &[u8]) -> ModelProto {
    ModelProto::decode(bytes).expect("a valid ModelProto")
}

fn dims(v: &ValueInfoProto) -> Vec<String> {
    let shape = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap().shape.as_ref().unwrap();
    shape
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            DimensionValue::DimValue(n) => n.to_string(),
            DimensionValue::DimParam(p) => p.clone(),
        })
        .collect()
}

#[test]
fn input_output_opset_and_names() {
    let net = Named::new(3);
    let model = decode(&net.save_onnx());
    assert_eq!((model.ir_version, model.opset_import[0].version), (8, 17));
    let g = model.graph.unwrap();
    assert_eq!(g.input.len(), 1);
    assert_eq!(
        (g.input[0].name.as_str(), dims(&g.input[0])),
        ("input", ["batch", "1", "4", "4"].map(String::from).to_vec())
    );
    assert_eq!((g.output[0].name.as_str(), dims(&g.output[0])), ("logits", ["batch", "3"].map(String::from).to_vec()));
    let ops: Vec<(&str, &str)> = g.node.iter().map(|n| (n.name.as_str(), n.op_type.as_str())).collect();
    assert_eq!(
        ops,
        [
            ("stem", "Conv"),
            ("batchnorm1", "BatchNormalization"),
            ("relu2", "Relu"),
            ("residual3.body.conv2d0", "Conv"),
            ("residual3.body.groupnorm1/grouped", "Reshape"),
            ("residual3.body.groupnorm1/normalized", "InstanceNormalization"),
            ("residual3.body.groupnorm1/reshaped", "Reshape"),
            ("residual3.body.groupnorm1/gamma", "Unsqueeze"),
            ("residual3.body.groupnorm1/beta", "Unsqueeze"),
            ("residual3.body.groupnorm1/scaled", "Mul"),
            ("residual3.body.groupnorm1", "Add"),
            ("residual3", "Add"),
            ("flatten4", "Flatten"),
            ("head", "Gemm"),
        ]
    );
    // Dropout is absent; the last node writes `logits`; the block adds its body's output to
    // its input (the identity shortcut).
    assert_eq!(g.node.last().unwrap().output, ["logits"]);
    assert_eq!(g.node[11].input, ["residual3.body.groupnorm1", "relu2"]);
    // The initializers: every float tensor of the weights file under its name (not BN's
    // counter), then the constants named after their node.
    let mut file = Vec::new();
    net.visit(&mut |name, _| file.push(name.to_string()));
    file.retain(|n| !n.ends_with("num_batches_tracked"));
    let inits: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    for name in &file {
        assert!(inits.contains(&name.as_str()), "{name} in {inits:?}");
    }
    let constants: Vec<&&str> = inits.iter().filter(|n| !file.iter().any(|f| f == *n)).collect();
    assert!(constants.iter().all(|n| n.starts_with("batchnorm1/") || n.starts_with("residual3.body.groupnorm1/")));
    let weight = g.initializer.iter().find(|t| t.name == "stem.weight").unwrap();
    assert_eq!((weight.dims.as_slice(), weight.data_type, weight.raw_data.len()), (&[2i64, 1, 3, 3][..], 1, 72));
}

#[test]
fn the_folded_model_has_no_batchnorm_and_keeps_names() {
    let net = Named::new(3);
    let model = decode(&net.fold().save_onnx());
    let g = model.graph.unwrap();
    let ops: Vec<&str> = g.node.iter().map(|n| n.op_type.as_str()).collect();
    assert!(!ops.contains(&"BatchNormalization"), "{ops:?}");
    assert_eq!(g.node[0].name, "stem");
    // The BN folded into `stem`, which now has a bias, saved as `0.bias` of the folded file
    // (`stem` is named, so `stem.bias`).
    assert_eq!(g.node[0].input, ["input", "stem.weight", "stem.bias"]);
    assert_eq!(g.output[0].name, "logits");
}

/// An `f64` network's file is `FLOAT` throughout (onnxruntime runs no `double` `Conv`).
#[test]
fn f64_models_are_float() {
    crate::network! {
        struct Wide { input: (1, 3, 3), scalar: f64, conv2d(2, kernel = 3), batchnorm, tanh, flatten, dense(2) }
    }
    let net = Wide::new(1);
    let g = decode(&net.save_onnx()).graph.unwrap();
    let elem = g.input[0].r#type.as_ref().unwrap().tensor_type.as_ref().unwrap().elem_type;
    assert_eq!(elem, super::proto::FLOAT);
    assert!(g.initializer.iter().all(|t| t.data_type == super::proto::FLOAT));
    let weight = g.initializer.iter().find(|t| t.name == "0.weight").unwrap();
    let first = f32::from_le_bytes(weight.raw_data[..4].try_into().unwrap());
    let mut want = None;
    net.visit(&mut |name, t| match t {
        crate::TensorRef::Tensor4 { data, .. } if name.is("0.weight") => want = Some(data[0] as f32),
        _ => {}
    });
    assert_eq!(Some(first), want);
}

/// A layer named `logits` before the last one: its value is renamed, the output stays
/// unique (ONNX values are assigned once).
#[test]
fn a_layer_named_logits_does_not_clash_with_the_output() {
    crate::network! {
        struct Clash { input: 2, logits: dense(3), sigmoid }
    }
    let g = decode(&Clash::new(1).save_onnx()).graph.unwrap();
    let outputs: Vec<&str> = g.node.iter().map(|n| n.output[0].as_str()).collect();
    assert_eq!(outputs, ["logits/value", "logits"]);
    assert_eq!((g.node[0].name.as_str(), g.node[1].input[0].as_str()), ("logits", "logits/value"));
    crate::network! {
        struct OnlyDropout { input: 2, dropout(0.5) }
    }
    let g = decode(&OnlyDropout::new(1).save_onnx()).graph.unwrap();
    assert_eq!(g.node.len(), 1);
    assert_eq!((g.node[0].op_type.as_str(), g.node[0].input[0].as_str()), ("Identity", "input"));
}
