//! The rules of residual blocks: `residual { BODY }` and `residual { BODY } shortcut {
//! SHORTCUT }`. Each branch is a sequence of layers checked like the network's (blocks
//! nest), on the block's input; the body must give the block's input shape (or the
//! shortcut's), else the error suggests the shortcut that would fit. And the misuses: a
//! `shortcut` on its own, braces after another layer.

use syn::ext::IdentExt;

use super::errors::Errors;
use super::layers::check_layers;
use super::shapes::{Known, Pos};
use crate::model::{sweep, Block, Kind, Layer, Shape};
use crate::parse::{Branch, RawLayer, LAYER_KINDS};

/// `residual { … } [shortcut { … }]` at `pos` on `input`: both branches checked, then their
/// shapes. `next` is the item after it: a `shortcut { … }` there, split off by a comma, is
/// checked as the block's shortcut (the comma is reported with it, see
/// [`check_block_misuse`]). Returns the block's kind (when the block itself is valid) and what
/// is known of its output: the body's, or where that is not known exactly, the shortcut's
/// (the identity's: the input).
pub(super) fn check_residual(
    pos: &Pos,
    raw: &RawLayer,
    input: Known,
    next: Option<&RawLayer>,
    errs: &mut Errors,
) -> (Option<Kind>, Known) {
    let Some(block) = &raw.block else {
        let example = match input {
            Known::Flat(_) => "residual { dense(100), batchnorm, relu, dense(100), batchnorm }",
            _ => {
                "residual { conv2d(16, kernel = 3, padding = 1), batchnorm, relu, conv2d(16, kernel = 3, padding = 1) }"
            }
        };
        errs.push(raw.kind.span(), format!("`residual` needs its layers in braces, e.g. `{example}`"));
        // Whatever the block was meant to be, its output has the input's shape or is unknown.
        return (None, Known::Nothing);
    };
    let mut ok = true;
    if let Some((span, _)) = &raw.args {
        errs.push(*span, "`residual` takes no arguments: its layers go in braces, `residual { … }`");
        ok = false;
    }
    let mut mismatch = false;
    let (body, body_out) = check_branch(pos, "body", &block.body, input, errs);
    let split_off =
        next.filter(|n| n.kind.unraw() == "shortcut").and_then(|n| Some((&n.kind, &n.block.as_ref()?.body)));
    let shortcut = block.shortcut.as_ref().map(|(keyword, branch)| (keyword, branch)).or(split_off);
    let shortcut = shortcut.map(|(keyword, branch)| {
        let (layers, out) = check_branch(pos, "shortcut", branch, input, errs);
        (keyword, layers, out)
    });
    match (&shortcut, body_out.exact()) {
        (None, Some(b)) => {
            if let Some(x) = input.exact().filter(|x| *x != b) {
                let msg = format!(
                    "{pos} `residual`: the block's body gives {} but its input is {}: {}",
                    b.show(),
                    x.show(),
                    suggest_shortcut(x, b)
                );
                errs.push(raw.kind.span(), msg);
                (ok, mismatch) = (false, true);
            }
        }
        (Some((keyword, _, s_out)), Some(b)) => {
            if let Some(s) = s_out.exact().filter(|s| *s != b) {
                let msg = format!(
                    "{pos} `residual`: the shortcut gives {} but the body gives {}; both branches must give the \
                     same shape, which the block adds",
                    s.show(),
                    b.show()
                );
                errs.push(keyword.span(), msg);
                (ok, mismatch) = (false, true);
            }
        }
        _ => {}
    }
    // The identity fixes the output's shape (unless the body's is known); else the branch
    // whose shape is known, the body first. After a mismatch, only the kind of the values is
    // known (the fix may change either branch).
    let output = match &shortcut {
        _ if mismatch => body_out.forget(),
        None if body_out.exact().is_some() => body_out,
        None => input,
        Some((_, _, s_out)) => match (body_out.exact(), s_out.exact(), body_out) {
            (Some(_), _, _) => body_out,
            (None, Some(_), _) | (None, None, Known::Nothing) => *s_out,
            (None, None, _) => body_out,
        },
    };
    let kind = match (body, shortcut) {
        (Some(body), None) if ok => Some(Kind::Residual(Box::new(Block { body, shortcut: None }))),
        (Some(body), Some((_, Some(shortcut), _))) if ok => {
            Some(Kind::Residual(Box::new(Block { body, shortcut: Some(shortcut) })))
        }
        _ => None,
    };
    (kind, output)
}

