// The folded model's batched forward equals its one-sample forward for every plan shape: an
// activation first, an affine first or last, an activation last, and a model with no dense
// layer at all.
use bn_core::typenum::{U3, U70};
use bn_core::{Batch, Rng};

bn_core::network! {
    struct ActFirst { input: 3, tanh, dense(4), batchnorm, sigmoid }
}
bn_core::network! {
    struct AffineOnly { input: 3, batchnorm, relu, batchnorm }
}
bn_core::network! {
    struct ActOnly { input: 3, sigmoid }
}

fn check<F: bn_core::Inference<Scalar = f32, Input = U3>>(f: &F) {
    let mut rng = Rng::seed(5);
    let mut xs = Batch::<U70, U3>::default();
    xs.iter_mut().flatten().for_each(|v| *v = rng.normal() as f32);
    let mut ys = Batch::<U70, F::Output>::default();
    f.forward_batch(&xs, &mut ys);
    for (x, y) in xs.iter().zip(ys.iter()) {
        let mut one = Default::default();
        f.forward_one(x, &mut one);
        assert_eq!(*y, one);
    }
}

fn main() {
    let mut a = ActFirst::new(1);
    a.batchnorm2.running_var.iter_mut().for_each(|v| *v = 2.5);
    check(&a.fold());
    let mut b = AffineOnly::new(2);
    b.batchnorm0.running_mean.iter_mut().for_each(|v| *v = 0.3);
    check(&b.fold());
    check(&ActOnly::new(3).fold());
}
