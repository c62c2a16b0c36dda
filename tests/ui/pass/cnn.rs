// A convolutional network: the whole generated API, with image inputs flat and nested.
use bn_core::generic_array::GenericArray;
use bn_core::typenum::{U4, U8};
use bn_core::{Batch, PlainData, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    /// Every image layer kind.
    pub struct Small {
        input: (2, 6, 6),
        c1: conv2d(4, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(4 => 6, kernel = (2, 2), stride = 1), tanh, avgpool(2, stride = 1),
        batchnorm(momentum = cumulative), sigmoid,
        flatten, batchnorm(eps = 1e-3), dense(3),
    }
}

fn main() {
    assert_eq!((Small::INPUT, Small::OUTPUT), (72, 3));
    let mut net = Small::new_boxed(1);
    let mut trainer = Trainer::<Small, U8>::new_boxed();
    let x = Batch::<U8, bn_core::typenum::U72>::default();
    let labels = GenericArray::<usize, U8>::default();
    let _loss: f32 = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
    let nested = [[[0.5f32; 6]; 6]; 2];
    let flat = [0.5f32; 72];
    assert_eq!(net.eval(&nested), net.eval(&flat));
    let folded = net.fold_boxed();
    let mut y = Batch::<U4, U3>::default();
    folded.forward_batch(bn_core::sub_batch::<U8, U4, _, f32>(&x, 0), &mut y);
    assert_eq!(folded.classify(&nested), folded.classify(&flat));
    let bytes = folded.to_bytes();
    assert_eq!(bytes.len(), SmallFolded::BYTE_LEN);
    let _ = Small::load_safetensors(&net.save_safetensors()).unwrap();
    let _ = SmallFolded::load_safetensors(&folded.save_safetensors()).unwrap();
    println!("{net}{folded}");
}

use bn_core::typenum::U3;
