//! Token helpers shared by every part of the expansion (and by the fallback): the path of
//! bn-core's re-exports, width types and literals, and the names of the generated items.
//! This module imports no expander.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use syn::{Attribute, Ident, Visibility};

use crate::model::{Kind, Layer, Model, Shape};

/// The path of bn-core's re-exports for generated code.
pub(crate) fn p() -> TokenStream {
    quote!(::bn_core::__private)
}

/// The typenum type of a width: `U784` up to 1024 (typenum names those); beyond,
/// `Sum<Prod<hi, U1024>, lo>` with `n = hi·1024 + lo` (recursively), which the compiler
/// evaluates to the same type as the binary `UInt<…>` form but whose spelling stays short:
/// the expansion does not grow with the widths or image sizes.
pub(crate) fn width_ty(n: usize) -> TokenStream {
    let p = p();
    if n <= 1024 {
        let id = format_ident!("U{}", n);
        return quote!(#p::typenum::consts::#id);
    }
    let (hi, lo) = (width_ty(n / 1024), format_ident!("U{}", n % 1024));
    quote!(#p::typenum::Sum<#p::typenum::Prod<#hi, #p::typenum::consts::U1024>, #p::typenum::consts::#lo>)
}

/// The geometry type of a conv layer for bn-core: `Conv2dShape<I, O, Co, P, Px, Cols, Padded,
/// C, H, W, KH, KW, SH, SW, PH, PW>` (sizes as typenum types, the window as constants).
pub(crate) fn conv_geometry(l: &Layer) -> TokenStream {
    let p = p();
    let (Kind::Conv2d { out_channels, kernel, stride, padding, .. }, Shape::Image { c, h, w }) = (&l.kind, l.input)
    else {
        unreachable!("a conv2d layer on an image (checked)")
    };
    let out = l.output();
    let (i, o, co) = (width_ty(l.input.len()), width_ty(out.len()), width_ty(*out_channels));
    let (patch, pixels) = (width_ty(c * kernel.0 * kernel.1), width_ty(out.pixels()));
    let (cols, padded) = conv_buffer_sizes(l);
    let (cols, padded) = (width_ty(cols), width_ty(padded));
    let [c, h, w, kh, kw, sh, sw, ph, pw] =
        [c, h, w, kernel.0, kernel.1, stride.0, stride.1, padding.0, padding.1].map(lit);
    quote!(#p::Conv2dShape<#i, #o, #co, #patch, #pixels, #cols, #padded, #c, #h, #w, #kh, #kw, #sh, #sw, #ph, #pw>)
}

/// A conv layer's `(Cols, Padded)` (see bn-core's `Conv2dGeometry`): with stride 1 no
/// column matrix, and a buffer for the padded image `C·(H + 2·PH)·(W + 2·PW)` or the padded
/// output gradient `C_out·(OH + 2·KH − 2)·(OW + 2·KW − 2)`, whichever is larger; otherwise
/// `OH·OW` columns and no padded buffer.
pub(crate) fn conv_buffer_sizes(l: &Layer) -> (usize, usize) {
    let (Kind::Conv2d { kernel, stride, padding, .. }, Shape::Image { c, h, w }) = (&l.kind, l.input) else {
        unreachable!("a conv2d layer on an image (checked)")
    };
    let out = l.output();
    let Shape::Image { c: co, h: oh, w: ow } = out else { unreachable!("a conv2d layer gives an image") };
    if *stride == (1, 1) {
        let image = c * (h + 2 * padding.0) * (w + 2 * padding.1);
        let gradient = co * (oh + 2 * kernel.0 - 2) * (ow + 2 * kernel.1 - 2);
        (0, image.max(gradient))
    } else {
        (out.pixels(), 0)
    }
}

/// The geometry type of a pooling layer for bn-core: `Pool2dShape<I, O, C, H, W, K, S>`.
pub(crate) fn pool_geometry(l: &Layer) -> TokenStream {
    let p = p();
    let (Kind::Pool { size, stride, .. }, Shape::Image { c, h, w }) = (&l.kind, l.input) else {
        unreachable!("a pool layer on an image (checked)")
    };
    let (i, o) = (width_ty(l.input.len()), width_ty(l.output().len()));
    let [c, h, w, k, s] = [c, h, w, *size, *stride].map(lit);
    quote!(#p::Pool2dShape<#i, #o, #c, #h, #w, #k, #s>)
}

/// The geometry types of a GroupNorm layer for bn-core: `(C, G, S)`, its channels, groups and
/// pixels per channel.
pub(crate) fn groupnorm_geometry(l: &Layer) -> (TokenStream, TokenStream, TokenStream) {
    let Kind::GroupNorm { groups, .. } = l.kind else { unreachable!("a groupnorm layer") };
    (width_ty(l.input.channels()), width_ty(groups), width_ty(l.input.pixels()))
}

/// The type of a global average pooling layer for bn-core: `GlobalAvgPool<C, S>`.
pub(crate) fn global_avgpool_ty(l: &Layer) -> TokenStream {
    let p = p();
    let (c, s) = (width_ty(l.input.channels()), width_ty(l.input.pixels()));
    quote!(#p::GlobalAvgPool<#c, #s>)
}

/// The typenum type of the pixels per channel of an image shape (for BN and affine layers
/// over channels), or `None` for features.
pub(crate) fn pixels_ty(shape: Shape) -> Option<TokenStream> {
    matches!(shape, Shape::Image { .. }).then(|| width_ty(shape.pixels()))
}

/// A width or count as an unsuffixed literal.
pub(crate) fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// The key of layer `index` of a sequence in the `state_dict` (its tensors are
/// `{key}.weight`, …): the user's name, or the index in the `nn.Sequential`.
pub(crate) fn state_dict_key(index: usize, layer: &Layer) -> String {
    if layer.named {
        layer.field.unraw().to_string()
    } else {
        index.to_string()
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The user's `#[cfg(...)]` attributes, which every generated item carries (so that a
/// disabled network generates nothing at all).
pub(crate) struct Cfgs(Vec<Attribute>);

impl Cfgs {
    /// The `#[cfg]`s among the user's attributes.
    pub(crate) fn of(attrs: &[Attribute]) -> Self {
        Cfgs(attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect())
    }
}

impl ToTokens for Cfgs {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.0 {
            attr.to_tokens(tokens);
        }
    }
}

/// The names of the generated items and the types that every part of the expansion (and
/// the fallback) uses.
pub(crate) struct Names {
    /// The network's visibility, given to every generated type and trait.
    pub(crate) vis: Visibility,
    /// The user's `#[cfg]`s.
    pub(crate) cfgs: Cfgs,
    /// The network type.
    pub(crate) name: Ident,
    /// The scalar type, `f32` or `f64`.
    pub(crate) scalar: Ident,
    /// `{Name}Grads`, the gradients type.
    pub(crate) grads: Ident,
    /// `{Name}Workspace`, the training workspace type.
    pub(crate) ws: Ident,
    /// `{Name}Folded`, the folded inference type.
    pub(crate) folded: Ident,
    /// `{Name}Quantized`, the int8 model.
    pub(crate) quantized: Ident,
    /// `{Name}Input`, the trait of one input sample.
    pub(crate) input_trait: Ident,
    /// `{Name}Batch`, the trait of a batch of inputs.
    pub(crate) batch_trait: Ident,
    /// The typenum type of the input width.
    pub(crate) in_ty: TokenStream,
    /// The typenum type of the output width.
    pub(crate) out_ty: TokenStream,
    /// The bound of a training batch size: `TrainBatch` (at least 2) with a BN, else
    /// `NonEmptyBatch`.
    pub(crate) train_batch: TokenStream,
}

impl Names {
    /// The names derived from the network's name, and the types of its widths.
    pub(crate) fn new(
        vis: &Visibility,
        cfgs: Cfgs,
        name: &Ident,
        scalar: &Ident,
        (input, output): (usize, usize),
        batchnorm: bool,
    ) -> Self {
        let p = p();
        Names {
            train_batch: if batchnorm { quote!(#p::TrainBatch) } else { quote!(#p::NonEmptyBatch) },
            vis: vis.clone(),
            cfgs,
            name: name.clone(),
            scalar: scalar.clone(),
            grads: format_ident!("{}Grads", name),
            ws: format_ident!("{}Workspace", name),
            folded: format_ident!("{}Folded", name),
            quantized: format_ident!("{}Quantized", name),
            input_trait: format_ident!("{}Input", name),
            batch_trait: format_ident!("{}Batch", name),
            in_ty: width_ty(input),
            out_ty: width_ty(output),
        }
    }

    /// The names of a validated network.
    pub(crate) fn of(m: &Model) -> Self {
        let widths = (m.input.len(), m.output().len());
        Names::new(&m.vis, Cfgs::of(&m.attrs), &m.name, &m.scalar, widths, m.has_batchnorm())
    }
}

/// Where a sequence of layers lives in the generated types: the network itself, or a branch
/// of a residual block at any depth. Each generator walks the sequences with it.
#[derive(Clone)]
pub(crate) struct Scope {
    /// The sequence's type: the network's name, or `{Block}Body` / `{Block}Shortcut`; its
    /// gradients, workspace and folded types add `Grads`, `Workspace` and `Folded`.
    pub(crate) ty: Ident,
    /// The fields from the network's types to the sequence's: empty, or `.residual3.body`.
    pub(crate) path: TokenStream,
    /// A prefix that keeps the local names of the generated functions apart: empty, or
    /// `r3b_` (block 3's body), `r3b_r1s_`, ….
    pub(crate) tag: String,
    /// The same path for people: empty, or `residual3.body.`.
    pub(crate) shown: String,
}

impl Scope {
    /// The network's own layers.
    pub(crate) fn top(name: &Ident) -> Self {
        Scope { ty: name.clone(), path: TokenStream::new(), tag: String::new(), shown: String::new() }
    }

    /// The residual block at index `index` (field `field`) of this sequence: its type is
    /// `{ty}Residual{index}` (whatever its field's name), its fields `body` and `shortcut`.
    pub(crate) fn block(&self, index: usize, field: &Ident) -> Self {
        let path = &self.path;
        Scope {
            ty: format_ident!("{}Residual{}", self.ty, index),
            path: quote!(#path.#field),
            tag: format!("{}r{index}", self.tag),
            shown: format!("{}{}.", self.shown, field.unraw()),
        }
    }

    /// The branch `name` (`body` or `shortcut`) of this block.
    pub(crate) fn branch(&self, name: &str) -> Self {
        let (path, field) = (&self.path, format_ident!("{}", name));
        let camel = if name == "body" { "Body" } else { "Shortcut" };
        Scope {
            ty: format_ident!("{}{}", self.ty, camel),
            path: quote!(#path.#field),
            tag: format!("{}{}_", self.tag, &name[..1]),
            shown: format!("{}{name}.", self.shown),
        }
    }

    /// The type of `part` of this sequence or block.
    pub(crate) fn part(&self, part: Part) -> Ident {
        format_ident!("{}{}", self.ty, part.suffix())
    }

    /// A local name: `{tag}{base}{index}` (`h3`, `r3b_h1`).
    pub(crate) fn local(&self, base: &str, index: usize) -> Ident {
        format_ident!("{}{}{}", self.tag, base, index)
    }
}

/// The four types of a network, of a block and of a branch.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Part {
    /// The parameters and population statistics.
    Net,
    /// The gradients (and SGD's momentum state).
    Grads,
    /// The training workspace at batch size `B`.
    Workspace,
    /// The folded inference model.
    Folded,
}

impl Part {
    /// The suffix of the type's name.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Part::Net => "",
            Part::Grads => "Grads",
            Part::Workspace => "Workspace",
            Part::Folded => "Folded",
        }
    }
}

/// A type of a block or branch (`part`), named `name`, with its `Zeroable` impl: the same
/// representation and derives as the network's type of that part (see `expand::types`),
/// except that a folded part is only `#[repr(C)]` scalars with no alignment of its own, so
/// that the folded model has no padding.
pub(crate) fn nested_struct(n: &Names, part: Part, name: &Ident, doc: &str, fields: &[TokenStream]) -> TokenStream {
    let p = p();
    let Names { vis, cfgs, .. } = n;
    let (attrs, generics, impl_generics) = match part {
        Part::Net => (
            quote!(#[repr(C, align(64))] #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]),
            quote!(),
            quote!(),
        ),
        Part::Grads => (quote!(#[repr(C, align(64))] #[derive(::core::clone::Clone)]), quote!(), quote!()),
        Part::Workspace => (quote!(#[repr(C, align(64))]), quote!(<B>), quote!(<B: #p::ArrayLength>)),
        Part::Folded => (
            quote!(#[repr(C)] #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]),
            quote!(),
            quote!(),
        ),
    };
    quote! {
        #cfgs
        #[doc = #doc]
        #attrs
        #vis struct #name #impl_generics {
            #(#fields)*
        }
        #cfgs
        // SAFETY: every field is one of bn-core's `Zeroable` types (asserted by the network's
        // `_check`) or another generated type of the network, itself `Zeroable` by this rule.
        unsafe impl #impl_generics #p::Zeroable for #name #generics {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_beyond_typenum_names_are_sums_of_products() {
        let short = |n: usize| width_ty(n).to_string().replace(' ', "").replace("::bn_core::__private::typenum::", "");
        assert_eq!(short(784), "consts::U784");
        assert_eq!(short(1025), "Sum<Prod<consts::U1,consts::U1024>,consts::U1>");
        // 5,000,000 = (4·1024 + 786)·1024 + 832.
        assert_eq!(
            short(5_000_000),
            "Sum<Prod<Sum<Prod<consts::U4,consts::U1024>,consts::U786>,consts::U1024>,consts::U832>"
        );
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(12), "12");
    }
}
