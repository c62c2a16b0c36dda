//! What the checks know of the values between two layers, and the wording of the rules that
//! tie a layer to the shape before it (an image or features, their sizes).
//!
//! After an error the sizes it leaves in doubt are unknown, and a rule is only checked
//! against what is known, so that one mistake is reported once and never again by the
//! layers after it. Each layer kind says what it sets again: `dense(N)` its `N` features, a
//! conv its channels (the kernel sweeps an unknown height and width to an unknown height and
//! width, so a conv with a stated `IN =>` does not re-establish them either: they stay
//! unknown until `flatten` and the next `dense(N)`), `flatten` that the values are features.
//! The kind of the values (an image or features) follows from the last layer that makes
//! them, which is why it stays known after an error inside a layer.

use std::fmt;
use std::rc::Rc;

use super::errors::Errors;
use super::values::MAX_WIDTH;
use crate::model::{Pair, Shape};

/// Where a layer is, for the messages: `layer 3` (1-based), and inside a block's branch
/// `layer 2 (in the body of layer 4)`, numbered within the branch, the blocks from the
/// innermost out: `layer 1 (in the shortcut of layer 2, in the body of layer 4)`.
#[derive(Clone, Debug)]
pub(super) struct Pos {
    pub(super) number: usize,
    /// Empty for the network's own layers, else `in the body of layer 4` (or the shortcut),
    /// the blocks from the innermost out.
    within: Rc<str>,
}

impl Pos {
    /// The position of layer `number` of the network.
    pub(super) fn top(number: usize) -> Self {
        Pos { number, within: Rc::from("") }
    }

    /// The position of layer `number` in the same sequence as `self`.
    pub(super) fn sibling(&self, number: usize) -> Self {
        Pos { number, within: self.within.clone() }
    }

    /// The position of layer 1 of the branch `branch` (`body`, `shortcut`) of the block at
    /// `self`.
    pub(super) fn first_in(&self, branch: &str) -> Self {
        let outer = if self.in_block() { format!(", {}", self.within) } else { String::new() };
        Pos { number: 1, within: Rc::from(format!("in the {branch} of layer {}{outer}", self.number)) }
    }

    /// Whether the layer is inside a block.
    pub(super) fn in_block(&self) -> bool {
        !self.within.is_empty()
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_block() {
            write!(f, "layer {} ({})", self.number, self.within)
        } else {
            write!(f, "layer {}", self.number)
        }
    }
}

/// What the checks know of the values between two layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Known {
    /// Nothing: not even their kind (after an unknown layer, an item that failed to parse,
    /// or an input that is missing or not a number nor a tuple).
    Nothing,
    /// Features, with their number when known.
    Flat(Option<usize>),
    /// An image, with its channels and its height and width when known.
    Image { c: Option<usize>, hw: Option<Pair> },
}

impl Known {
    /// The shape, when every size of it is known.
    pub(super) fn exact(self) -> Option<Shape> {
        match self {
            Known::Flat(Some(n)) => Some(Shape::Flat(n)),
            Known::Image { c: Some(c), hw: Some((h, w)) } => Some(Shape::Image { c, h, w }),
            _ => None,
        }
    }

    /// The number of values of one sample, when known.
    pub(super) fn len(self) -> Option<usize> {
        self.exact().map(Shape::len)
    }

    /// The same kind of values with unknown sizes: the output of a layer that keeps the
    /// kind (BN, an activation) when its own arguments have an error.
    pub(super) fn forget(self) -> Self {
        match self {
            Known::Nothing => Known::Nothing,
            Known::Flat(_) => Known::Flat(None),
            Known::Image { .. } => Known::Image { c: None, hw: None },
        }
    }

    /// An image with nothing known of its sizes.
    pub(super) const SOME_IMAGE: Known = Known::Image { c: None, hw: None };
}

/// `C·H·W`, exactly (each size is at most [`MAX_WIDTH`], so the product fits).
pub(super) fn volume(c: usize, h: usize, w: usize) -> u128 {
    c as u128 * h as u128 * w as u128
}

