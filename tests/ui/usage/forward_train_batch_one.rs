// Training at batch size 1 does not compile: BN's batch variance is undefined.
use bn_core::typenum::{U1, U4};
use bn_core::Batch;

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let mut net = Net::new(0);
    let x = Batch::<U1, U4>::default();
    let mut ws = bn_core::Trainer::<Net, U1>::new().workspace;
    let _ = net.forward_train(&x, &mut ws);
}
