//! The folding plan: which layers of the trained network become which layer of the folded
//! inference model. Plain data over the [`model`](crate::model); the expanders and the
//! summary read it.
//!
//! A BN folds into the dense or conv layer right before it (per feature, or per output
//! channel). Otherwise it folds into the linear layer right after it where that is exact: a
//! dense layer (for a BN over an image, across a `flatten`), or a conv without padding (a
//! padded conv sees zeros at the border, not the BN's shift). Otherwise, composed with the
//! BNs next to it, it stays an affine layer. Folding never crosses an activation, a pool, a
//! LayerNorm or GroupNorm (kept as they are) or a residual block's boundary; dropout is the
//! identity in inference and is left out. Each branch of a block has a plan of its own, by
//! the same rules (a BN in the shortcut folds into the shortcut's conv); the addition stays.

use syn::Ident;

use crate::model::{Kind, Layer, Shape};

/// One layer of the folded model.
pub(crate) enum Folded<'a> {
    /// A dense or conv layer with the BNs folded into it from before and after.
    Linear { src: &'a Layer, pre: Vec<&'a Layer>, post: Vec<&'a Layer> },
    /// BNs with no linear neighbour to fold into: one affine layer (per feature, or per
    /// channel of an image).
    Affine { bns: Vec<&'a Layer> },
    /// A layer without parameters, kept: an activation, a pool, `flatten`.
    Plain(&'a Layer),
    /// A layer with parameters that does not fold, kept as it is: a LayerNorm or GroupNorm
    /// (its statistics are the sample's own, not a fixed affine map).
    Kept(&'a Layer),
    /// A residual block (layer `index` of its sequence in the trained network), each branch
    /// folded by its own plan; `shortcut` is `None` for the identity.
    Block { src: &'a Layer, index: usize, body: Vec<Folded<'a>>, shortcut: Option<Vec<Folded<'a>>> },
}

/// The folding plan of `layers` (see the module docs).
pub(crate) fn fold_plan(layers: &[Layer]) -> Vec<Folded<'_>> {
    let mut first: Vec<Folded> = Vec::new();
    for (index, l) in layers.iter().enumerate() {
        match l.kind {
            Kind::Dense { .. } | Kind::Conv2d { .. } => {
                first.push(Folded::Linear { src: l, pre: vec![], post: vec![] })
            }
            Kind::BatchNorm { .. } => match first.last_mut() {
                Some(Folded::Linear { post, .. }) => post.push(l),
                Some(Folded::Affine { bns }) => bns.push(l),
                _ => first.push(Folded::Affine { bns: vec![l] }),
            },
            Kind::Activation(_) | Kind::Pool { .. } | Kind::Flatten | Kind::GlobalAvgPool => {
                first.push(Folded::Plain(l))
            }
            Kind::LayerNorm { .. } | Kind::GroupNorm { .. } => first.push(Folded::Kept(l)),
            Kind::Residual(ref block) => first.push(Folded::Block {
                src: l,
                index,
                body: fold_plan(&block.body),
                shortcut: block.shortcut.as_deref().map(fold_plan),
            }),
            // Identity in inference: absent from the folded model.
            Kind::Dropout { .. } => {}
        }
    }
    let mut out = Vec::new();
    let mut pending: Option<Vec<&Layer>> = None;
    let mut entries = first.into_iter().peekable();
    while let Some(f) = entries.next() {
        match f {
            Folded::Affine { bns } => pending = Some(bns),
            Folded::Linear { src, post, .. } => {
                let pre = match pending.take() {
                    Some(bns) if folds_before(src, &bns) => bns,
                    Some(bns) => {
                        out.push(Folded::Affine { bns });
                        vec![]
                    }
                    None => vec![],
                };
                out.push(Folded::Linear { src, pre, post })
            }
            Folded::Kept(_) | Folded::Block { .. } => {
                if let Some(bns) = pending.take() {
                    out.push(Folded::Affine { bns });
                }
                out.push(f);
            }
            Folded::Plain(l) => {
                // A BN over an image, then `flatten`, then a dense layer: the BN folds into
                // the dense layer (per feature of its channel), so it waits.
                let across = matches!(l.kind, Kind::Flatten)
                    && matches!(entries.peek(), Some(Folded::Linear { src, .. }) if matches!(src.kind, Kind::Dense { .. }));
                if !across {
                    if let Some(bns) = pending.take() {
                        out.push(Folded::Affine { bns });
                    }
                }
                out.push(Folded::Plain(l));
            }
        }
    }
    if let Some(bns) = pending {
        out.push(Folded::Affine { bns });
    }
    out
}

/// Whether BNs right before `src` (after an activation, a pool or the input) fold into it
/// exactly: into a dense layer always, into a conv only without padding.
fn folds_before(src: &Layer, bns: &[&Layer]) -> bool {
    match src.kind {
        Kind::Dense { .. } => true,
        Kind::Conv2d { padding, .. } => padding == (0, 0) && bns.iter().all(|b| matches!(b.input, Shape::Image { .. })),
        _ => false,
    }
}

impl Folded<'_> {
    /// The field holding this layer in the folded type (none for a layer without parameters).
    pub(crate) fn field(&self) -> Option<&Ident> {
        match self {
            Folded::Linear { src, .. } => Some(&src.field),
            Folded::Affine { bns } => Some(&bns[0].field),
            Folded::Kept(l) | Folded::Block { src: l, .. } => Some(&l.field),
            Folded::Plain(_) => None,
        }
    }
    /// The input shape.
    pub(crate) fn input(&self) -> Shape {
        match self {
            Folded::Linear { src, .. } | Folded::Block { src, .. } => src.input,
            Folded::Affine { bns } => bns[0].input,
            Folded::Plain(l) | Folded::Kept(l) => l.input,
        }
    }
    /// The output shape.
    pub(crate) fn output(&self) -> Shape {
        match self {
            Folded::Linear { src, .. } | Folded::Block { src, .. } => src.output(),
            Folded::Affine { bns } => bns[0].input,
            Folded::Plain(l) | Folded::Kept(l) => l.output(),
        }
    }
    /// One line for the folded type's field docs and summary: `dense(a => b)` or
    /// `conv2d(c×h×w => c×h×w)` with the names of the BNs folded in, `affine(n)` with the
    /// names of its BNs, the layer's kind, or a block with its branches' entries.
    pub(crate) fn describe(&self) -> String {
        match self {
            Folded::Linear { src, pre, post } => {
                let mut s = format!("{}({} => {})", src.kind_name(), src.input.show(), src.output().show());
                let names: Vec<String> = pre.iter().chain(post).map(|b| format!("`{}`", b.field)).collect();
                if !names.is_empty() {
                    s.push_str(&format!(" with {} folded in", names.join(", ")));
                }
                s
            }
            Folded::Affine { bns } => {
                let names: Vec<String> = bns.iter().map(|b| format!("`{}`", b.field)).collect();
                format!("affine({}) from {}", bns[0].input.show(), names.join(", "))
            }
            Folded::Plain(l) => l.kind_name().to_string(),
            Folded::Kept(l) => match l.kind {
                Kind::GroupNorm { groups, .. } => format!("groupnorm({groups}, {})", l.input.show()),
                _ => format!("layernorm({})", l.input.show()),
            },
            Folded::Block { body, shortcut, .. } => {
                let branch = |plan: &[Folded]| plan.iter().map(Folded::describe).collect::<Vec<_>>().join(" -> ");
                let shortcut = shortcut.as_deref().map_or_else(|| "identity".to_string(), branch);
                format!("residual(body: {}; shortcut: {shortcut})", branch(body))
            }
        }
    }
}

/// The number of scalars of the folded model: the weights and a bias per linear layer, a
/// scale and a shift per channel of each affine layer.
pub(crate) fn folded_scalars(plan: &[Folded]) -> usize {
    plan.iter()
        .map(|f| match f {
            Folded::Linear { src, .. } => match src.kind {
                Kind::Conv2d { out_channels, kernel, .. } => {
                    out_channels * src.input.channels() * kernel.0 * kernel.1 + out_channels
                }
                _ => src.input.len() * src.output().len() + src.output().len(),
            },
            Folded::Affine { bns } => 2 * bns[0].input.channels(),
            // γ, β (stored even without `affine`, as 1 and 0) and ε.
            Folded::Kept(l) => match l.kind {
                Kind::GroupNorm { .. } => 2 * l.input.channels() + 1,
                _ => 2 * l.input.len() + 1,
            },
            Folded::Plain(_) => 0,
            Folded::Block { body, shortcut, .. } => {
                folded_scalars(body) + shortcut.as_deref().map_or(0, folded_scalars)
            }
        })
        .sum()
}
