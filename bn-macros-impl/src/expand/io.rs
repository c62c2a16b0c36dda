//! Code generation for weights files (bn-core's `StateDict`, safetensors with PyTorch's
//! `state_dict` names). One visitor line per parameter layer, for each of the two types; all
//! parsing, checking and writing lives in bn-core (`format/`).
//!
//! The visitor (`StateDict`) needs no allocation and is always generated; the inherent
//! methods that read and write files (`api::file_methods`, documented here) exist only when
//! bn-core has its `safetensors` feature.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Momentum, Pool, Shape, DEFAULT_EPS, DEFAULT_MOMENTUM};
use crate::plan::Folded;
use crate::tokens::{p, Names};

/// A layer's tensors: `(name, shape, is the I64 counter)`.
type Tensors = Vec<(&'static str, Vec<usize>, bool)>;

/// One layer of the equivalent `nn.Sequential`: its key (index or name), the field holding
/// it (none for an activation), its PyTorch module and its tensors.
struct Entry<'a> {
    key: String,
    field: Option<&'a Ident>,
    module: String,
    /// A comment after the module in the docs.
    note: &'static str,
    /// How the generated visitor reaches the layer's tensors.
    visit: Visit,
    tensors: Tensors,
}

/// The visitor call of a layer: bn-core's `LayerTensors` impl, or for an affine layer over
/// an image's channels the depthwise-convolution visitor.
#[derive(Clone, Copy, PartialEq)]
enum Visit {
    Layer,
    ChannelAffine,
    /// A LayerNorm's `weight` and `bias`: `[n]`, or `[c, h, w]` over an image.
    Shaped(Option<[usize; 3]>),
}

/// The key of a layer in the `state_dict`: the user's name, or the index in the Sequential.
fn key(index: usize, layer: &Layer) -> String {
    if layer.named {
        layer.field.unraw().to_string()
    } else {
        index.to_string()
    }
}

fn act_module(a: Act) -> String {
    format!("nn.{}()", a.type_name())
}

fn linear(input: usize, output: usize, bias: bool) -> (String, Tensors) {
    let mut tensors = vec![("weight", vec![output, input], false)];
    let module = if bias {
        tensors.push(("bias", vec![output], false));
        format!("nn.Linear({input}, {output})")
    } else {
        format!("nn.Linear({input}, {output}, bias=False)")
    };
    (module, tensors)
}

/// `nn.Conv2d(C, C_out, kernel_size=(KH, KW), stride=…, padding=…)` (defaults left out, as
/// PyTorch prints it) and its tensors, `weight` `[C_out, C, KH, KW]` and the bias.
fn conv(l: &Layer, bias: bool) -> (String, Tensors) {
    let Kind::Conv2d { out_channels, kernel, stride, padding, .. } = l.kind else { unreachable!("a conv layer") };
    let c = l.input.channels();
    let mut module = format!("nn.Conv2d({c}, {out_channels}, kernel_size={kernel:?}");
    if stride != (1, 1) {
        module.push_str(&format!(", stride={stride:?}"));
    }
    if padding != (0, 0) {
        module.push_str(&format!(", padding={padding:?}"));
    }
    let mut tensors = vec![("weight", vec![out_channels, c, kernel.0, kernel.1], false)];
    if bias {
        tensors.push(("bias", vec![out_channels], false));
    } else {
        module.push_str(", bias=False");
    }
    module.push(')');
    (module, tensors)
}

/// The module and tensors of a layer without parameters (an activation, a pool, `flatten`).
fn plain(l: &Layer) -> String {
    match l.kind {
        Kind::Activation(a) => act_module(a),
        Kind::Pool { pool, size, stride } => {
            let name = match pool {
                Pool::Max => "MaxPool2d",
                Pool::Avg => "AvgPool2d",
            };
            format!("nn.{name}(kernel_size={size}, stride={stride})")
        }
        Kind::Dropout { p } => format!("nn.Dropout(p={p:?})"),
        _ => "nn.Flatten()".to_string(),
    }
}

