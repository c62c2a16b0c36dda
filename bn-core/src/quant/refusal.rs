//! The layer kinds that int8 inference does not compute, and the bound that refuses them.

/// The layer kinds that int8 inference does not compute: the `L` of [`Unquantizable`],
/// named in the compile error of `quantize` on a network that has one.
pub mod refused {
    /// A LayerNorm: it divides by the sample's own standard deviation, which has no fixed
    /// scale to quantize with.
    pub enum LayerNorm {}
    /// A GroupNorm: as a LayerNorm, per group.
    pub enum GroupNorm {}
    /// A residual block: the sum of two branches needs both rescaled to a common scale
    /// (TFLite's `ADD`), which the int8 models do not do yet.
    pub enum ResidualBlock {}
    /// An `f64` network: quantization starts from an `f32` one.
    pub enum F64Network {}
}

/// Implemented by nothing: the bound of the `quantize` that `network!` generates for a
/// network with a layer kind `L` (see [`refused`]), a compile error where it is called.
#[diagnostic::on_unimplemented(
    message = "this network cannot be quantized to int8: it has a layer that int8 inference does not compute ({L})",
    label = "`quantize` needs every layer to be dense, conv2d, batchnorm, relu, sigmoid, tanh, a pool, flatten or dropout",
    note = "int8 models compute dense and conv layers, folded BNs, ReLU, sigmoid and tanh (as tables), max and average pooling; LayerNorm, GroupNorm and residual blocks are refused, and so is a network with `scalar: f64` (quantize an `f32` one)"
)]
pub trait Unquantizable<L> {}
