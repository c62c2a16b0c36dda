//! The tensors of a `state_dict` as the model lends them out: [`TensorName`] (`{layer}.{tensor}`),
//! [`TensorShape`], and the borrowed views [`TensorRef`] and [`TensorMut`] that a
//! [`StateDict`](super::StateDict) visitor passes for each tensor. No allocation.

use core::fmt;

/// A tensor's name in a `state_dict`, `{layer}.{tensor}` (`0.weight`, `fc1.bias`); its
/// `Display` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorName<'a> {
    /// The layer's key: its index in the equivalent `nn.Sequential`, or its name.
    pub layer: &'a str,
    /// The tensor of the layer: `weight`, `bias`, `running_mean`, `running_var` or
    /// `num_batches_tracked`.
    pub tensor: &'static str,
}

impl TensorName<'_> {
    /// Whether `name` is this name (`{layer}.{tensor}`), without allocating.
    pub fn is(&self, name: &str) -> bool {
        name.strip_prefix(self.layer).and_then(|rest| rest.strip_prefix('.')) == Some(self.tensor)
    }
}

impl fmt::Display for TensorName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.layer, self.tensor)
    }
}

/// A tensor's shape in a `state_dict`: `[]`, `[n]`, `[rows, cols]`, `[c, h, w]` or
/// `[out, in, height, width]`. `Debug` shows it as a list, `[100, 784]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TensorShape {
    dims: [usize; 4],
    rank: usize,
}

impl TensorShape {
    const SCALAR: Self = TensorShape { dims: [0; 4], rank: 0 };
    fn vector(n: usize) -> Self {
        TensorShape { dims: [n, 0, 0, 0], rank: 1 }
    }
    fn matrix(rows: usize, cols: usize) -> Self {
        TensorShape { dims: [rows, cols, 0, 0], rank: 2 }
    }
    fn three([d0, d1, d2]: [usize; 3]) -> Self {
        TensorShape { dims: [d0, d1, d2, 0], rank: 3 }
    }
    fn four(dims: [usize; 4]) -> Self {
        TensorShape { dims, rank: 4 }
    }

    /// The dimensions, outermost first.
    pub fn as_slice(&self) -> &[usize] {
        &self.dims[..self.rank]
    }

    /// The number of elements (1 for `[]`).
    pub fn len(&self) -> usize {
        self.as_slice().iter().product()
    }

