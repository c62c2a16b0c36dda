//! The backward of stacks assembled by hand from bn-core's layers matches central finite
//! differences of the loss (f64, [`bn_core::gradcheck`]), for the input and every parameter:
//!
//! ```text
//! batchnorm_stack:          dense(5 => 4, no bias) → BatchNorm(4) → sigmoid | relu | tanh → dense(4 => 3, bias)
//! layernorm_dropout_stack:  dense(5 => 6, bias) → LayerNorm(6) → relu → dropout(p = 0.25) → dense(6 => 3, bias)
//! ```
//!
//! each followed by the mean softmax cross-entropy of the batch. Through BN every sample's
//! input gradient also flows through the batch statistics μ_B and σ²_B: the check rejects a
//! backward that treats them as constants. Layer Normalization is checked at batch sizes 4
//! and 1 (it needs no second sample), with a dropout mask drawn once and held fixed (a
//! constant of the backward, as in training). The whole networks that `network!` generates
//! are checked in the workspace's `tests/gradients.rs`.

mod common;

/// `dense(5 => 4, no bias) → BatchNorm(4) → activation → dense(4 => 3, bias)` at batch 6.
mod batchnorm_stack {
    use bn_core::generic_array::sequence::GenericSequence;
    use bn_core::generic_array::GenericArray;
    use bn_core::gradcheck::{self, Tensor};
    use bn_core::typenum::{U3, U4, U5, U6};
    use bn_core::{
        flat, flat_mut, softmax_cross_entropy, Activation, Batch, BatchNorm, BatchNormCache, BatchNormGrads, Dense,
        Init, ReLU, Rng, Sigmoid, Tanh,
    };

    use super::common::random::random_batch;

    /// The batch size.
    type B = U6;
    type Input = Batch<B, U5, f64>;
    type Labels = GenericArray<usize, B>;

    /// Where the loss is evaluated: the input batch and every parameter.
    #[derive(Clone)]
    struct Point {
        x: Input,
        d1: Dense<U5, U4, f64, false>,
        bn: BatchNorm<U4, f64>,
        d2: Dense<U4, U3, f64, true>,
    }

    /// The analytic gradients, shaped like [`Point`].
    struct Grads {
        x: Input,
        d1: Dense<U5, U4, f64, false>,
        bn: BatchNormGrads<U4, f64>,
        d2: Dense<U4, U3, f64, true>,
    }

