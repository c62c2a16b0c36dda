//! One name for the condition under which bn-core compiles its SIMD kernels: `x86_simd`, set
//! on `x86_64` unless the feature `portable` is on. The code says `#[cfg(x86_simd)]` instead
//! of repeating `all(target_arch = "x86_64", not(feature = "portable"))`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(x86_simd)");
    println!("cargo::rerun-if-changed=build.rs");
    let x86_64 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "x86_64");
    let portable = std::env::var_os("CARGO_FEATURE_PORTABLE").is_some();
    if x86_64 && !portable {
        println!("cargo::rustc-cfg=x86_simd");
    }
}
