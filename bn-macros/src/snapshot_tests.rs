//! The checked-in expansion of a small network (`snapshots/tiny.expanded.rs`), so that
//! reviewers see what `network!` generates, and proof that the expansion grows with the
//! number of layers, not with their widths.

use quote::quote;

use crate::{check, expand, parse};

fn expand_tokens(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let inv: parse::Invocation = syn::parse2(input).expect("valid invocation");
    match check::check(inv) {
        Ok(model) => expand::expand(&model),
        Err((_, e)) => panic!("unexpected error: {e}"),
    }
}

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    prettyplease::unparse(&syn::parse2::<syn::File>(tokens).expect("expansion parses as a file"))
}

#[test]
fn expansion_snapshot() {
    let input = quote! {
        /// A tiny network.
        pub struct Tiny {
            input: 2,
            dense(3), batchnorm, relu,
            dense(2),
        }
    };
    let got = format!(
        "// Expansion of:\n//\n// bn_core::network! {{\n//     /// A tiny network.\n//     pub struct Tiny {{\n//         input: 2,\n//         dense(3), batchnorm, relu,\n//         dense(2),\n//     }}\n// }}\n//\n// Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p bn-macros`.\n\n{}",
        pretty(expand_tokens(input))
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/tiny.expanded.rs");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &got).expect("write snapshot");
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert!(want == got, "the expansion changed; rerun with UPDATE_SNAPSHOTS=1 and review {path}");
}

#[test]
fn expansion_size_does_not_depend_on_widths() {
    let count = |t: proc_macro2::TokenStream| t.to_string().len();
    let small = count(expand_tokens(quote!(struct N { input: 4, dense(8), batchnorm, sigmoid, dense(3) })));
    let paper = count(expand_tokens(quote!(struct N { input: 784, dense(100), batchnorm, sigmoid, dense(10) })));
    let wide = count(expand_tokens(quote!(struct N { input: 100000, dense(5000), batchnorm, sigmoid, dense(2000) })));
    // Only the width literals and type names differ: no loop over a width is unrolled.
    // (Up to 1024 a width is one typenum name; beyond, its binary `UInt<…>` form costs
    // about 30 characters per bit at each mention, 17 bits for 100000.)
    assert!(paper < small + small / 10, "{small} vs {paper}");
    assert!(wide < 5 * small, "{small} vs {wide}");
    // And it is linear in the number of layers.
    let deep = count(expand_tokens(quote!(struct N { input: 4,
        dense(8), batchnorm, sigmoid, dense(8), batchnorm, sigmoid, dense(8), batchnorm, sigmoid,
        dense(8), batchnorm, sigmoid, dense(3) })));
    assert!(deep < 5 * small, "{small} vs {deep}");
}
