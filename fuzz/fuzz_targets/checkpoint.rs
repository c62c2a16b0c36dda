#![no_main]
//! See `bn_fuzz::checkpoint`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::checkpoint(data));
