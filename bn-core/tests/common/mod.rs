//! Helpers shared by bn-core's integration tests. Each test binary declares `mod common;`
//! and uses what it needs (hence `dead_code` is allowed here).
#![allow(dead_code)]

pub mod counting;
pub mod paper;
pub mod random;
