//! Models as named tensors: [`StateDict`], a visitor over the tensors of PyTorch's
//! `state_dict` (always available, no allocation), and, with the feature `safetensors`,
//! weights files in the [safetensors](https://huggingface.co/docs/safetensors) format with
//! those names. The naming scheme and the loading rules are documented on [`StateDict`].

use generic_array::ArrayLength;
use typenum::Unsigned;

use super::plain::PlainScalar;
use super::tensor::{TensorMut, TensorName, TensorRef};
use crate::float::Float;
use crate::layers::{Affine, BatchNorm, Conv2d, Conv2dGeometry, Dense, GroupNorm, LayerNorm};
use crate::shape::{flat, flat_mut};

/// A model whose parameters and statistics are a PyTorch-style `state_dict`: named tensors,
/// visited in order, saved and loaded as safetensors files.
///
/// Implemented by the types that `network!` generates, the training type and the folded
/// type, which also have `save_safetensors`, `load_safetensors_into` and `load_safetensors`
/// (a new boxed model, built on the heap) as inherent methods (no import needed).
///
/// # Tensor names
///
/// A network is saved as the `state_dict` of the equivalent `torch.nn.Sequential`, in which
/// every layer of the `network!` list, activations included, takes the next index:
///
/// | layer (index `i`) | tensors |
/// |---|---|
/// | `dense` | `{i}.weight` `[out, in]`, and `{i}.bias` `[out]` only when the layer has a bias |
/// | `conv2d` | `{i}.weight` `[out, in, kh, kw]`, and `{i}.bias` `[out]` only when the layer has a bias |
/// | `batchnorm` | `{i}.weight` (γ), `{i}.bias` (β), `{i}.running_mean`, `{i}.running_var` `[n]`, `{i}.num_batches_tracked` (`I64`, shape `[]`); BatchNorm1d or, after an image, BatchNorm2d (`n` channels) |
/// | `batchnorm(affine = false)` | as `batchnorm` without `weight` and `bias`; a `renorm` BN saves its moving σ as `running_var = σ² − ε` |
/// | `layernorm` | `{i}.weight` (γ), `{i}.bias` (β), shape `[n]`, or `[c, h, w]` after an image (`nn.LayerNorm([c, h, w])`); none with `affine = false` |
/// | `groupnorm(g)` | `{i}.weight` (γ), `{i}.bias` (β), shape `[c]` (`nn.GroupNorm(g, c)`); none with `affine = false` |
/// | `sigmoid`, `relu`, `tanh`, `maxpool`, `avgpool`, `global_avgpool`, `flatten`, `dropout` | none (the index is used up) |
///
/// A layer named in the macro (`fc1: dense(100)`) uses its name instead of its index
/// (`fc1.weight`), as a PyTorch module with that named child does (an `nn.Sequential` built
/// from an `OrderedDict`). Floats are saved in the network's scalar type (`F32` or `F64`).
///
/// A BN's ε and momentum are not part of a `state_dict` (PyTorch keeps them in the module's
/// constructor): loading keeps the model's own, that is, the ones declared in `network!`.
///
/// The folded type is saved as the equivalent BN-free `nn.Sequential`: its layers are the
/// folded plan's (`Linear`s, `Conv2d`s, activations, pools, `Flatten`), renumbered from 0,
/// each `Linear` with a `{i}.weight` `[out, in]` and a `{i}.bias` `[out]`, each `Conv2d` with
/// a `{i}.weight` `[out, in, kh, kw]` and a `{i}.bias` `[out]`. A BN that could not be folded
/// into a linear layer is an affine layer `y = a ⊙ x + b`: over features it is saved as a
/// diagonal `Linear(n, n)` (`{i}.weight` is `diag(a)`, `{i}.bias` is `b`; loading rejects a
/// weight with a nonzero entry off the diagonal,
/// [`LoadError::InvalidValue`](crate::LoadError::InvalidValue)); over the channels of an
/// image as a depthwise `Conv2d(c, c, 1, groups=c)` (`{i}.weight` `[c, 1, 1, 1]` holds `a`).
/// A folded layer whose source layer is named keeps the name. So a folded model loads into
/// PyTorch as a plain, BN-free network.
///
/// # Loading
///
/// Loading accepts `F32` and `F64` floats (converted to the model's scalar, rounding to
/// nearest) and an `I64` or `I32` `num_batches_tracked`; any other dtype is
/// [`LoadError::WrongDtype`](crate::LoadError::WrongDtype). The file must hold exactly the model's tensors with exactly
/// their shapes: every mismatch is a [`LoadError`](crate::LoadError) that names the tensor and says what was
/// expected and what was found. The one exception is a BN's `num_batches_tracked`: a file
/// without it loads with the counter at 0, as PyTorch loads a `state_dict` written before
/// the counter existed (with `momentum = cumulative`, the next batch then replaces the
/// population statistics). Every other missing tensor is
/// [`LoadError::MissingTensor`](crate::LoadError::MissingTensor). Every tensor is checked before the first value is written,
/// so a failed load leaves the model unchanged. No input makes the loader panic: every size
/// and offset of the header is checked (with overflow checks) before use.
///
/// ```
/// bn_core::network! {
///     pub struct Net { input: 3, fc1: dense(4), batchnorm, relu, dense(2) }
/// }
/// let net = Net::new(1);
///
/// // The names of `nn.Sequential(OrderedDict(fc1=Linear(3, 4, bias=False), 1=BatchNorm1d(4),
/// // 2=ReLU(), 3=Linear(4, 2)))`:
/// use bn_core::StateDict;
/// let mut names = Vec::new();
/// net.visit(&mut |name, t| names.push(format!("{name} {:?}", t.shape())));
/// assert_eq!(names, [
///     "fc1.weight [4, 3]", "1.weight [4]", "1.bias [4]", "1.running_mean [4]",
///     "1.running_var [4]", "1.num_batches_tracked []", "3.weight [2, 4]", "3.bias [2]",
/// ]);
/// # #[cfg(feature = "safetensors")] {
///
/// // Feature `safetensors`: files.
/// let bytes = net.save_safetensors();
/// let back = Net::load_safetensors(&bytes).unwrap();
/// assert_eq!(*back, net);
///
/// // A file from another network is an error that names the tensor.
/// bn_core::network! { pub struct Other { input: 3, dense(5), batchnorm, relu, dense(2) } }
/// let err = Net::load_safetensors(&Other::new(1).save_safetensors()).unwrap_err();
/// assert_eq!(err.to_string(), "missing tensor `fc1.weight`");
/// # }
/// ```
pub trait StateDict {
    /// The scalar type of the floats (`f32` or `f64`); files are written in it.
    type Scalar: PlainScalar;

