#![no_main]
//! See `bn_fuzz::mnist_idx`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::mnist_idx(data));
