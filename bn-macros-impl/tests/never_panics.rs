//! `expand_network` returns tokens (an expansion, or errors with the fallback) for any
//! input and never panics: every third `network!` invocation of the trybuild cases (tests/ui), each
//! cut after every token and with every single token removed, and a few hostile inputs. A
//! cheap, deterministic complement of the coverage-guided fuzz target (fuzz/, `network_macro`).

use std::path::Path;
use std::str::FromStr;

use proc_macro2::{TokenStream, TokenTree};

/// The bodies of every `network! { … }` in the files under `dir`.
fn invocations(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("tests/ui") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            invocations(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read");
            let Ok(tokens) = TokenStream::from_str(&text) else { continue };
            collect(tokens, out);
        }
    }
}

/// Finds `network ! { … }` and `network ! ( … )` in a token tree.
fn collect(tokens: TokenStream, out: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        if let TokenTree::Group(g) = tt {
            let after_bang = i >= 2
                && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '!')
                && matches!(&trees[i - 2], TokenTree::Ident(id) if id == "network");
            if after_bang {
                out.push(g.stream().to_string());
            } else {
                collect(g.stream(), out);
            }
        }
    }
}

/// Expands `tokens`; a panic fails the test with the input.
fn expand(tokens: TokenStream) {
    let shown = tokens.to_string();
    let out = std::panic::catch_unwind(|| bn_macros_impl::expand_network(tokens))
        .unwrap_or_else(|_| panic!("expand_network panicked on: {shown}"));
    // What it returns is always valid Rust tokens.
    assert!(TokenStream::from_str(&out.to_string()).is_ok(), "unlexable output for: {shown}");
}

#[test]
fn every_ui_invocation_cut_and_with_a_token_removed_expands_without_panicking() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui");
    let mut bodies = Vec::new();
    invocations(&ui, &mut bodies);
    assert!(bodies.len() >= 100, "found {} invocations under {}", bodies.len(), ui.display());
    let tried = bodies.len().div_ceil(3);
    let mut runs = 0;
    // Every third invocation (the cases overlap heavily; this keeps the test a few seconds
    // in a debug build; the fuzz target covers the rest).
    for body in bodies.iter().step_by(3) {
        let tokens: Vec<TokenTree> = TokenStream::from_str(body).expect("lexes").into_iter().collect();
        // The top-level tokens are `… struct Name { layers }`: vary the layers too.
        let mut variants: Vec<Vec<TokenTree>> = Vec::new();
        for cut in 0..=tokens.len() {
            variants.push(tokens[..cut].to_vec());
        }
        for skip in 0..tokens.len() {
            variants.push(tokens.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, t)| t.clone()).collect());
        }
        if let Some(TokenTree::Group(g)) = tokens.last() {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            for cut in 0..=inner.len() {
                let mut v = tokens[..tokens.len() - 1].to_vec();
                let body: TokenStream = inner[..cut].iter().cloned().collect();
                v.push(TokenTree::Group(proc_macro2::Group::new(g.delimiter(), body)));
                variants.push(v);
            }
            for skip in 0..inner.len() {
                let mut v = tokens[..tokens.len() - 1].to_vec();
                let body: TokenStream =
                    inner.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, t)| t.clone()).collect();
                v.push(TokenTree::Group(proc_macro2::Group::new(g.delimiter(), body)));
                variants.push(v);
            }
        }
        for v in variants {
            expand(v.into_iter().collect());
            runs += 1;
        }
    }
    println!("{tried} of {} invocations, {runs} variants expanded without a panic", bodies.len());
}

#[test]
fn hostile_inputs_expand_without_panicking() {
    for text in [
        "",
        "struct",
        "struct N {}",
        "struct N { input: 18446744073709551615, dense(18446744073709551615) }",
        "struct N { input: (4294967296, 4294967296, 4294967296), flatten }",
        "struct N { input: (1, 1, 1), conv2d(1, kernel = 0, stride = 0, padding = 99999999999) }",
        "struct N { input: (3, 8, 8), maxpool(0), avgpool(18446744073709551615, stride = 0) }",
        "struct N { input: 4, batchnorm(eps = 1e999, momentum = -0.0, renorm(rmax = NaN, dmax = inf)) }",
        "struct N { input: 4, dropout(1e-400), dropout(0.999999999999999999999), layernorm(eps = 0) }",
        "struct N { input: 4, dense(4 => 4 => 4), dense(,), dense(=>) }",
        "struct N { input: 4, batchnorm(renorm(renorm(renorm))), batchnorm(renorm = 3) }",
        "struct N { input: 4, r#type: dense(2), self: relu, _: tanh }",
        "struct N { input: 4, scalar: f16, scalar: f64, input: 5 }",
        "#[derive(Clone)] #[cfg(any())] pub(crate) struct N<T> { input: 4 }",
    ] {
        expand(TokenStream::from_str(text).expect("lexes"));
    }
}

/// Every variant of `tokens` with one token removed, or one group cut short, at any depth.
fn variants_at_any_depth(tokens: &[TokenTree]) -> Vec<Vec<TokenTree>> {
    let mut out = Vec::new();
    for i in 0..tokens.len() {
        let mut removed = tokens.to_vec();
        removed.remove(i);
        out.push(removed);
        if let TokenTree::Group(g) = &tokens[i] {
            let inner: Vec<TokenTree> = g.stream().into_iter().collect();
            let mut inner_variants: Vec<Vec<TokenTree>> = (0..inner.len()).map(|cut| inner[..cut].to_vec()).collect();
            inner_variants.extend(variants_at_any_depth(&inner));
            for v in inner_variants {
                let mut changed = tokens.to_vec();
                changed[i] = TokenTree::Group(proc_macro2::Group::new(g.delimiter(), v.into_iter().collect()));
                out.push(changed);
            }
        }
    }
    out
}

#[test]
fn residual_blocks_cut_and_with_a_token_removed_at_any_depth_expand_without_panicking() {
    let invocations = [
        "pub struct R { input: (1, 8, 8), conv2d(4, kernel = 3, padding = 1), batchnorm, relu,
            residual { conv2d(4, kernel = 3, padding = 1), batchnorm, relu, conv2d(4, kernel = 3, padding = 1), batchnorm },
            relu,
            s2: residual { conv2d(8, kernel = 3, stride = 2, padding = 1), groupnorm(2, eps = 1e-3) }
                shortcut { conv2d(8, kernel = 1, stride = 2), batchnorm(affine = false) },
            relu, global_avgpool, dense(3) }",
        "struct F { input: 6, scalar: f64, residual { dense(6), batchnorm(renorm), relu,
            residual { residual { dense(6) } shortcut { layernorm, dropout(0.5) } } }, dense(2) }",
        "struct E { input: (2, 4, 4), residual {}, residual { } shortcut { }, shortcut { relu }, resdual { relu } }",
    ];
    let mut runs = 0;
    for text in invocations {
        let tokens: Vec<TokenTree> = TokenStream::from_str(text).expect("lexes").into_iter().collect();
        expand(tokens.iter().cloned().collect());
        for v in variants_at_any_depth(&tokens) {
            expand(v.into_iter().collect());
            runs += 1;
        }
    }
    println!("{runs} variants of residual blocks expanded without a panic");
}
