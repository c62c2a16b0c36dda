#![no_main]
//! See `bn_fuzz::load_safetensors`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::load_safetensors(data));
