//! Seeded, reproducible randomness for initialization and data shuffling.

use crate::float::Float;

/// A small, seeded pseudo-random generator (wyrand, via [`fastrand`]).
///
/// The same seed gives the same numbers on every platform, with and without `std`.
///
/// ```
/// let mut a = bn_core::Rng::seed(7);
/// let mut b = bn_core::Rng::seed(7);
/// assert_eq!(a.normal(), b.normal());
/// ```
#[derive(Clone, Debug)]
pub struct Rng(fastrand::Rng);

impl Rng {
    /// A generator with the given seed.
    pub fn seed(seed: u64) -> Self {
        Rng(fastrand::Rng::with_seed(seed))
    }

    /// A uniform 64-bit integer.
    pub fn next_u64(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// A uniform sample in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.0.f64()
    }

    /// A standard normal sample (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.0.f64();
        let u2 = self.0.f64();
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2)
    }

    /// A uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    /// Shuffles a slice in place (Fisher–Yates).
    pub fn shuffle<X>(&mut self, xs: &mut [X]) {
        self.0.shuffle(xs)
    }
}

/// How a dense layer's weights are drawn (biases start at zero).
///
/// `fan_in` is the layer's input width, `fan_out` its output width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// `N(0, std²)`: the "small random Gaussian values" of Ioffe & Szegedy 2015, §4.1.
    Gaussian {
        /// The standard deviation.
        std: f64,
    },
    /// Xavier/Glorot normal, `N(0, 2/(fan_in + fan_out))`: for sigmoid and tanh units.
    XavierNormal,
    /// Xavier/Glorot uniform, `U(±√(6/(fan_in + fan_out)))`.
    XavierUniform,
    /// He/Kaiming normal, `N(0, 2/fan_in)`: for ReLU units.
    HeNormal,
    /// All zeros (for tests; a network initialized so cannot break symmetry).
    Zeros,
}

impl Init {
    /// Fills `weights` (of a layer with the given fans) with samples from this scheme.
    pub fn fill<T: Float>(self, weights: &mut [T], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        match self {
            Init::Zeros => weights.iter_mut().for_each(|w| *w = T::ZERO),
            Init::XavierUniform => {
                let a = libm::sqrt(6.0 / (fi + fo));
                for w in weights {
                    *w = T::from_f64((2.0 * rng.uniform() - 1.0) * a);
                }
            }
            Init::Gaussian { .. } | Init::XavierNormal | Init::HeNormal => {
                let std = match self {
                    Init::Gaussian { std } => std,
                    Init::XavierNormal => libm::sqrt(2.0 / (fi + fo)),
                    _ => libm::sqrt(2.0 / fi),
                };
                for w in weights {
                    *w = T::from_f64(rng.normal() * std);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn normal_samples_have_unit_moments() {
        let mut rng = Rng::seed(1);
        let xs: alloc::vec::Vec<f64> = (0..200_000).map(|_| rng.normal()).collect();
        let (mean, var) = moments(&xs);
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn schemes_have_their_variance() {
        let mut rng = Rng::seed(2);
        let mut w = alloc::vec![0.0f64; 100_000];
        for (init, want) in [
            (Init::Gaussian { std: 0.1 }, 0.01),
            (Init::XavierNormal, 2.0 / 500.0),
            (Init::XavierUniform, 2.0 / 500.0),
            (Init::HeNormal, 2.0 / 300.0),
        ] {
            init.fill(&mut w, 300, 200, &mut rng);
            let (mean, var) = moments(&w);
            assert!(mean.abs() < 3e-3 * want.sqrt() * 10.0, "{init:?}: mean {mean}");
            assert!((var / want - 1.0).abs() < 0.02, "{init:?}: var {var}, want {want}");
        }
        Init::Zeros.fill(&mut w, 3, 3, &mut rng);
        assert!(w.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn same_seed_same_weights() {
        let (mut a, mut b) = (alloc::vec![0.0f32; 64], alloc::vec![0.0f32; 64]);
        Init::HeNormal.fill(&mut a, 8, 8, &mut Rng::seed(9));
        Init::HeNormal.fill(&mut b, 8, 8, &mut Rng::seed(9));
        assert_eq!(a, b);
        Init::HeNormal.fill(&mut b, 8, 8, &mut Rng::seed(10));
        assert_ne!(a, b);
    }
}
