//! Adam and AdamW, with the formulas, defaults and rounding of PyTorch's `torch.optim.Adam`
//! and `torch.optim.AdamW` (the single-tensor implementation, `foreach=False`, which PyTorch
//! uses for CPU tensors).

use super::optim::{decay_for, Optimizer, ParamKind, Slots};
use crate::float::Float;

/// Adam (Kingma & Ba 2015) with PyTorch's `torch.optim.Adam` formulas and defaults: β =
/// (0.9, 0.999), ε = 1e-8 outside the square root, bias correction, L2 weight decay λ = 0
/// added to the gradient, optional amsgrad. At step t (1 on the first step):
///
/// ```text
/// g ← ∇θ + λ·θ                        (if λ ≠ 0)
/// m ← m + (1 − β₁)·(g − m)            (torch.lerp: β₁·m + (1 − β₁)·g)
/// v ← β₂·v + (1 − β₂)·g²
/// v̂ ← max(v̂, v)                        (amsgrad only; then v̂ replaces v below)
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// `m`, `v` and `v̂` are the tensor's [`Slots`] `m`, `v` and `v_max` (`exp_avg`,
/// `exp_avg_sq`, `max_exp_avg_sq` in PyTorch's state). As in PyTorch, the hyperparameters
/// are `f64` (Python floats) whatever the network's scalar: the bias corrections and the
/// step size `η / (1 − β₁ᵗ)` are computed in `f64`, then every constant (`1 − β₁`, `β₂`,
/// `1 − β₂`, `√(1 − β₂ᵗ)`, ε, the step size) is rounded once to the scalar type and the
/// per-element operations run in it, in PyTorch's order. (Rounding β₂ = 0.999 to `f32`
/// first would change `1 − β₂` by 1.3e-5 relative.) The learning rate and betas are public
/// fields, for schedules.
///
/// [`excluding_norm_and_bias_from_decay`](Self::excluding_norm_and_bias_from_decay) gives
/// biases and normalization parameters no decay, as PyTorch's parameter groups
/// `[{"params": weights, "weight_decay": λ}, {"params": the others, "weight_decay": 0}]`.
///
/// ```
/// use bn_core::{Adam, Optimizer, ParamKind, Slots};
/// let adam = Adam::new(0.1);
/// let (mut p, mut m, mut v, mut v_max) = ([1.0f64], [0.0], [0.0], [0.0]);
/// // Step 1: m = 0.1·g, v = 0.001·g², and the bias corrections make the update −η·sign(g)
/// // (up to ε).
/// adam.update(&mut p, &[2.0], Slots { m: &mut m, v: &mut v, v_max: &mut v_max, step: 1 }, ParamKind::Weight);
/// assert!((m[0] - 0.2).abs() < 1e-15 && (v[0] - 0.004).abs() < 1e-15);
/// assert!((p[0] - 0.9).abs() < 1e-8);
/// ```
///
/// In a training loop, `net.train_step(&x, &labels, &loss, &Adam::new(1e-3), &mut trainer)`:
/// the [`Trainer`](crate::Trainer) holds the moments and the step count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate η.
    pub lr: f64,
    /// β₁ and β₂, the decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// ε, added to the bias-corrected square root of the second moment.
    pub eps: f64,
    /// L2 weight decay λ, added to the gradient as `λ·θ` (default 0).
    pub weight_decay: f64,
    /// The amsgrad variant (the running maximum of the second moment).
    pub amsgrad: bool,
    /// Whether the weight decay also applies to biases and normalization parameters; true
    /// unless [`excluding_norm_and_bias_from_decay`](Self::excluding_norm_and_bias_from_decay).
    pub decay_norm_and_bias: bool,
}

