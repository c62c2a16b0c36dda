#![no_main]
//! See `bn_fuzz::csv`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::csv(data));
