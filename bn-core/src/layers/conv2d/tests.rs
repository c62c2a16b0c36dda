use super::*;
use crate::layers::affine::Affine;
use crate::layers::testing::{check_gradient, random_batch};
use crate::rng::{Init, Rng};
use crate::shape::{flat, flat_mut, Batch};
use crate::zeroed::Zeroable;
use alloc::vec::Vec;
use approx::assert_relative_eq;
use generic_array::ArrayLength;
use typenum::Unsigned;
use typenum::{U0, U1, U100, U12, U147, U18, U2, U200, U27, U3, U36, U4, U40, U42, U48, U6, U9, U96};

/// `y[o][i][j] = b[o] + Σ W[o][c][u][v]·x[c][i·SH+u−PH][j·SW+v−PW]`, straight from the
/// definition (zero padding), in f64.
fn reference<G: Conv2dGeometry, const BIAS: bool>(conv: &Conv2d<G, f64, BIAS>, x: &[f64]) -> Vec<f64> {
    let (c_in, h, w) = (G::IN_CHANNELS, G::HEIGHT, G::WIDTH);
    let ((kh, kw), (sh, sw), (ph, pw)) = (G::KERNEL, G::STRIDE, G::PADDING);
    let (oh, ow, co) = (G::OUT_HEIGHT, G::OUT_WIDTH, G::OutChannels::USIZE);
    let mut y = alloc::vec![0.0; co * oh * ow];
    for o in 0..co {
        for i in 0..oh {
            for j in 0..ow {
                let mut s = if BIAS { conv.bias[o] } else { 0.0 };
                for c in 0..c_in {
                    for u in 0..kh {
                        for v in 0..kw {
                            let (r, q) = ((i * sh + u) as isize - ph as isize, (j * sw + v) as isize - pw as isize);
                            if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                                s += conv.weight[o][(c * kh + u) * kw + v] * x[(c * h + r as usize) * w + q as usize];
                            }
                        }
                    }
                }
                y[(o * oh + i) * ow + j] = s;
            }
        }
    }
    y
}

/// 2×4×5 → 3×2×3: a 3×3 kernel, stride 2, padding 1 (and 3 × 18 weights).
type Strided = Conv2dShape<U40, U18, U3, U18, U6, U6, U0, 2, 4, 5, 3, 3, 2, 2, 1, 1>;
/// 1×6×7 → 2×6×8: a 3×2 kernel, stride 1, padding 1 (`(6 + 2 − 3) + 1 = 6`,
/// `(7 + 2 − 2) + 1 = 8`).
type Padded = Conv2dShape<U42, U96, U2, U6, U48, U0, U200, 1, 6, 7, 3, 2, 1, 1, 1, 1>;
/// 3×3×4 → 4×1×3: a 3×2 kernel, no padding, stride (1, 1).
type Valid = Conv2dShape<U36, U12, U4, U18, U3, U0, U100, 3, 3, 4, 3, 2, 1, 1, 0, 0>;

fn random_conv<G: Conv2dGeometry, const BIAS: bool>(rng: &mut Rng) -> Conv2d<G, f64, BIAS> {
    let mut c = Conv2d::<G, f64, BIAS>::new(Init::Gaussian { std: 1.0 }, rng);
    if BIAS {
        Init::Gaussian { std: 1.0 }.fill(&mut c.bias, 1, 1, rng);
    }
    c
}

fn forward_matches_the_definition<G: Conv2dGeometry, const BIAS: bool>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let conv = random_conv::<G, BIAS>(&mut rng);
    let x: Batch<U2, G::Input, f64> = random_batch(&mut rng);
    let (mut y, mut col) = (Batch::<U2, G::Output, f64>::default(), Conv2dBuffers::<G, f64>::default());
    conv.forward(&x, &mut y, &mut col);
    for (xb, yb) in x.iter().zip(y.iter()) {
        for (got, want) in yb.iter().zip(reference(&conv, xb)) {
            assert_relative_eq!(*got, want, max_relative = 1e-12, epsilon = 1e-12);
        }
    }
}

#[test]
fn forward_matches_the_definition_with_stride_and_padding() {
    forward_matches_the_definition::<Strided, true>(1);
    forward_matches_the_definition::<Padded, false>(2);
    forward_matches_the_definition::<Valid, true>(3);
    assert_eq!((Strided::OUT_HEIGHT, Strided::OUT_WIDTH), (2, 3));
    assert_eq!((Padded::OUT_HEIGHT, Padded::OUT_WIDTH), (6, 8));
    assert_eq!(Conv2d::<Strided>::PARAMS, 3 * 18 + 3);
    assert_eq!(Conv2d::<Padded, f32, false>::PARAMS, 2 * 6);
}

fn gradients_match_finite_differences<G: Conv2dGeometry, B: ArrayLength, const BIAS: bool>(seed: u64) {
    let mut rng = Rng::seed(seed);
    let conv = random_conv::<G, BIAS>(&mut rng);
    let x: Batch<B, G::Input, f64> = random_batch(&mut rng);
    let weights = G::OutChannels::USIZE * G::Patch::USIZE;
    let n = weights + if BIAS { G::OutChannels::USIZE } else { 0 };
    check_gradient(
        &x,
        &conv,
        n,
        |c, k| if k < weights { &mut flat_mut(&mut c.weight)[k] } else { &mut c.bias[k - weights] },
        |c, x| {
            let (mut y, mut col) = (Batch::<B, G::Output, f64>::default(), Conv2dBuffers::<G, f64>::default());
            c.forward(x, &mut y, &mut col);
            y
        },
        |c, x, dy| {
            let (mut dx, mut g, mut s) = (Batch::default(), Conv2d::default(), Conv2dScratch::default());
            c.backward(x, dy, Some(&mut dx), &mut g, &mut s);
            let mut grads = flat(&g.weight).to_vec();
            if BIAS {
                grads.extend_from_slice(&g.bias);
            }
            (dx, grads)
        },
    );
}