/// AdamW (Loshchilov & Hutter 2019) with PyTorch's `torch.optim.AdamW` formulas and
/// defaults: [`Adam`] with the weight decay decoupled from the gradient, default λ = 0.01.
/// At step t (1 on the first step):
///
/// ```text
/// θ ← θ·(1 − η·λ)                     (if λ ≠ 0)
/// m ← m + (1 − β₁)·(∇θ − m)
/// v ← β₂·v + (1 − β₂)·(∇θ)²
/// v̂ ← max(v̂, v)                        (amsgrad only; then v̂ replaces v below)
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// The state, the rounding (hyperparameters in `f64`, as PyTorch's Python floats) and
/// [`excluding_norm_and_bias_from_decay`](Self::excluding_norm_and_bias_from_decay) are as
/// for [`Adam`].
///
/// ```
/// use bn_core::{AdamW, Optimizer, ParamKind, Slots};
/// let adamw = AdamW::new(0.1).with_weight_decay(0.5);
/// let (mut p, mut m, mut v, mut v_max) = ([1.0f64], [0.0], [0.0], [0.0]);
/// // θ·(1 − 0.1·0.5) = 0.95 first, then the Adam step of 0.1 (up to ε).
/// adamw.update(&mut p, &[2.0], Slots { m: &mut m, v: &mut v, v_max: &mut v_max, step: 1 }, ParamKind::Weight);
/// assert!((p[0] - 0.85).abs() < 1e-8);
/// // Excluding norm parameters from the decay: γ only takes the Adam step.
/// let adamw = adamw.excluding_norm_and_bias_from_decay();
/// let (mut gamma, mut m, mut v, mut v_max) = ([1.0f64], [0.0], [0.0], [0.0]);
/// adamw.update(&mut gamma, &[2.0], Slots { m: &mut m, v: &mut v, v_max: &mut v_max, step: 1 }, ParamKind::Norm);
/// assert!((gamma[0] - 0.9).abs() < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    /// Learning rate η.
    pub lr: f64,
    /// β₁ and β₂, the decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// ε, added to the bias-corrected square root of the second moment.
    pub eps: f64,
    /// Decoupled weight decay λ: `θ ← θ·(1 − η·λ)` before the Adam step (default 0.01).
    pub weight_decay: f64,
    /// The amsgrad variant (the running maximum of the second moment).
    pub amsgrad: bool,
    /// Whether the weight decay also applies to biases and normalization parameters; true
    /// unless [`excluding_norm_and_bias_from_decay`](Self::excluding_norm_and_bias_from_decay).
    pub decay_norm_and_bias: bool,
}

macro_rules! builders {
    ($ty:ident, $default_decay:expr) => {
        impl $ty {
            /// The optimizer with learning rate `lr` and PyTorch's defaults for the rest.
            pub fn new(lr: f64) -> Self {
                $ty {
                    lr,
                    betas: (0.9, 0.999),
                    eps: 1e-8,
                    weight_decay: $default_decay,
                    amsgrad: false,
                    decay_norm_and_bias: true,
                }
            }
            /// Sets β₁ and β₂.
            pub fn with_betas(self, beta1: f64, beta2: f64) -> Self {
                $ty { betas: (beta1, beta2), ..self }
            }
            /// Sets ε.
            pub fn with_eps(self, eps: f64) -> Self {
                $ty { eps, ..self }
            }
            /// Sets the weight decay λ.
            pub fn with_weight_decay(self, weight_decay: f64) -> Self {
                $ty { weight_decay, ..self }
            }
            /// Enables the amsgrad variant.
            pub fn with_amsgrad(self) -> Self {
                $ty { amsgrad: true, ..self }
            }
            /// Applies the weight decay to weights only (dense and convolution weights), not
            /// to biases nor to the γ and β of normalization layers: PyTorch's two parameter
            /// groups `[{"params": weights, "weight_decay": λ}, {"params": biases and norm
            /// parameters, "weight_decay": 0}]`.
            pub fn excluding_norm_and_bias_from_decay(self) -> Self {
                $ty { decay_norm_and_bias: false, ..self }
            }
        }

        impl<T: Float> Optimizer<T> for $ty {
            #[inline]
            fn update(&self, param: &mut [T], grad: &[T], state: Slots<'_, T>, kind: ParamKind) {
                let wd = decay_for(self.weight_decay, 0.0, self.decay_norm_and_bias, kind);
                let h = Hyper { lr: self.lr, betas: self.betas, eps: self.eps, weight_decay: wd };
                adam(&h, <$ty>::DECOUPLED, self.amsgrad, param, grad, state);
            }
        }
    };
}

builders!(Adam, 0.0);
builders!(AdamW, 0.01);

impl Adam {
    const DECOUPLED: bool = false;
}
impl AdamW {
    const DECOUPLED: bool = true;
}

/// The hyperparameters of one tensor's update (its weight decay after any exclusion).
struct Hyper {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
}

/// The constants of one step of one tensor, in the scalar type, as PyTorch's
/// `_single_tensor_adam` computes them: Python floats (`f64`) rounded once when they meet a
/// tensor.
struct Constants<T> {
    /// `1 − lr·λ` (decoupled decay).
    decay: T,
    /// λ (L2 decay).
    weight_decay: T,
    /// `torch.lerp`'s coefficient and whether it starts from the end (weight ≥ 0.5).
    lerp: (T, bool),
    beta2: T,
    one_minus_beta2: T,
    bias_correction2_sqrt: T,
    eps: T,
    /// `−lr / (1 − β₁ᵗ)`.
    neg_step_size: T,
}

