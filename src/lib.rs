//! The experiments of the bn workspace (the root package `bn-paper`): the data, the
//! training runner, the experiments on it, their statistics and figures. The examples
//! (`examples/`) are their command lines; the integration tests (`tests/`) use them too.
//!
//! - [`mnist`]: the data, split by format (IDX, CSV, gzip) with every error named.
//! - [`networks`]: every shared network, declared once with `network!`.
//! - [`train`]: the side-by-side runner (one sampler, one evaluation, divergence checks).
//! - [`experiments`]: the paper's Figure 1, the CNN, the claims, sigmoid saturation.
//! - [`stats`]: percentiles and spreads; [`plot`]: every figure, drawn in one style.

pub mod experiments;
pub mod networks;
/// MNIST: the loaders of [`bn_train::mnist`] (the embedded 5000-digit subset, the IDX files),
/// re-exported under their former path.
pub use bn_train::mnist;
pub mod plot;
pub mod stats;
pub mod train;

// The paths of the experiments and their parts before they moved; they stay.
pub use experiments::paper as experiment;
pub use experiments::{claims, cnn, saturation};
pub use train::divergence;

/// Old path of the figures of [`experiments::paper`] and [`experiments::cnn`], and of
/// [`stats::percentiles`].
pub mod figure {
    pub use crate::experiments::cnn::{write_curves_svg, CurveData, CURVE_TITLES};
    pub use crate::experiments::paper::{write_figure_svg, FigureData, PANEL_TITLES};
    pub use crate::stats::{percentiles, PERCENTILES};
}

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The code blocks of the guides in `docs/`, compiled and run as doctests (a block that
/// cannot run alone, such as an abbreviated declaration, is marked `ignore` there).
#[cfg(doctest)]
pub mod docs_doctests {
    #[doc = include_str!("../docs/cnn.md")]
    pub struct Cnn;
    #[doc = include_str!("../docs/data.md")]
    pub struct Data;
    #[doc = include_str!("../docs/training.md")]
    pub struct Training;
    #[doc = include_str!("../docs/claims.md")]
    pub struct Claims;
    #[doc = include_str!("../docs/kernels.md")]
    pub struct Kernels;
    #[doc = include_str!("../docs/normalization.md")]
    pub struct Normalization;
    #[doc = include_str!("../docs/paper.md")]
    pub struct Paper;
    #[doc = include_str!("../docs/performance.md")]
    pub struct Performance;
    #[doc = include_str!("../docs/reliability.md")]
    pub struct Reliability;
    #[doc = include_str!("../docs/resnet.md")]
    pub struct Resnet;
    #[doc = include_str!("../docs/shipping.md")]
    pub struct Shipping;
}