#[test]
fn gradients_match_finite_differences_with_stride_and_padding() {
    gradients_match_finite_differences::<Strided, U2, true>(4);
    gradients_match_finite_differences::<Padded, U3, false>(5);
    gradients_match_finite_differences::<Valid, U1, true>(6);
}

#[test]
fn without_dx_the_weight_gradients_are_the_same() {
    let mut rng = Rng::seed(7);
    let conv = random_conv::<Strided, true>(&mut rng);
    let x: Batch<U2, U40, f64> = random_batch(&mut rng);
    let dy: Batch<U2, U18, f64> = random_batch(&mut rng);
    let (mut g1, mut g2, mut s) = (Conv2d::default(), Conv2d::default(), Conv2dScratch::default());
    let mut dx = Batch::default();
    conv.backward(&x, &dy, Some(&mut dx), &mut g1, &mut s);
    conv.backward(&x, &dy, None, &mut g2, &mut s);
    assert_eq!(g1, g2);
}

/// BN after the conv, per output channel: exactly `fuse_conv_bn_eval`'s formula, so the
/// folded conv equals conv-then-affine everywhere.
#[test]
fn folding_an_affine_after_is_exact() {
    let mut rng = Rng::seed(8);
    let conv = random_conv::<Padded, false>(&mut rng);
    let mut after = Affine::<U2, f64>::identity();
    (after.scale[0], after.scale[1], after.shift[0], after.shift[1]) = (0.5, -2.0, 1.0, 3.0);
    let mut folded = Conv2d::<Padded, f64, true>::zeroed();
    conv.fold_into::<U1>(None, Some(&after), &mut folded);
    let x: Batch<U1, U42, f64> = random_batch(&mut rng);
    let (mut y, mut z, mut col) =
        (Batch::<U1, U96, f64>::default(), Batch::<U1, U96, f64>::default(), Conv2dBuffers::default());
    conv.forward(&x, &mut y, &mut col);
    folded.forward(&x, &mut z, &mut col);
    let mut ay = y;
    after.forward_channels::<U48, _, _>(&y, &mut ay);
    for (p, q) in flat(&ay).iter().zip(flat(&z)) {
        assert_relative_eq!(p, q, max_relative = 1e-12, epsilon = 1e-12);
    }
}

/// BN before the conv, per input channel: exact without padding; with padding the border
/// outputs differ (the padded zeros are not shifted), which is why `network!` keeps such a
/// BN as an affine layer.
#[test]
fn folding_an_affine_before_is_exact_only_without_padding() {
    let mut rng = Rng::seed(9);
    let mut before = Affine::<U3, f64>::identity();
    for c in 0..3 {
        (before.scale[c], before.shift[c]) = (rng.normal(), rng.normal());
    }
    // No padding: exact.
    let conv = random_conv::<Valid, true>(&mut rng);
    let mut folded = Conv2d::<Valid, f64, true>::zeroed();
    conv.fold_into(Some(&before), None, &mut folded);
    let x: Batch<U1, U36, f64> = random_batch(&mut rng);
    let mut ax = x;
    before.forward_channels::<U12, _, _>(&x, &mut ax);
    let (mut y, mut z, mut col) =
        (Batch::<U1, U12, f64>::default(), Batch::<U1, U12, f64>::default(), Conv2dBuffers::default());
    conv.forward(&ax, &mut y, &mut col);
    folded.forward(&x, &mut z, &mut col);
    for (p, q) in flat(&y).iter().zip(flat(&z)) {
        assert_relative_eq!(p, q, max_relative = 1e-12, epsilon = 1e-12);
    }
    // Padding 1: the interior agrees, a border output does not.
    type Pad = Conv2dShape<U27, U27, U3, U27, U9, U0, U147, 3, 3, 3, 3, 3, 1, 1, 1, 1>;
    let conv = random_conv::<Pad, true>(&mut rng);
    let mut folded = Conv2d::<Pad, f64, true>::zeroed();
    conv.fold_into(Some(&before), None, &mut folded);
    let x: Batch<U1, U27, f64> = random_batch(&mut rng);
    let mut ax = x;
    before.forward_channels::<U9, _, _>(&x, &mut ax);
    let (mut y, mut z, mut col) =
        (Batch::<U1, U27, f64>::default(), Batch::<U1, U27, f64>::default(), Conv2dBuffers::default());
    conv.forward(&ax, &mut y, &mut col);
    folded.forward(&x, &mut z, &mut col);
    for o in 0..3 {
        let center = o * 9 + 4;
        assert_relative_eq!(y[0][center], z[0][center], max_relative = 1e-12, epsilon = 1e-12);
        assert!((y[0][o * 9] - z[0][o * 9]).abs() > 1e-6, "a corner output must differ");
    }
}

#[test]
fn default_init_uses_convolution_fans() {
    // fan_in = C·KH·KW = 18 for `Strided`: He is N(0, 2/18).
    let mut rng = Rng::seed(10);
    let mut sum2 = 0.0;
    let mut count = 0;
    for _ in 0..50 {
        let c = Conv2d::<Strided, f64, false>::new(Init::HeNormal, &mut rng);
        sum2 += flat(&c.weight).iter().map(|w| w * w).sum::<f64>();
        count += 3 * 18;
    }
    let var = sum2 / count as f64;
    assert!((var / (2.0 / 18.0) - 1.0).abs() < 0.1, "variance {var}");
}
