//! A folded model in a `static`, shared by reference: several threads hammering it at once
//! get the single-threaded results bit for bit (the model is immutable, `Sync`, and its
//! forwards keep every temporary on the caller's stack).

use std::sync::OnceLock;

use bn_core::typenum::{U16, U7};
use bn_core::{flat_mut, Batch, Rng, Sgd, SoftmaxCrossEntropy, Trainer, Vector, Zeroable};

bn_core::network! {
    struct Mlp { input: 40, dense(32), batchnorm, sigmoid, dense(24), batchnorm, relu, dense(10) }
}

bn_core::network! {
    struct Cnn {
        input: (1, 12, 12),
        conv2d(6, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(8, kernel = 3), batchnorm, tanh,
        flatten, dense(10),
    }
}

/// Trains `N` for a few steps on random data (so the population statistics are not the
/// defaults) and folds it.
fn trained<N: bn_core::Network<Scalar = f32>>(seed: u64) -> Box<N::Folded>
where
    N::Folded: Sized,
{
    let mut net = N::new_boxed(seed);
    let mut trainer = Trainer::<N, U16>::new_boxed();
    let mut rng = Rng::seed(seed);
    let mut x = bn_core::boxed_zeroed::<Batch<U16, N::Input>>();
    let mut labels = bn_core::GenericArray::<usize, U16>::default();
    for _ in 0..3 {
        flat_mut(&mut x).iter_mut().for_each(|v| *v = rng.uniform() as f32 * 2.0 - 1.0);
        labels.iter_mut().for_each(|l| *l = rng.below(10));
        net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    }
    net.fold_boxed()
}

static MLP: OnceLock<Box<MlpFolded>> = OnceLock::new();
static CNN: OnceLock<Box<CnnFolded>> = OnceLock::new();

/// Every output bit of `model` on `inputs`: one sample at a time, batched, and the classes.
fn run<M: bn_core::Inference<Scalar = f32>>(model: &M, inputs: &Batch<U7, M::Input>) -> (Vec<u32>, Vec<usize>) {
    let mut bits = Vec::new();
    let mut classes = Vec::new();
    for x in inputs.iter() {
        let mut y = Vector::<M::Output>::zeroed();
        model.forward_one(x, &mut y);
        bits.extend(y.iter().map(|v| v.to_bits()));
        classes.push(model.classify(x));
    }
    let mut yb = Batch::<U7, M::Output>::zeroed();
    model.forward_batch(inputs, &mut yb);
    bits.extend(yb.iter().flatten().map(|v| v.to_bits()));
    (bits, classes)
}

fn hammer<M: bn_core::Inference<Scalar = f32> + Sync>(model: &'static M, seed: u64) {
    let mut rng = Rng::seed(seed);
    let mut inputs = bn_core::boxed_zeroed::<Batch<U7, M::Input>>();
    flat_mut(&mut inputs).iter_mut().for_each(|v| *v = rng.uniform() as f32 * 2.0 - 1.0);
    let alone = run(model, &inputs);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..200 {
                    assert_eq!(run(model, &inputs), alone, "a thread's results differ from the single-threaded run");
                }
            });
        }
    });
}

#[test]
fn a_static_folded_model_gives_identical_results_on_every_thread() {
    hammer(&**MLP.get_or_init(|| trained::<Mlp>(1)), 10);
    hammer(&**CNN.get_or_init(|| trained::<Cnn>(2)), 11);
}
