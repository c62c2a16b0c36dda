//! ONNX export (feature `onnx`): [`save_onnx`] writes a model's [`Graph`] and its
//! [`StateDict`] tensors as an ONNX file. The protobuf messages are prost's (`proto.rs`:
//! `onnx.proto`'s definitions, no `protoc`). The guide: `docs/onnx.md`.

mod proto;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use prost::Message;

use super::graph::{Dims, Graph, Node, Op};
use super::state_dict::StateDict;
use super::tensor::TensorRef;
use crate::float::Float;
use proto::{
    AttributeProto, Dimension, DimensionValue, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};

/// The ONNX operator set the files use (LayerNormalization is in 17).
pub const ONNX_OPSET: i64 = 17;
/// The IR version of opset 17.
const IR_VERSION: i64 = 8;

/// The model as an ONNX file (opset 17, IR version 8) for inference: what the generated
/// `save_onnx()` of a `network!` type and of its folded type return.
///
/// # The file
///
/// - One input `input`, `[batch, n]` or `[batch, c, h, w]` with a symbolic `batch`; one
///   output `logits`, `[batch, …]` with the network's output shape. Every value is `FLOAT`:
///   an `f64` network's tensors are rounded to `f32` (onnxruntime's CPU kernels have no
///   `double` convolution, pooling or instance normalization), so its file computes in
///   `f32`.
/// - Initializers under the tensor names of the safetensors files (`0.weight`,
///   `fc1.bias`, `3.body.0.running_var`; `num_batches_tracked` is left out), with the same
///   shapes; the few constants a layer needs beyond them are named after the node
///   (`batchnorm1/ones`, `groupnorm2/shape`).
/// - Nodes named after the `network!` fields (`fc1`, `residual3.body.conv2d0`); each
///   node's output value has the node's name.
///
/// | layer | ONNX |
/// |---|---|
/// | `dense` (and a folded affine layer over features, a diagonal `Linear`) | `Gemm` (`transB = 1`) |
/// | `conv2d` (and a folded affine layer over channels, depthwise) | `Conv` (`group = c` for the depthwise one) |
/// | `batchnorm` (population statistics; `affine = false`: γ = 1, β = 0 constants) | `BatchNormalization` |
/// | `layernorm` | `LayerNormalization` (`axis = 1`) |
/// | `groupnorm(g)` | `Reshape` `[N, g, −1]`, `InstanceNormalization` (γ = 1, β = 0), `Reshape` `[N, c, h, w]`, then `Mul` γ and `Add` β (each `Unsqueeze`d to `[c, 1, 1]`): opset 17 has no GroupNormalization |
/// | `relu`, `sigmoid`, `tanh` | `Relu`, `Sigmoid`, `Tanh` |
/// | `maxpool`, `avgpool` | `MaxPool`, `AveragePool` |
/// | `global_avgpool` | `GlobalAveragePool`, `Flatten` |
/// | `flatten` | `Flatten` |
/// | `dropout` | nothing (the identity in inference) |
/// | `residual` | the branches, then `Add` |
///
/// ```
/// bn_core::network! {
///     pub struct Net { input: 3, fc1: dense(4), batchnorm, relu, dense(2) }
/// }
/// let net = Net::new(1);
/// let bytes = bn_core::save_onnx(&net);
/// assert_eq!(bytes, net.save_onnx());
/// assert_eq!(net.fold().save_onnx(), bn_core::save_onnx(&net.fold()));
/// ```
pub fn save_onnx<M: Graph + StateDict>(model: &M) -> Vec<u8> {
    let mut tensors = BTreeMap::new();
    model.visit(&mut |name, t| {
        if let Some(tensor) = tensor_proto(name.to_string(), t) {
            tensors.insert(tensor.name.clone(), tensor);
        }
    });
    let mut b = Builder { nodes: Vec::new(), initializers: Vec::new(), tensors };
    let last = b.sequence(M::NODES, "input".to_string());
    let out = "logits".to_string();
    match b.nodes.iter_mut().rev().find(|n| n.output.first() == Some(&last)) {
        Some(node) => node.output[0] = out.clone(),
        // Nothing computed (only dropout): the input is the output.
        None => b.nodes.push(NodeProto {
            input: vec![last],
            output: vec![out.clone()],
            name: out.clone(),
            op_type: "Identity".to_string(),
            attribute: vec![],
        }),
    }
    debug_assert!(b.tensors.is_empty(), "tensors no node reads: {:?}", b.tensors.keys());
    let batch = |dims: &[usize]| {
        let mut d = vec![Dimension { value: Some(DimensionValue::DimParam("batch".to_string())) }];
        d.extend(dims.iter().map(|&n| Dimension { value: Some(DimensionValue::DimValue(n as i64)) }));
        d
    };
    let value = |name: &str, dims: Dims| ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: proto::FLOAT,
                shape: Some(TensorShapeProto { dim: batch(&dims.to_vec()) }),
            }),
        }),
    };
    let graph = GraphProto {
        node: b.nodes,
        name: "bn_core".to_string(),
        initializer: b.initializers,
        doc_string: String::new(),
        input: vec![value("input", M::INPUT)],
        output: vec![value(&out, M::output())],
    };
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "bn-core".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        doc_string: "Exported by bn-core's save_onnx (inference: BN with population statistics).".to_string(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: ONNX_OPSET }],
    };
    model.encode_to_vec()
}

