//! Compile-fail (and compile-pass) snapshots of `bn_core::network!` and the code it
//! generates. Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`
//! and read every one: each message must point at the user's token.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // The compile-fail categories are listed so that `tests/ui/pass` is not matched.
    for category in ["shape", "conv", "block", "syntax", "option", "input", "usage", "embed", "quant"] {
        t.compile_fail(format!("tests/ui/{category}/*.rs"));
    }
    t.pass("tests/ui/pass/*.rs");
}
