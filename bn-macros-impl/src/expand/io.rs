//! Code generation for weights files (bn-core's `StateDict`, safetensors with PyTorch's
//! `state_dict` names). One visitor line per parameter layer, for each of the two types; all
//! parsing, checking and writing lives in bn-core (`format/`). A residual block is the
//! module `Residual` of the repository's `tools/` (its `body` and `shortcut` are
//! `nn.Sequential`s), so the layers of block `K` are named `K.body.J.…` and `K.shortcut.J.…`.
//!
//! The visitor (`StateDict`) needs no allocation and is always generated; the inherent
//! methods that read and write files (`api::file_methods`, documented here) exist only when
//! bn-core has its `safetensors` feature.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use crate::model::{Act, Kind, Layer, Model, Momentum, Pool, Shape, DEFAULT_EPS, DEFAULT_MOMENTUM};
use crate::plan::Folded;
use crate::tokens::{p, state_dict_key as key, Names, Scope};

/// A layer's tensors: `(name, shape, is the I64 counter)`.
type Tensors = Vec<(&'static str, Vec<usize>, bool)>;

/// One layer of the equivalent `nn.Sequential`: its key (index or name), the field holding
/// it (none for an activation), its PyTorch module and its tensors.
struct Entry<'a> {
    key: String,
    field: Option<&'a Ident>,
    module: Module<'a>,
    /// A comment after the module in the docs.
    note: &'static str,
    /// How the generated visitor reaches the layer's tensors.
    visit: Visit,
    tensors: Tensors,
}

/// A layer's PyTorch module: one of `torch.nn`'s, or a residual block with the entries of
/// its branches.
enum Module<'a> {
    Leaf(String),
    Block { index: usize, body: Vec<Entry<'a>>, shortcut: Option<Vec<Entry<'a>>> },
}

impl From<String> for Module<'_> {
    fn from(module: String) -> Self {
        Module::Leaf(module)
    }
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
        Kind::GlobalAvgPool => "GlobalAvgPool()".to_string(),
        _ => "nn.Flatten()".to_string(),
    }
}

