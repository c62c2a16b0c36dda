// Without a BN, training works at batch size 1 (LayerNorm and dropout need no batch).
use bn_core::typenum::{U1, U4};
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), layernorm, relu, dropout(0.5),
        dense(2),
    }
}

fn main() {
    let mut net = Net::new(0);
    let mut trainer = Trainer::<Net, U1>::new();
    trainer.seed(3);
    let x = Batch::<U1, U4>::default();
    let labels = Default::default();
    let loss = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    assert!(loss.is_finite());
    let mut ws = bn_core::Trainer::<Net, U1>::new().workspace;
    let _ = net.forward_train(&x, &mut ws);
    net.backward(&x, &mut ws, &mut trainer.grads);
}
