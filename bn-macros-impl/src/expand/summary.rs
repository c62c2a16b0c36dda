//! The layer summaries: the network type's `SUMMARY` (also its `Display` and the `# Layers`
//! section of its docs) and the one-line summary of the folded type.

use crate::model::{Kind, Layer, Model, Momentum, Pair};
use crate::plan::{folded_scalars, Folded};
use crate::tokens::grouped;

/// A row of the layer table: number, name, layer, shape, parameters.
type Row = (String, String, String, String, String);

/// The rows of the layers of one sequence, names indented by `indent`: a block's row, then
/// under it a `body:` and a `shortcut:` row, each followed by the rows of its branch
/// (numbered within it, its parameters adding up to the block's).
fn rows(layers: &[Layer], indent: usize, out: &mut Vec<Row>) {
    let pad = " ".repeat(indent);
    for (i, l) in layers.iter().enumerate() {
        // BN and the activations keep their input's shape: one shape; every other layer maps
        // its input to its output (`3 -> 4`, `1×28×28 -> 8×28×28`, `16×7×7 -> 784`), and a
        // block shows one shape when it keeps it.
        let shape = match l.kind {
            Kind::BatchNorm { .. }
            | Kind::LayerNorm { .. }
            | Kind::GroupNorm { .. }
            | Kind::Dropout { .. }
            | Kind::Activation(_) => l.input.show(),
            Kind::Residual(_) if l.output() == l.input => l.input.show(),
            _ => format!("{} -> {}", l.input.show(), l.output().show()),
        };
        let name = syn::ext::IdentExt::unraw(&l.field).to_string();
        out.push(((i + 1).to_string(), format!("{pad}{name}"), layer_text(l), shape, grouped(l.params())));
        if let Kind::Residual(block) = &l.kind {
            let empty = String::new;
            for (branch, layers) in [("body", Some(&block.body)), ("shortcut", block.shortcut.as_ref())] {
                let Some(layers) = layers else { continue };
                out.push((empty(), format!("{pad}  {branch}:"), empty(), empty(), empty()));
                rows(layers, indent + 4, out);
            }
        }
    }
}

/// The lines of the folded model's layers, indented by `indent`: a block's line, then its
/// branches' lines under `body:` and `shortcut:`.
fn folded_lines(plan: &[Folded], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for f in plan {
        match f {
            Folded::Block { src, body, shortcut, .. } => {
                let shape = if src.output() == src.input {
                    src.input.show()
                } else {
                    format!("{} => {}", src.input.show(), src.output().show())
                };
                out.push_str(&format!("{pad}residual({shape})\n{pad}  body:\n"));
                folded_lines(body, indent + 4, out);
                match shortcut {
                    Some(shortcut) => {
                        out.push_str(&format!("{pad}  shortcut:\n"));
                        folded_lines(shortcut, indent + 4, out);
                    }
                    None => out.push_str(&format!("{pad}  shortcut: identity\n")),
                }
            }
            _ => out.push_str(&format!("{pad}{}\n", f.describe())),
        }
    }
}

/// The layer summary of the network type (its `SUMMARY` and `Display`), and the one-line
/// summary of the folded type.
pub(crate) fn summary(m: &Model, plan: &[Folded]) -> (String, String) {
    let name = syn::ext::IdentExt::unraw(&m.name).to_string();
    let mut rows_ =
        vec![("#".to_string(), "name".to_string(), "layer".to_string(), "shape".to_string(), "params".to_string())];
    rows(&m.layers, 0, &mut rows_);
    let rows = rows_;
    let w: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| [&r.0, &r.1, &r.2, &r.3, &r.4][c].chars().count()).max().unwrap_or(0))
        .collect();
    let (input, output) = (m.input.show(), m.output().show());
    let mut s = format!("{name}: {input} -> {output}, {}, {} parameters\n", m.scalar, grouped(m.params()));
    for r in &rows {
        let line = format!(
            "  {:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}",
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
        );
        // A branch's heading has only a name.
        s.push_str(line.trim_end());
        s.push('\n');
    }
    let folded: Vec<String> = plan.iter().map(Folded::describe).collect();
    let fparams = folded_scalars(plan);
    let fsummary = format!("{name}Folded: {} ({} parameters)", folded.join(" -> "), grouped(fparams));
    s.push_str("folded:\n");
    folded_lines(plan, 2, &mut s);
    (s, fsummary)
}

