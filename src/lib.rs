//! Shared code of the workspace examples and integration tests.

pub mod claims;
pub mod cnn;
pub mod divergence;
pub mod experiment;
pub mod figure;
pub mod mnist;
pub mod networks;
pub mod saturation;

/// The README's code blocks, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