    /// Whether the tensor has no element (a dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for TensorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// One tensor of a model's `state_dict`, borrowed from the model: what [`StateDict::visit`](crate::StateDict::visit)
/// passes for each tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TensorRef<'a, T> {
    /// Shape `[len]`: a bias, BN's γ, β and population statistics, an affine layer's shift.
    Vector(&'a [T]),
    /// Shape `[rows, cols]`, row-major (`data.len() == rows * cols`): a dense weight
    /// `[out, in]`.
    Matrix {
        /// The elements, row by row.
        data: &'a [T],
        /// The number of rows (`out`).
        rows: usize,
        /// The number of columns (`in`).
        cols: usize,
    },
    /// Shape `[len, len]`: the vector is the diagonal, every other element is zero (an affine
    /// layer's scale, saved as the weight of a diagonal `Linear`).
    Diagonal(&'a [T]),
    /// Shape `[d0, d1, d2]`, row-major (`data.len()` is their product): a layer
    /// normalization's γ and β over an image, `[c, h, w]` (PyTorch's
    /// `nn.LayerNorm([C, H, W])`).
    Tensor3 {
        /// The elements, last dimension fastest.
        data: &'a [T],
        /// The dimensions, outermost first.
        dims: [usize; 3],
    },
    /// Shape `[d0, d1, d2, d3]`, row-major (`data.len()` is their product): a convolution's
    /// weight `[out, in, kh, kw]`.
    Tensor4 {
        /// The elements, last dimension fastest.
        data: &'a [T],
        /// The dimensions, outermost first.
        dims: [usize; 4],
    },
    /// Shape `[]`, dtype `I64` in a file: BN's `num_batches_tracked`.
    Count(u64),
}

/// One tensor of a model's `state_dict`, mutably borrowed: what [`StateDict::visit_mut`](crate::StateDict::visit_mut)
/// passes for each tensor (the same tensors, in the same order, as [`StateDict::visit`](crate::StateDict::visit)).
#[derive(Debug)]
pub enum TensorMut<'a, T> {
    /// See [`TensorRef::Vector`].
    Vector(&'a mut [T]),
    /// See [`TensorRef::Matrix`].
    Matrix {
        /// The elements, row by row.
        data: &'a mut [T],
        /// The number of rows.
        rows: usize,
        /// The number of columns.
        cols: usize,
    },
    /// See [`TensorRef::Diagonal`].
    Diagonal(&'a mut [T]),
    /// See [`TensorRef::Tensor3`].
    Tensor3 {
        /// The elements, last dimension fastest.
        data: &'a mut [T],
        /// The dimensions, outermost first.
        dims: [usize; 3],
    },
    /// See [`TensorRef::Tensor4`].
    Tensor4 {
        /// The elements, last dimension fastest.
        data: &'a mut [T],
        /// The dimensions, outermost first.
        dims: [usize; 4],
    },
    /// See [`TensorRef::Count`].
    Count(&'a mut u64),
}

impl<T> TensorRef<'_, T> {
    /// The tensor's shape: `[len]`, `[rows, cols]`, `[len, len]`, `[d0, d1, d2]`,
    /// `[d0, d1, d2, d3]` or `[]`.
    pub fn shape(&self) -> TensorShape {
        self.kind().shape()
    }

    #[cfg_attr(not(feature = "safetensors"), allow(dead_code))]
    pub(crate) fn kind(&self) -> Kind {
        match self {
            TensorRef::Vector(d) => Kind::Floats(TensorShape::vector(d.len())),
            TensorRef::Matrix { rows, cols, .. } => Kind::Floats(TensorShape::matrix(*rows, *cols)),
            TensorRef::Diagonal(d) => Kind::Diagonal(d.len()),
            TensorRef::Tensor3 { dims, .. } => Kind::Floats(TensorShape::three(*dims)),
            TensorRef::Tensor4 { dims, .. } => Kind::Floats(TensorShape::four(*dims)),
            TensorRef::Count(_) => Kind::Count,
        }
    }
}

impl<T> TensorMut<'_, T> {
    /// The tensor's shape, as [`TensorRef::shape`].
    pub fn shape(&self) -> TensorShape {
        self.kind().shape()
    }

    #[cfg_attr(not(feature = "safetensors"), allow(dead_code))]
    pub(crate) fn kind(&self) -> Kind {
        match self {
            TensorMut::Vector(d) => Kind::Floats(TensorShape::vector(d.len())),
            TensorMut::Matrix { rows, cols, .. } => Kind::Floats(TensorShape::matrix(*rows, *cols)),
            TensorMut::Diagonal(d) => Kind::Diagonal(d.len()),
            TensorMut::Tensor3 { dims, .. } => Kind::Floats(TensorShape::three(*dims)),
            TensorMut::Tensor4 { dims, .. } => Kind::Floats(TensorShape::four(*dims)),
            TensorMut::Count(_) => Kind::Count,
        }
    }
}

/// What a tensor is, without its data: its shape and how it is stored.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Floats(TensorShape),
    Diagonal(usize),
    Count,
}

impl Kind {
    pub(crate) fn shape(self) -> TensorShape {
        match self {
            Kind::Floats(s) => s,
            Kind::Diagonal(n) => TensorShape::matrix(n, n),
            Kind::Count => TensorShape::SCALAR,
        }
    }
}

#[cfg(test)]
mod visitor_tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn names_and_shapes_need_no_allocation() {
        let n = TensorName { layer: "fc1", tensor: "running_var" };
        assert_eq!(n.to_string(), "fc1.running_var");
        assert!(n.is("fc1.running_var"));
        for other in ["fc1.running_va", "fc1running_var", "fc1.running_var.", "fc.running_var", ""] {
            assert!(!n.is(other), "{other}");
        }
        let shapes = [
            TensorShape::SCALAR,
            TensorShape::vector(3),
            TensorShape::matrix(2, 5),
            TensorShape::three([2, 3, 4]),
            TensorShape::four([8, 1, 3, 3]),
        ];
        let shown: alloc::vec::Vec<_> = shapes.iter().map(|s| alloc::format!("{s:?} {}", s.len())).collect();
        assert_eq!(shown, ["[] 1", "[3] 3", "[2, 5] 10", "[2, 3, 4] 24", "[8, 1, 3, 3] 72"]);
        assert!(TensorShape::vector(0).is_empty());
    }
}
