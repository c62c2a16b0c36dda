//! The experiments, each on the side-by-side runner of [`crate::train`]:
//!
//! - [`paper`]: Ioffe & Szegedy 2015, §4.1 and Figure 1 (the MNIST network with and without
//!   BN; `examples/paper.rs`).
//! - [`cnn`]: a LeNet-style CNN with and without BN, then folded (`examples/cnn.rs`).
//! - [`resnet`]: a small ResNet with and without BN, then folded (`examples/resnet.rs`).
//! - [`claims`]: the method's claims measured, one experiment per claim (`examples/claims.rs`).
//! - [`saturation`]: the sigmoid saturation BN undoes, §1 (`examples/sigmoid_saturation.rs`).
//!
//! The paper's experiment, the CNN and the ResNet share their [`Record`] of an evaluation
//! point and their [`Report`] (two networks without and with BN, side by side, then
//! folded); the CNN and the ResNet also their settings ([`SgdConfig`]) and figure
//! ([`CurveData`]).

pub mod claims;
pub mod cnn;
mod pair;
pub mod paper;
pub mod resnet;
pub mod saturation;

pub(crate) use self::pair::{accuracy_panel, check_lengths, step_axis, train_pair, train_sgd_pair};
pub use self::pair::{steps_to, write_curves_svg, CurveData, Record, Report, SgdConfig, CURVE_TITLES};
