//! Helpers shared by bn-core's integration tests. Each test binary declares `mod common;`
//! and uses what it needs (hence `dead_code` is allowed here). The allocation counter
//! (`counting.rs`) is declared only by the zero-allocation tests, with `#[path]`: see there.
#![allow(dead_code)]

pub mod paper;
pub mod random;
