//! Non-finite inputs (NaN, ±∞) to the eval path (`eval`, `eval_batch`, `classify`) and to
//! the folded model (`forward`, `forward_batch`, `classify`), on every SIMD level this CPU
//! has: no panic, and the result docs/reliability.md ("Non-finite inputs") states:
//!
//! - every layer computes IEEE arithmetic, so a NaN input reaches every unit of the next
//!   dense or conv layer and propagates through BN, `sigmoid`, `tanh`, the pools
//!   (`maxpool` returns NaN if its window holds one) and `flatten`: the outputs are NaN and
//!   `classify` is 0 (`argmax` takes the first NaN, as `torch.argmax`);
//! - except `relu`, which maps NaN to 0 (`max(x, 0)` on every level, where PyTorch's `relu`
//!   keeps NaN), so after a ReLU the outputs are finite again;
//! - ±∞ inputs are ordinary IEEE values: they may saturate an activation (`σ(+∞) = 1`,
//!   `tanh(−∞) = −1`, `relu(−∞) = 0`) or meet `∞ − ∞ = NaN`;
//! - in every case the batched forward equals the one-sample forward bit for bit (NaN for
//!   NaN), the folded model's NaN outputs are the eval path's, and which outputs are NaN
//!   does not depend on the SIMD level.
//!
//! One `#[test]`: the SIMD level is process-wide, so the levels are visited in turn.

use bn_core::kernels::{detected_simd_level, set_simd_level, SimdLevel};
use bn_core::typenum::U3;
use bn_core::{argmax, Batch, Inference, Vector, Zeroable};

bn_core::network! {
    /// NaN propagates through every layer: no ReLU.
    struct Smooth { input: 12, dense(16), batchnorm, sigmoid, dense(9), tanh, batchnorm, dense(4) }
}

bn_core::network! {
    /// A ReLU after the first layer maps NaN to 0.
    struct Rectified { input: 12, dense(16), batchnorm, relu, dense(4) }
}

bn_core::network! {
    /// Images: conv, BN over channels, the pools and flatten; NaN propagates (no ReLU).
    struct Images {
        input: (2, 8, 8),
        conv2d(4, kernel = 3, padding = 1), batchnorm, tanh, maxpool(2),
        conv2d(6, kernel = 2), sigmoid, avgpool(2, stride = 1),
        flatten, dense(5),
    }
}

bn_core::network! {
    /// Images with the fused `conv2d, batchnorm, relu, maxpool` block: NaN becomes 0.
    struct RectifiedImages {
        input: (1, 8, 8),
        conv2d(4, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        flatten, dense(3),
    }
}

/// What the inputs look like.
#[derive(Clone, Copy, Debug)]
enum Fill {
    AllNan,
    OneNan,
    AllPosInf,
    AllNegInf,
    OnePosInf,
}

const FILLS: [Fill; 5] = [Fill::AllNan, Fill::OneNan, Fill::AllPosInf, Fill::AllNegInf, Fill::OnePosInf];

fn input<N: bn_core::generic_array::ArrayLength>(fill: Fill) -> Vector<N> {
    let mut x = Vector::<N>::zeroed();
    for (i, v) in x.iter_mut().enumerate() {
        *v = ((i * 7 % 11) as f32 - 5.0) * 0.1;
    }
    match fill {
        Fill::AllNan => x.iter_mut().for_each(|v| *v = f32::NAN),
        Fill::OneNan => x[N::USIZE / 2] = f32::NAN,
        Fill::AllPosInf => x.iter_mut().for_each(|v| *v = f32::INFINITY),
        Fill::AllNegInf => x.iter_mut().for_each(|v| *v = f32::NEG_INFINITY),
        Fill::OnePosInf => x[1] = f32::INFINITY,
    }
    x
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Runs `model` on a batch of three copies of `x`: one sample and batched agree bit for
/// bit, `classify` is `argmax`. Returns the one-sample output.
fn outputs<M: Inference<Scalar = f32>>(model: &M, x: &Vector<M::Input>) -> Vec<f32> {
    let mut one = Vector::<M::Output>::zeroed();
    model.forward_one(x, &mut one);
    let mut xb = Batch::<U3, M::Input>::zeroed();
    xb.iter_mut().for_each(|row| *row = x.clone());
    let mut yb = Batch::<U3, M::Output>::zeroed();
    model.forward_batch(&xb, &mut yb);
    for row in yb.iter() {
        assert!(row.iter().zip(one.iter()).all(|(&a, &b)| same(a, b)), "batched {row:?} vs one sample {one:?}");
    }
    assert_eq!(model.classify(x), argmax(&one));
    one.to_vec()
}

/// For one network: eval and folded outputs of every fill, with the expected NaN pattern.
/// Returns, per fill, which outputs were NaN (to compare across levels).
fn check<N>(net: &N, folded: &N::Folded, propagates_nan: bool) -> Vec<Vec<bool>>
where
    N: bn_core::Network<Scalar = f32>,
{
    let mut pattern = Vec::new();
    for fill in FILLS {
        let x = input::<N::Input>(fill);
        let eval = outputs(net, &x);
        let fold = outputs(folded, &x);
        let nan: Vec<bool> = eval.iter().map(|v| v.is_nan()).collect();
        assert_eq!(
            nan,
            fold.iter().map(|v| v.is_nan()).collect::<Vec<_>>(),
            "{fill:?}: eval {eval:?}, folded {fold:?}"
        );
        if matches!(fill, Fill::AllNan | Fill::OneNan) {
            if propagates_nan {
                assert!(nan.iter().all(|&n| n), "{fill:?}: {eval:?}");
                assert_eq!(net.classify(&x), 0);
                assert_eq!(folded.classify(&x), 0);
            } else {
                assert!(eval.iter().chain(&fold).all(|v| v.is_finite()), "{fill:?}: {eval:?} {fold:?}");
            }
        }
        pattern.push(nan);
    }
    pattern
}

#[test]
fn non_finite_inputs_have_the_documented_result_on_every_level() {
    let smooth = Smooth::new(1);
    let rectified = Rectified::new(2);
    let images = Images::new_boxed(3);
    let rectified_images = RectifiedImages::new_boxed(4);
    let (f_smooth, f_rectified) = (smooth.fold(), rectified.fold());
    let (f_images, f_rectified_images) = (images.fold_boxed(), rectified_images.fold_boxed());

    let mut first: Option<Vec<Vec<Vec<bool>>>> = None;
    for level in [SimdLevel::Avx512, SimdLevel::Avx2, SimdLevel::Portable] {
        if level > detected_simd_level() {
            continue;
        }
        assert_eq!(set_simd_level(level), level);
        let patterns = vec![
            check(&smooth, &f_smooth, true),
            check(&rectified, &f_rectified, false),
            check(&*images, &*f_images, true),
            check(&*rectified_images, &*f_rectified_images, false),
        ];
        match &first {
            None => first = Some(patterns),
            Some(p) => assert_eq!(&patterns, p, "{level:?}: the NaN outputs differ from the best level's"),
        }
    }
    set_simd_level(SimdLevel::Avx512);
}
