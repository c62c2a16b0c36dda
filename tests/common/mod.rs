//! Helpers shared by the integration tests. Each test binary declares `mod common;` and uses
//! what it needs (hence `dead_code` is allowed here). The networks that several tests share
//! are declared once, in `bn_paper::networks`; gradient checks use `bn_core::gradcheck`.
#![allow(dead_code)]

pub mod files;
pub mod fold;
pub mod pytorch;
pub mod random;
