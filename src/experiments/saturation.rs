//! Sigmoid saturation and how Batch Normalization undoes it (Ioffe & Szegedy 2015, §1):
//! inputs far from zero put a sigmoid where its derivative `σ'(x) = σ(x)(1 − σ(x))`
//! vanishes, so almost no gradient flows through it; normalizing the inputs to zero mean
//! and unit variance brings them back to the sigmoid's responsive region.

use bn_core::typenum::{U1, U1000};
use bn_core::{flat, Activation, Batch, BatchNorm, BatchNormCache, Rng, Sigmoid};

/// A sigmoid counts as saturated where its derivative is below this.
pub const SATURATION_THRESHOLD: f32 = 0.01;

/// The `|x|` beyond which `σ'(x) <` [`SATURATION_THRESHOLD`]: `σ'(x) = t` at
/// `σ(x) = (1 − √(1 − 4t))/2`, i.e. `|x| = ln((1 + √(1 − 4t))/(1 − √(1 − 4t)))` (4.585).
pub fn saturation_bound() -> f32 {
    let r = (1.0 - 4.0 * f64::from(SATURATION_THRESHOLD)).sqrt();
    ((1.0 + r) / (1.0 - r)).ln() as f32
}

/// Number of samples of the illustration.
pub const SAMPLES: usize = 1000;
/// Mean of the illustration's inputs.
pub const INPUT_MEAN: f64 = -6.0;
/// Standard deviation of the illustration's inputs.
pub const INPUT_STD: f64 = 1.0;

/// Statistics of a sigmoid unit over a set of inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaturationStats {
    /// Mean of the inputs.
    pub input_mean: f32,
    /// Standard deviation (biased) of the inputs.
    pub input_std: f32,
    /// Mean of `σ'(x)` over the inputs (at most 0.25).
    pub mean_derivative: f32,
    /// Fraction of the inputs with `σ'(x) <` [`SATURATION_THRESHOLD`].
    pub saturated_fraction: f32,
}

/// The [`SaturationStats`] of a sigmoid fed `inputs` (all NaN for no inputs).
pub fn saturation_stats(inputs: &[f32]) -> SaturationStats {
    let n = inputs.len() as f64;
    let mean = inputs.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = inputs.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
    let (mut sum_d, mut saturated) = (0.0f64, 0usize);
    for &x in inputs {
        let d = Sigmoid::df_from_output(Sigmoid::f(x));
        sum_d += f64::from(d);
        saturated += usize::from(d < SATURATION_THRESHOLD);
    }
    SaturationStats {
        input_mean: mean as f32,
        input_std: var.sqrt() as f32,
        mean_derivative: (sum_d / n) as f32,
        saturated_fraction: (saturated as f64 / n) as f32,
    }
}

/// The illustration: [`SAMPLES`] inputs `x ~ N(−6, 1)` of one feature (drawn with
/// `Rng::seed(seed)`), then the same batch normalized by a training-mode
/// `BatchNorm::<U1>` with `γ = 1`, `β = 0`. Returns the statistics `(before, after)`.
pub fn saturation_demo(seed: u64) -> (SaturationStats, SaturationStats) {
    let mut rng = Rng::seed(seed);
    let mut x = Batch::<U1000, U1>::default();
    for row in x.iter_mut() {
        row[0] = (INPUT_MEAN + INPUT_STD * rng.normal()) as f32;
    }
    let mut bn = BatchNorm::<U1>::new();
    let (mut y, mut cache) = (Batch::<U1000, U1>::default(), BatchNormCache::default());
    bn.forward_train(&x, &mut y, &mut cache);
    (saturation_stats(flat(&x)), saturation_stats(flat(&y)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_stats() {
        // σ'(0) = 0.25; σ'(±10) ≈ 4.54e-5 (saturated); σ'(2) = σ(2)(1 − σ(2)) ≈ 0.104994.
        let s = saturation_stats(&[0.0, 10.0, -10.0, 2.0]);
        assert!((s.mean_derivative - (0.25 + 2.0 * 4.5396e-5 + 0.104994) / 4.0).abs() < 1e-6, "{s:?}");
        assert_eq!(s.saturated_fraction, 0.5);
        assert_eq!(s.input_mean, 0.5);
        assert!((s.input_std - (51.0f32 - 0.25).sqrt()).abs() < 1e-5);
    }

    #[test]
    fn bound_is_where_the_derivative_crosses_the_threshold() {
        let b = saturation_bound();
        assert!((b - 4.584_863).abs() < 1e-5, "{b}");
        for x in [b, -b] {
            let d = Sigmoid::df_from_output(Sigmoid::f(f64::from(x)));
            assert!((d - f64::from(SATURATION_THRESHOLD)).abs() < 1e-8, "{d}");
        }
    }

    #[test]
    fn batch_norm_brings_the_sigmoid_out_of_saturation() {
        for seed in [0, 1, 2] {
            let (before, after) = saturation_demo(seed);
            // Before: E[σ'(x)] ≈ E[eˣ] = e^(−6 + ½) ≈ 0.0041 (0.00400 exactly, by quadrature),
            // and σ'(x) < 0.01 ⇔ x < −4.585, i.e. P(Z < 1.415) ≈ 0.921.
            assert!((before.input_mean + 6.0).abs() < 0.15, "{before:?}");
            assert!((before.input_std - 1.0).abs() < 0.1, "{before:?}");
            assert!((before.mean_derivative - 0.0040).abs() < 0.0008, "{before:?}");
            assert!((before.saturated_fraction - 0.921).abs() < 0.03, "{before:?}");
            // After: x̂ ~ N(0, 1) exactly in mean and variance; E[σ'(Z)] ≈ 0.2066 and
            // σ'(x̂) < 0.01 needs |x̂| > 4.585 (probability 4.5e-6).
            assert!(after.input_mean.abs() < 1e-5, "{after:?}");
            assert!((after.input_std - 1.0).abs() < 1e-3, "{after:?}");
            assert!((after.mean_derivative - 0.2066).abs() < 0.005, "{after:?}");
            assert_eq!(after.saturated_fraction, 0.0, "{after:?}");
            assert!(after.mean_derivative > 40.0 * before.mean_derivative);
        }
    }
}
