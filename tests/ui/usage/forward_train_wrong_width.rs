// A training batch of the wrong sample width.
use bn_core::typenum::{U3, U8};
use bn_core::{Batch, Trainer};

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let mut net = Net::new(0);
    let mut trainer = Trainer::<Net, U8>::new();
    let x = Batch::<U8, U3>::default();
    let _ = net.forward_train(&x, &mut trainer.workspace);
}
