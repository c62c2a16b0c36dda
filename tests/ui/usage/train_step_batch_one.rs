// `train_step` at batch size 1 does not compile.
use bn_core::typenum::{U1, U4};
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let mut net = Net::new(0);
    let mut trainer = Trainer::<Net, U1>::new();
    let x = Batch::<U1, U4>::default();
    let labels = Default::default();
    let _ = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
}
