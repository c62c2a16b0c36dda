#![no_main]
//! See `bn_fuzz::quantized_from_bytes`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::quantized_from_bytes(data));
