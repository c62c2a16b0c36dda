// The fine-tuning and Batch Renormalization switches of a BN network.
use bn_core::typenum::{U4, U8};
use bn_core::{Batch, Freeze, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm(renorm(rmax = 1.5, dmax = 0.5)), relu,
        dense(8), batchnorm(affine = false, momentum = 0.01), relu,
        dense(2),
    }
}

fn main() {
    let mut net = Net::new(0);
    let mut trainer = Trainer::<Net, U8>::new();
    let x = Batch::<U8, U4>::default();
    let labels = Default::default();
    // The paper's schedule starts from plain BN (1, 0) and relaxes the limits.
    net.set_renorm_limits(1.0, 0.0);
    net.set_renorm_limits(2.0, 1.0);
    net.batchnorm1.rmax = 3.0;
    net.batchnorm1.dmax = 5.0;
    let _ = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    net.freeze_batchnorm(Freeze::Statistics);
    net.batchnorm4.freeze = Freeze::All;
    let _ = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    net.freeze_batchnorm(Freeze::No);
    let _: f32 = net.eval(&[0.0f32; 4])[0];
}
