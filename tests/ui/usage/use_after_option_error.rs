// After an error in a layer's options the widths are still known: training, folding and
// weights files type-check against them, and the macro's error is the only one.
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U3, U4, U8};
use bn_core::{Batch, Network, PlainData, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    struct Net {
        input: 4,
        dense(8), batchnorm(momentum = 2), relu,
        dense(3),
    }
}

fn train<N: Network>(net: &mut N, seed: u64) {
    net.init_with(None, &mut bn_core::Rng::seed(seed));
}

fn main() {
    assert_eq!((Net::INPUT, Net::OUTPUT), (4, 3));
    println!("{}\n{}", Net::SUMMARY, Net::PARAMS);
    let mut net = Net::new_boxed(0);
    net.init(1);
    train(&mut *net, 2);
    let mut trainer = Trainer::<Net, U8>::new_boxed();
    let x = Batch::<U8, U4>::default();
    let labels = GenericArray::<usize, U8>::default();
    let loss: f32 = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    net.recompute_population_statistics([&x], &mut trainer.workspace);
    let y: GenericArray<f32, U3> = net.eval(&[loss; 4]);
    let mut ys = Batch::<U8, U3>::default();
    net.eval_batch(&x, &mut ys);
    let folded = net.fold_boxed();
    let mut copy = net.fold();
    net.fold_into(&mut copy);
    assert_eq!(folded.classify(&[0.0f32; 4]), net.classify(&[y[0]; 4]));
    folded.forward_batch(&x, &mut ys);
    let bytes = net.save_safetensors();
    net.load_safetensors_into(&bytes).unwrap();
    let back = Net::load_safetensors(&bytes).unwrap();
    assert_eq!(*back, *net);
    let file = NetFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    assert_eq!(file.to_bytes().len(), <Net as Network>::Folded::BYTE_LEN);
    println!("{net} {folded}");
}
