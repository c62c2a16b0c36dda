//! Safetensors files written and read by hand, independently of bn-core's loader: a file
//! builder, header surgery for error cases, a reader of every tensor; and the trained
//! [`Every`] network that the weights-file tests save and load.

use std::collections::BTreeMap;

use bn_core::typenum::U8;
use bn_core::{Batch, Rng, Sgd, SoftmaxCrossEntropy, Trainer};
use bn_paper::networks::Every;

/// Little-endian f32s.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// f32s as little-endian bytes.
pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A safetensors file of `tensors` (name, dtype, shape, little-endian bytes).
pub fn safetensors_file(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let (mut header, mut data) = (Vec::new(), Vec::new());
    for (name, dtype, shape, bytes) in tensors {
        let (start, end) = (data.len(), data.len() + bytes.len());
        header
            .push(format!("\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{start},{end}]}}"));
        data.extend_from_slice(bytes);
    }
    let mut header = format!("{{{}}}", header.join(","));
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    out
}

/// The header (JSON) of a file, and where it ends.
pub fn header(bytes: &[u8]) -> (String, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (String::from_utf8(bytes[8..8 + n].to_vec()).unwrap(), 8 + n)
}

/// `bytes` with its header replaced by `new` (the data stays as it is).
pub fn with_header(bytes: &[u8], new: &str) -> Vec<u8> {
    let (_, end) = header(bytes);
    let mut out = (new.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[end..]);
    out
}

/// A header entry of tensor `name` (`"name":{...}`), as the file has it.
pub fn entry<'a>(header: &'a str, name: &str) -> &'a str {
    let start = header.find(&format!("\"{name}\":")).unwrap_or_else(|| panic!("{name} in {header}"));
    let end = start + header[start..].find('}').unwrap() + 1;
    &header[start..end]
}

/// One tensor of a safetensors file.
pub struct Tensor {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Tensor {
    /// The values of an `F32` tensor.
    pub fn f32s(&self) -> Vec<f32> {
        assert_eq!(self.dtype, "F32");
        f32s(&self.data)
    }
    /// The values of an `I8` tensor.
    pub fn i8s(&self) -> Vec<i8> {
        assert_eq!(self.dtype, "I8");
        self.data.iter().map(|&b| b as i8).collect()
    }
    /// The values of an `I32` tensor.
    pub fn i32s(&self) -> Vec<i32> {
        assert_eq!(self.dtype, "I32");
        self.data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
    }
    /// The values of an `F64` tensor.
    pub fn f64s(&self) -> Vec<f64> {
        assert_eq!(self.dtype, "F64");
        self.data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
    }
}

/// The value text of `"key":` in one header entry.
fn field<'a>(entry: &'a str, key: &str) -> &'a str {
    let at = entry.find(&format!("\"{key}\"")).unwrap_or_else(|| panic!("{key} in {entry}"));
    let rest = entry[at + key.len() + 2..].trim_start().strip_prefix(':').unwrap().trim_start();
    let end = if rest.starts_with('[') { rest.find(']').unwrap() + 1 } else { rest[1..].find('"').unwrap() + 2 };
    &rest[..end]
}

/// The numbers of a JSON list of integers, `[2, 3]`.
pub fn numbers(list: &str) -> Vec<usize> {
    let inner = list.trim_start_matches('[').trim_end_matches(']');
    inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect()
}

/// The `__metadata__` of a safetensors file (string keys and values without `"`, `,` or
/// `}`, as `tools/` writes them).
pub fn metadata(bytes: &[u8]) -> BTreeMap<String, String> {
    let (header, _) = header(bytes);
    let Some(at) = header.find("\"__metadata__\"") else { return BTreeMap::new() };
    let rest = &header[at..];
    let inner = &rest[rest.find('{').unwrap() + 1..rest.find('}').unwrap()];
    inner
        .split(',')
        .filter(|kv| !kv.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            (k.trim().trim_matches('"').to_string(), v.trim().trim_matches('"').to_string())
        })
        .collect()
}

/// Every tensor of a safetensors file by name (a reader of its own, independent of bn-core's:
/// the header is flat JSON, `{"name": {"dtype": …, "shape": […], "data_offsets": [a, b]}, …}`).
pub fn tensors(bytes: &[u8]) -> BTreeMap<String, Tensor> {
    let (header, end) = header(bytes);
    let header = header.trim_end();
    let data = &bytes[end..];
    let mut out = BTreeMap::new();
    let mut rest = header.strip_prefix('{').unwrap();
    loop {
        rest = rest.trim_start_matches([',', ' ', '\n']);
        if rest.starts_with('}') {
            break;
        }
        let quoted = rest.strip_prefix('"').unwrap();
        let end = quoted.find('"').unwrap();
        let name = &quoted[..end];
        let value = quoted[end + 1..].trim_start().strip_prefix(':').unwrap().trim_start();
        let close = value.find('}').unwrap();
        let entry = &value[..close];
        rest = &value[close + 1..];
        if name == "__metadata__" {
            continue;
        }
        let offsets = numbers(field(entry, "data_offsets"));
        let tensor = Tensor {
            dtype: field(entry, "dtype").trim_matches('"').to_string(),
            shape: numbers(field(entry, "shape")),
            data: data[offsets[0]..offsets[1]].to_vec(),
        };
        out.insert(name.to_string(), tensor);
    }
    out
}

/// Name, dtype and shape of every tensor, sorted by name.
pub fn layout(file: &BTreeMap<String, Tensor>) -> Vec<(String, String, Vec<usize>)> {
    file.iter().map(|(k, t)| (k.clone(), t.dtype.clone(), t.shape.clone())).collect()
}

/// [`Every`] trained for a few steps: population statistics, batch counts, γ and β are all
/// away from their initial values.
pub fn trained_every() -> Box<Every> {
    let mut net = Every::new_boxed(3);
    let mut trainer = Trainer::<Every, U8>::new_boxed();
    let mut rng = Rng::seed(11);
    let mut x = Batch::<U8, _>::default();
    for _ in 0..5 {
        for v in x.iter_mut().flatten() {
            *v = rng.normal() as f32 * 2.0 + 0.5;
        }
        let labels = core::array::from_fn::<usize, 8, _>(|i| i % 3).into();
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    }
    assert_eq!(net.batchnorm1.num_batches_tracked, 5);
    net
}
