//! Token helpers shared by every part of the expansion (and by the fallback): the path of
//! bn-core's re-exports, width types and literals, and the names of the generated items.
//! This module imports no expander.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{Attribute, Ident, Visibility};

use crate::model::Model;

/// The path of bn-core's re-exports for generated code.
pub(crate) fn p() -> TokenStream {
    quote!(::bn_core::__private)
}

/// The typenum type of a width: `U784` up to 1024 (typenum names those), the binary
/// `UInt<…, B1>` form beyond, so any width works.
pub(crate) fn width_ty(n: usize) -> TokenStream {
    let p = p();
    if n <= 1024 {
        let id = format_ident!("U{}", n);
        return quote!(#p::typenum::consts::#id);
    }
    let mut ty = quote!(#p::UTerm);
    for bit in (0..usize::BITS - n.leading_zeros()).rev() {
        let b = if (n >> bit) & 1 == 1 { quote!(#p::B1) } else { quote!(#p::B0) };
        ty = quote!(#p::UInt<#ty, #b>);
    }
    ty
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
}

impl Names {
    /// The names derived from the network's name, and the types of its widths.
    pub(crate) fn new(vis: &Visibility, cfgs: Cfgs, name: &Ident, scalar: &Ident, input: usize, output: usize) -> Self {
        Names {
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
        Names::new(&m.vis, Cfgs::of(&m.attrs), &m.name, &m.scalar, m.input, m.output())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_beyond_typenum_names_are_binary() {
        let t = width_ty(1025).to_string().replace(' ', "");
        // 1025 = 0b10000000001
        assert_eq!(t.matches("B1").count(), 2);
        assert_eq!(t.matches("B0").count(), 9);
        assert!(width_ty(784).to_string().contains("U784"));
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(12), "12");
    }
}