/// An initializer of the model's floats, as `f32` (`None` for BN's counter, which inference
/// ignores).
fn tensor_proto<T: Float>(name: String, t: TensorRef<'_, T>) -> Option<TensorProto> {
    let f32s = |v: &[T]| v.iter().map(|x| x.to_f64() as f32).collect::<Vec<f32>>();
    let (data, dims): (Vec<f32>, Vec<usize>) = match t {
        TensorRef::Vector(v) => (f32s(v), vec![v.len()]),
        TensorRef::Matrix { data, rows, cols } => (f32s(data), vec![rows, cols]),
        // The weight of a diagonal `Linear`, as in the safetensors file.
        TensorRef::Diagonal(v) => {
            let n = v.len();
            let mut m = vec![0.0; n * n];
            for (i, &a) in f32s(v).iter().enumerate() {
                m[i * n + i] = a;
            }
            (m, vec![n, n])
        }
        TensorRef::Tensor3 { data, dims } => (f32s(data), dims.to_vec()),
        TensorRef::Tensor4 { data, dims } => (f32s(data), dims.to_vec()),
        TensorRef::Count(_) => return None,
    };
    Some(floats(name, &dims, &data))
}

/// A `FLOAT` initializer.
fn floats(name: String, dims: &[usize], data: &[f32]) -> TensorProto {
    let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    TensorProto { dims: dims.iter().map(|&d| d as i64).collect(), data_type: proto::FLOAT, name, raw_data: raw }
}

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        ints: values.to_vec(),
        r#type: proto::ATTRIBUTE_INTS,
        ..Default::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto { name: name.to_string(), i: Some(value), r#type: proto::ATTRIBUTE_INT, ..Default::default() }
}

fn float(name: &str, value: f64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        f: Some(value as f32),
        r#type: proto::ATTRIBUTE_FLOAT,
        ..Default::default()
    }
}

/// The graph being written: its nodes, the initializers used so far, and the model's
/// tensors not yet used.
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    tensors: BTreeMap<String, TensorProto>,
}

impl Builder {
    /// Adds a node whose output value is named like the node (but for a layer named
    /// `logits` before the last: its value is `logits/value`, as the graph's output is
    /// `logits`); returns the value's name.
    fn node(&mut self, name: &str, op: &str, input: Vec<String>, attribute: Vec<AttributeProto>) -> String {
        let value = if name == "logits" { "logits/value".to_string() } else { name.to_string() };
        self.nodes.push(NodeProto {
            input,
            output: vec![value.clone()],
            name: name.to_string(),
            op_type: op.to_string(),
            attribute,
        });
        value
    }

    /// The model's tensor `{key}.{tensor}`, as an initializer; returns its name.
    fn tensor(&mut self, key: &str, tensor: &str) -> String {
        let name = format!("{key}.{tensor}");
        let Some(t) = self.tensors.remove(&name) else {
            // `Graph` is sealed: only `network!` implements it, with the keys of its own
            // `StateDict` (tested on every layer kind). A missing tensor is a bug in bn-core.
            unreachable!("the graph reads the tensor {name}, which the model does not have");
        };
        self.initializers.push(t);
        name
    }

    /// A `FLOAT` constant: copies of `value` in the shape `dims`.
    fn constant(&mut self, name: String, dims: &[usize], value: f32) -> String {
        let data = vec![value; dims.iter().product()];
        self.initializers.push(floats(name.clone(), dims, &data));
        name
    }

    /// An `int64` constant (a shape or axes).
    fn int64s(&mut self, name: String, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dims = vec![values.len() as i64];
        self.initializers.push(TensorProto { dims, data_type: proto::INT64, name: name.clone(), raw_data: raw });
        name
    }

    /// The inputs of a linear node (`Gemm`, `Conv`): `x`, the layer's weight, and its bias
    /// if it has one.
    fn linear_inputs(&mut self, x: String, key: &str, bias: bool) -> Vec<String> {
        let mut inputs = vec![x, self.tensor(key, "weight")];
        if bias {
            inputs.push(self.tensor(key, "bias"));
        }
        inputs
    }

    /// The nodes of a sequence of layers starting from the value `x`; returns the name of
    /// the last value.
    fn sequence(&mut self, nodes: &[Node], mut x: String) -> String {
        for n in nodes {
            x = self.layer(n, x);
        }
        x
    }

