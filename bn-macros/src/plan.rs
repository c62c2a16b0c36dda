//! The folding plan: which layers of the trained network become which layer of the folded
//! inference model (BNs folded into a neighbouring dense layer, or composed into an affine
//! layer). Plain data over the [`model`](crate::model); the expanders and the summary read it.

use syn::Ident;

use crate::model::{Kind, Layer};

/// One layer of the folded model.
pub(crate) enum Folded<'a> {
    /// A dense layer with the BNs folded into it from before (after an activation) and
    /// after (right behind it).
    Dense {
        src: &'a Layer,
        pre: Vec<&'a Layer>,
        post: Vec<&'a Layer>,
    },
    /// BNs with no dense neighbour: one affine layer.
    Affine {
        bns: Vec<&'a Layer>,
    },
    Act(&'a Layer),
}

/// The folding plan: BN → into the dense before it; otherwise into the dense right after it;
/// otherwise (composed with adjacent BNs) an affine layer. Never across an activation.
pub(crate) fn fold_plan(layers: &[Layer]) -> Vec<Folded<'_>> {
    let mut first: Vec<Folded> = Vec::new();
    for l in layers {
        match l.kind {
            Kind::Dense { .. } => first.push(Folded::Dense { src: l, pre: vec![], post: vec![] }),
            Kind::BatchNorm { .. } => match first.last_mut() {
                Some(Folded::Dense { post, .. }) => post.push(l),
                Some(Folded::Affine { bns }) => bns.push(l),
                _ => first.push(Folded::Affine { bns: vec![l] }),
            },
            Kind::Activation(_) => first.push(Folded::Act(l)),
        }
    }
    let mut out = Vec::new();
    let mut pending: Option<Vec<&Layer>> = None;
    for f in first {
        match f {
            Folded::Affine { bns } => pending = Some(bns),
            Folded::Dense { src, post, .. } => {
                out.push(Folded::Dense { src, pre: pending.take().unwrap_or_default(), post })
            }
            act => {
                if let Some(bns) = pending.take() {
                    out.push(Folded::Affine { bns });
                }
                out.push(act);
            }
        }
    }
    if let Some(bns) = pending {
        out.push(Folded::Affine { bns });
    }
    out
}

impl Folded<'_> {
    /// The field holding this layer in the folded type (none for an activation).
    pub(crate) fn field(&self) -> Option<&Ident> {
        match self {
            Folded::Dense { src, .. } => Some(&src.field),
            Folded::Affine { bns } => Some(&bns[0].field),
            Folded::Act(_) => None,
        }
    }
    /// The input width.
    pub(crate) fn input(&self) -> usize {
        match self {
            Folded::Dense { src, .. } => src.input,
            Folded::Affine { bns } => bns[0].input,
            Folded::Act(l) => l.input,
        }
    }
    /// The output width.
    pub(crate) fn output(&self) -> usize {
        match self {
            Folded::Dense { src, .. } => src.output(),
            Folded::Affine { bns } => bns[0].input,
            Folded::Act(l) => l.input,
        }
    }
    /// One line for the folded type's field docs and summary: `dense(a => b)` with the names of
    /// the BNs folded in, `affine(n)` with the names of its BNs, or the activation's name.
    pub(crate) fn describe(&self) -> String {
        match self {
            Folded::Dense { src, pre, post } => {
                let mut s = format!("dense({} => {})", src.input, src.output());
                let names: Vec<String> = pre.iter().chain(post).map(|b| format!("`{}`", b.field)).collect();
                if !names.is_empty() {
                    s.push_str(&format!(" with {} folded in", names.join(", ")));
                }
                s
            }
            Folded::Affine { bns } => {
                let names: Vec<String> = bns.iter().map(|b| format!("`{}`", b.field)).collect();
                format!("affine({}) from {}", bns[0].input, names.join(", "))
            }
            Folded::Act(l) => l.kind_name().to_string(),
        }
    }
}

/// The number of scalars of the folded model: a weight matrix and a bias per dense layer,
/// a scale and a shift per affine layer.
pub(crate) fn folded_scalars(plan: &[Folded]) -> usize {
    plan.iter()
        .map(|f| match f {
            Folded::Dense { src, .. } => src.input * src.output() + src.output(),
            Folded::Affine { bns } => 2 * bns[0].input,
            Folded::Act(_) => 0,
        })
        .sum()
}
