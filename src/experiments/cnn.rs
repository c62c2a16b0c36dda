//! The convolutional experiment: a small LeNet-style network on MNIST with and without Batch
//! Normalization, trained side by side from the same initial weights on the same
//! mini-batches, then folded.
//!
//! Both networks are `conv(3×3, 8) → (batchnorm) → relu → maxpool(2) → conv(3×3, 16) →
//! (batchnorm) → relu → maxpool(2) → dense(10)`, softmax cross-entropy, plain SGD on
//! mini-batches of 60 (the same learning rate for both, constant or divided by 10 after given
//! steps; optionally with momentum and weight decay). The convolutions directly followed by `batchnorm` have no bias (β
//! takes its role); those of the network without BN have one. Both start from `network!`'s
//! default initialization with the same seed: He normal for the two convolutions (each is
//! followed by a ReLU), Xavier normal for the dense layer, biases zero; the generator is
//! drawn in layer order and biases draw nothing, so both networks start with the same
//! weights. At every evaluation point the test accuracy of both (eval path, population
//! statistics) and their mean training loss since the previous point are recorded, and
//! drawn by [`write_curves_svg`].
//!
//! A network whose loss or parameters stop being finite stops training at that step (a
//! [`Divergence`](crate::train::Divergence)); from then on its accuracy and loss are NaN,
//! not results, and the other network continues.

use super::train_sgd_pair;
use crate::mnist::{Dataset, IMAGE_PIXELS};

// The networks are declared in `crate::networks`, the timing in `crate::train`; these paths
// stay.
pub use crate::networks::{
    LeNetBn, LeNetBnBatch, LeNetBnFolded, LeNetBnGrads, LeNetBnInput, LeNetBnWorkspace, LeNetPlain, LeNetPlainBatch,
    LeNetPlainFolded, LeNetPlainGrads, LeNetPlainInput, LeNetPlainWorkspace,
};
pub use crate::train::Timing;

// The mini-batch size (60) and the evaluation's chunks (100) are the ResNet's too.
pub use super::pair::{EvalChunk, TrainBatchSize};

/// The settings of a run (shared with the ResNet experiment); `Config::default()` is the
/// example's run on the embedded data: 2,000 steps, an evaluation every 50, plain SGD at
/// 0.1, seed 1.
pub use super::SgdConfig as Config;

// An evaluation point and the result are the paper experiment's too.
pub use super::Record;
/// The result of a run: the records, the trained networks, the folded model and its check.
pub type Report = super::Report<LeNetBn, LeNetPlain>;

// The figure is the ResNet experiment's too.
pub use super::{write_curves_svg, CurveData, CURVE_TITLES};

/// Trains both networks side by side and evaluates them every `cfg.eval_every` steps;
/// `on_record` sees each evaluation point as it is made, `progress` the steps done. Then
/// folds the BN network and compares and times its inference paths.
pub fn run(
    cfg: &Config,
    train: &Dataset,
    test: &Dataset,
    progress: impl FnMut(usize),
    on_record: impl FnMut(&Record),
) -> Report {
    // Same seed and default schemes: both draw the same weights for their three layers, in
    // order (He normal for the convolutions, Xavier normal for the dense layer).
    let bn = LeNetBn::new_boxed(cfg.seed);
    let plain = LeNetPlain::new_boxed(cfg.seed);
    debug_assert_eq!(bn.conv2d0.weight, plain.conv2d0.weight);
    train_sgd_pair((bn, plain), cfg, (train, test), progress, on_record)
}

/// `IMAGE_PIXELS` is the networks' input width (one 1×28×28 image, stored flat).
const _: () = assert!(IMAGE_PIXELS == LeNetBn::INPUT && IMAGE_PIXELS == LeNetPlain::INPUT);