    /// The nodes of one layer; returns its output value.
    fn layer(&mut self, n: &Node, x: String) -> String {
        let (name, key) = (n.name, n.key);
        match n.op {
            Op::Dense { bias, .. } => {
                let inputs = self.linear_inputs(x, key, bias);
                self.node(name, "Gemm", inputs, vec![int("transB", 1)])
            }
            Op::DiagonalAffine => {
                let inputs = self.linear_inputs(x, key, true);
                self.node(name, "Gemm", inputs, vec![int("transB", 1)])
            }
            Op::Conv2d { kernel, stride, padding, bias, .. } => {
                let inputs = self.linear_inputs(x, key, bias);
                let [ph, pw] = padding.map(|p| p as i64);
                let attributes = vec![
                    ints("kernel_shape", &kernel.map(|k| k as i64)),
                    ints("strides", &stride.map(|s| s as i64)),
                    ints("pads", &[ph, pw, ph, pw]),
                ];
                self.node(name, "Conv", inputs, attributes)
            }
            Op::ChannelAffine => {
                let inputs = self.linear_inputs(x, key, true);
                let attributes = vec![ints("kernel_shape", &[1, 1]), int("group", n.input.channels() as i64)];
                self.node(name, "Conv", inputs, attributes)
            }
            Op::BatchNorm { eps, affine } => {
                let c = n.input.channels();
                let (scale, shift) = if affine {
                    (self.tensor(key, "weight"), self.tensor(key, "bias"))
                } else {
                    (
                        self.constant(format!("{name}/ones"), &[c], 1.0),
                        self.constant(format!("{name}/zeros"), &[c], 0.0),
                    )
                };
                let inputs = vec![x, scale, shift, self.tensor(key, "running_mean"), self.tensor(key, "running_var")];
                self.node(name, "BatchNormalization", inputs, vec![float("epsilon", eps)])
            }
            Op::LayerNorm { eps, affine } => {
                let inputs = if affine {
                    vec![x, self.tensor(key, "weight"), self.tensor(key, "bias")]
                } else {
                    vec![x, self.constant(format!("{name}/ones"), &n.input.to_vec(), 1.0)]
                };
                self.node(name, "LayerNormalization", inputs, vec![int("axis", 1), float("epsilon", eps)])
            }
            Op::GroupNorm { groups, eps, affine } => self.groupnorm(n, x, groups, eps, affine),
            Op::Sigmoid => self.node(name, "Sigmoid", vec![x], vec![]),
            Op::ReLU => self.node(name, "Relu", vec![x], vec![]),
            Op::Tanh => self.node(name, "Tanh", vec![x], vec![]),
            Op::MaxPool { size, stride } | Op::AvgPool { size, stride } => {
                let op = if matches!(n.op, Op::MaxPool { .. }) { "MaxPool" } else { "AveragePool" };
                let (size, stride) = (size as i64, stride as i64);
                let attributes = vec![ints("kernel_shape", &[size, size]), ints("strides", &[stride, stride])];
                self.node(name, op, vec![x], attributes)
            }
            Op::GlobalAvgPool => {
                let pooled = self.node(&format!("{name}/pool"), "GlobalAveragePool", vec![x], vec![]);
                self.node(name, "Flatten", vec![pooled], vec![int("axis", 1)])
            }
            Op::Flatten => self.node(name, "Flatten", vec![x], vec![int("axis", 1)]),
            Op::Dropout { .. } => x,
            Op::Residual { body, shortcut } => {
                let a = self.sequence(body, x.clone());
                let b = match shortcut {
                    Some(shortcut) => self.sequence(shortcut, x),
                    None => x,
                };
                self.node(name, "Add", vec![a, b], vec![])
            }
        }
    }

    /// GroupNorm in opset 17's operators: per sample, the `c/g` channels of each group
    /// normalized together is InstanceNormalization of the `[N, g, c/g·h·w]` reshape; then
    /// the per-channel γ and β.
    fn groupnorm(&mut self, n: &Node, x: String, groups: usize, eps: f64, affine: bool) -> String {
        let (name, key) = (n.name, n.key);
        let dims: Vec<i64> = n.input.to_vec().iter().map(|&d| d as i64).collect();
        let grouped = self.int64s(format!("{name}/grouped_shape"), &[0, groups as i64, -1]);
        let g = self.node(&format!("{name}/grouped"), "Reshape", vec![x, grouped], vec![]);
        let ones = self.constant(format!("{name}/ones"), &[groups], 1.0);
        let zeros = self.constant(format!("{name}/zeros"), &[groups], 0.0);
        let normalized = format!("{name}/normalized");
        let g = self.node(&normalized, "InstanceNormalization", vec![g, ones, zeros], vec![float("epsilon", eps)]);
        let mut shape = vec![0];
        shape.extend(&dims);
        let shape = self.int64s(format!("{name}/shape"), &shape);
        if !affine {
            return self.node(name, "Reshape", vec![g, shape], vec![]);
        }
        let y = self.node(&format!("{name}/reshaped"), "Reshape", vec![g, shape], vec![]);
        let axes = self.int64s(format!("{name}/axes"), &[1, 2]);
        let (weight, bias) = (self.tensor(key, "weight"), self.tensor(key, "bias"));
        let gamma = self.node(&format!("{name}/gamma"), "Unsqueeze", vec![weight, axes.clone()], vec![]);
        let beta = self.node(&format!("{name}/beta"), "Unsqueeze", vec![bias, axes], vec![]);
        let y = self.node(&format!("{name}/scaled"), "Mul", vec![y, gamma], vec![]);
        self.node(name, "Add", vec![y, beta], vec![])
    }
}

#[cfg(test)]
mod tests;