    /// The tensors whose gradients are checked.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Slot {
        X,
        W1,
        Gamma,
        Beta,
        W2,
        B2,
    }

    const SLOTS: [Slot; 6] = [Slot::X, Slot::W1, Slot::Gamma, Slot::Beta, Slot::W2, Slot::B2];

    fn slot(p: &mut Point, t: Slot) -> &mut [f64] {
        match t {
            Slot::X => flat_mut(&mut p.x),
            Slot::W1 => flat_mut(&mut p.d1.weight),
            Slot::Gamma => &mut p.bn.gamma,
            Slot::Beta => &mut p.bn.beta,
            Slot::W2 => flat_mut(&mut p.d2.weight),
            Slot::B2 => &mut p.d2.bias,
        }
    }

    fn grad(g: &Grads, t: Slot) -> &[f64] {
        match t {
            Slot::X => flat(&g.x),
            Slot::W1 => flat(&g.d1.weight),
            Slot::Gamma => &g.bn.gamma,
            Slot::Beta => &g.bn.beta,
            Slot::W2 => flat(&g.d2.weight),
            Slot::B2 => &g.d2.bias,
        }
    }

    /// Everything the forward computes, for the backward.
    struct Forward {
        h: Batch<B, U4, f64>,
        z: Batch<B, U4, f64>,
        a: Batch<B, U4, f64>,
        cache: BatchNormCache<U4, f64>,
        dlogits: Batch<B, U3, f64>,
        loss: f64,
    }

    fn forward<A: Activation>(p: &Point, labels: &Labels) -> Forward {
        // `forward_train` updates the population statistics, which the loss does not depend
        // on: run it on a copy so `p` stays the point of evaluation.
        let mut bn = p.bn;
        let mut f = Forward {
            h: Batch::default(),
            z: Batch::default(),
            a: Batch::default(),
            cache: BatchNormCache::default(),
            dlogits: Batch::default(),
            loss: 0.0,
        };
        let mut logits = Batch::<B, U3, f64>::default();
        p.d1.forward(&p.x, &mut f.h);
        bn.forward_train(&f.h, &mut f.z, &mut f.cache);
        A::forward(&f.z, &mut f.a);
        p.d2.forward(&f.a, &mut logits);
        f.loss = softmax_cross_entropy(&logits, labels, &mut f.dlogits);
        f
    }

    fn loss<A: Activation>(p: &Point, labels: &Labels) -> f64 {
        forward::<A>(p, labels).loss
    }

    /// Backward through the whole stack. Also returns `∂ℓ/∂h`, the gradient at the BN input.
    fn gradients<A: Activation>(p: &Point, labels: &Labels) -> (Grads, Batch<B, U4, f64>) {
        let f = forward::<A>(p, labels);
        let mut g =
            Grads { x: Batch::default(), d1: Dense::default(), bn: BatchNormGrads::default(), d2: Dense::default() };
        let (mut da, mut dz, mut dh) = (Batch::default(), Batch::default(), Batch::default());
        p.d2.backward(&f.a, &f.dlogits, Some(&mut da), &mut g.d2);
        A::backward(&f.a, &da, &mut dz);
        p.bn.backward(&f.h, &f.cache, &dz, &mut dh, &mut g.bn);
        p.d1.backward(&p.x, &dh, Some(&mut g.x), &mut g.d1);
        (g, dh)
    }

    /// The wrong gradient a backward gets by treating μ_B and σ²_B as constants:
    /// `∂ℓ/∂x = (∂ℓ/∂z · γ/√(σ²_B + ε))·W₁`. Used to show the check tells it apart.
    fn frozen_statistics_input_gradient<A: Activation>(p: &Point, labels: &Labels) -> Input {
        let f = forward::<A>(p, labels);
        let mut scratch = Dense::default();
        let (mut da, mut dz, mut dx) = (Batch::default(), Batch::<B, U4, f64>::default(), Batch::default());
        p.d2.backward(&f.a, &f.dlogits, Some(&mut da), &mut scratch);
        A::backward(&f.a, &da, &mut dz);
        for row in dz.iter_mut() {
            for (k, d) in row.iter_mut().enumerate() {
                *d *= p.bn.gamma[k] * f.cache.inv_std[k];
            }
        }
        let mut scratch = Dense::default();
        p.d1.backward(&p.x, &dz, Some(&mut dx), &mut scratch);
        dx
    }

    /// The gradient check of slot `t` with `analytic` as its gradient.
    fn tensor(t: Slot, analytic: &[f64]) -> Tensor<'static, Point> {
        Tensor::new(format!("{t:?}"), analytic, move |p: &mut Point| slot(p, t))
    }

    /// A random point: Xavier weights, a random second bias, γ of both signs and magnitudes
    /// 0.5..2, random β, and inputs with a different scale and offset per feature.
    fn random_point(rng: &mut Rng) -> Point {
        let d1 = Dense::<U5, U4, f64, false>::new(Init::XavierNormal, rng);
        let mut d2 = Dense::<U4, U3, f64, true>::new(Init::XavierNormal, rng);
        Init::Gaussian { std: 0.5 }.fill(&mut d2.bias, 1, 1, rng);
        let mut bn = BatchNorm::<U4, f64>::new();
        for g in bn.gamma.iter_mut() {
            let sign = if rng.uniform() < 0.3 { -1.0 } else { 1.0 };
            *g = sign * (0.5 + 1.5 * rng.uniform());
        }
        Init::Gaussian { std: 1.0 }.fill(&mut bn.beta, 1, 1, rng);
        let mut x: Input = random_batch(rng);
        for row in x.iter_mut() {
            for (k, v) in row.iter_mut().enumerate() {
                *v = *v * (0.5 + 0.4 * k as f64) + (k as f64 - 2.0);
            }
        }
        Point { x, d1, bn, d2 }
    }

    /// Checks every gradient of the stack with activation `A` at a random point.
    fn check_stack<A: Activation>(seed: u64) {
        let mut rng = Rng::seed(seed);
        let p = random_point(&mut rng);
        let labels: Labels = GenericArray::generate(|_| rng.below(3));
        let f = forward::<A>(&p, &labels);
        assert!(f.loss.is_finite() && f.loss > 0.0, "{}: loss {}", A::NAME, f.loss);
        // A kink of ReLU within reach of the ±h perturbations would make the central
        // difference meaningless; random data keeps every pre-activation far from 0.
        let closest = f.z.iter().flatten().fold(f64::INFINITY, |m, z| m.min(z.abs()));
        assert!(closest > 1e-3, "{}: a pre-activation is {closest:e} from 0; pick another seed", A::NAME);

        let (g, dh) = gradients::<A>(&p, &labels);
        for t in SLOTS {
            // Every gradient is really exercised (none is identically zero).
            let largest = grad(&g, t).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(largest > 1e-4, "{} seed {seed}: ∂ℓ/∂{t:?} is ~0 (max {largest:e})", A::NAME);
        }
        let tensors: Vec<_> = SLOTS.iter().map(|&t| tensor(t, grad(&g, t))).collect();
        let report = gradcheck::check(&p, &tensors, |p| loss::<A>(p, &labels));
        assert!(report.passed(), "{} seed {seed}: {report}", A::NAME);
        assert_eq!(report.checked, 30 + 20 + 4 + 4 + 12 + 3);

        // BN makes the loss invariant to a per-feature shift of its input, so the gradient at
        // the BN input sums to zero over the batch, and (the first dense being linear without
        // a bias) so does the gradient at the stack's input.
        for k in 0..4 {
            let s: f64 = dh.iter().map(|r| r[k]).sum();
            assert!(s.abs() < 1e-12, "{} seed {seed}: Σ_b ∂ℓ/∂h[b][{k}] = {s:e}", A::NAME);
        }
        for i in 0..5 {
            let s: f64 = g.x.iter().map(|r| r[i]).sum();
            assert!(s.abs() < 1e-12, "{} seed {seed}: Σ_b ∂ℓ/∂x[b][{i}] = {s:e}", A::NAME);
        }

        // The check has teeth: a backward that ignores the dependence of μ_B and σ²_B on the
        // input is rejected.
        let wrong = frozen_statistics_input_gradient::<A>(&p, &labels);
        let report = gradcheck::check(&p, &[tensor(Slot::X, flat(&wrong))], |p| loss::<A>(p, &labels));
        assert!(!report.passed(), "{} seed {seed}: the frozen-statistics gradient passed the check", A::NAME);
    }

    #[test]
    fn sigmoid_stack_gradients_match_finite_differences() {
        for seed in [1, 2, 3] {
            check_stack::<Sigmoid>(seed);
        }
    }

    #[test]
    fn relu_and_tanh_stack_gradients_match_finite_differences() {
        for seed in [4, 5, 6] {
            check_stack::<ReLU>(seed);
            check_stack::<Tanh>(seed);
        }
    }

    #[test]
    fn relu_stack_check_masks_some_units() {
        // The ReLU check is only meaningful if some units are cut off and some pass.
        for seed in [4, 5, 6] {
            let mut rng = Rng::seed(seed);
            let p = random_point(&mut rng);
            let labels: Labels = GenericArray::generate(|_| rng.below(3));
            let f = forward::<ReLU>(&p, &labels);
            let negative = f.z.iter().flatten().filter(|&&z| z < 0.0).count();
            assert!(negative > 0 && negative < 24, "seed {seed}: {negative} of 24 pre-activations are negative");
        }
    }
}

