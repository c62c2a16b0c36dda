// `eval_batch` takes a batch of samples of the declared input width.
use bn_core::typenum::{U3, U8};
use bn_core::Batch;

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm, relu,
        dense(2),
    }
}

fn main() {
    let net = Net::new(0);
    let x = Batch::<U8, U3>::default();
    let mut y = Default::default();
    net.eval_batch(&x, &mut y);
}
