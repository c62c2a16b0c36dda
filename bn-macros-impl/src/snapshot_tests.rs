//! The checked-in expansion of a small network (`snapshots/tiny.expanded.rs`) and the
//! fallback of a broken one (`snapshots/tiny.fallback.rs`), so that reviewers see what
//! `network!` generates; proof that the expansion grows with the number of layers, not with
//! their widths; and proof that the fallback declares what the expansion declares.

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
        "// Expansion of:\n//\n// bn_core::network! {{\n//     /// A tiny network.\n//     pub struct Tiny {{\n//         input: 2,\n//         dense(3), batchnorm, relu,\n//         dense(2),\n//     }}\n// }}\n//\n// Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p bn-macros-impl`.\n\n{}",
        pretty(expand_tokens(input))
    );
    assert_snapshot("tiny.expanded.rs", &got);
}

/// Compares `got` with the checked-in `snapshots/{file}` (and writes it first with
/// `UPDATE_SNAPSHOTS=1`).
fn assert_snapshot(file: &str, got: &str) {
    let path = format!("{}/snapshots/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(want == got, "the output changed; rerun with UPDATE_SNAPSHOTS=1 and review {path}");
}

#[test]
fn fallback_snapshot() {
    let input = quote! {
        pub struct Tiny {
            input: 0,
            dense(3), batchnorm, relu,
            dense(2),
        }
    };
    let got = format!(
        "// What `network!` emits for an invocation with errors:\n//\n// bn_core::network! {{\n//     pub struct Tiny {{\n//         input: 0,\n//         dense(3), batchnorm, relu,\n//         dense(2),\n//     }}\n// }}\n//\n// The input width is unknown (the input traits accept any width); the output width is 2.\n// Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p bn-macros-impl`.\n\n{}",
        pretty(crate::expand_network(input))
    );
    assert_snapshot("tiny.fallback.rs", &got);
}

#[test]
fn expansion_size_does_not_depend_on_widths() {
    let count = |t: proc_macro2::TokenStream| t.to_string().len();
    let small = count(expand_tokens(quote!(struct N { input: 4, dense(8), batchnorm, sigmoid, dense(3) })));
    let paper = count(expand_tokens(quote!(struct N { input: 784, dense(100), batchnorm, sigmoid, dense(10) })));
    let wide = count(expand_tokens(quote!(struct N { input: 100000, dense(5000), batchnorm, sigmoid, dense(2000) })));
    // Only the width literals and type names differ: no loop over a width is unrolled.
    // (Up to 1024 a width is one typenum name; beyond, `Sum<Prod<hi, U1024>, lo>`.)
    assert!(paper < small + small / 10, "{small} vs {paper}");
    assert!(wide < small * 3 / 2, "{small} vs {wide}");
    // And it is linear in the number of layers.
    let deep = count(expand_tokens(quote!(struct N { input: 4,
        dense(8), batchnorm, sigmoid, dense(8), batchnorm, sigmoid, dense(8), batchnorm, sigmoid,
        dense(8), batchnorm, sigmoid, dense(3) })));
    assert!(deep < 5 * small, "{small} vs {deep}");
}

#[test]
fn expansion_size_does_not_depend_on_image_sizes() {
    let count = |t: proc_macro2::TokenStream| t.to_string().len();
    let small = count(expand_tokens(quote!(struct N { input: (1, 8, 8),
        conv2d(2, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(4, kernel = 3), batchnorm, relu, flatten, dense(3) })));
    let lenet = count(expand_tokens(quote!(struct N { input: (1, 28, 28),
        conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
        conv2d(16, kernel = 3), batchnorm, relu, flatten, dense(10) })));
    let big = count(expand_tokens(quote!(struct N { input: (3, 224, 224),
        conv2d(64, kernel = 7, stride = 2, padding = 3), batchnorm, relu, maxpool(2),
        conv2d(128, kernel = 3), batchnorm, relu, flatten, dense(1000) })));
    // Only the size literals and type names differ: no loop over pixels or channels is
    // unrolled. (A size beyond 1024 is spelled `Sum<Prod<hi, U1024>, lo>`, one level per
    // factor of 1024: longer than `U784`, the same for any size up to 2^20.)
    assert!(lenet < small * 3 / 2, "{small} vs {lenet}");
    assert!(big < small * 17 / 10, "{small} vs {big}");
}

/// What a token stream declares: its types and traits, each impl (`impl Trait for Type` or
/// `impl Type`) and the public members of the inherent impls and traits, including the items inside
/// bn-core's feature gates (`if_alloc!`, `if_safetensors!`). Assertions (`const _`) and
/// errors (`compile_error!`) are left out.
fn declared(tokens: proc_macro2::TokenStream) -> std::collections::BTreeSet<String> {
    fn collect(items: &[syn::Item], out: &mut std::collections::BTreeSet<String>) {
        for item in items {
            match item {
                syn::Item::Struct(s) => drop(out.insert(format!("struct {}", s.ident))),
                syn::Item::Trait(t) => {
                    out.insert(format!("trait {}", t.ident));
                    for member in &t.items {
                        if let syn::TraitItem::Fn(f) = member {
                            out.insert(format!("trait {}: fn {}", t.ident, f.sig.ident));
                        }
                    }
                }
                syn::Item::Impl(i) => {
                    let ty = i.self_ty.as_ref();
                    let ty = quote!(#ty).to_string();
                    let Some((_, path, _)) = &i.trait_ else {
                        for member in &i.items {
                            match member {
                                // A private helper of the expansion is no API.
                                syn::ImplItem::Fn(f) if !matches!(f.vis, syn::Visibility::Public(_)) => false,
                                syn::ImplItem::Fn(f) => out.insert(format!("impl {ty}: fn {}", f.sig.ident)),
                                syn::ImplItem::Const(c) => out.insert(format!("impl {ty}: const {}", c.ident)),
                                _ => panic!("unexpected inherent member in `impl {ty}`"),
                            };
                        }
                        continue;
                    };
                    let last = &path.segments.last().expect("a trait path").ident;
                    out.insert(format!("impl {last} for {ty}"));
                }
                syn::Item::Macro(m)
                    if m.mac.path.segments.last().is_some_and(|s| s.ident.to_string().starts_with("if_")) =>
                {
                    let inner: syn::File = syn::parse2(m.mac.tokens.clone()).expect("gated items parse");
                    collect(&inner.items, out);
                }
                _ => {}
            }
        }
    }
    let file: syn::File = syn::parse2(tokens).expect("the output parses as a file");
    let mut out = std::collections::BTreeSet::new();
    collect(&file.items, &mut out);
    out
}

#[test]
fn fallback_declares_the_items_of_the_expansion() {
    let valid = expand_tokens(quote!(pub struct Net { input: 4, dense(8), batchnorm(momentum = 0.2), relu, dense(3) }));
    let invalid =
        crate::expand_network(quote!(pub struct Net { input: 4, dense(8), batchnorm(momentum = 2), relu, dense(3) }));
    assert!(invalid.to_string().contains("compile_error"), "the invalid invocation reports its error");
    let (valid, invalid) = (declared(valid), declared(invalid));
    assert!(valid.contains("impl Net: fn train_step") && valid.contains("impl NetFolded: fn load_safetensors"));
    assert_eq!(valid, invalid);
}

#[test]
fn expansion_with_residual_blocks_is_linear_in_the_number_of_layers() {
    let count = |t: proc_macro2::TokenStream| t.to_string().len();
    let block = quote!(
        residual {
            conv2d(8, kernel = 3, padding = 1), batchnorm, relu, conv2d(8, kernel = 3, padding = 1), batchnorm,
        } shortcut { conv2d(8, kernel = 1), batchnorm },
        relu,
    );
    let plain = quote!(
        conv2d(8, kernel = 3, padding = 1),
        batchnorm,
        relu,
        conv2d(8, kernel = 3, padding = 1),
        batchnorm,
        relu,
    );
    let net = |unit: &proc_macro2::TokenStream, n: usize| {
        let units = (0..n).map(|_| unit.clone());
        count(expand_tokens(quote!(struct N { input: (8, 8, 8), #(#units)* global_avgpool, dense(3) })))
    };
    let sizes: Vec<usize> = [1, 2, 4, 8, 16, 32].map(|n| net(&block, n)).to_vec();
    println!("residual networks of 1 to 32 blocks: {sizes:?}");
    // Each block adds the same amount (names grow by a digit here and there).
    let per_block = |a: usize, b: usize, n: usize| (sizes[b] - sizes[a]) as f64 / n as f64;
    let (early, late) = (per_block(0, 1, 1), per_block(4, 5, 16));
    assert!(late < early * 1.15, "a block adds {early} at first, {late} in a 32-block network");
    // A block costs about what its layers cost unrolled in a straight network.
    let straight = net(&plain, 16) as f64;
    let deep = sizes[4] as f64;
    println!("16 blocks: {deep}, 16 unrolled: {straight}");
    assert!(deep < 2.5 * straight, "16 blocks expand to {deep}, their layers without blocks to {straight}");
    // Nesting: each level adds a block's worth, and a field to the path of every reference
    // inside it (`ws.residual0.body.residual0.body.a0`): the statements of a layer nested `d`
    // deep are longer by `d` path segments, so over 8 levels a level costs at most twice the
    // first.
    let nested = |depth: usize| {
        let mut body = quote!(conv2d(8, kernel = 1), batchnorm);
        for _ in 0..depth {
            body = quote!(residual { #body }, relu);
        }
        count(expand_tokens(quote!(struct N { input: (8, 4, 4), #body, flatten, dense(3) })))
    };
    let (d1, d2, d8) = (nested(1), nested(2), nested(8));
    assert!(((d8 - d1) as f64 / 7.0) < (d2 - d1) as f64 * 2.0, "nesting: {d1}, {d2}, {d8}");
}