/// `dense(5 => 6, bias) → LayerNorm(6) → relu → dropout(p = 0.25) → dense(6 => 3, bias)` at
/// batch sizes 4 and 1, the dropout mask drawn once from a seed and held fixed.
mod layernorm_dropout_stack {
    use bn_core::generic_array::sequence::GenericSequence;
    use bn_core::generic_array::{ArrayLength, GenericArray};
    use bn_core::gradcheck::{self, Tensor};
    use bn_core::typenum::{U1, U3, U4, U5, U6};
    use bn_core::{
        flat, flat_mut, softmax_cross_entropy, Activation, Batch, Dense, Dropout, Init, LayerNorm, LayerNormCache,
        LayerNormGrads, ReLU, Rng,
    };

    use super::common::random::random_batch;

    const P: f64 = 0.25;

    /// Where the loss is evaluated: the input batch, every parameter, and the fixed mask.
    #[derive(Clone)]
    struct Point<B: ArrayLength> {
        x: Batch<B, U5, f64>,
        d1: Dense<U5, U6, f64, true>,
        ln: LayerNorm<U6, f64>,
        mask: Batch<B, U6, f64>,
        d2: Dense<U6, U3, f64, true>,
    }

    /// The analytic gradients.
    struct Grads<B: ArrayLength> {
        x: Batch<B, U5, f64>,
        d1: Dense<U5, U6, f64, true>,
        ln: LayerNormGrads<U6, f64>,
        d2: Dense<U6, U3, f64, true>,
    }

    #[derive(Clone, Copy, Debug)]
    enum Slot {
        X,
        W1,
        B1,
        Gamma,
        Beta,
        W2,
        B2,
    }

    const SLOTS: [Slot; 7] = [Slot::X, Slot::W1, Slot::B1, Slot::Gamma, Slot::Beta, Slot::W2, Slot::B2];