/// One Adam or AdamW update of one tensor.
#[inline(always)]
fn adam<T: Float>(h: &Hyper, decoupled: bool, amsgrad: bool, param: &mut [T], grad: &[T], s: Slots<'_, T>) {
    let (beta1, beta2) = h.betas;
    let step = s.step as f64;
    let bias_correction1 = 1.0 - libm::pow(beta1, step);
    let bias_correction2 = 1.0 - libm::pow(beta2, step);
    let step_size = h.lr / bias_correction1;
    let weight = T::from_f64(1.0 - beta1);
    // torch.lerp(start, end, w) computes start + w·(end − start) for |w| < 0.5, else
    // end + (w − 1)·(end − start).
    let lerp = if weight.abs() < T::from_f64(0.5) { (weight, false) } else { (weight - T::ONE, true) };
    let c = Constants {
        decay: T::from_f64(1.0 - h.lr * h.weight_decay),
        weight_decay: T::from_f64(h.weight_decay),
        lerp,
        beta2: T::from_f64(beta2),
        one_minus_beta2: T::from_f64(1.0 - beta2),
        bias_correction2_sqrt: T::from_f64(libm::pow(bias_correction2, 0.5)),
        eps: T::from_f64(h.eps),
        neg_step_size: T::from_f64(-step_size),
    };
    let decay = h.weight_decay != 0.0;
    match (decay && decoupled, decay && !decoupled, amsgrad) {
        (false, false, false) => elements::<T, false, false, false>(&c, param, grad, s),
        (false, false, true) => elements::<T, false, false, true>(&c, param, grad, s),
        (true, _, false) => elements::<T, true, false, false>(&c, param, grad, s),
        (true, _, true) => elements::<T, true, false, true>(&c, param, grad, s),
        (false, true, false) => elements::<T, false, true, false>(&c, param, grad, s),
        (false, true, true) => elements::<T, false, true, true>(&c, param, grad, s),
    }
}

