//! Weights files in the [safetensors](https://huggingface.co/docs/safetensors) format, with
//! the tensor names of a [`StateDict`](super::StateDict) (feature `safetensors`): saving, and
//! loading that checks every tensor before it writes one.

use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use safetensors::tensor::{Dtype, Metadata, TensorInfo, View};

use super::error::LoadError;
use super::plain::{PlainElement, PlainScalar};
use super::tensor::{Kind, TensorMut, TensorName, TensorRef};
use crate::float::Float;

/// The largest header the safetensors format allows (the `safetensors` crate's limit).
const MAX_HEADER_SIZE: usize = 100_000_000;

// ---- saving ----

/// A tensor ready to be written: the `safetensors` crate's [`View`].
struct Encoded {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for Encoded {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn float_dtype<T: PlainScalar>() -> Dtype {
    if T::SIZE == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn encode<T: PlainScalar>(t: TensorRef<'_, T>) -> Encoded {
    let shape = t.shape().as_slice().to_vec();
    let floats = |values: &[T]| {
        let mut data = vec![0u8; values.len() * T::SIZE];
        for (x, out) in values.iter().zip(data.chunks_exact_mut(T::SIZE)) {
            x.write_le(out);
        }
        data
    };
    let (dtype, data) = match t {
        TensorRef::Vector(d)
        | TensorRef::Matrix { data: d, .. }
        | TensorRef::Tensor3 { data: d, .. }
        | TensorRef::Tensor4 { data: d, .. } => (float_dtype::<T>(), floats(d)),
        TensorRef::Diagonal(d) => {
            let n = d.len();
            let mut data = vec![0u8; n * n * T::SIZE];
            for (i, x) in d.iter().enumerate() {
                let at = (i * n + i) * T::SIZE;
                x.write_le(&mut data[at..at + T::SIZE]);
            }
            (float_dtype::<T>(), data)
        }
        TensorRef::Count(c) => (Dtype::I64, i64::try_from(c).unwrap_or(i64::MAX).to_le_bytes().to_vec()),
    };
    Encoded { dtype, shape, data }
}

/// The safetensors file of the tensors that `visit` passes (see
/// [`StateDict::save_safetensors`](super::StateDict::save_safetensors)).
pub(crate) fn save<T: PlainScalar>(visit: impl FnOnce(&mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>))) -> Vec<u8> {
    let mut tensors: Vec<(String, Encoded)> = Vec::new();
    visit(&mut |name, t| tensors.push((name.to_string(), encode(t))));
    // `serialize` fails only on a header over 100 MB (millions of layers, which `network!`
    // cannot compile) or on tensors whose bytes disagree with their shapes (`encode` writes
    // exactly `shape × dtype` bytes).
    safetensors::serialize(tensors, None).expect("a network's tensors always serialize")
}

// ---- loading ----

/// A parsed, validated file: the header and the data section. Every tensor's offsets are
/// within `data` (checked by `parse`), and its byte length is its shape's element count
/// times its dtype's size (checked, with overflow checks, by the header's deserialization).
struct File<'a> {
    metadata: Metadata,
    data: &'a [u8],
}

fn not_safetensors(reason: String) -> LoadError {
    LoadError::NotSafetensors { reason }
}

impl<'a> File<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, LoadError> {
        let len = bytes.len();
        let Some(head) = bytes.get(..8) else {
            return Err(not_safetensors(format!(
                "the file is {len} bytes, too short for the 8-byte header length that starts a safetensors file"
            )));
        };
        let mut n = [0u8; 8];
        n.copy_from_slice(head);
        let n = u64::from_le_bytes(n);
        if n > MAX_HEADER_SIZE as u64 {
            return Err(not_safetensors(format!(
                "the header length is {n} bytes, over the format's limit of {MAX_HEADER_SIZE}"
            )));
        }
        // At most 100_000_008: fits any `usize` of 32 bits or more.
        let header_end = n as usize + 8;
        let Some(header) = bytes.get(8..header_end) else {
            // A JSON header cut short is a truncated file; anything else is not safetensors.
            return Err(if bytes.get(8) == Some(&b'{') {
                LoadError::Truncated { expected: header_end, found: len }
            } else {
                not_safetensors(format!("the header length is {n} bytes, but only {} bytes follow it", len - 8))
            });
        };
        // `Metadata`'s deserialization checks that the offsets are contiguous from 0 and that
        // each tensor's byte length is its shape's product times its dtype's size, with
        // checked arithmetic (no overflow on any shape). serde_json limits nesting depth.
        let metadata: Metadata = serde_json::from_slice(header)
            .map_err(|e| not_safetensors(format!("the header is not a valid safetensors header: {e}")))?;
        // The last tensor's end offset: the data section's size.
        let data_len = metadata.data_len();
        let Some(expected) = header_end.checked_add(data_len) else {
            return Err(not_safetensors(format!("the data offsets ({data_len}) overflow the address space")));
        };
        if expected > len {
            return Err(LoadError::Truncated { expected, found: len });
        }
        if expected < len {
            return Err(not_safetensors(format!(
                "the header describes a file of {expected} bytes, but it has {len}: {} extra bytes at the end",
                len - expected
            )));
        }
        let data = bytes.get(header_end..).unwrap_or_default();
        Ok(File { metadata, data })
    }

    /// The tensor `name` of the file, with its data.
    fn get(&self, name: &str) -> Result<(&TensorInfo, &'a [u8]), LoadError> {
        let info = self.metadata.info(name).ok_or_else(|| LoadError::MissingTensor { name: name.to_string() })?;
        let (start, end) = info.data_offsets;
        let data = self.data.get(start..end).ok_or_else(|| {
            not_safetensors(format!("the offsets of tensor `{name}` ({start}..{end}) are outside the data"))
        })?;
        Ok((info, data))
    }

    /// Checks that the file's tensor `name` can be loaded into a tensor of kind `kind`:
    /// present, same shape, a dtype that converts, valid values.
    fn check(&self, name: &str, kind: Kind) -> Result<(), LoadError> {
        let (info, data) = self.get(name)?;
        let expected = kind.shape();
        if info.shape.as_slice() != expected.as_slice() {
            return Err(LoadError::WrongShape {
                name: name.to_string(),
                expected: expected.as_slice().to_vec(),
                found: info.shape.clone(),
            });
        }
        let wrong_dtype = |accepted: &str| LoadError::WrongDtype {
            name: name.to_string(),
            expected: accepted.to_string(),
            found: info.dtype.to_string(),
        };
        match kind {
            Kind::Floats { .. } => floats(info.dtype, data).map(drop).ok_or_else(|| wrong_dtype("F32 or F64")),
            Kind::Diagonal(n) => {
                let values = floats(info.dtype, data).ok_or_else(|| wrong_dtype("F32 or F64"))?;
                for (k, v) in values.enumerate() {
                    let (row, col) = (k / n, k % n);
                    // NaN is not zero either.
                    if row != col && v != 0.0 {
                        return Err(LoadError::InvalidValue {
                            name: name.to_string(),
                            reason: format!(
                                "the weight of an affine layer (a diagonal Linear({n}, {n})) must be diagonal, \
                             but element [{row}, {col}] is {v}"
                            ),
                        });
                    }
                }
                Ok(())
            }
            Kind::Count => {
                let count = integer(info.dtype, data).ok_or_else(|| wrong_dtype("I64 or I32"))?;
                if count < 0 {
                    return Err(LoadError::InvalidValue {
                        name: name.to_string(),
                        reason: format!("a batch count must not be negative, found {count}"),
                    });
                }
                Ok(())
            }
        }
    }

    /// Writes the file's tensor `name` into `t`. Only called after `check` passed for every
    /// tensor, so it does not fail in practice; it still reports instead of panicking.
    fn read_into<T: Float>(&self, name: &str, t: TensorMut<'_, T>) -> Result<(), LoadError> {
        self.check(name, t.kind())?;
        let (info, data) = self.get(name)?;
        let wrong_dtype = || LoadError::WrongDtype {
            name: name.to_string(),
            expected: "F32 or F64".to_string(),
            found: info.dtype.to_string(),
        };
        match t {
            TensorMut::Vector(d)
            | TensorMut::Matrix { data: d, .. }
            | TensorMut::Tensor3 { data: d, .. }
            | TensorMut::Tensor4 { data: d, .. } => {
                for (x, v) in d.iter_mut().zip(floats(info.dtype, data).ok_or_else(wrong_dtype)?) {
                    *x = T::from_f64(v);
                }
            }
            TensorMut::Diagonal(d) => {
                let n = d.len();
                for (x, v) in d.iter_mut().zip(floats(info.dtype, data).ok_or_else(wrong_dtype)?.step_by(n + 1)) {
                    *x = T::from_f64(v);
                }
            }
            TensorMut::Count(c) => {
                // Non-negative: checked above.
                let count = integer(info.dtype, data).unwrap_or(0);
                *c = u64::try_from(count).unwrap_or(0);
            }
        }
        Ok(())
    }
}