    fn slot<B: ArrayLength>(p: &mut Point<B>, t: Slot) -> &mut [f64] {
        match t {
            Slot::X => flat_mut(&mut p.x),
            Slot::W1 => flat_mut(&mut p.d1.weight),
            Slot::B1 => &mut p.d1.bias,
            Slot::Gamma => &mut p.ln.gamma,
            Slot::Beta => &mut p.ln.beta,
            Slot::W2 => flat_mut(&mut p.d2.weight),
            Slot::B2 => &mut p.d2.bias,
        }
    }

    fn grad<B: ArrayLength>(g: &Grads<B>, t: Slot) -> &[f64] {
        match t {
            Slot::X => flat(&g.x),
            Slot::W1 => flat(&g.d1.weight),
            Slot::B1 => &g.d1.bias,
            Slot::Gamma => &g.ln.gamma,
            Slot::Beta => &g.ln.beta,
            Slot::W2 => flat(&g.d2.weight),
            Slot::B2 => &g.d2.bias,
        }
    }

    /// Everything the forward computes, for the backward.
    struct Forward<B: ArrayLength> {
        h: Batch<B, U6, f64>,
        z: Batch<B, U6, f64>,
        a: Batch<B, U6, f64>,
        r: Batch<B, U6, f64>,
        cache: LayerNormCache<B, f64>,
        dlogits: Batch<B, U3, f64>,
        loss: f64,
    }

