//! The ResNet experiment: a small residual network (He et al. 2016) on MNIST with and
//! without Batch Normalization, trained side by side from the same initial weights on the
//! same mini-batches, then folded.
//!
//! Both networks ([`ResNetBn`], [`ResNetPlain`], declared in `crate::networks`; the benches'
//! W5) are a stem `conv(3×3, 16) → (batchnorm) → relu` at 28×28 and three stages of
//! one residual block each, at 16, 32 and 64 channels (28×28, 14×14, 7×7): a block is
//! `conv(3×3) → (batchnorm) → relu → conv(3×3) → (batchnorm)` added to its input, then a
//! ReLU; the first convolution of stages 2 and 3 has stride 2, and their blocks add a
//! projection `conv(1×1, stride 2) → (batchnorm)` of the input instead of the input itself.
//! Then `global_avgpool` (the mean of each of the 64 channels) and `dense(10)`; softmax
//! cross-entropy, SGD on mini-batches of 60 (the same schedule for both: a learning rate
//! divided by 10 after given steps, optionally momentum and weight decay). The convolutions
//! directly followed by `batchnorm` have no bias (β takes its role); those of the network
//! without BN have one. Both start from `network!`'s default initialization with the same
//! seed: He normal for the convolutions followed by a ReLU (and for those ending a block
//! or a shortcut), Xavier normal for the dense layer, biases zero; the generator is drawn in
//! layer order and biases draw nothing, so both networks start with the same weights. At
//! every evaluation point the test accuracy of both (eval path, population statistics) and
//! their mean training loss since the previous point are recorded, and drawn by
//! [`write_curves_svg`].
//!
//! A network whose loss or parameters stop being finite stops training at that step (a
//! [`Divergence`](crate::train::Divergence)); from then on its accuracy and loss are NaN,
//! not results, and the other network continues.

use super::train_sgd_pair;
use crate::mnist::{Dataset, IMAGE_PIXELS};

// The networks are declared in `crate::networks` (the benches measure `ResNetBn` too).
pub use crate::networks::{ResNetBn, ResNetBnFolded, ResNetPlain, ResNetPlainFolded};
// The mini-batch size (60) and the evaluation's chunks (100) are the convolutional
// experiment's; so are the settings, the records and the figure.
pub use super::pair::{EvalChunk, TrainBatchSize};
pub use super::{write_curves_svg, CurveData, Record, SgdConfig as Config, CURVE_TITLES};

/// The result of a run: the records, the trained networks, the folded model and its check.
pub type Report = super::Report<ResNetBn, ResNetPlain>;

/// The example's run on the embedded data (about a minute on a 2-core Zen 5 for both
/// networks, evaluations and the fold check included): 400 steps (6 epochs of the 4,000
/// training digits), an evaluation every 10 (a 40th of the run, as the example's default),
/// plain SGD at 0.1 (the convolutional experiment's default), seed 1, each inference path
/// timed over 2,000 forwards. `docs/resnet.md` gives the full-MNIST schedule.
pub fn default_config() -> Config {
    Config { steps: 400, eval_every: 10, timed_forwards: 2_000, ..Config::default() }
}

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
    // Same seed and default schemes: both draw the same weights for their layers, in order.
    let bn = ResNetBn::new_boxed(cfg.seed);
    let plain = ResNetPlain::new_boxed(cfg.seed);
    debug_assert_eq!(bn.conv2d0.weight, plain.conv2d0.weight);
    train_sgd_pair((bn, plain), cfg, (train, test), progress, on_record)
}

/// `IMAGE_PIXELS` is the networks' input width (one 1×28×28 image, stored flat).
const _: () = assert!(IMAGE_PIXELS == ResNetBn::INPUT && IMAGE_PIXELS == ResNetPlain::INPUT);
