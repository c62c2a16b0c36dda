//! Shared code of the workspace examples and integration tests.

pub mod experiment;
pub mod figure;
pub mod mnist;
pub mod progress;
pub mod saturation;