    /// Calls `f` with every tensor's name and data, in `state_dict` order.
    fn visit(&self, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, Self::Scalar>));

    /// Calls `f` with every tensor's name and mutable data: the same tensors, in the same
    /// order, as [`visit`](Self::visit).
    fn visit_mut(&mut self, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, Self::Scalar>));

    /// Whether every float of every tensor is finite (no NaN, no ±∞): a diverged training
    /// run (a step that blew up the parameters or the population statistics) is `false`.
    /// One pass over the tensors that [`visit`](Self::visit) lends, no allocation; the batch
    /// counts (`num_batches_tracked`) are integers and always finite.
    ///
    /// ```
    /// bn_core::network! { pub struct Net { input: 3, dense(4), batchnorm, relu, dense(2) } }
    /// use bn_core::StateDict;
    /// let mut net = Net::new(1);
    /// assert!(net.is_finite());
    /// net.batchnorm1.running_var[2] = f32::NAN;
    /// assert!(!net.is_finite());
    /// ```
    fn is_finite(&self) -> bool {
        let mut finite = true;
        self.visit(&mut |_, t| {
            finite &= match t {
                TensorRef::Vector(d)
                | TensorRef::Diagonal(d)
                | TensorRef::Matrix { data: d, .. }
                | TensorRef::Tensor3 { data: d, .. }
                | TensorRef::Tensor4 { data: d, .. } => d.iter().all(|x| x.is_finite()),
                TensorRef::Count(_) => true,
            };
        });
        finite
    }

    /// The model as a safetensors file (floats in [`Scalar`](Self::Scalar), little-endian,
    /// as PyTorch's `safetensors.torch.save_file` writes them).
    #[cfg(feature = "safetensors")]
    fn save_safetensors(&self) -> alloc::vec::Vec<u8> {
        super::safetensors::save(|f| self.visit(f))
    }

    /// Overwrites the model's tensors with those of the safetensors file `bytes` (any
    /// alignment). Everything is checked before anything is written: on error, the model is
    /// unchanged. A BN's ε and momentum are kept (they are not in a `state_dict`).
    ///
    /// # Errors
    /// A [`LoadError`](crate::LoadError) naming the tensor and what was expected and found:
    /// not a safetensors file, truncated, missing (a BN's `num_batches_tracked` may be missing:
    /// it loads as 0) or unexpected tensor, wrong shape, wrong
    /// dtype (floats must be `F32` or `F64`, `num_batches_tracked` `I64` or `I32`), or an
    /// invalid value.
    #[cfg(feature = "safetensors")]
    fn load_safetensors_into(&mut self, bytes: &[u8]) -> Result<(), super::error::LoadError> {
        super::safetensors::load_into(self, bytes, Self::visit, Self::visit_mut)
    }
}

