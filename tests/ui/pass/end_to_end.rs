// The generated API end to end: new, Trainer, train_step at batch U2, eval, fold, classify.
use bn_core::generic_array::GenericArray;
use bn_core::typenum::U2;
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    /// A tiny classifier: is the first coordinate larger than the second?
    pub struct Tiny {
        input: 2,
        dense(8), batchnorm, relu,
        fc_out: dense(8 => 2, bias),
    }
}

fn main() {
    assert_eq!(Tiny::INPUT, 2);
    assert_eq!(Tiny::OUTPUT, 2);
    // dense 2·8 (no bias before BN) + BN 2·8 + dense 8·2 + 2.
    assert_eq!(Tiny::PARAMS, 16 + 16 + 16 + 2);
    let mut net = Tiny::new(3);
    let mut trainer = Trainer::<Tiny, U2>::new();
    let opt = Sgd::new(0.1).with_momentum(0.9);
    let mut first = None;
    let mut last = 0.0;
    for step in 0..400 {
        let a = (step % 17) as f32 / 17.0;
        let b = (step % 5) as f32 / 5.0 + 0.1;
        // One sample of each class per batch.
        let x: Batch<U2, _> = GenericArray::from([GenericArray::from([a + 1.0, a]), GenericArray::from([b, b + 1.0])]);
        let labels = GenericArray::from([0usize, 1]);
        last = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
        first.get_or_insert(last);
    }
    assert!(last < first.unwrap(), "loss {first:?} -> {last}");
    assert_eq!(net.classify(&[2.0f32, 0.0]), 0);
    assert_eq!(net.classify(&[0.0f32, 2.0]), 1);
    let y = net.eval(&[2.0f32, 0.0]);
    let folded = net.fold();
    let z = folded.forward(&[2.0f32, 0.0]);
    for k in 0..2 {
        assert!((y[k] - z[k]).abs() < 1e-4, "{} vs {}", y[k], z[k]);
    }
    assert_eq!(folded.classify(&[0.0f32, 2.0]), 1);
    let folded_copy = folded;
    assert_eq!(folded_copy, folded);
}