/// The values of an `F32` or `F64` tensor, as `f64` (exact); `None` for other dtypes.
fn floats(dtype: Dtype, data: &[u8]) -> Option<impl Iterator<Item = f64> + '_> {
    let size = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
        _ => return None,
    };
    Some(data.chunks_exact(size).map(move |c| if size == 4 { f64::from(f32::read_le(c)) } else { f64::read_le(c) }))
}

/// The value of an `I64` or `I32` scalar tensor; `None` for other dtypes (or a tensor that
/// is not one element).
fn integer(dtype: Dtype, data: &[u8]) -> Option<i64> {
    match (dtype, data.len()) {
        (Dtype::I64, 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(data);
            Some(i64::from_le_bytes(b))
        }
        (Dtype::I32, 4) => {
            let mut b = [0u8; 4];
            b.copy_from_slice(data);
            Some(i64::from(i32::from_le_bytes(b)))
        }
        _ => None,
    }
}

/// The one tensor that may be missing from a file: a BN's batch counter, which loads as 0
/// (PyTorch loads a `state_dict` without it, as written before the counter existed).
const OPTIONAL_COUNT: &str = "num_batches_tracked";

/// Whether the model's tensor `name` of kind `kind` is absent from `file` and loads as 0.
fn defaults_to_zero(file: &File<'_>, name: TensorName<'_>, full_name: &str, kind: Kind) -> bool {
    matches!(kind, Kind::Count) && name.tensor == OPTIONAL_COUNT && file.metadata.info(full_name).is_none()
}