/// The image `c×h×w` when its `C·H·W` values are within [`MAX_WIDTH`]; otherwise an error
/// at `span`, introduced by `what` (`the input`, `layer 3 `conv2d(…)`: its output`).
pub(super) fn check_volume(c: usize, (h, w): Pair, what: &str, span: proc_macro2::Span, errs: &mut Errors) -> bool {
    let v = volume(c, h, w);
    if v > MAX_WIDTH as u128 {
        errs.push(
            span,
            format!("{what} of {c}×{h}×{w} = {v} values is larger than the supported maximum of {MAX_WIDTH}"),
        );
        return false;
    }
    true
}

/// `a` or `an` before a number as it is read aloud: an 8, an 11, an 18 (thousand), a 7.
pub(super) fn article(n: usize) -> &'static str {
    let s = n.to_string();
    let eleven_or_eighteen = (s.starts_with("11") || s.starts_with("18")) && s.len() % 3 == 2;
    if s.starts_with('8') || eleven_or_eighteen {
        "an"
    } else {
        "a"
    }
}

/// What comes before the layer at `pos` when it should be an image but is `n` features.
pub(super) fn features_before(pos: &Pos, n: Option<usize>) -> String {
    let n = n.map_or_else(|| "features".to_string(), |n| format!("{n} features"));
    match (pos.number, pos.in_block()) {
        (1, false) => format!("the input is {n}; an image input is written `input: (C, H, W)`"),
        (1, true) => format!("the block's input is {n}"),
        _ => format!("the previous layer gives {n}"),
    }
}

/// `a 16×7×7 image` when every size is known, else `an image`.
pub(super) fn an_image(known: Known) -> String {
    match known.exact() {
        Some(shape @ Shape::Image { c, .. }) => format!("{} {} image", article(c), shape.show()),
        _ => "an image".to_string(),
    }
}

/// `3` for a square pair, `(3, 1)` otherwise, as the user writes it.
pub(super) fn pair_text((h, w): Pair) -> String {
    if h == w {
        h.to_string()
    } else {
        format!("({h}, {w})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_inside_blocks() {
        let block = Pos::top(4);
        assert_eq!(block.to_string(), "layer 4");
        let inner = block.first_in("body").sibling(3);
        assert_eq!(inner.to_string(), "layer 3 (in the body of layer 4)");
        let deeper = inner.first_in("shortcut").sibling(2);
        assert_eq!(deeper.to_string(), "layer 2 (in the shortcut of layer 3, in the body of layer 4)");
        assert!(deeper.in_block() && !block.in_block());
    }

    #[test]
    fn articles_and_knowledge() {
        let words: Vec<&str> = [7, 8, 11, 18, 80, 110, 180, 11000, 3].map(article).to_vec();
        assert_eq!(words, ["a", "an", "an", "an", "an", "a", "a", "an", "a"]);
        let image = Known::Image { c: Some(16), hw: Some((7, 7)) };
        assert_eq!(image.exact(), Some(Shape::Image { c: 16, h: 7, w: 7 }));
        assert_eq!(image.len(), Some(784));
        assert_eq!(image.forget(), Known::SOME_IMAGE);
        assert_eq!(Known::Flat(Some(3)).forget(), Known::Flat(None));
        assert_eq!(Known::Image { c: Some(3), hw: None }.exact(), None);
        assert_eq!(an_image(image), "a 16×7×7 image");
        assert_eq!(an_image(Known::Image { c: Some(8), hw: Some((7, 7)) }), "an 8×7×7 image");
        assert_eq!(an_image(Known::SOME_IMAGE), "an image");
        assert_eq!(pair_text((1, 1)), "1");
        assert_eq!(pair_text((2, 1)), "(2, 1)");
        assert_eq!(volume(1 << 24, 1 << 24, 1 << 24), 1u128 << 72);
    }
}
