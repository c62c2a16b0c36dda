//! Token helpers shared by every part of the expansion (and by the fallback): the path of
//! bn-core's re-exports, width types and literals, and the names of the generated items.
//! This module imports no expander.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, ToTokens};
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

/// The typenum type of the pixels per channel of an image shape (for BN and affine layers
/// over channels), or `None` for features.
pub(crate) fn pixels_ty(shape: Shape) -> Option<TokenStream> {
    matches!(shape, Shape::Image { .. }).then(|| width_ty(shape.pixels()))
}

/// A width or count as an unsuffixed literal.
pub(crate) fn lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
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
