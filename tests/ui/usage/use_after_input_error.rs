// After an error in `input:` the input width is unknown: inputs of any width type-check, and
// the macro's error is the only one.
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U2, U3, U4, U7};
use bn_core::{Batch, Trainer};

bn_core::network! {
    struct Net {
        input: -3,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let mut net = Net::new(0);
    let _ = net.eval(&[0.0f32; 3]);
    let _ = net.classify(&GenericArray::<f32, U7>::default());
    let mut y = Batch::<U4, U2>::default();
    net.eval_batch(&Batch::<U4, U7>::default(), &mut y);
    let mut trainer = Trainer::<Net, U4>::new();
    let _ = net.forward_train(&Batch::<U4, U3>::default(), &mut trainer.workspace);
    let folded = net.fold();
    let _ = folded.forward(&[1.0f32; 12]);
    folded.forward_batch(&Batch::<U4, U3>::default(), &mut y);
}
