// The folded model is an inference type: it has no training methods.
use bn_core::typenum::U4;
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let folded = Net::new(0).fold();
    let x = Batch::<U4, _>::default();
    let mut trainer = Trainer::<Net, U4>::new();
    let _ = folded.train_step(&x, &Default::default(), &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
}