/// Loads the safetensors file `bytes` into `model`, whose tensors `visit` and `visit_mut`
/// pass (see [`StateDict::load_safetensors_into`](super::StateDict::load_safetensors_into)).
/// A missing `num_batches_tracked` loads as 0; every other tensor must be there.
pub(crate) fn load_into<M: ?Sized, T: Float>(
    model: &mut M,
    bytes: &[u8],
    visit: impl FnOnce(&M, &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)),
    visit_mut: impl FnOnce(&mut M, &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)),
) -> Result<(), LoadError> {
    let file = File::parse(bytes)?;
    // Pass 1: check every tensor of the model against the file, writing nothing.
    let mut names = BTreeSet::new();
    let mut result = Ok(());
    visit(model, &mut |name, t| {
        if result.is_ok() {
            let full_name = name.to_string();
            if !defaults_to_zero(&file, name, &full_name, t.kind()) {
                result = file.check(&full_name, t.kind());
            }
            names.insert(full_name);
        }
    });
    result?;
    // Every tensor of the file must be the model's (in file order, so the error is stable).
    if let Some(extra) = file.metadata.offset_keys().into_iter().find(|k| !names.contains(k)) {
        return Err(LoadError::UnexpectedTensor { name: extra });
    }
    // Pass 2: write. Every check passed, so nothing fails here.
    let mut result = Ok(());
    visit_mut(model, &mut |name, t| {
        if result.is_ok() {
            let full_name = name.to_string();
            match t {
                TensorMut::Count(c) if defaults_to_zero(&file, name, &full_name, Kind::Count) => *c = 0,
                t => result = file.read_into(&full_name, t),
            }
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{LayerTensors, StateDict};
    use crate::layers::{Affine, BatchNorm, Dense};
    use crate::shape::{flat, flat_mut};
    use crate::Zeroable;
    use alloc::string::ToString;
    use typenum::{U2, U3};

    /// A hand-written model: a bias-less dense layer, a BN and an affine layer.
    #[derive(Clone, Debug, PartialEq)]
    struct Model {
        d: Dense<U3, U2, f32, false>,
        b: BatchNorm<U2, f32>,
        a: Affine<U2, f32>,
    }
    impl StateDict for Model {
        type Scalar = f32;
        fn visit(&self, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, f32>)) {
            self.d.visit_layer("0", f);
            self.b.visit_layer("1", f);
            self.a.visit_layer("head", f);
        }
        fn visit_mut(&mut self, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, f32>)) {
            self.d.visit_layer_mut("0", f);
            self.b.visit_layer_mut("1", f);
            self.a.visit_layer_mut("head", f);
        }
    }

    fn model() -> Model {
        let mut m = Model { d: Dense::zeroed(), b: BatchNorm::new(), a: Affine::identity() };
        for (i, x) in flat_mut(&mut m.d.weight).iter_mut().enumerate() {
            *x = i as f32 - 2.5;
        }
        m.b.gamma[1] = 3.0;
        m.b.running_var[0] = 0.25;
        m.b.num_batches_tracked = 7;
        m.a.scale[1] = -2.0;
        m.a.shift[0] = 0.5;
        m
    }

    /// A file with the given tensors `(name, dtype, shape, bytes)`, written by hand.
    fn handmade(tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
        let mut header = String::from("{");
        let mut data = Vec::new();
        for (i, (name, dtype, shape, bytes)) in tensors.iter().enumerate() {
            let comma = if i > 0 { "," } else { "" };
            header.push_str(&format!(
                "{comma}\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{},{}]}}",
                data.len(),
                data.len() + bytes.len()
            ));
            data.extend_from_slice(bytes);
        }
        header.push('}');
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&data);
        out
    }

    fn f64s(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn round_trip_and_names() {
        let m = model();
        let bytes = m.save_safetensors();
        let mut back = Model { d: Dense::zeroed(), b: BatchNorm::new(), a: Affine::zeroed() };
        back.load_safetensors_into(&bytes).unwrap();
        assert_eq!(back, m);
        let mut names = Vec::new();
        m.visit(&mut |n, t| names.push((n.to_string(), t.shape())));
        let names: Vec<_> = names.iter().map(|(n, s)| format!("{n}{s:?}")).collect();
        assert_eq!(
            names,
            [
                "0.weight[2, 3]",
                "1.weight[2]",
                "1.bias[2]",
                "1.running_mean[2]",
                "1.running_var[2]",
                "1.num_batches_tracked[]",
                "head.weight[2, 2]",
                "head.bias[2]"
            ]
        );
    }

    #[test]
    fn f64_and_i32_tensors_convert() {
        let m = model();
        let weight: Vec<f64> = flat(&m.d.weight).iter().map(|&x| f64::from(x)).collect();
        let bytes = handmade(&[
            ("0.weight", "F64", &[2, 3], f64s(&weight)),
            ("1.weight", "F64", &[2], f64s(&[1.0, 3.0])),
            ("1.bias", "F64", &[2], f64s(&[0.0, 0.0])),
            ("1.running_mean", "F64", &[2], f64s(&[0.0, 0.0])),
            ("1.running_var", "F64", &[2], f64s(&[0.25, 1.0])),
            ("1.num_batches_tracked", "I32", &[], 7i32.to_le_bytes().to_vec()),
            ("head.weight", "F64", &[2, 2], f64s(&[1.0, 0.0, 0.0, -2.0])),
            ("head.bias", "F64", &[2], f64s(&[0.5, 0.0])),
        ]);
        let mut back = Model { d: Dense::zeroed(), b: BatchNorm::new(), a: Affine::zeroed() };
        back.load_safetensors_into(&bytes).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn a_missing_batch_counter_loads_as_zero_and_nothing_else_may_be_missing() {
        let m = model();
        let tensors = |skip: &[&str]| {
            let mut out: Vec<(String, &str, Vec<usize>, Vec<u8>)> = Vec::new();
            m.visit(&mut |n, t| {
                let e = encode(t);
                let dtype = if e.dtype == Dtype::I64 { "I64" } else { "F32" };
                if !skip.contains(&n.to_string().as_str()) {
                    out.push((n.to_string(), dtype, e.shape.clone(), e.data));
                }
            });
            let refs: Vec<(&str, &str, &[usize], Vec<u8>)> =
                out.iter().map(|(n, d, s, b)| (n.as_str(), *d, s.as_slice(), b.clone())).collect();
            handmade(&refs)
        };
        // As PyTorch loads a state_dict without `num_batches_tracked`: the counter is 0, every
        // other tensor is loaded.
        let mut back = Model { d: Dense::zeroed(), b: BatchNorm::new(), a: Affine::zeroed() };
        back.b.num_batches_tracked = 99;
        back.load_safetensors_into(&tensors(&["1.num_batches_tracked"])).unwrap();
        assert_eq!(back.b.num_batches_tracked, 0);
        back.b.num_batches_tracked = m.b.num_batches_tracked;
        assert_eq!(back, m);
        // With the counter, it is loaded.
        back.load_safetensors_into(&tensors(&[])).unwrap();
        assert_eq!(back, m);
        // Any other missing tensor is an error, and the model is unchanged (its counter too,
        // also when the file lacks the counter as well).
        for missing in ["0.weight", "1.running_var", "head.bias"] {
            for skip in [&[missing][..], &[missing, "1.num_batches_tracked"]] {
                let mut target = m.clone();
                let err = target.load_safetensors_into(&tensors(skip)).unwrap_err();
                assert_eq!(err, LoadError::MissingTensor { name: missing.to_string() });
                assert_eq!(target, m);
            }
        }
    }

    #[test]
    fn three_dimensional_tensors_round_trip_with_their_shape() {
        use crate::layers::LayerNorm;
        use typenum::U12;
        struct Ln(LayerNorm<U12, f32>, LayerNorm<U12, f32, false>);
        impl StateDict for Ln {
            type Scalar = f32;
            fn visit(&self, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, f32>)) {
                self.0.visit_layer_shaped("ln", Some([3, 2, 2]), f);
                self.1.visit_layer_shaped("raw", Some([3, 2, 2]), f);
            }
            fn visit_mut(&mut self, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, f32>)) {
                self.0.visit_layer_shaped_mut("ln", Some([3, 2, 2]), f);
                self.1.visit_layer_shaped_mut("raw", Some([3, 2, 2]), f);
            }
        }
        let mut m = Ln(LayerNorm::new(), LayerNorm::new());
        for (k, (g, b)) in m.0.gamma.iter_mut().zip(m.0.beta.iter_mut()).enumerate() {
            (*g, *b) = (k as f32 * 0.5, -(k as f32));
        }
        let bytes = m.save_safetensors();
        let header = String::from_utf8_lossy(&bytes[8..]).to_string();
        assert!(header.contains("\"ln.weight\":{\"dtype\":\"F32\",\"shape\":[3,2,2]"), "{header}");
        assert!(!header.contains("raw"), "no tensors without AFFINE: {header}");
        let mut back = Ln(LayerNorm::new(), LayerNorm::new());
        back.load_safetensors_into(&bytes).unwrap();
        assert_eq!((back.0, back.1), (m.0, m.1));
        // The flat form `[12]` is another shape: refused, naming the tensor.
        let flat_file = {
            let mut tensors = Vec::new();
            m.0.visit_layer("ln", &mut |n, t| tensors.push((n.to_string(), encode(t))));
            let refs: Vec<(&str, &str, &[usize], Vec<u8>)> =
                tensors.iter().map(|(n, e)| (n.as_str(), "F32", e.shape.as_slice(), e.data.clone())).collect();
            handmade(&refs)
        };
        let err = back.load_safetensors_into(&flat_file).unwrap_err();
        assert_eq!(err.to_string(), "tensor `ln.weight` has shape [12], but the model expects [3, 2, 2]");
    }

    #[test]
    fn errors_name_the_tensor_and_leave_the_model_unchanged() {
        let m = model();
        let good = m.save_safetensors();
        let check = |bytes: &[u8], want: &str| {
            let mut target = m.clone();
            target.b.eps = 0.5;
            let before = target.clone();
            let err = target.load_safetensors_into(bytes).unwrap_err();
            assert_eq!(err.to_string(), want);
            assert_eq!(target, before, "unchanged after: {want}");
        };
        let diag_bad = {
            let mut other = model();
            other.a.scale[0] = 9.0;
            let mut bytes = other.save_safetensors();
            // Put a nonzero off the diagonal: [0, 1] of `head.weight`, found by its bytes.
            let text = String::from_utf8_lossy(&bytes).to_string();
            assert!(text.contains("head.weight"));
            let pos = bytes.windows(4).position(|w| w == 9.0f32.to_le_bytes()).unwrap();
            bytes[pos + 4..pos + 8].copy_from_slice(&1.5f32.to_le_bytes());
            bytes
        };
        check(
            &diag_bad,
            "tensor `head.weight`: the weight of an affine layer (a diagonal Linear(2, 2)) must be diagonal, but \
             element [0, 1] is 1.5",
        );
        check(
            &good[..good.len() - 1],
            &format!("truncated file: the header describes {} bytes, the file has {}", good.len(), good.len() - 1),
        );
        check(&good[..5], "not a safetensors file: the file is 5 bytes, too short for the 8-byte header length that starts a safetensors file");
        let count = |dtype: &str, bytes: Vec<u8>, shape: &[usize]| {
            let mut tensors: Vec<(String, &str, Vec<usize>, Vec<u8>)> = Vec::new();
            m.visit(&mut |n, t| {
                let e = encode(t);
                tensors.push((n.to_string(), "F32", e.shape.clone(), e.data));
            });
            let last = tensors.iter_mut().find(|t| t.0 == "1.num_batches_tracked").unwrap();
            *last = (last.0.clone(), dtype, shape.to_vec(), bytes);
            let refs: Vec<(&str, &str, &[usize], Vec<u8>)> =
                tensors.iter().map(|(n, d, s, b)| (n.as_str(), *d, s.as_slice(), b.clone())).collect();
            handmade(&refs)
        };
        check(
            &count("I64", (-3i64).to_le_bytes().to_vec(), &[]),
            "tensor `1.num_batches_tracked`: a batch count must not be negative, found -3",
        );
        check(
            &count("F32", 1f32.to_le_bytes().to_vec(), &[]),
            "tensor `1.num_batches_tracked` has dtype F32, but the model accepts I64 or I32",
        );
        check(
            &count("I64", [0u8; 16].to_vec(), &[2]),
            "tensor `1.num_batches_tracked` has shape [2], but the model expects []",
        );
    }
}