/// The layer column: the kind and what the shape column does not show (`dense, no bias`,
/// `conv2d(3×3, stride 1, padding 1)`, `maxpool(2, stride 2)`, the BN options).
fn layer_text(l: &Layer) -> String {
    let no_bias = |bias: bool| if bias { "" } else { ", no bias" };
    match l.kind {
        Kind::Dense { bias, .. } => format!("dense{}", no_bias(bias)),
        Kind::Conv2d { kernel, stride, padding, bias, .. } => format!(
            "conv2d({}×{}, stride {}, padding {}){}",
            kernel.0,
            kernel.1,
            pair(stride),
            pair(padding),
            no_bias(bias)
        ),
        Kind::BatchNorm { eps, momentum, affine, renorm } => {
            let mom = match momentum {
                Momentum::Cumulative => "cumulative".to_string(),
                Momentum::Exponential(v) => format!("{v}"),
            };
            let mut extra = String::new();
            if let Some((rmax, dmax)) = renorm {
                extra.push_str(&format!(", renorm rmax {rmax} dmax {dmax}"));
            }
            if !affine {
                extra.push_str(", no affine");
            }
            format!("batchnorm(eps {eps:e}, momentum {mom}{extra})")
        }
        Kind::LayerNorm { eps, affine } => {
            format!("layernorm(eps {eps:e}{})", if affine { "" } else { ", no affine" })
        }
        Kind::GroupNorm { groups, eps, affine } => {
            format!("groupnorm({groups} groups, eps {eps:e}{})", if affine { "" } else { ", no affine" })
        }
        Kind::Residual(ref block) => {
            format!("residual: body + {}", if block.shortcut.is_some() { "shortcut" } else { "input" })
        }
        Kind::Dropout { p } => format!("dropout({p})"),
        Kind::Pool { pool, size, stride } => format!("{}({size}, stride {stride})", pool.name()),
        Kind::Activation(_) | Kind::Flatten | Kind::GlobalAvgPool => l.kind_name().to_string(),
    }
}

/// A stride or padding: `1`, or `(2, 1)` when it differs between height and width.
fn pair((h, w): Pair) -> String {
    if h == w {
        h.to_string()
    } else {
        format!("({h}, {w})")
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::summary;
    use crate::{check, parse};

    /// The layer table of a valid invocation (without the folded part, which needs a plan).
    fn table(input: proc_macro2::TokenStream) -> String {
        let inv: parse::Invocation = syn::parse2(input).expect("valid invocation");
        let model = match check::check(inv) {
            Ok(model) => model,
            Err((_, e)) => panic!("unexpected error: {e}"),
        };
        summary(&model, &[]).0.replace("folded:\n", "")
    }

    #[test]
    fn summary_of_a_convolutional_network() {
        let got = table(quote! {
            pub struct LeNet {
                input: (1, 28, 28),
                conv2d(8, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
                conv2d(8 => 16, kernel = 3, padding = 1), batchnorm, relu, maxpool(2),
                flatten,
                dense(10),
            }
        });
        let want = "\
LeNet: 1×28×28 -> 10, f32, 9,122 parameters
   #  name        layer                                      shape                params
   1  conv2d0     conv2d(3×3, stride 1, padding 1), no bias  1×28×28 -> 8×28×28       72
   2  batchnorm1  batchnorm(eps 1e-5, momentum 0.1)          8×28×28                  16
   3  relu2       relu                                       8×28×28                   0
   4  maxpool3    maxpool(2, stride 2)                       8×28×28 -> 8×14×14        0
   5  conv2d4     conv2d(3×3, stride 1, padding 1), no bias  8×14×14 -> 16×14×14   1,152
   6  batchnorm5  batchnorm(eps 1e-5, momentum 0.1)          16×14×14                 32
   7  relu6       relu                                       16×14×14                  0
   8  maxpool7    maxpool(2, stride 2)                       16×14×14 -> 16×7×7        0
   9  flatten8    flatten                                    16×7×7 -> 784             0
  10  dense9      dense                                      784 -> 10             7,850
";
        assert_eq!(got, want);
    }

    #[test]
    fn summary_of_pairs_biases_and_average_pools() {
        let got = table(quote! {
            struct Net {
                input: (3, 9, 8),
                conv2d(4, kernel = (3, 1), stride = (2, 1), padding = (1, 0)), avgpool(2, stride = 1),
                flatten, dense(2),
            }
        });
        assert!(got.starts_with("Net: 3×9×8 -> 2, f32, "), "{got}");
        assert!(got.contains("  conv2d(3×1, stride (2, 1), padding (1, 0))  3×9×8 -> 4×5×8 "), "{got}");
        assert!(got.contains("  avgpool(2, stride 1)  "), "{got}");
    }
}