/// `nn.GroupNorm(G, C)` with ε and `affine` where they differ from PyTorch's defaults, and
/// its tensors (`weight` and `bias` `[C]` with `affine`).
fn groupnorm(l: &Layer, groups: usize, eps: f64, affine: bool) -> (String, Tensors) {
    let c = l.input.channels();
    let mut module = format!("nn.GroupNorm({groups}, {c}");
    if eps != DEFAULT_EPS {
        module.push_str(&format!(", eps={eps:?}"));
    }
    if !affine {
        module.push_str(", affine=False");
    }
    module.push(')');
    let tensors = if affine { vec![("weight", vec![c], false), ("bias", vec![c], false)] } else { vec![] };
    (module, tensors)
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

/// The training type's Sequential: every layer, activations, pools and `flatten` included;
/// a block's branches likewise.
fn training_entries(layers: &[Layer]) -> Vec<Entry<'_>> {
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let key = key(i, l);
            let (module, tensors) = match &l.kind {
                Kind::Dense { output, bias } => linear(l.input.len(), *output, *bias),
                Kind::Conv2d { bias, .. } => conv(l, *bias),
                Kind::BatchNorm { eps, momentum, affine, .. } => batchnorm(l, *eps, *momentum, *affine),
                Kind::GroupNorm { groups, eps, affine } => groupnorm(l, *groups, *eps, *affine),
                Kind::LayerNorm { eps, affine } => {
                    let (module, tensors, visit) = layernorm(l, *eps, *affine);
                    return Entry { key, field: Some(&l.field), module: module.into(), note: "", visit, tensors };
                }
                Kind::Residual(block) => {
                    let module = Module::Block {
                        index: i,
                        body: training_entries(&block.body),
                        shortcut: block.shortcut.as_deref().map(training_entries),
                    };
                    return Entry {
                        key,
                        field: Some(&l.field),
                        module,
                        note: "",
                        visit: Visit::Layer,
                        tensors: vec![],
                    };
                }
                _ => {
                    let module = plain(l).into();
                    return Entry { key, field: None, module, note: "", visit: Visit::Layer, tensors: vec![] };
                }
            };
            Entry { key, field: Some(&l.field), module: module.into(), note: "", visit: Visit::Layer, tensors }
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
                Entry {
                    key: key(i, src),
                    field: fl.field(),
                    module: module.into(),
                    note: "",
                    visit: Visit::Layer,
                    tensors,
                }
            }
            Folded::Affine { bns } => {
                let key = key(i, bns[0]);
                match bns[0].input {
                    Shape::Image { c, .. } => {
                        let module = format!("nn.Conv2d({c}, {c}, kernel_size=(1, 1), groups={c})");
                        let tensors = vec![("weight", vec![c, 1, 1, 1], false), ("bias", vec![c], false)];
                        let note = "  # depthwise 1×1: an affine layer (unfolded BN)";
                        Entry {
                            key,
                            field: fl.field(),
                            module: module.into(),
                            note,
                            visit: Visit::ChannelAffine,
                            tensors,
                        }
                    }
                    Shape::Flat(n) => {
                        let (module, tensors) = linear(n, n, true);
                        let note = "  # diagonal: an affine layer (unfolded BN)";
                        Entry { key, field: fl.field(), module: module.into(), note, visit: Visit::Layer, tensors }
                    }
                }
            }
            Folded::Kept(l) => {
                let (module, tensors, visit) = match l.kind {
                    Kind::GroupNorm { groups, eps, affine } => {
                        let (module, tensors) = groupnorm(l, groups, eps, affine);
                        (module, tensors, Visit::Layer)
                    }
                    Kind::LayerNorm { eps, affine } => layernorm(l, eps, affine),
                    _ => unreachable!("only LayerNorm and GroupNorm are kept"),
                };
                Entry { key: key(i, l), field: fl.field(), module: module.into(), note: "", visit, tensors }
            }
            Folded::Block { src, index, body, shortcut } => Entry {
                key: key(i, src),
                field: fl.field(),
                module: Module::Block {
                    index: *index,
                    body: folded_entries(body),
                    shortcut: shortcut.as_deref().map(folded_entries),
                },
                note: "",
                visit: Visit::Layer,
                tensors: vec![],
            },
            Folded::Plain(l) => Entry {
                key: i.to_string(),
                field: None,
                module: plain(l).into(),
                note: "",
                visit: Visit::Layer,
                tensors: vec![],
            },
        })
        .collect()
}

/// The `nn.Sequential` of `entries`, its lines indented by `indent` spaces (but the first).
/// A block is `Residual(body=nn.Sequential(…), shortcut=nn.Sequential(…))`.
fn sequential(entries: &[Entry], indent: usize) -> String {
    let named = entries.iter().any(|e| e.key.parse::<usize>().is_err());
    let pad = " ".repeat(indent + 4);
    let mut out = String::from(if named { "nn.Sequential(OrderedDict([\n" } else { "nn.Sequential(\n" });
    for e in entries {
        let module = match &e.module {
            Module::Leaf(module) => module.clone(),
            Module::Block { body, shortcut, .. } => {
                let inner = " ".repeat(indent + 8);
                let mut module = format!("Residual(\n{inner}body={},\n", sequential(body, indent + 8));
                if let Some(shortcut) = shortcut {
                    module.push_str(&format!("{inner}shortcut={},\n", sequential(shortcut, indent + 8)));
                }
                module.push_str(&format!("{pad})"));
                module
            }
        };
        let (key, note) = (&e.key, e.note);
        if named {
            out.push_str(&format!("{pad}(\"{key}\", {module}),{note}\n"));
        } else {
            out.push_str(&format!("{pad}{module},{note}\n"));
        }
    }
    out.push_str(&" ".repeat(indent));
    out.push_str(if named { "]))" } else { ")" });
    out
}

/// Every tensor of `entries` (names prefixed with `prefix`): name, shape and whether it is
/// the I64 counter.
fn all_tensors(entries: &[Entry], prefix: &str, out: &mut Vec<(String, String, bool)>) {
    for e in entries {
        if let Module::Block { body, shortcut, .. } = &e.module {
            all_tensors(body, &format!("{prefix}{}.body.", e.key), out);
            if let Some(shortcut) = shortcut {
                all_tensors(shortcut, &format!("{prefix}{}.shortcut.", e.key), out);
            }
        }
        for (name, shape, count) in &e.tensors {
            out.push((format!("{prefix}{}.{name}", e.key), format!("{shape:?}"), *count));
        }
    }
}

