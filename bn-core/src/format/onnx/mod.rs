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
use super::plain::PlainScalar;
use super::state_dict::StateDict;
use super::tensor::TensorRef;
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
///   output `logits`, `[batch, outputs]`; the network's scalar type (`FLOAT` for `f32`,
///   `DOUBLE` for `f64`).
/// - Initializers under the tensor names of the safetensors files (`0.weight`,
///   `fc1.bias`, `3.body.0.running_var`; `num_batches_tracked` is left out), with the same
///   shapes; the few constants a layer needs beyond them are named after the node
///   (`batchnorm1/ones`, `groupnorm2/shape`).
/// - Nodes named after the `network!` fields (`fc1`, `residual3.body.conv2d0`); each
///   node's output value has the node's name.
/// - ε is an attribute, which ONNX stores as `float`: an `f64` model's ε is rounded to `f32`.
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
        if let Some(tensor) = tensor_proto::<M::Scalar>(name.to_string(), t) {
            tensors.insert(tensor.name.clone(), tensor);
        }
    });
    let elem = elem_type::<M::Scalar>();
    let mut b = Builder { nodes: Vec::new(), initializers: Vec::new(), tensors, elem };
    let out = b.sequence(M::NODES, "input".to_string(), M::INPUT);
    let out = match b.nodes.iter_mut().rev().find(|n| n.output.first() == Some(&out)) {
        Some(node) => {
            node.output[0] = "logits".to_string();
            "logits".to_string()
        }
        None => {
            b.node("logits", "Identity", vec![out], vec![]);
            "logits".to_string()
        }
    };
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
                elem_type: elem,
                shape: Some(TensorShapeProto { dim: batch(&dims_of(dims)) }),
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

/// `FLOAT` or `DOUBLE`.
fn elem_type<T: PlainScalar>() -> i32 {
    if T::SIZE == 4 {
        proto::FLOAT
    } else {
        proto::DOUBLE
    }
}

/// A sample's dimensions: `[n]` or `[c, h, w]`.
fn dims_of(d: Dims) -> Vec<usize> {
    match d {
        Dims::Flat(n) => vec![n],
        Dims::Image { c, h, w } => vec![c, h, w],
    }
}

/// An initializer of the model's floats (`None` for BN's counter, which inference ignores).
fn tensor_proto<T: PlainScalar>(name: String, t: TensorRef<'_, T>) -> Option<TensorProto> {
    let (data, dims): (Vec<T>, Vec<usize>) = match t {
        TensorRef::Vector(v) => (v.to_vec(), vec![v.len()]),
        TensorRef::Matrix { data, rows, cols } => (data.to_vec(), vec![rows, cols]),
        // The weight of a diagonal `Linear`, as in the safetensors file.
        TensorRef::Diagonal(v) => {
            let n = v.len();
            let mut m = vec![T::ZERO; n * n];
            for (i, &a) in v.iter().enumerate() {
                m[i * n + i] = a;
            }
            (m, vec![n, n])
        }
        TensorRef::Tensor3 { data, dims } => (data.to_vec(), dims.to_vec()),
        TensorRef::Tensor4 { data, dims } => (data.to_vec(), dims.to_vec()),
        TensorRef::Count(_) => return None,
    };
    Some(floats(name, &dims, &data))
}

/// A float initializer.
fn floats<T: PlainScalar>(name: String, dims: &[usize], data: &[T]) -> TensorProto {
    let mut raw = vec![0u8; data.len() * T::SIZE];
    for (x, out) in data.iter().zip(raw.chunks_exact_mut(T::SIZE)) {
        x.write_le(out);
    }
    TensorProto { dims: dims.iter().map(|&d| d as i64).collect(), data_type: elem_type::<T>(), name, raw_data: raw }
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
    elem: i32,
}

impl Builder {
    /// Adds a node whose output value is named like the node; returns that name.
    fn node(&mut self, name: &str, op: &str, input: Vec<String>, attribute: Vec<AttributeProto>) -> String {
        self.nodes.push(NodeProto {
            input,
            output: vec![name.to_string()],
            name: name.to_string(),
            op_type: op.to_string(),
            attribute,
        });
        name.to_string()
    }

    /// The model's tensor `{key}.{tensor}`, as an initializer; returns its name.
    fn tensor(&mut self, key: &str, tensor: &str) -> String {
        let name = format!("{key}.{tensor}");
        let Some(t) = self.tensors.remove(&name) else {
            // The generated `Graph` and `StateDict` impls agree by construction (tested on
            // every layer kind); a missing tensor is a bug in bn-core, not bad input.
            unreachable!("the graph reads the tensor {name}, which the model does not have");
        };
        self.initializers.push(t);
        name
    }

    /// A constant of the model's float type, `n` copies of `value`.
    fn constant(&mut self, name: String, dims: &[usize], value: f64) -> String {
        let n = dims.iter().product();
        let mut raw = Vec::new();
        for _ in 0..n {
            if self.elem == proto::FLOAT {
                raw.extend((value as f32).to_le_bytes());
            } else {
                raw.extend(value.to_le_bytes());
            }
        }
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.initializers.push(TensorProto { dims, data_type: self.elem, name: name.clone(), raw_data: raw });
        name
    }

    /// An `int64` constant (a shape or axes).
    fn int64s(&mut self, name: String, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dims = vec![values.len() as i64];
        self.initializers.push(TensorProto { dims, data_type: proto::INT64, name: name.clone(), raw_data: raw });
        name
    }

    /// The nodes of a sequence of layers starting from the value `x` of shape `dims`;
    /// returns the name of the last value.
    fn sequence(&mut self, nodes: &[Node], mut x: String, mut dims: Dims) -> String {
        for n in nodes {
            debug_assert_eq!(n.input, dims, "{}", n.name);
            x = self.layer(n, x);
            dims = n.output();
        }
        x
    }

    /// The nodes of one layer; returns its output value.
    fn layer(&mut self, n: &Node, x: String) -> String {
        let (name, key) = (n.name, n.key);
        match n.op {
            Op::Dense { bias, .. } => {
                let mut inputs = vec![x, self.tensor(key, "weight")];
                if bias {
                    inputs.push(self.tensor(key, "bias"));
                }
                self.node(name, "Gemm", inputs, vec![int("transB", 1)])
            }
            Op::DiagonalAffine => {
                let inputs = vec![x, self.tensor(key, "weight"), self.tensor(key, "bias")];
                self.node(name, "Gemm", inputs, vec![int("transB", 1)])
            }
            Op::Conv2d { kernel, stride, padding, bias, .. } => {
                let mut inputs = vec![x, self.tensor(key, "weight")];
                if bias {
                    inputs.push(self.tensor(key, "bias"));
                }
                let [ph, pw] = padding.map(|p| p as i64);
                let attributes = vec![
                    ints("kernel_shape", &kernel.map(|k| k as i64)),
                    ints("strides", &stride.map(|s| s as i64)),
                    ints("pads", &[ph, pw, ph, pw]),
                ];
                self.node(name, "Conv", inputs, attributes)
            }
            Op::ChannelAffine => {
                let inputs = vec![x, self.tensor(key, "weight"), self.tensor(key, "bias")];
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
                    vec![x, self.constant(format!("{name}/ones"), &dims_of(n.input), 1.0)]
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
                let a = self.sequence(body, x.clone(), n.input);
                let b = match shortcut {
                    Some(shortcut) => self.sequence(shortcut, x, n.input),
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
        let dims: Vec<i64> = dims_of(n.input).iter().map(|&d| d as i64).collect();
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
