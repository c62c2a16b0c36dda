//! The validated network: widths are known, options are in range, and every layer keeps
//! the user's tokens for spans. And, for an invocation with errors, its [`Outline`]: what
//! the checks could still establish.

use syn::{Attribute, Ident, Visibility};

pub struct Model {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: usize,
    /// `f32` or `f64`.
    pub scalar: Ident,
    pub layers: Vec<Layer>,
}

/// What the checks learned of an invocation that has errors: enough for the fallback to
/// declare the network's items, so that the code using it type-checks.
pub struct Outline {
    /// The user's attributes (the fallback keeps only the `#[cfg]`s).
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// `f32` or `f64` (`f32` when not given, or not valid).
    pub scalar: Ident,
    /// The input width, if it was given and valid.
    pub input: Option<usize>,
    /// The output width, if known: the width after the last layer, tracked through the
    /// layers (unknown after an error until a later `dense(N)`).
    pub output: Option<usize>,
}

pub struct Layer {
    /// The field name: the user's name, or `{kind}{index}` (0-based, like PyTorch's
    /// `nn.Sequential` indices).
    pub field: Ident,
    /// Whether the user named the layer (`fc1: dense(100)`): its weights file names then use
    /// the name as prefix (`fc1.weight`) instead of the layer's index (`0.weight`).
    pub named: bool,
    pub kind: Kind,
    /// Width of the layer's input.
    pub input: usize,
    /// How the layer is shown in summaries.
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Sigmoid,
    ReLU,
    Tanh,
}

impl Act {
    pub const ALL: [(&'static str, Act); 3] = [("sigmoid", Act::Sigmoid), ("relu", Act::ReLU), ("tanh", Act::Tanh)];
    pub fn type_name(self) -> &'static str {
        match self {
            Act::Sigmoid => "Sigmoid",
            Act::ReLU => "ReLU",
            Act::Tanh => "Tanh",
        }
    }
}

/// The ε of a `batchnorm` without `eps = …` (PyTorch's default).
pub const DEFAULT_EPS: f64 = 1e-5;
/// The momentum of a `batchnorm` without `momentum = …` (PyTorch's default).
pub const DEFAULT_MOMENTUM: f64 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Momentum {
    Exponential(f64),
    Cumulative,
}

pub enum Kind {
    Dense { output: usize, bias: bool },
    BatchNorm { eps: f64, momentum: Momentum },
    Activation(Act),
}

impl Layer {
    /// Width of the layer's output.
    pub fn output(&self) -> usize {
        match self.kind {
            Kind::Dense { output, .. } => output,
            _ => self.input,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Dense { .. } => "dense",
            Kind::BatchNorm { .. } => "batchnorm",
            Kind::Activation(a) => Act::ALL.iter().find(|(_, b)| b == a).map(|(n, _)| *n).unwrap_or("activation"),
        }
    }

    /// Parameters: `out·in (+ out)` for dense, `2·width` for batchnorm.
    pub fn params(&self) -> usize {
        match self.kind {
            Kind::Dense { output, bias } => output * self.input + if bias { output } else { 0 },
            Kind::BatchNorm { .. } => 2 * self.input,
            Kind::Activation(_) => 0,
        }
    }
}

impl Model {
    pub fn output(&self) -> usize {
        self.layers.last().map_or(self.input, Layer::output)
    }

    pub fn params(&self) -> usize {
        self.layers.iter().map(Layer::params).sum()
    }
}
