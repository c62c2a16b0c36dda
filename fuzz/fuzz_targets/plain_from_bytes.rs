#![no_main]
//! See `bn_fuzz::plain_from_bytes`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| bn_fuzz::plain_from_bytes(data));