/// The element loop, specialized on the options so that it has no branch (and vectorizes
/// inside `kernels::vectorized`).
#[inline(always)]
fn elements<T: Float, const DECOUPLED: bool, const L2: bool, const AMSGRAD: bool>(
    c: &Constants<T>,
    param: &mut [T],
    grad: &[T],
    s: Slots<'_, T>,
) {
    let n = param.len();
    let (grad, m, v, v_max) = (&grad[..n], &mut s.m[..n], &mut s.v[..n], &mut s.v_max[..if AMSGRAD { n } else { 0 }]);
    for i in 0..n {
        let mut p = param[i];
        let mut g = grad[i];
        if DECOUPLED {
            p *= c.decay;
        }
        if L2 {
            g += c.weight_decay * p;
        }
        let (coeff, from_end) = c.lerp;
        m[i] = if from_end { g + coeff * (g - m[i]) } else { m[i] + coeff * (g - m[i]) };
        v[i] = v[i] * c.beta2 + c.one_minus_beta2 * g * g;
        let second = if AMSGRAD {
            v_max[i] = v_max[i].max(v[i]);
            v_max[i]
        } else {
            v[i]
        };
        let denom = second.sqrt() / c.bias_correction2_sqrt + c.eps;
        param[i] = p + c.neg_step_size * m[i] / denom;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gradients of the three steps of every case.
    const GRADS: [[f64; 4]; 3] = [[0.3, -0.2, 0.1, 0.0], [0.5, 0.1, -0.4, 0.2], [-0.1, 0.05, 0.02, -0.3]];

    /// `θ`, `m`, `v`, `v_max` after three steps of `opt` from θ = [1, −0.5, 0.25, 2], the
    /// state at zero.
    fn three_steps(opt: &impl Optimizer<f64>, kind: ParamKind) -> [[f64; 4]; 4] {
        let mut p = [1.0, -0.5, 0.25, 2.0];
        let (mut m, mut v, mut v_max) = ([0.0; 4], [0.0; 4], [0.0; 4]);
        for (t, g) in GRADS.iter().enumerate() {
            let slots = Slots { m: &mut m, v: &mut v, v_max: &mut v_max, step: t as u64 + 1 };
            opt.update(&mut p, g, slots, kind);
        }
        [p, m, v, v_max]
    }

    fn assert_close(got: &[f64; 4], want: &[f64; 4], what: &str) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-14 * w.abs().max(1e-3), "{what}: {got:?} vs {want:?}");
        }
    }

    // The expected values: PyTorch 2.15, float64, `foreach=False`, the same gradients
    // assigned to `p.grad` before each `opt.step()`.
    const ADAM_MOMENTS: [[f64; 4]; 2] = [
        [0.05929999999999999, -0.002200000000000001, -0.0259, -0.011999999999999997],
        [0.0003495700900000003, 5.241004000000006e-05, 0.00017022001000000018, 0.00012996000000000012],
    ];

    #[test]
    fn adam_follows_pytorch() {
        // torch.optim.Adam([p], lr=0.1)
        let [p, m, v, v_max] = three_steps(&Adam::new(0.1), ParamKind::Weight);
        assert_close(&p, &[0.7376497905395811, -0.3672274169037153, 0.24605259390984355, 1.946850595297307], "θ");
        assert_close(&m, &ADAM_MOMENTS[0], "exp_avg");
        assert_close(&v, &ADAM_MOMENTS[1], "exp_avg_sq");
        assert_eq!(v_max, [0.0; 4], "max_exp_avg_sq without amsgrad");
    }

    #[test]
    fn adam_adds_l2_decay_to_the_gradient() {
        // torch.optim.Adam([p], lr=0.1, weight_decay=0.1)
        let [p, m, v, _] = three_steps(&Adam::new(0.1).with_weight_decay(0.1), ParamKind::Bias);
        assert_close(&p, &[0.7259504746851823, -0.3190172093323282, 0.23234819841643883, 1.747881392888065], "θ");
        assert_close(
            &m,
            &[0.08350809480542183, -0.013372205290389124, -0.020524024018854923, 0.039332147596675825],
            "m",
        );
        assert_close(
            &v,
            &[0.0005078288289340878, 6.618985018306357e-05, 0.00016527132083217215, 0.00020619088961209607],
            "v",
        );
    }

    #[test]
    fn adamw_decouples_the_decay() {
        // torch.optim.AdamW([p], lr=0.1): the default decay 0.01 scales θ, the moments are Adam's.
        assert_eq!(AdamW::new(0.1).weight_decay, 0.01);
        let [p, m, v, _] = three_steps(&AdamW::new(0.1), ParamKind::Norm);
        assert_close(&p, &[0.7349509687164784, -0.3659554500960016, 0.24544729329236845, 1.9409310069744032], "θ");
        assert_close(&m, &ADAM_MOMENTS[0], "exp_avg");
        assert_close(&v, &ADAM_MOMENTS[1], "exp_avg_sq");
    }

    #[test]
    fn adamw_amsgrad_with_other_betas_and_eps() {
        // torch.optim.AdamW([p], lr=0.05, weight_decay=0.3, amsgrad=True, betas=(0.3, 0.5), eps=1e-3):
        // 1 − β₁ = 0.7 takes torch.lerp's other formula, and v̂ keeps the first steps' v.
        let opt = AdamW::new(0.05).with_weight_decay(0.3).with_amsgrad().with_betas(0.3, 0.5).with_eps(1e-3);
        let [p, m, v, v_max] = three_steps(&opt, ParamKind::Weight);
        assert_close(&p, &[0.8503030102982058, -0.45344378895058435, 0.24364949019481957, 1.8995239988328005], "θ");
        assert_close(&m, &[0.05390000000000002, 0.0434, -0.06370000000000002, -0.16799999999999998], "m");
        assert_close(&v, &[0.07875, 0.00875, 0.04145, 0.055], "v");
        assert_close(&v_max, &[0.1475, 0.020000000000000004, 0.0825, 0.055], "v_max");
    }

    #[test]
    fn decay_exclusion_spares_biases_and_norm_parameters() {
        // PyTorch's parameter group with weight_decay=0: AdamW(lr=0.1, weight_decay=0) and
        // Adam(lr=0.1) give the same θ.
        let plain = three_steps(&Adam::new(0.1), ParamKind::Weight);
        for kind in [ParamKind::Bias, ParamKind::Norm] {
            let adamw = AdamW::new(0.1).with_weight_decay(0.5).excluding_norm_and_bias_from_decay();
            assert_eq!(three_steps(&adamw, kind), plain, "AdamW, {kind:?}");
            let adam = Adam::new(0.1).with_weight_decay(0.5).excluding_norm_and_bias_from_decay();
            assert_eq!(three_steps(&adam, kind), plain, "Adam, {kind:?}");
        }
        // Weights still decay.
        let adamw = AdamW::new(0.1).excluding_norm_and_bias_from_decay();
        assert_eq!(three_steps(&adamw, ParamKind::Weight), three_steps(&AdamW::new(0.1), ParamKind::Weight));
    }

    #[test]
    fn f32_constants_come_from_f64_hyperparameters() {
        // 1 − β₂ rounded from f64 (as PyTorch's `value=1 - beta2`), not 1 − (β₂ as f32).
        let (mut p, mut m, mut v, mut w) = ([1.0f32], [0.0f32], [0.0f32], [0.0f32]);
        let slots = Slots { m: &mut m, v: &mut v, v_max: &mut w, step: 1 };
        Adam::new(0.1).update(&mut p, &[1.0], slots, ParamKind::Weight);
        assert_eq!(v[0], 0.001f32);
        assert_eq!(m[0], 0.1f32);
    }
}