/// One branch (`body` or `shortcut`) of the block at `pos`: its parse errors, an error when
/// it is empty, and its layers checked from the block's input. Returns the layers (`None`
/// when the branch is empty) and what is known of its output.
fn check_branch(
    pos: &Pos,
    name: &str,
    branch: &Branch,
    input: Known,
    errs: &mut Errors,
) -> (Option<Vec<Layer>>, Known) {
    for e in &branch.errors {
        errs.push_error(e.clone());
    }
    if branch.layers.is_empty() {
        if branch.errors.is_empty() {
            let msg = match name {
                "body" => format!(
                    "the body of {pos} `residual` is empty: a block needs at least one layer, e.g. `residual {{ \
                     dense(100), batchnorm }}`"
                ),
                _ => format!(
                    "the shortcut of {pos} `residual` is empty: the identity shortcut is written by leaving \
                     `shortcut {{ … }}` out"
                ),
            };
            errs.push(branch.span, msg);
        }
        return (None, input);
    }
    let (layers, output) = check_layers(&branch.layers, input, &pos.first_in(name), errs);
    (Some(layers), output)
}

/// How to make a block whose body gives `body` from `input` add up: the shortcut that maps
/// the input to the body's shape. On images a convolution with the smallest kernel (1×1
/// where one fits) and stride that give the body's height and width; on features a dense
/// layer.
fn suggest_shortcut(input: Shape, body: Shape) -> String {
    let generic = format!("add a `shortcut {{ … }}` that gives {}", body.show());
    match (input, body) {
        (Shape::Image { h, w, .. }, Shape::Image { c, h: oh, w: ow }) => match (window_for(h, oh), window_for(w, ow)) {
            (Some((kh, sh)), Some((kw, sw))) => {
                let pair = |a: usize, b: usize| if a == b { a.to_string() } else { format!("({a}, {b})") };
                let stride = if (sh, sw) == (1, 1) { String::new() } else { format!(", stride = {}", pair(sh, sw)) };
                format!("add `shortcut {{ conv2d({c}, kernel = {}{stride}) }}`", pair(kh, kw))
            }
            _ => generic,
        },
        (Shape::Image { .. }, Shape::Flat(n)) => format!("add `shortcut {{ flatten, dense({n}) }}`"),
        (Shape::Flat(_), Shape::Flat(n)) => format!("add `shortcut {{ dense({n}) }}`"),
        (Shape::Flat(_), Shape::Image { .. }) => generic,
    }
}

/// The smallest window `k` and, for it, the smallest stride `s` that take `n` pixels to `m`
/// without padding (`⌊(n − k)/s⌋ + 1 = m`), if any.
fn window_for(n: usize, m: usize) -> Option<(usize, usize)> {
    (1..=n).find_map(|k| {
        let s = (n - k) / m.max(1) + 1;
        (sweep(n, k, s, 0) == Some(m)).then_some((k, s))
    })
}

/// A misused block word or braces: `shortcut { … }` without the `residual { … }` right
/// before it, or braces after a layer that is not a block. Reports it and checks the layers
/// inside the braces (their own errors are the user's too; a shortcut split off its block
/// by a comma was checked with the block). Returns what is known after the item when it is
/// handled here (a stray `shortcut`); `None` when the layer is checked as usual.
pub(super) fn check_block_misuse(
    pos: &Pos,
    raw: &RawLayer,
    input: Known,
    previous: Option<&RawLayer>,
    errs: &mut Errors,
) -> Option<Known> {
    let kind = raw.kind.unraw().to_string();
    if kind == "shortcut" {
        let after_residual = previous
            .is_some_and(|p| p.kind.unraw() == "residual" && p.block.as_ref().is_some_and(|b| b.shortcut.is_none()));
        let msg = if after_residual {
            "`shortcut { … }` belongs to the `residual { … }` before it: remove the `,` between them"
        } else {
            "`shortcut { … }` needs a `residual { … }` block right before it: `residual { … } shortcut { … }`"
        };
        errs.push(raw.kind.span(), msg);
        if after_residual {
            // Checked as the block's shortcut: the block's output goes on.
            return Some(input);
        }
        if let Some(block) = &raw.block {
            check_branch(pos, "shortcut", &block.body, input, errs);
        }
        return Some(Known::Nothing);
    }
    let block = raw.block.as_ref()?;
    if LAYER_KINDS.contains(&kind.as_str()) {
        let msg = format!("`{kind}` takes no layers in braces; only a `residual {{ … }}` block does");
        errs.push(block.body.span, msg);
    } else {
        // A misspelled `residual`, reported as an unknown layer by the caller: its layers
        // are checked all the same.
        check_branch(pos, "body", &block.body, input, errs);
        if let Some((_, shortcut)) = &block.shortcut {
            check_branch(pos, "shortcut", shortcut, input, errs);
        }
    }
    None
}
