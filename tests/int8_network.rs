//! The int8 model that `network!` generates, on a fixture network with every layer kind that
//! int8 inference computes, against `tools/int8_reference.py`: an independent numpy/Python
//! reference of TFLite's scheme (every integer parameter and the int8 logits, bit for bit)
//! and PyTorch's `torch.ao` observers (the scales and zero points, a second oracle).

mod common;

use std::collections::BTreeMap;

use bn_core::generic_array::ArrayLength;
use bn_core::quant::{Observer, QuantizeError, Range, Ranges, Requantized};
use bn_core::{flat, GenericArray, Inference, PlainData};
use common::files::{tensors, Tensor};

bn_core::network! {
    /// Every quantizable layer kind: conv with padding and a fused ReLU, average pooling, a BN
    /// over channels that stays affine, tanh, a conv and its ReLU, max pooling, a standalone
    /// ReLU, a global average pool, dense, sigmoid, a flat BN that stays affine with a fused
    /// ReLU, dropout (absent in inference), the logits.
    pub struct QFixture {
        input: (2, 12, 12),
        conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
        avgpool(2),
        batchnorm, tanh,
        conv2d(6, kernel = 3), relu,
        maxpool(2),
        relu,
        global_avgpool,
        dense(5), sigmoid,
        batchnorm, relu,
        dropout(0.1),
        dense(3),
    }
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/int8/");

struct Fixture {
    folded: Box<QFixtureFolded>,
    reference: BTreeMap<String, Tensor>,
}

impl Fixture {
    fn load() -> Self {
        let folded = std::fs::read(format!("{DIR}qfixture_folded.safetensors")).unwrap();
        let reference = tensors(&std::fs::read(format!("{DIR}network_reference.safetensors")).unwrap());
        Fixture { folded: QFixtureFolded::load_safetensors(&folded).unwrap(), reference }
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        self.reference[name].f32s()
    }

    /// The reference's ranges, as the quantized type names its tensors.
    fn ranges(&self) -> Ranges<7> {
        let r = self.f32s("ranges");
        Ranges {
            names: QFixtureQuantized::TENSORS,
            ranges: std::array::from_fn(|k| Range { min: r[2 * k], max: r[2 * k + 1] }),
        }
    }

    /// Rows of `width` values of an `F32` tensor, as vectors.
    fn rows<W: ArrayLength>(&self, name: &str) -> Vec<GenericArray<f32, W>> {
        self.f32s(name).chunks_exact(W::USIZE).map(|r| GenericArray::from_slice(r).clone()).collect()
    }
}

/// A linear layer's integer parameters against the reference's: the weights, TFLite's bias
/// (the stored bias has the input's offset folded in: `b − (z_x + 128)·Σw`), the multipliers,
/// the output zero point.
fn assert_layer<O: ArrayLength>(
    r: &BTreeMap<String, Tensor>,
    name: &str,
    weight: &[i8],
    out: &Requantized<O>,
    zx: i8,
    zy: i32,
) {
    assert_eq!(weight, r[&format!("{name}.weight")].i8s(), "{name}.weight");
    let per = weight.len() / O::USIZE;
    let bias: Vec<i32> = (0..O::USIZE)
        .map(|o| {
            out.bias[o].get()
                + (i32::from(zx) + 128) * weight[o * per..(o + 1) * per].iter().map(|&w| i32::from(w)).sum::<i32>()
        })
        .collect();
    assert_eq!(bias, r[&format!("{name}.bias")].i32s(), "{name}.bias");
    let mantissa: Vec<i32> = out.mantissa.iter().map(|m| m.get()).collect();
    assert_eq!(mantissa, r[&format!("{name}.mantissa")].i32s(), "{name}.mantissa");
    let shift: Vec<i32> = out.shift.iter().map(|&s| i32::from(s)).collect();
    assert_eq!(shift, r[&format!("{name}.shift")].i32s(), "{name}.shift");
    assert_eq!(i32::from(out.output_zero_point), zy, "{name}: output zero point");
}

#[test]
fn every_integer_parameter_matches_the_reference() {
    let f = Fixture::load();
    let q = f.folded.quantize_with(&f.ranges()).unwrap();
    let r = &f.reference;
    let (scale, zp) = (f.f32s("params.scale"), r["params.zero_point"].i32s());
    assert_eq!((q.input.scale.get(), i32::from(q.input.zero_point)), (scale[0], zp[0]));
    assert_eq!((q.output.scale.get(), i32::from(q.output.zero_point)), (scale[6], zp[6]));
    let z = |k: usize| zp[k] as i8;
    assert_layer(r, "conv2d0", flat(&q.conv2d0.weight), &q.conv2d0.out, z(0), zp[1]);
    assert_eq!(q.conv2d0.input_zero_point, z(0));
    assert_eq!((q.conv2d0.out.min, q.conv2d6.out.min, q.batchnorm13.out.min), (z(1), z(3), z(5)), "fused ReLUs");
    assert_eq!((q.batchnorm4.out.min, q.dense11.out.min, q.dense16.out.min), (-128, -128, -128));
    assert_layer(r, "batchnorm4", &q.batchnorm4.weight, &q.batchnorm4.out, z(1), zp[2]);
    assert_eq!(q.tanh5.table.to_vec(), r["tanh5.table"].i8s());
    // After tanh: TFLite's fixed parameters, 1/128 and 0.
    assert_layer(r, "conv2d6", flat(&q.conv2d6.weight), &q.conv2d6.out, 0, zp[3]);
    assert_eq!(q.relu9, z(3));
    assert_layer(r, "dense11", flat(&q.dense11.weight), &q.dense11.out, z(3), zp[4]);
    assert_eq!(q.sigmoid12.table.to_vec(), r["sigmoid12.table"].i8s());
    assert_layer(r, "batchnorm13", &q.batchnorm13.weight, &q.batchnorm13.out, -128, zp[5]);
    assert_layer(r, "dense16", flat(&q.dense16.weight), &q.dense16.out, z(5), zp[6]);
}

#[test]
fn the_int8_logits_match_the_reference_bit_for_bit() {
    let f = Fixture::load();
    let q = f.folded.quantize_with(&f.ranges()).unwrap();
    let (xq_want, y_want) = (f.reference["xq"].i8s(), f.reference["y"].i8s());
    let (mut xq_got, mut y_got) = (Vec::new(), Vec::new());
    for x in f.rows::<bn_core::typenum::U288>("x") {
        let (mut xq, mut y) = (GenericArray::default(), GenericArray::default());
        q.quantize_input(&x, &mut xq);
        q.forward_q(&xq, &mut y);
        xq_got.extend(xq);
        y_got.extend(y);
    }
    assert_eq!(xq_got, xq_want, "the quantized inputs");
    assert_eq!(y_got, y_want, "the int8 logits");
}

/// `calibrate` (the float model in `f32`, min/max) finds the reference's ranges (its forward
/// in `f64`) to within `f32` rounding, and the resulting scales and zero points agree with
/// `torch.ao`'s `MinMaxObserver` (the same formula; PyTorch's `f32` forward moves a range by
/// an ulp or so, and its zero point rounds half to even: ±1 at an exact tie, none here) and
/// the per-channel weight scales with `PerChannelMinMaxObserver(per_channel_symmetric,
/// [−127, 127])`.
#[test]
fn calibration_agrees_with_the_reference_and_torch_ao() {
    let f = Fixture::load();
    let calibration = f.rows::<bn_core::typenum::U288>("calibration");
    let ranges = f.folded.calibrate(&calibration, Observer::MinMax).unwrap();
    let want = f.ranges();
    for ((got, want), name) in ranges.ranges.iter().zip(&want.ranges).zip(want.names) {
        let tol = 1e-5 * want.max.abs().max(want.min.abs());
        assert!((got.min - want.min).abs() <= tol && (got.max - want.max).abs() <= tol, "{name}: {got:?} vs {want:?}");
    }
    let params = ranges.params().unwrap();
    let (scale, zp) = (f.f32s("torchao.scale"), f.reference["torchao.zero_point"].i32s());
    for (k, p) in params.iter().enumerate() {
        assert!(
            (p.scale - scale[k]).abs() <= 1e-5 * scale[k],
            "{}: scale {} vs torch.ao {}",
            ranges.names[k],
            p.scale,
            scale[k]
        );
        assert!(
            (p.zero_point - zp[k]).abs() <= 1,
            "{}: zero point {} vs torch.ao {}",
            ranges.names[k],
            p.zero_point,
            zp[k]
        );
    }
    // Weight scales: s_w = M·s_y/s_x from each channel's multiplier (31 bits of mantissa).
    let q = f.folded.quantize_with(&want).unwrap();
    let p = want.params().unwrap();
    let sx = |k: usize| f64::from(p[k].scale);
    let tanh_out = 1.0 / 128.0;
    let sigmoid_out = 1.0 / 256.0;
    let m = |out: &dyn Fn(usize) -> f64, n: usize| (0..n).map(out).collect::<Vec<f64>>();
    let checks = [
        ("conv2d0", m(&|o| q.conv2d0.out.multiplier(o).to_f64(), 4), sx(0), sx(1)),
        ("batchnorm4", m(&|o| q.batchnorm4.out.multiplier(o).to_f64(), 4), sx(1), sx(2)),
        ("conv2d6", m(&|o| q.conv2d6.out.multiplier(o).to_f64(), 6), tanh_out, sx(3)),
        ("dense11", m(&|o| q.dense11.out.multiplier(o).to_f64(), 5), sx(3), sx(4)),
        ("batchnorm13", m(&|o| q.batchnorm13.out.multiplier(o).to_f64(), 5), sigmoid_out, sx(5)),
        ("dense16", m(&|o| q.dense16.out.multiplier(o).to_f64(), 3), sx(5), sx(6)),
    ];
    for (name, multipliers, s_in, s_out) in checks {
        let torch = f.f32s(&format!("torchao.{name}.weight_scale"));
        assert_eq!(torch.len(), multipliers.len());
        for (o, (&t, m)) in torch.iter().zip(multipliers).enumerate() {
            let ours = m * s_out / s_in;
            assert!(
                (ours - f64::from(t)).abs() <= 1e-6 * f64::from(t),
                "{name}[{o}]: weight scale {ours} vs torch.ao {t}"
            );
        }
    }
}

/// The int8 model follows the float one: the dequantized logits within a few output steps,
/// and `quantize` (calibrate + quantize_with) gives the same model as the two steps.
#[test]
fn the_int8_model_follows_the_float_model() {
    let f = Fixture::load();
    let calibration = f.rows::<bn_core::typenum::U288>("calibration");
    let q = f.folded.quantize(&calibration).unwrap();
    let ranges = f.folded.calibrate(&calibration, Observer::MinMax).unwrap();
    assert_eq!(*q, *f.folded.quantize_with(&ranges).unwrap());
    let step = q.output.scale.get();
    let mut worst = 0f32;
    for x in f.rows::<bn_core::typenum::U288>("x") {
        let (mut want, mut got) = (GenericArray::default(), GenericArray::default());
        f.folded.forward_one(&x, &mut want);
        q.forward_one(&x, &mut got);
        for (a, b) in want.iter().zip(got.iter()) {
            worst = worst.max((a - b).abs() / step);
        }
    }
    // Seven requantizations and two tables between the input and the logits.
    assert!(worst <= 16.0, "{worst} output steps");
}

#[test]
fn the_quantized_model_is_bytes_and_round_trips() {
    let f = Fixture::load();
    let q = f.folded.quantize_with(&f.ranges()).unwrap();
    let bytes = q.to_bytes();
    assert_eq!(bytes.len(), QFixtureQuantized::BYTE_LEN);
    assert_eq!(QFixtureQuantized::BYTE_LEN, std::mem::size_of::<QFixtureQuantized>());
    assert_eq!(std::mem::align_of::<QFixtureQuantized>(), 1);
    assert_eq!(*QFixtureQuantized::from_bytes_boxed(&bytes).unwrap(), *q);
    assert_eq!(&bytes[..4], &q.input.scale.get().to_le_bytes(), "the input's scale comes first");
    let err = QFixtureQuantized::from_bytes(&bytes[1..]).unwrap_err();
    assert_eq!(err, bn_core::LoadError::WrongSize { expected: bytes.len(), found: bytes.len() - 1 });
}

#[test]
fn bad_calibrations_are_errors_that_say_what() {
    let f = Fixture::load();
    let none: [[f32; 288]; 0] = [];
    assert_eq!(f.folded.quantize(&none).unwrap_err(), QuantizeError::NoCalibration);
    let mut x = [0.5f32; 288];
    x[7] = f32::NAN;
    let e = f.folded.quantize(&[x]).unwrap_err();
    assert_eq!(e, QuantizeError::NotFinite { tensor: "input" });
    assert_eq!(e.to_string(), "calibration: `input` took a NaN or infinite value; every input must be finite");
    let mut ranges = f.ranges();
    ranges.ranges[3] = Range { min: 1.0, max: -1.0 };
    let e = f.folded.quantize_with(&ranges).unwrap_err();
    assert_eq!(e.to_string(), "the range of `conv2d6` is [1, -1]; expected finite numbers with min ≤ max");
    let e = f.folded.calibrate(&[[0.0f32; 288]], Observer::Percentile(120.0)).unwrap_err();
    assert_eq!(e, QuantizeError::BadPercentile(120.0));
    // An output range of almost nothing: no multiplier represents the factor.
    let mut ranges = f.ranges();
    ranges.ranges[4] = Range { min: 0.0, max: 1e-35 };
    let e = f.folded.quantize_with(&ranges).unwrap_err();
    assert!(matches!(e, QuantizeError::Multiplier { layer: "dense11", .. }), "{e}");
}

/// A percentile observer narrows the ranges that outliers stretch, and the model still runs.
#[test]
fn percentile_calibration_narrows_the_ranges() {
    let f = Fixture::load();
    let calibration = f.rows::<bn_core::typenum::U288>("calibration");
    let minmax = f.folded.calibrate(&calibration, Observer::MinMax).unwrap();
    let p = f.folded.calibrate(&calibration, Observer::Percentile(99.9)).unwrap();
    assert_eq!(f.folded.calibrate(&calibration, Observer::Percentile(100.0)).unwrap(), minmax);
    for (a, b) in p.ranges.iter().zip(&minmax.ranges) {
        assert!(a.min >= b.min && a.max <= b.max, "{a:?} within {b:?}");
    }
    assert!(p.ranges.iter().zip(&minmax.ranges).any(|(a, b)| a.max < b.max));
    assert!(f.folded.quantize_with(&p).is_ok());
}