/// The tensors of one layer, under the layer's key (its index or name). For the code that
/// `network!` generates: one call per layer.
#[doc(hidden)]
pub trait LayerTensors<T> {
    /// Calls `f` with each of the layer's tensors, named `{layer}.{tensor}`.
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>));
    /// The mutable twin of `visit_layer`: the same tensors in the same order.
    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>));
}

fn name<'a>(layer: &'a str, tensor: &'static str) -> TensorName<'a> {
    TensorName { layer, tensor }
}

/// PyTorch's `nn.Linear`: `weight` `[out, in]`, and `bias` `[out]` with a bias.
impl<I: ArrayLength, O: ArrayLength, T: Float, const BIAS: bool> LayerTensors<T> for Dense<I, O, T, BIAS> {
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)) {
        f(name(layer, "weight"), TensorRef::Matrix { data: flat(&self.weight), rows: O::USIZE, cols: I::USIZE });
        if BIAS {
            f(name(layer, "bias"), TensorRef::Vector(&self.bias));
        }
    }

    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)) {
        let weight = TensorMut::Matrix { data: flat_mut(&mut self.weight), rows: O::USIZE, cols: I::USIZE };
        f(name(layer, "weight"), weight);
        if BIAS {
            f(name(layer, "bias"), TensorMut::Vector(&mut self.bias));
        }
    }
}

/// PyTorch's `nn.BatchNorm1d`: `weight` (γ), `bias` (β), `running_mean`, `running_var`,
/// `num_batches_tracked`; without [`affine`](BatchNorm::affine), no `weight` and `bias`.
impl<N: ArrayLength, T: Float> LayerTensors<T> for BatchNorm<N, T> {
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)) {
        if self.affine {
            f(name(layer, "weight"), TensorRef::Vector(&self.gamma));
            f(name(layer, "bias"), TensorRef::Vector(&self.beta));
        }
        f(name(layer, "running_mean"), TensorRef::Vector(&self.running_mean));
        f(name(layer, "running_var"), TensorRef::Vector(&self.running_var));
        f(name(layer, "num_batches_tracked"), TensorRef::Count(self.num_batches_tracked));
    }

    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)) {
        if self.affine {
            f(name(layer, "weight"), TensorMut::Vector(&mut self.gamma));
            f(name(layer, "bias"), TensorMut::Vector(&mut self.beta));
        }
        f(name(layer, "running_mean"), TensorMut::Vector(&mut self.running_mean));
        f(name(layer, "running_var"), TensorMut::Vector(&mut self.running_var));
        f(name(layer, "num_batches_tracked"), TensorMut::Count(&mut self.num_batches_tracked));
    }
}