/// `nn.BatchNorm1d(n)` or, over an image's channels, `nn.BatchNorm2d(c)`, with ε,
/// momentum and `affine` where they differ from PyTorch's defaults; and its tensors (no
/// `weight` and `bias` without `affine`). A Batch Renormalization layer is saved as the
/// same module, its moving σ as `running_var = σ² − ε`.
fn batchnorm(l: &Layer, eps: f64, momentum: Momentum, affine: bool) -> (String, Tensors) {
    let n = l.input.channels();
    let dims = if matches!(l.input, Shape::Image { .. }) { 2 } else { 1 };
    let mut module = format!("nn.BatchNorm{dims}d({n}");
    if eps != DEFAULT_EPS {
        module.push_str(&format!(", eps={eps:?}"));
    }
    match momentum {
        Momentum::Cumulative => module.push_str(", momentum=None"),
        Momentum::Exponential(v) if v != DEFAULT_MOMENTUM => module.push_str(&format!(", momentum={v:?}")),
        Momentum::Exponential(_) => {}
    }
    if !affine {
        module.push_str(", affine=False");
    }
    module.push(')');
    let mut tensors = vec![];
    if affine {
        tensors.extend([("weight", vec![n], false), ("bias", vec![n], false)]);
    }
    tensors.extend([
        ("running_mean", vec![n], false),
        ("running_var", vec![n], false),
        ("num_batches_tracked", vec![], true),
    ]);
    (module, tensors)
}

/// `nn.LayerNorm(n)` or, over an image, `nn.LayerNorm([c, h, w])`, with ε and
/// `elementwise_affine` where they differ from PyTorch's defaults; its tensors, and how the
/// visitor shapes them.
fn layernorm(l: &Layer, eps: f64, affine: bool) -> (String, Tensors, Visit) {
    let (shape, dims) = match l.input {
        Shape::Image { c, h, w } => (vec![c, h, w], Some([c, h, w])),
        Shape::Flat(n) => (vec![n], None),
    };
    let mut module = match dims {
        Some([c, h, w]) => format!("nn.LayerNorm([{c}, {h}, {w}]"),
        None => format!("nn.LayerNorm({}", shape[0]),
    };
    if eps != DEFAULT_EPS {
        module.push_str(&format!(", eps={eps:?}"));
    }
    if !affine {
        module.push_str(", elementwise_affine=False");
    }
    module.push(')');
    let tensors = if affine { vec![("weight", shape.clone(), false), ("bias", shape, false)] } else { vec![] };
    (module, tensors, Visit::Shaped(dims))
}

/// The training type's Sequential: every layer, activations, pools and `flatten` included.
fn training_entries(m: &Model) -> Vec<Entry<'_>> {
    m.layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let key = key(i, l);
            let (module, tensors) = match l.kind {
                Kind::Dense { output, bias } => linear(l.input.len(), output, bias),
                Kind::Conv2d { bias, .. } => conv(l, bias),
                Kind::BatchNorm { eps, momentum, affine, .. } => batchnorm(l, eps, momentum, affine),
                Kind::LayerNorm { eps, affine } => {
                    let (module, tensors, visit) = layernorm(l, eps, affine);
                    return Entry { key, field: Some(&l.field), module, note: "", visit, tensors };
                }
                _ => {
                    return Entry { key, field: None, module: plain(l), note: "", visit: Visit::Layer, tensors: vec![] }
                }
            };
            Entry { key, field: Some(&l.field), module, note: "", visit: Visit::Layer, tensors }
        })
        .collect()
}

