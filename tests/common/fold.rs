//! The fold checker: a network with random weights, γ, β and population statistics, and its
//! folded model against the eval path on random inputs.

use bn_core::{Inference, Init, Network, Rng, StateDict, TensorMut, Vector, Zeroable};

/// Random weights, γ (either sign, away from 0), β, biases and population statistics, as
/// after training, in every tensor of `net`: vectors, matrices, `[C, H, W]` tensors
/// (LayerNorm over an image) and convolution weights.
pub fn randomize<N: StateDict<Scalar = f32>>(net: &mut N, seed: u64) {
    let mut rng = Rng::seed(seed);
    net.visit_mut(&mut |name, t| match t {
        TensorMut::Vector(v) if name.tensor == "running_var" => {
            v.iter_mut().for_each(|x| *x = (0.05 + 3.0 * rng.uniform()) as f32)
        }
        TensorMut::Vector(v) if name.tensor == "running_mean" => Init::Gaussian { std: 2.0 }.fill(v, 1, 1, &mut rng),
        TensorMut::Vector(v) | TensorMut::Tensor3 { data: v, .. } if name.tensor == "weight" => v
            .iter_mut()
            .for_each(|x| *x = ((0.3 + rng.uniform()) * if rng.uniform() < 0.3 { -1.0 } else { 1.0 }) as f32),
        TensorMut::Vector(v) | TensorMut::Tensor3 { data: v, .. } => {
            Init::Gaussian { std: 0.5 }.fill(v, 1, 1, &mut rng)
        }
        TensorMut::Matrix { data, cols, .. } => {
            Init::Gaussian { std: (1.0 / cols as f64).sqrt() }.fill(data, 1, 1, &mut rng)
        }
        TensorMut::Tensor4 { data, dims } => {
            Init::Gaussian { std: (1.0 / (dims[1] * dims[2] * dims[3]) as f64).sqrt() }.fill(data, 1, 1, &mut rng)
        }
        _ => {}
    });
}

/// The normwise relative error of `got` against `want` (max-norm, floor 1e-3), as in
/// bn-core's folding tests.
pub fn relative_error(got: &[f32], want: &[f32]) -> f64 {
    let scale = want.iter().fold(0f64, |m, &w| m.max(f64::from(w).abs())).max(1e-3);
    got.iter().zip(want).fold(0f64, |m, (&g, &w)| m.max((f64::from(g) - f64::from(w)).abs())) / scale
}

/// Folded == eval (population statistics) within 1e-5 on 200 random inputs, f32, for a
/// network `N` randomized from `seed`; returns the worst error.
pub fn folded_equals_eval<N>(seed: u64) -> f64
where
    N: Network<Scalar = f32> + StateDict<Scalar = f32> + Clone,
{
    let mut net = N::zeroed();
    net.init_with(None, &mut Rng::seed(seed));
    randomize(&mut net, seed);
    let folded = net.fold_boxed();
    let mut rng = Rng::seed(seed + 100);
    let mut worst = 0f64;
    for _ in 0..200 {
        let mut x = Vector::<N::Input, f32>::default();
        Init::Gaussian { std: 1.5 }.fill(&mut x, 1, 1, &mut rng);
        let (mut want, mut got) = (Vector::<N::Output, f32>::default(), Vector::<N::Output, f32>::default());
        net.forward_one(&x, &mut want);
        Inference::forward_one(&*folded, &x, &mut got);
        worst = worst.max(relative_error(&got, &want));
    }
    assert!(worst <= 1e-5, "{}: folded vs eval: {worst:e}", std::any::type_name::<N>());
    worst
}

/// A folded type's one-line summary (its `Display`): the layers of its plan, without the
/// parameter count at the end.
pub fn plan_of<F: Zeroable + std::fmt::Display>() -> String {
    let line = F::zeroed().to_string();
    line.rsplit_once(" (").expect("ends with the parameter count").0.to_string()
}
