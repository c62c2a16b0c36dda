//! The layer summaries: the network type's `SUMMARY` (also its `Display` and the `# Layers`
//! section of its docs) and the one-line summary of the folded type.

use crate::model::{Kind, Model, Momentum};
use crate::plan::{folded_scalars, Folded};
use crate::tokens::grouped;

/// The layer summary of the network type (its `SUMMARY` and `Display`), and the one-line
/// summary of the folded type.
pub(crate) fn summary(m: &Model, plan: &[Folded]) -> (String, String) {
    let name = syn::ext::IdentExt::unraw(&m.name).to_string();
    let mut rows =
        vec![("#".to_string(), "name".to_string(), "layer".to_string(), "shape".to_string(), "params".to_string())];
    for (i, l) in m.layers.iter().enumerate() {
        let text = match l.kind {
            Kind::Dense { bias, .. } => format!("dense{}", if bias { "" } else { ", no bias" }),
            Kind::BatchNorm { eps, momentum } => {
                let mom = match momentum {
                    Momentum::Cumulative => "cumulative".to_string(),
                    Momentum::Exponential(v) => format!("{v}"),
                };
                format!("batchnorm(eps {eps:e}, momentum {mom})")
            }
            Kind::Activation(_) => l.kind_name().to_string(),
        };
        let shape = if l.input == l.output() && !matches!(l.kind, Kind::Dense { .. }) {
            format!("{}", l.input)
        } else {
            format!("{} -> {}", l.input, l.output())
        };
        rows.push((
            (i + 1).to_string(),
            syn::ext::IdentExt::unraw(&l.field).to_string(),
            text,
            shape,
            grouped(l.params()),
        ));
    }
    let w: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| [&r.0, &r.1, &r.2, &r.3, &r.4][c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = format!("{name}: {} -> {}, {}, {} parameters\n", m.input, m.output(), m.scalar, grouped(m.params()));
    for r in &rows {
        s.push_str(&format!(
            "  {:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}\n",
            r.0,
            r.1,
            r.2,
            r.3,
            r.4,
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        ));
    }
    let folded: Vec<String> = plan.iter().map(Folded::describe).collect();
    let fparams = folded_scalars(plan);
    let fsummary = format!("{name}Folded: {} ({} parameters)", folded.join(" -> "), grouped(fparams));
    s.push_str("folded:\n");
    for f in &folded {
        s.push_str(&format!("  {f}\n"));
    }
    (s, fsummary)
}
