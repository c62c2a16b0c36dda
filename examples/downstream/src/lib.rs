//! A downstream crate: its only dependency is `bn-core`, and it declares, trains and folds
//! a network with `bn_core::network!`.
//!
//! The network is declared in a module that shadows the prelude's names (and `bn_core`
//! itself, for relative paths), which proves that the generated code names only
//! `::core::…` and `::bn_core::…` paths.

pub mod xor {
    #![allow(dead_code, non_camel_case_types)]
    struct Option;
    struct Some;
    struct None;
    struct Box;
    struct Vec;
    struct Result;
    struct Ok;
    struct f64;
    trait Clone {}
    trait Copy {}
    trait Default {}
    trait Sized {}
    trait Iterator {}
    trait IntoIterator {}
    trait Send {}
    trait Sync {}
    mod bn_core {}
    mod generic_array {}
    mod typenum {}

    ::bn_core::network! {
        /// XOR with Batch Normalization.
        pub struct Xor {
            input: 2,
            hidden: dense(8), batchnorm, tanh,
            out: dense(2),
        }
    }
}

pub use xor::{Xor, XorFolded};

use bn_core::generic_array::GenericArray;
use bn_core::typenum::U4;
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

/// The four XOR points and their labels.
pub fn xor_data() -> (Batch<U4, bn_core::typenum::U2>, GenericArray<usize, U4>) {
    let x = GenericArray::from([
        GenericArray::from([0.0, 0.0]),
        GenericArray::from([0.0, 1.0]),
        GenericArray::from([1.0, 0.0]),
        GenericArray::from([1.0, 1.0]),
    ]);
    (x, GenericArray::from([0, 1, 1, 0]))
}

/// Trains XOR with full-batch SGD and returns the network and its folded model.
pub fn train_xor(steps: usize) -> (Xor, XorFolded) {
    let (x, labels) = xor_data();
    let mut net = Xor::new(1);
    let mut trainer = Trainer::<Xor, U4>::new();
    let opt = Sgd::new(0.2).with_momentum(0.9);
    for _ in 0..steps {
        net.train_step(&x, &labels, &SoftmaxCrossEntropy, &opt, &mut trainer);
    }
    // Population statistics over the (single) training batch, as Algorithm 2 does.
    net.recompute_population_statistics([&x], &mut trainer.workspace);
    let folded = net.fold();
    (net, folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downstream_crate_trains_and_folds() {
        let (net, folded) = train_xor(300);
        let (x, labels) = xor_data();
        for (xi, &label) in x.iter().zip(labels.iter()) {
            assert_eq!(net.classify(xi), label, "eval");
            assert_eq!(folded.classify(xi), label, "folded");
            let (e, f) = (net.eval(xi), folded.forward(xi));
            for k in 0..2 {
                assert!((e[k] - f[k]).abs() <= 1e-5 * (1.0 + e[k].abs()), "{e:?} vs {f:?}");
            }
        }
        // The named layers are the fields.
        assert!(net.hidden.bias().is_none());
        assert!(net.out.bias().is_some());
        assert_eq!(Xor::PARAMS, 2 * 8 + 2 * 8 + 8 * 2 + 2);
    }
}