/// The doc of `save_safetensors`: the PyTorch module and the tensors, so a user knows both.
fn doc(entries: &[Entry], t: &Ident) -> String {
    let mut module = sequential(entries, 0);
    if t == "f64" {
        module.push_str(".double()");
    }
    let blocks = entries.iter().any(|e| matches!(e.module, Module::Block { .. }));
    let mut raw = Vec::new();
    all_tensors(entries, "", &mut raw);
    let tensors: Vec<(String, String, String)> = raw
        .into_iter()
        .map(|(name, shape, count)| {
            let dtype = if count { "I64".to_string() } else { t.to_string().to_uppercase() };
            (name, shape, dtype)
        })
        .collect();
    let w0 = tensors.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = tensors.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let table: String = tensors.iter().map(|(n, s, d)| format!("{n:<w0$}  {s:<w1$}  {d}\n")).collect();
    let residual =
        if blocks { " (`Residual` and `GlobalAvgPool` are the modules of the repository's `tools/`)" } else { "" };
    format!(
        "The weights as a safetensors file, with the tensor names, shapes and dtypes of the \
         `state_dict` of the equivalent PyTorch module (`torch.nn` as `nn`{residual}):\n\n```python\n{module}\n```\n\n\
         It loads with `module.load_state_dict(safetensors.torch.load_file(path))`. The tensors:\n\n\
         ```text\n{table}```"
    )
}

/// The visitor lines of the parameter layers of `entries`, a sequence in `scope` whose
/// tensor names start with `prefix`, into `visit` and `visit_mut`.
fn visits(
    entries: &[Entry],
    scope: &Scope,
    prefix: &str,
    visit: &mut Vec<TokenStream>,
    visit_mut: &mut Vec<TokenStream>,
) {
    let p = p();
    let path = &scope.path;
    for e in entries {
        let Some(f) = e.field else { continue };
        let k = format!("{prefix}{}", e.key);
        if let Module::Block { index, body, shortcut } = &e.module {
            let bs = scope.block(*index, f);
            visits(body, &bs.branch("body"), &format!("{k}.body."), visit, visit_mut);
            if let Some(shortcut) = shortcut {
                visits(shortcut, &bs.branch("shortcut"), &format!("{k}.shortcut."), visit, visit_mut);
            }
            continue;
        }
        match e.visit {
            Visit::Layer => {
                visit.push(quote!(#p::LayerTensors::visit_layer(&self #path.#f, #k, f);));
                visit_mut.push(quote!(#p::LayerTensors::visit_layer_mut(&mut self #path.#f, #k, f);));
            }
            Visit::ChannelAffine => {
                visit.push(quote!(#p::visit_channel_affine(&self #path.#f, #k, f);));
                visit_mut.push(quote!(#p::visit_channel_affine_mut(&mut self #path.#f, #k, f);));
            }
            Visit::Shaped(dims) => {
                let dims = match dims {
                    Some([c, h, w]) => quote!(::core::option::Option::Some([#c, #h, #w])),
                    None => quote!(::core::option::Option::None),
                };
                visit.push(quote!(self #path.#f.visit_layer_shaped(#k, #dims, f);));
                visit_mut.push(quote!(self #path.#f.visit_layer_shaped_mut(#k, #dims, f);));
            }
        }
    }
}

/// The `StateDict` impl of one type: one visitor line per parameter layer.
fn state_dict(ty: &Ident, t: &Ident, entries: &[Entry], scope: &Scope) -> TokenStream {
    let p = p();
    let (mut visit, mut visit_mut) = (Vec::new(), Vec::new());
    visits(entries, scope, "", &mut visit, &mut visit_mut);
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
    let (train, fold) = (training_entries(&m.layers), folded_entries(plan));
    let scope = Scope::top(name);
    let (train_sd, fold_sd) = (state_dict(name, t, &train, &scope), state_dict(folded, t, &fold, &scope));
    let impls = quote! {
        #cfgs
        #train_sd
        #cfgs
        #fold_sd
    };
    (impls, [doc(&train, t), doc(&fold, t)])
}