    fn forward<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>) -> Forward<B> {
        let mut f = Forward {
            h: Batch::default(),
            z: Batch::default(),
            a: Batch::default(),
            r: Batch::default(),
            cache: LayerNormCache::default(),
            dlogits: Batch::default(),
            loss: 0.0,
        };
        let mut logits = Batch::<B, U3, f64>::default();
        p.d1.forward(&p.x, &mut f.h);
        p.ln.forward_train(&f.h, &mut f.z, &mut f.cache);
        ReLU::forward(&f.z, &mut f.a);
        // The fixed mask: y = a ⊙ mask.
        for ((r, a), m) in flat_mut(&mut f.r).iter_mut().zip(flat(&f.a)).zip(flat(&p.mask)) {
            *r = a * m;
        }
        p.d2.forward(&f.r, &mut logits);
        f.loss = softmax_cross_entropy(&logits, labels, &mut f.dlogits);
        f
    }

    fn gradients<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>) -> Grads<B> {
        let f = forward(p, labels);
        let mut g =
            Grads { x: Batch::default(), d1: Dense::default(), ln: LayerNormGrads::default(), d2: Dense::default() };
        let (mut dr, mut da, mut dz, mut dh) = (Batch::default(), Batch::default(), Batch::default(), Batch::default());
        p.d2.backward(&f.r, &f.dlogits, Some(&mut dr), &mut g.d2);
        Dropout::backward(&p.mask, &dr, &mut da);
        ReLU::backward(&f.a, &da, &mut dz);
        p.ln.backward(&f.h, &f.cache, &dz, Some(&mut dh), &mut g.ln);
        p.d1.backward(&p.x, &dh, Some(&mut g.x), &mut g.d1);
        g
    }

    /// The wrong input gradient of a LayerNorm backward that treats μ and σ as constants:
    /// `∂ℓ/∂h = ∂ℓ/∂z ⊙ γ/σ`. Used to show that the check tells it apart.
    fn frozen_statistics_gradient<B: ArrayLength>(p: &Point<B>, labels: &GenericArray<usize, B>) -> Batch<B, U6, f64> {
        let f = forward(p, labels);
        let mut scratch = Dense::default();
        let (mut dr, mut da, mut dz) = (Batch::default(), Batch::default(), Batch::<B, U6, f64>::default());
        p.d2.backward(&f.r, &f.dlogits, Some(&mut dr), &mut scratch);
        Dropout::backward(&p.mask, &dr, &mut da);
        ReLU::backward(&f.a, &da, &mut dz);
        for (b, row) in dz.iter_mut().enumerate() {
            for (k, d) in row.iter_mut().enumerate() {
                *d *= p.ln.gamma[k] * f.cache.inv_std[b];
            }
        }
        dz
    }

    fn random_point<B: ArrayLength>(rng: &mut Rng) -> Point<B> {
        let mut d1 = Dense::<U5, U6, f64, true>::new(Init::XavierNormal, rng);
        Init::Gaussian { std: 0.5 }.fill(&mut d1.bias, 1, 1, rng);
        let mut d2 = Dense::<U6, U3, f64, true>::new(Init::XavierNormal, rng);
        Init::Gaussian { std: 0.5 }.fill(&mut d2.bias, 1, 1, rng);
        let mut ln = LayerNorm::<U6, f64>::new();
        for g in ln.gamma.iter_mut() {
            *g = (0.5 + rng.uniform()) * if rng.uniform() < 0.3 { -1.0 } else { 1.0 };
        }
        Init::Gaussian { std: 0.5 }.fill(&mut ln.beta, 1, 1, rng);
        let x: Batch<B, U5, f64> = random_batch(rng);
        // The mask, drawn as in training (its values are 0 or 1/(1 − p)).
        let (mut ones, mut scratch, mut mask) = (Batch::<B, U6, f64>::default(), Batch::default(), Batch::default());
        flat_mut(&mut ones).fill(1.0);
        Dropout::forward_train(P, &ones, &mut scratch, &mut mask, rng);
        Point { x, d1, ln, mask, d2 }
    }

    fn check<B: ArrayLength>(seed: u64) {
        let mut rng = Rng::seed(seed);
        let p = random_point::<B>(&mut rng);
        let labels: GenericArray<usize, B> = GenericArray::generate(|_| rng.below(3));
        let f = forward(&p, &labels);
        assert!(f.loss.is_finite() && f.loss > 0.0, "seed {seed}: loss {}", f.loss);
        // No ReLU kink within reach of the perturbations.
        let closest = f.z.iter().flatten().fold(f64::INFINITY, |m, z| m.min(z.abs()));
        assert!(closest > 1e-3, "seed {seed}: a pre-activation is {closest:e} from 0; pick another seed");
        let dropped = flat(&p.mask).iter().filter(|&&m| m == 0.0).count();
        assert!(flat(&p.mask).iter().all(|&m| m == 0.0 || m == 1.0 / (1.0 - P)));

        let g = gradients(&p, &labels);
        for t in SLOTS {
            let largest = grad(&g, t).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(largest > 1e-4, "seed {seed}: ∂ℓ/∂{t:?} is ~0 (max {largest:e})");
        }
        let tensors: Vec<_> = SLOTS
            .iter()
            .map(|&t| Tensor::new(format!("{t:?}"), grad(&g, t), move |p: &mut Point<B>| slot(p, t)))
            .collect();
        let report = gradcheck::check(&p, &tensors, |p| forward(p, &labels).loss);
        assert!(report.passed(), "seed {seed} ({dropped} dropped): {report}");
        assert_eq!(report.checked, 5 * B::USIZE + 30 + 6 + 6 + 6 + 18 + 3);

        // LayerNorm makes the loss invariant to adding a constant to a sample's LN input, so
        // each sample's gradient at the LN input sums to zero; a backward that ignores the
        // dependence of μ and σ on the input breaks that and is rejected.
        let wrong = frozen_statistics_gradient(&p, &labels);
        let mut right = Batch::<B, U6, f64>::default();
        {
            let (mut dr, mut da, mut dz) = (Batch::default(), Batch::default(), Batch::default());
            p.d2.backward(&f.r, &f.dlogits, Some(&mut dr), &mut Dense::default());
            Dropout::backward(&p.mask, &dr, &mut da);
            ReLU::backward(&f.a, &da, &mut dz);
            p.ln.backward(&f.h, &f.cache, &dz, Some(&mut right), &mut LayerNormGrads::default());
        }
        for (b, row) in right.iter().enumerate() {
            let s: f64 = row.iter().sum();
            assert!(s.abs() < 1e-12, "seed {seed}: Σ_k ∂ℓ/∂h[{b}][k] = {s:e}");
        }
        let worst = flat(&wrong).iter().zip(flat(&right)).fold(0.0f64, |m, (w, r)| m.max((w - r).abs()));
        assert!(worst > 1e-3, "seed {seed}: the frozen-statistics gradient is indistinguishable ({worst:e})");
    }

    #[test]
    fn stack_gradients_match_finite_differences_at_batch_four() {
        for seed in [1, 2, 3] {
            check::<U4>(seed);
        }
    }

    #[test]
    fn stack_gradients_match_finite_differences_at_batch_one() {
        for seed in [4, 5, 6] {
            check::<U1>(seed);
        }
    }

    #[test]
    fn the_masks_drop_some_units_and_keep_others() {
        // The check covers dropped and kept units alike.
        let dropped: usize = [1u64, 2, 3]
            .iter()
            .map(|&s| flat(&random_point::<U4>(&mut Rng::seed(s)).mask).iter().filter(|&&m| m == 0.0).count())
            .sum();
        assert!(dropped > 0 && dropped < 3 * 24, "{dropped} of 72 dropped");
    }
}
