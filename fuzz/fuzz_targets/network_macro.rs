#![no_main]
//! See `bn_fuzz::network_macro`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::network_macro(data));
