#![no_main]
//! See `bn_fuzz::npy`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::npy(data));