/// PyTorch's `nn.LayerNorm(N)`: `weight` (γ) and `bias` (β) `[N]` with `AFFINE`, nothing
/// without (`elementwise_affine=False`). For the shape `[C, H, W]` of
/// `nn.LayerNorm([C, H, W])`, see [`LayerNorm::visit_layer_shaped`].
impl<N: ArrayLength, T: Float, const AFFINE: bool> LayerTensors<T> for LayerNorm<N, T, AFFINE> {
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)) {
        self.visit_layer_shaped(layer, None, f);
    }

    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)) {
        self.visit_layer_shaped_mut(layer, None, f);
    }
}

impl<N: ArrayLength, T: Float, const AFFINE: bool> LayerNorm<N, T, AFFINE> {
    /// Calls `f` with the layer's tensors as PyTorch's `nn.LayerNorm` names them: with
    /// `AFFINE`, `{layer}.weight` (γ) and `{layer}.bias` (β), of shape `[N]` for `dims =
    /// None` (`nn.LayerNorm(N)`, over features) or `[c, h, w]` for `Some([c, h, w])`
    /// (`nn.LayerNorm([C, H, W])`, over an image stored flat in C, H, W order); without
    /// `AFFINE`, nothing. What the code that `network!` generates calls.
    ///
    /// ```
    /// use bn_core::{LayerNorm, typenum::U12};
    /// let ln = LayerNorm::<U12>::new();
    /// let mut seen = Vec::new();
    /// ln.visit_layer_shaped("3", Some([3, 2, 2]), &mut |name, t| seen.push(format!("{name} {:?}", t.shape())));
    /// assert_eq!(seen, ["3.weight [3, 2, 2]", "3.bias [3, 2, 2]"]);
    /// ```
    ///
    /// # Panics
    /// If `c·h·w ≠ N`.
    pub fn visit_layer_shaped(
        &self,
        layer: &str,
        dims: Option<[usize; 3]>,
        f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>),
    ) {
        if !AFFINE {
            return;
        }
        let dims = layer_norm_dims::<N>(dims);
        let tensor = |data| match dims {
            Some(dims) => TensorRef::Tensor3 { data, dims },
            None => TensorRef::Vector(data),
        };
        f(name(layer, "weight"), tensor(&self.gamma));
        f(name(layer, "bias"), tensor(&self.beta));
    }

    /// The mutable twin of [`visit_layer_shaped`](Self::visit_layer_shaped): the same
    /// tensors, in the same order.
    ///
    /// # Panics
    /// If `c·h·w ≠ N`.
    pub fn visit_layer_shaped_mut(
        &mut self,
        layer: &str,
        dims: Option<[usize; 3]>,
        f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>),
    ) {
        if !AFFINE {
            return;
        }
        let dims = layer_norm_dims::<N>(dims);
        let tensor = |data| match dims {
            Some(dims) => TensorMut::Tensor3 { data, dims },
            None => TensorMut::Vector(data),
        };
        f(name(layer, "weight"), tensor(&mut self.gamma));
        f(name(layer, "bias"), tensor(&mut self.beta));
    }
}

/// `dims`, checked to hold `N` values.
fn layer_norm_dims<N: ArrayLength>(dims: Option<[usize; 3]>) -> Option<[usize; 3]> {
    if let Some([c, h, w]) = dims {
        assert!(
            c.checked_mul(h).and_then(|ch| ch.checked_mul(w)) == Some(N::USIZE),
            "LayerNorm over {} values cannot have the shape [{c}, {h}, {w}]",
            N::USIZE
        );
    }
    dims
}

