// Every layer kind and option, in f64, with a width beyond typenum's named constants.
use bn_core::typenum::U4;
use bn_core::{Batch, Sgd, SoftmaxCrossEntropy, Trainer};

bn_core::network! {
    /// Doc comments and attributes pass through.
    #[allow(missing_docs)]
    pub struct Everything {
        input: 1500,
        scalar: f64,
        batchnorm,
        stem: dense(1500 => 32, bias), batchnorm(eps = 1e-3), sigmoid,
        batchnorm(momentum = cumulative),
        dense(16, no_bias), batchnorm(eps = 1e-4, momentum = 0.01), relu,
        dense(16 => 8), tanh,
        dense(8,), batchnorm(momentum = 1, eps = 2e-5),
        batchnorm(momentum = 0.5),
        head: dense(8 => 3),
    }
}

fn main() {
    assert_eq!(Everything::INPUT, 1500);
    assert_eq!(Everything::OUTPUT, 3);
    let mut net = Everything::new_boxed(1);
    let mut trainer = Trainer::<Everything, U4>::new_boxed();
    let mut x = Batch::<U4, _, f64>::default();
    for (b, row) in x.iter_mut().enumerate() {
        for (i, v) in row.iter_mut().enumerate() {
            *v = ((b * 7 + i) % 13) as f64 / 13.0;
        }
    }
    let labels = [0usize, 1, 2, 0].into();
    let loss = net.train_step(&x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.01), &mut trainer);
    assert!(loss.is_finite());
    let _ = net.stem.clone();
    let _ = net.head.clone();
    let y = net.eval(&x[0]);
    let folded = net.fold_boxed();
    let z = folded.forward(&x[0]);
    for k in 0..3 {
        assert!((y[k] - z[k]).abs() < 1e-9, "{} vs {}", y[k], z[k]);
    }
    let summary = net.to_string();
    assert!(summary.starts_with("Everything: 1500 -> 3, f64,"), "{summary}");
    assert!(summary.contains("stem") && summary.contains("head") && summary.contains("cumulative"), "{summary}");
    assert!(folded.to_string().starts_with("EverythingFolded: dense(1500 => 32)"), "{folded}");
}