/// The folded type's Sequential: the folded plan, renumbered; an unfolded BN run is a
/// diagonal `Linear(n, n)`, or over an image's channels a depthwise `Conv2d(c, c, 1)`.
fn folded_entries<'a>(plan: &'a [Folded<'a>]) -> Vec<Entry<'a>> {
    plan.iter()
        .enumerate()
        .map(|(i, fl)| match fl {
            Folded::Linear { src, .. } => {
                let (module, tensors) = match src.kind {
                    Kind::Conv2d { .. } => conv(src, true),
                    _ => linear(src.input.len(), src.output().len(), true),
                };
                Entry { key: key(i, src), field: fl.field(), module, note: "", visit: Visit::Layer, tensors }
            }
            Folded::Affine { bns } => {
                let key = key(i, bns[0]);
                match bns[0].input {
                    Shape::Image { c, .. } => {
                        let module = format!("nn.Conv2d({c}, {c}, kernel_size=(1, 1), groups={c})");
                        let tensors = vec![("weight", vec![c, 1, 1, 1], false), ("bias", vec![c], false)];
                        let note = "  # depthwise 1×1: an affine layer (unfolded BN)";
                        Entry { key, field: fl.field(), module, note, visit: Visit::ChannelAffine, tensors }
                    }
                    Shape::Flat(n) => {
                        let (module, tensors) = linear(n, n, true);
                        let note = "  # diagonal: an affine layer (unfolded BN)";
                        Entry { key, field: fl.field(), module, note, visit: Visit::Layer, tensors }
                    }
                }
            }
            Folded::Kept(l) => {
                let Kind::LayerNorm { eps, affine } = l.kind else { unreachable!("only LayerNorm is kept") };
                let (module, tensors, visit) = layernorm(l, eps, affine);
                Entry { key: key(i, l), field: fl.field(), module, note: "", visit, tensors }
            }
            Folded::Plain(l) => Entry {
                key: i.to_string(),
                field: None,
                module: plain(l),
                note: "",
                visit: Visit::Layer,
                tensors: vec![],
            },
        })
        .collect()
}

/// The doc of `save_safetensors`: the PyTorch module and the tensors, so a user knows both.
fn doc(entries: &[Entry], t: &Ident) -> String {
    let named = entries.iter().any(|e| e.key.parse::<usize>().is_err());
    let mut module = String::from(if named { "nn.Sequential(OrderedDict([\n" } else { "nn.Sequential(\n" });
    for e in entries {
        let (key, note) = (&e.key, e.note);
        if named {
            module.push_str(&format!("    (\"{key}\", {}),{note}\n", e.module));
        } else {
            module.push_str(&format!("    {},{note}\n", e.module));
        }
    }
    module.push_str(if named { "]))" } else { ")" });
    if t == "f64" {
        module.push_str(".double()");
    }
    let mut tensors = Vec::new();
    for e in entries {
        for (name, shape, count) in &e.tensors {
            let dtype = if *count { "I64".to_string() } else { t.to_string().to_uppercase() };
            tensors.push((format!("{}.{name}", e.key), format!("{shape:?}"), dtype));
        }
    }
    let w0 = tensors.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = tensors.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let table: String = tensors.iter().map(|(n, s, d)| format!("{n:<w0$}  {s:<w1$}  {d}\n")).collect();
    format!(
        "The weights as a safetensors file, with the tensor names, shapes and dtypes of the \
         `state_dict` of the equivalent PyTorch module (`torch.nn` as `nn`):\n\n```python\n{module}\n```\n\n\
         It loads with `module.load_state_dict(safetensors.torch.load_file(path))`. The tensors:\n\n\
         ```text\n{table}```"
    )
}

/// The `StateDict` impl of one type: one visitor line per parameter layer.
fn state_dict(ty: &Ident, t: &Ident, entries: &[Entry]) -> TokenStream {
    let p = p();
    let (mut visit, mut visit_mut) = (Vec::new(), Vec::new());
    for e in entries {
        let Some(f) = e.field else { continue };
        let k = &e.key;
        match e.visit {
            Visit::Layer => {
                visit.push(quote!(#p::LayerTensors::visit_layer(&self.#f, #k, f);));
                visit_mut.push(quote!(#p::LayerTensors::visit_layer_mut(&mut self.#f, #k, f);));
            }
            Visit::ChannelAffine => {
                visit.push(quote!(#p::visit_channel_affine(&self.#f, #k, f);));
                visit_mut.push(quote!(#p::visit_channel_affine_mut(&mut self.#f, #k, f);));
            }
            Visit::Shaped(dims) => {
                let dims = match dims {
                    Some([c, h, w]) => quote!(::core::option::Option::Some([#c, #h, #w])),
                    None => quote!(::core::option::Option::None),
                };
                visit.push(quote!(self.#f.visit_layer_shaped(#k, #dims, f);));
                visit_mut.push(quote!(self.#f.visit_layer_shaped_mut(#k, #dims, f);));
            }
        }
    }
    quote! {
        impl #p::StateDict for #ty {
            type Scalar = #t;
            fn visit(&self, f: &mut dyn ::core::ops::FnMut(#p::TensorName<'_>, #p::TensorRef<'_, #t>)) {
                #(#visit)*
            }
            fn visit_mut(&mut self, f: &mut dyn ::core::ops::FnMut(#p::TensorName<'_>, #p::TensorMut<'_, #t>)) {
                #(#visit_mut)*
            }
        }
    }
}

/// The `StateDict` impls of the network type and of the folded type, and the docs of their
/// `save_safetensors` (the file methods themselves delegate to these impls).
pub(crate) fn state_dicts(m: &Model, n: &Names, plan: &[Folded]) -> (TokenStream, [String; 2]) {
    let Names { cfgs, name, folded, scalar: t, .. } = n;
    let (train, fold) = (training_entries(m), folded_entries(plan));
    let (train_sd, fold_sd) = (state_dict(name, t, &train), state_dict(folded, t, &fold));
    let impls = quote! {
        #cfgs
        #train_sd
        #cfgs
        #fold_sd
    };
    (impls, [doc(&train, t), doc(&fold, t)])
}