/// PyTorch's `nn.GroupNorm(G, C)`: `weight` (γ) and `bias` (β) `[C]` with `AFFINE`, nothing
/// without (`affine=False`).
impl<C: ArrayLength, G: ArrayLength, T: Float, const AFFINE: bool> LayerTensors<T> for GroupNorm<C, G, T, AFFINE> {
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)) {
        if AFFINE {
            f(name(layer, "weight"), TensorRef::Vector(&self.gamma));
            f(name(layer, "bias"), TensorRef::Vector(&self.beta));
        }
    }

    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)) {
        if AFFINE {
            f(name(layer, "weight"), TensorMut::Vector(&mut self.gamma));
            f(name(layer, "bias"), TensorMut::Vector(&mut self.beta));
        }
    }
}

/// A diagonal `nn.Linear(n, n)`: `weight` = `diag(scale)`, `bias` = `shift`.
impl<N: ArrayLength, T: Float> LayerTensors<T> for Affine<N, T> {
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)) {
        f(name(layer, "weight"), TensorRef::Diagonal(&self.scale));
        f(name(layer, "bias"), TensorRef::Vector(&self.shift));
    }

    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)) {
        f(name(layer, "weight"), TensorMut::Diagonal(&mut self.scale));
        f(name(layer, "bias"), TensorMut::Vector(&mut self.shift));
    }
}

/// PyTorch's `nn.Conv2d`: `weight` `[out, in, kh, kw]`, and `bias` `[out]` with a bias.
impl<G: Conv2dGeometry, T: Float, const BIAS: bool> LayerTensors<T> for Conv2d<G, T, BIAS> {
    fn visit_layer(&self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>)) {
        f(name(layer, "weight"), TensorRef::Tensor4 { data: flat(&self.weight), dims: conv_dims::<G>() });
        if BIAS {
            f(name(layer, "bias"), TensorRef::Vector(&self.bias));
        }
    }

    fn visit_layer_mut(&mut self, layer: &str, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>)) {
        f(name(layer, "weight"), TensorMut::Tensor4 { data: flat_mut(&mut self.weight), dims: conv_dims::<G>() });
        if BIAS {
            f(name(layer, "bias"), TensorMut::Vector(&mut self.bias));
        }
    }
}

/// `[C_out, C, KH, KW]`.
fn conv_dims<G: Conv2dGeometry>() -> [usize; 4] {
    [G::OutChannels::USIZE, G::IN_CHANNELS, G::KERNEL.0, G::KERNEL.1]
}

/// The tensors of an [`Affine`] map applied per channel of an image (an unfolded BN over
/// channels in a folded model), as PyTorch's depthwise `nn.Conv2d(C, C, 1, groups=C)`:
/// `weight` `[C, 1, 1, 1]` holds the scales, `bias` `[C]` the shifts. For the code that
/// `network!` generates.
#[doc(hidden)]
pub fn visit_channel_affine<N: ArrayLength, T: Float>(
    affine: &Affine<N, T>,
    layer: &str,
    f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, T>),
) {
    f(name(layer, "weight"), TensorRef::Tensor4 { data: &affine.scale, dims: [N::USIZE, 1, 1, 1] });
    f(name(layer, "bias"), TensorRef::Vector(&affine.shift));
}

/// The mutable twin of [`visit_channel_affine`].
#[doc(hidden)]
pub fn visit_channel_affine_mut<N: ArrayLength, T: Float>(
    affine: &mut Affine<N, T>,
    layer: &str,
    f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, T>),
) {
    f(name(layer, "weight"), TensorMut::Tensor4 { data: &mut affine.scale, dims: [N::USIZE, 1, 1, 1] });
    f(name(layer, "bias"), TensorMut::Vector(&mut affine.shift));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Zeroable;
    use typenum::{U2, U3};

    /// A dense layer (a `Matrix` and a `Vector`), a BN (vectors and a `Count`), a diagonal
    /// affine layer (`Diagonal`) and a per-channel one (`Tensor4`).
    struct Model {
        d: Dense<U3, U2, f32, true>,
        b: BatchNorm<U2, f32>,
        a: Affine<U2, f32>,
        c: Affine<U2, f32>,
    }
    impl StateDict for Model {
        type Scalar = f32;
        fn visit(&self, f: &mut dyn FnMut(TensorName<'_>, TensorRef<'_, f32>)) {
            self.d.visit_layer("0", f);
            self.b.visit_layer("1", f);
            self.a.visit_layer("2", f);
            visit_channel_affine(&self.c, "3", f);
        }
        fn visit_mut(&mut self, f: &mut dyn FnMut(TensorName<'_>, TensorMut<'_, f32>)) {
            self.d.visit_layer_mut("0", f);
            self.b.visit_layer_mut("1", f);
            self.a.visit_layer_mut("2", f);
            visit_channel_affine_mut(&mut self.c, "3", f);
        }
    }

    #[test]
    fn is_finite_sees_every_float_tensor() {
        let fresh = || Model { d: Dense::zeroed(), b: BatchNorm::new(), a: Affine::identity(), c: Affine::identity() };
        let mut m = fresh();
        m.b.num_batches_tracked = u64::MAX;
        assert!(m.is_finite());
        let edits: [fn(&mut Model, f32); 8] = [
            |m, v| m.d.weight[1][2] = v,
            |m, v| m.d.bias[0] = v,
            |m, v| m.b.gamma[1] = v,
            |m, v| m.b.beta[0] = v,
            |m, v| m.b.running_mean[1] = v,
            |m, v| m.b.running_var[0] = v,
            |m, v| m.a.scale[1] = v,
            |m, v| m.c.shift[1] = v,
        ];
        for (i, edit) in edits.iter().enumerate() {
            for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut m = fresh();
                edit(&mut m, v);
                assert!(!m.is_finite(), "edit {i} to {v}");
                edit(&mut m, f32::MAX);
                assert!(m.is_finite(), "edit {i} back to a finite value");
            }
        }
        let mut m = fresh();
        m.c.scale[0] = f32::NAN; // the per-channel affine layer's `Tensor4`
        assert!(!m.is_finite());
    }

    #[test]
    fn group_norm_has_pytorch_tensors_only_when_affine() {
        use crate::GroupNorm;
        use alloc::{format, string::String, vec::Vec};
        use typenum::U4;
        let mut gn = GroupNorm::<U4, U2, f32>::new();
        let mut seen = Vec::new();
        gn.visit_layer("5", &mut |name, t| seen.push(format!("{name} {:?}", t.shape())));
        assert_eq!(seen, ["5.weight [4]", "5.bias [4]"]);
        // The mutable twin: the same tensors in the same order, γ then β.
        let mut k = 0.0;
        gn.visit_layer_mut("5", &mut |_, t| {
            if let TensorMut::Vector(d) = t {
                d.iter_mut().for_each(|v| (*v, k) = (k, k + 1.0));
            }
        });
        assert_eq!((gn.gamma.as_slice(), gn.beta.as_slice()), (&[0.0, 1.0, 2.0, 3.0][..], &[4.0, 5.0, 6.0, 7.0][..]));
        let mut raw = GroupNorm::<U4, U2, f32, false>::new();
        let mut none = Vec::<String>::new();
        raw.visit_layer("5", &mut |name, _| none.push(format!("{name}")));
        raw.visit_layer_mut("5", &mut |name, _| none.push(format!("{name}")));
        assert!(none.is_empty(), "{none:?}");
    }
}
