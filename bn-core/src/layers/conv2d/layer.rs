//! The layer: its geometry as types, the forward and the backward.

use core::fmt;
use core::marker::PhantomData;

use generic_array::ArrayLength;
use typenum::Unsigned;

use crate::float::Float;
use crate::kernels::{self, zero, Direct, Window};
use crate::rng::{Init, Rng};
use crate::shape::{flat, flat_mut, Batch, Matrix, Vector};
use crate::train::{Optimizer, ParamKind, Parameters, StateMut};
use crate::zeroed::Zeroable;

/// The geometry of a 2-d convolution: the sizes of its arrays as types, and its window as
/// constants. Implemented by [`Conv2dShape`]; `network!` names one per conv layer.
pub trait Conv2dGeometry: 'static {
    /// One input sample, `C·H·W` values (C, H, W order).
    type Input: ArrayLength;
    /// One output sample, `C_out·OH·OW` values.
    type Output: ArrayLength;
    /// The output channels `C_out`.
    type OutChannels: ArrayLength;
    /// One output pixel's receptive field, `C·KH·KW`: a row of the weight matrix.
    type Patch: ArrayLength;
    /// The output pixels of one channel, `OH·OW`.
    type Pixels: ArrayLength;
    /// The columns of the column matrix: `OH·OW` with a stride other than 1, `0` with stride
    /// 1 (computed directly, without one).
    type Cols: ArrayLength;
    /// With stride 1, the larger of the padded image, `C·(H + 2·PH)·(W + 2·PW)`, and the
    /// padded output gradient, `C_out·(OH + 2·KH − 2)·(OW + 2·KW − 2)`; `0` otherwise.
    type Padded: ArrayLength;
    /// Input channels `C`.
    const IN_CHANNELS: usize;
    /// Input height `H`.
    const HEIGHT: usize;
    /// Input width `W`.
    const WIDTH: usize;
    /// `(KH, KW)`.
    const KERNEL: (usize, usize);
    /// `(SH, SW)`.
    const STRIDE: (usize, usize);
    /// `(PH, PW)`: zeros on each side.
    const PADDING: (usize, usize);
    /// `OH = ⌊(H + 2·PH − KH)/SH⌋ + 1`.
    const OUT_HEIGHT: usize;
    /// `OW = ⌊(W + 2·PW − KW)/SW⌋ + 1`.
    const OUT_WIDTH: usize;
}

/// The size types of a [`Conv2dShape`], as a `PhantomData` target (covariant, `Send`, `Sync`).
type Sizes<I, O, Co, P, Px, Cols, Padded> = fn() -> (I, O, Co, P, Px, Cols, Padded);

/// A [`Conv2dGeometry`] spelled out: the array sizes `I = C·H·W`, `O = C_out·OH·OW`,
/// `Co = C_out`, `P = C·KH·KW`, `Px = OH·OW`, `Cols` and `Padded` (see the trait) as typenum
/// types, and the window as constants. Every use checks at compile time that the sizes
/// agree with the window; `network!` writes them for you.
///
/// ```
/// use bn_core::typenum::{U0, U1, U2, U4, U8, U9, U16};
/// use bn_core::{Conv2dGeometry, Conv2dShape};
/// // 1×4×4 → 2×2×2: a 3×3 kernel, stride 2, padding 1 (columns: Cols = Px, Padded = 0).
/// type G = Conv2dShape<U16, U8, U2, U9, U4, U4, U0, 1, 4, 4, 3, 3, 2, 2, 1, 1>;
/// assert_eq!((G::OUT_HEIGHT, G::OUT_WIDTH), (2, 2));
/// ```
pub struct Conv2dShape<
    I,
    O,
    Co,
    P,
    Px,
    Cols,
    Padded,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PH: usize,
    const PW: usize,
>(PhantomData<Sizes<I, O, Co, P, Px, Cols, Padded>>);

impl<
        I: ArrayLength,
        O: ArrayLength,
        Co: ArrayLength,
        P: ArrayLength,
        Px: ArrayLength,
        Cols: ArrayLength,
        Padded: ArrayLength,
        const C: usize,
        const H: usize,
        const W: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PH: usize,
        const PW: usize,
    > Conv2dGeometry for Conv2dShape<I, O, Co, P, Px, Cols, Padded, C, H, W, KH, KW, SH, SW, PH, PW>
{
    type Input = I;
    type Output = O;
    type OutChannels = Co;
    type Patch = P;
    type Pixels = Px;
    type Cols = Cols;
    type Padded = Padded;
    const IN_CHANNELS: usize = C;
    const HEIGHT: usize = H;
    const WIDTH: usize = W;
    const KERNEL: (usize, usize) = (KH, KW);
    const STRIDE: (usize, usize) = (SH, SW);
    const PADDING: (usize, usize) = (PH, PW);
    const OUT_HEIGHT: usize = (H + 2 * PH - KH) / SH + 1;
    const OUT_WIDTH: usize = (W + 2 * PW - KW) / SW + 1;
}

/// The window of `G` for the kernels, after the compile-time check that `G`'s sizes agree.
#[inline(always)]
pub(crate) fn window<G: Conv2dGeometry>() -> Window {
    const {
        assert!(G::STRIDE.0 > 0 && G::STRIDE.1 > 0, "Conv2dShape: the stride must be positive");
        assert!(G::KERNEL.0 > 0 && G::KERNEL.1 > 0, "Conv2dShape: the kernel must not be empty");
        assert!(
            G::KERNEL.0 <= G::HEIGHT + 2 * G::PADDING.0 && G::KERNEL.1 <= G::WIDTH + 2 * G::PADDING.1,
            "Conv2dShape: the kernel does not fit the padded input"
        );
        assert!(G::Input::USIZE == G::IN_CHANNELS * G::HEIGHT * G::WIDTH, "Conv2dShape: I must be C·H·W");
        assert!(G::Patch::USIZE == G::IN_CHANNELS * G::KERNEL.0 * G::KERNEL.1, "Conv2dShape: P must be C·KH·KW");
        assert!(G::Pixels::USIZE == G::OUT_HEIGHT * G::OUT_WIDTH, "Conv2dShape: Px must be OH·OW");
        assert!(G::Output::USIZE == G::OutChannels::USIZE * G::Pixels::USIZE, "Conv2dShape: O must be C_out·OH·OW");
    };
    let g = Window {
        c: G::IN_CHANNELS,
        h: G::HEIGHT,
        w: G::WIDTH,
        kernel: G::KERNEL,
        stride: G::STRIDE,
        padding: G::PADDING,
        oh: G::OUT_HEIGHT,
        ow: G::OUT_WIDTH,
    };
    const {
        let direct = G::STRIDE.0 == 1 && G::STRIDE.1 == 1;
        let (kh, kw) = G::KERNEL;
        let image = G::IN_CHANNELS * (G::HEIGHT + 2 * G::PADDING.0) * (G::WIDTH + 2 * G::PADDING.1);
        let gradient = G::OutChannels::USIZE * (G::OUT_HEIGHT + 2 * kh - 2) * (G::OUT_WIDTH + 2 * kw - 2);
        let cols = if direct { 0 } else { G::OUT_HEIGHT * G::OUT_WIDTH };
        let padded = if !direct {
            0
        } else if image > gradient {
            image
        } else {
            gradient
        };
        assert!(G::Cols::USIZE == cols, "Conv2dShape: Cols must be 0 with stride 1, OH·OW otherwise");
        assert!(
            G::Padded::USIZE == padded,
            "Conv2dShape: Padded must be max(C·(H + 2·PH)·(W + 2·PW), C_out·(OH + 2·KH − 2)·(OW + 2·KW − 2)) with stride 1, 0 otherwise"
        );
    };
    g
}

/// A 2-d convolution with geometry `G` (PyTorch's `nn.Conv2d(C, C_out, (KH, KW), stride,
/// padding)`, zero padding):
///
/// ```text
/// y[o][i][j] = b[o] + Σ_{c,u,v} W[o][c][u][v] · x[c][i·SH + u − PH][j·SW + v − PW]
/// ```
///
/// `weight` is `[C_out][C·KH·KW]`, PyTorch's `[C_out, C, KH, KW]` flattened. With
/// `BIAS = false` the layer has no bias: a conv right before Batch Normalization needs none
/// (BN subtracts each channel's batch mean and β takes the bias's role).
///
/// Backward, over a batch: `dW[o][c][u][v] = Σ_{b,i,j} dY[o][i][j]·x[c][i·SH + u − PH][j·SW +
/// v − PW]`, `db[o] = Σ_{b,i,j} dY[o][i][j]`, and `dx` the transposed convolution of `dY`.
/// The buffers are the caller's ([`Conv2dBuffers`], [`Conv2dScratch`]): nothing allocates.
/// (LeCun, Bottou, Bengio & Haffner 1998, *Gradient-Based Learning Applied to Document
/// Recognition*, for convolutional networks. How the sums are computed, directly for
/// stride 1 and through `im2col` otherwise: `docs/kernels.md` in the repository.)
///
/// ```
/// use bn_core::typenum::{U0, U1, U16, U4, U9};
/// use bn_core::{Conv2d, Conv2dBuffers, Conv2dShape, generic_array::arr};
/// // 1×3×3 → 1×2×2, a 2×2 kernel, stride 1: no column matrix, and a padded buffer for the
/// // image (9 values) or the output gradient padded by 1 (4·4).
/// type G = Conv2dShape<U9, U4, U1, U4, U4, U0, U16, 1, 3, 3, 2, 2, 1, 1, 0, 0>;
/// let mut conv = Conv2d::<G>::default();
/// conv.weight = arr![arr![1.0, 0.0, 0.0, 1.0]]; // x[i][j] + x[i+1][j+1]
/// conv.bias = arr![0.5];
/// let x = arr![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut y, mut buffers) = (Default::default(), Conv2dBuffers::default());
/// conv.forward_one(&x, &mut y, &mut buffers);
/// assert_eq!(y, arr![6.5, 8.5, 12.5, 14.5]);
/// ```
#[repr(C)]
pub struct Conv2d<G: Conv2dGeometry, T: Float = f32, const BIAS: bool = true> {
    /// The weights, `[C_out][C·KH·KW]`.
    pub weight: Matrix<G::OutChannels, G::Patch, T>,
    /// The bias; always zero (and never updated) when `BIAS` is false.
    pub bias: Vector<G::OutChannels, T>,
}

/// The buffers of one convolution's forward: with stride 1 the padded image (the backward
/// reuses it for the padded output gradient), otherwise the column matrix (see
/// [`Conv2dGeometry`]). For a one-sample forward on the stack, and inside a
/// [`Conv2dScratch`].
#[repr(C)]
pub struct Conv2dBuffers<G: Conv2dGeometry, T: Float = f32> {
    /// The column matrix of the current sample, `C·KH·KW × Cols` (empty with stride 1).
    pub col: Matrix<G::Patch, G::Cols, T>,
    /// The zero-padded image or output gradient (empty with another stride than 1).
    pub padded: Vector<G::Padded, T>,
}

/// The buffers of one convolution's training step: the forward's, the column gradient
/// (another stride than 1), and a weight-sized matrix: one sample's weight gradient, or
/// with stride 1 the flipped weights of the input gradient (one per conv layer in a
/// training workspace).
#[repr(C)]
pub struct Conv2dScratch<G: Conv2dGeometry, T: Float = f32> {
    /// The forward's buffers.
    pub forward: Conv2dBuffers<G, T>,
    /// `Wᵀ·dY` of the current sample (empty with stride 1).
    pub dcol: Matrix<G::Patch, G::Cols, T>,
    /// `dY·Xᵀ` of the current sample, or (stride 1) the flipped weights.
    pub dweight: Matrix<G::OutChannels, G::Patch, T>,
}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Conv2d<G, T, BIAS> {
    /// Number of trainable scalars (`C_out·C·KH·KW`, plus `C_out` with a bias).
    pub const PARAMS: usize = G::OutChannels::USIZE * G::Patch::USIZE + if BIAS { G::OutChannels::USIZE } else { 0 };

    /// A layer initialized with `init` (bias zero), on the stack.
    pub fn new(init: Init, rng: &mut Rng) -> Self {
        let mut c = Self::zeroed();
        c.init(init, rng);
        c
    }

    /// Draws the weights from `init` with `fan_in = C·KH·KW` and `fan_out = C_out·KH·KW`
    /// (PyTorch's fans for a convolution) and zeroes the bias, in place.
    pub fn init(&mut self, init: Init, rng: &mut Rng) {
        let area = G::KERNEL.0 * G::KERNEL.1;
        init.fill(flat_mut(&mut self.weight), G::Patch::USIZE, G::OutChannels::USIZE * area, rng);
        zero(&mut self.bias);
    }

    /// The bias, if this layer has one.
    pub fn bias(&self) -> Option<&Vector<G::OutChannels, T>> {
        if BIAS {
            Some(&self.bias)
        } else {
            None
        }
    }

    /// The forward of one sample, through `buffers`.
    #[inline]
    pub fn forward_one(
        &self,
        x: &Vector<G::Input, T>,
        y: &mut Vector<G::Output, T>,
        buffers: &mut Conv2dBuffers<G, T>,
    ) {
        let g = window::<G>();
        let w = flat(&self.weight);
        let Conv2dBuffers { col, padded } = buffers;
        if g.direct() {
            let d = Direct::forward(&g, G::OutChannels::USIZE);
            let xp = pad(&g, &d, x, padded);
            kernels::conv_sum(&d, w, xp, BIAS.then_some(&self.bias[..]), y);
        } else {
            kernels::im2col(&g, x, flat_mut(col));
            kernels::gemm_nn::<T, G::OutChannels, G::Patch, G::Cols>(w, flat(col), y);
            if BIAS {
                self.add_bias(y);
            }
        }
    }

    /// Adds `b[o]` to every pixel of channel `o`.
    #[inline(always)]
    fn add_bias(&self, y: &mut [T]) {
        let pixels = G::Pixels::USIZE;
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                for (row, &b) in y.chunks_exact_mut(pixels).zip(self.bias.iter()) {
                    row.iter_mut().for_each(|v| *v += b);
                }
            },
        )
    }

    /// The forward of every sample of a batch (`buffers` as in
    /// [`forward_one`](Self::forward_one)).
    #[inline]
    pub fn forward<B: ArrayLength>(
        &self,
        x: &Batch<B, G::Input, T>,
        y: &mut Batch<B, G::Output, T>,
        buffers: &mut Conv2dBuffers<G, T>,
    ) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_one(xb, yb, buffers);
        }
    }

    /// Backward for a batch: writes `dW` and `db` into `grads` (overwriting them) and, when
    /// asked, `dX` (the first layer of a network does not need it).
    #[inline]
    pub fn backward<B: ArrayLength>(
        &self,
        x: &Batch<B, G::Input, T>,
        dy: &Batch<B, G::Output, T>,
        mut dx: Option<&mut Batch<B, G::Input, T>>,
        grads: &mut Self,
        scratch: &mut Conv2dScratch<G, T>,
    ) {
        self.backward_begin(grads, scratch, dx.is_some());
        for (b, (xb, dyb)) in x.iter().zip(dy.iter()).enumerate() {
            self.backward_one(xb, dyb, dx.as_deref_mut().map(|dx| &mut dx[b]), grads, scratch);
        }
    }

    /// Before the samples of a backward: `grads` zeroed and, with stride 1 when `dx` is
    /// wanted, the flipped weights into `scratch.dweight`.
    #[inline]
    pub(crate) fn backward_begin(&self, grads: &mut Self, scratch: &mut Conv2dScratch<G, T>, dx: bool) {
        let g = window::<G>();
        zero(flat_mut(&mut grads.weight));
        zero(&mut grads.bias);
        if g.direct() && dx {
            let co = G::OutChannels::USIZE;
            kernels::flip(flat(&self.weight), (co, g.c, g.kernel.0, g.kernel.1), flat_mut(&mut scratch.dweight));
        }
    }

    /// One sample of the backward (after [`backward_begin`](Self::backward_begin)): its
    /// terms of `dW` and `db` added to `grads`, and its `dx`.
    #[inline]
    pub(crate) fn backward_one(
        &self,
        xb: &Vector<G::Input, T>,
        dyb: &Vector<G::Output, T>,
        dx: Option<&mut Vector<G::Input, T>>,
        grads: &mut Self,
        scratch: &mut Conv2dScratch<G, T>,
    ) {
        let g = window::<G>();
        let Conv2dScratch { forward: Conv2dBuffers { col, padded }, dcol, dweight } = scratch;
        let co = G::OutChannels::USIZE;
        if g.direct() {
            // dW += Σ_pixels dY ⊗ x_pad, then dx = the flipped sum over dY padded.
            let (fwd, bwd) = (Direct::forward(&g, co), Direct::input_gradient(&g, co));
            let xp = pad(&g, &fwd, xb, padded);
            kernels::conv_weight_gradient(&fwd, dyb, xp, flat_mut(&mut grads.weight));
            if let Some(dxb) = dx {
                let (kh, kw) = g.kernel;
                kernels::embed(dyb, (co, g.oh, g.ow), padded, (bwd.hp, bwd.wp), (kh - 1, kw - 1));
                kernels::conv_sum(&bwd, flat(dweight), padded, None, dxb);
            }
        } else {
            // dW += dY·Xᵀ (the sample's product, then added); dx = col2im(Wᵀ·dY).
            kernels::im2col(&g, xb, flat_mut(col));
            kernels::gemm_nt_any_order::<T, G::OutChannels, G::Patch, G::Cols>(dyb, flat(col), None, flat_mut(dweight));
            let (gw, dw) = (flat_mut(&mut grads.weight), flat(dweight));
            kernels::vectorized::<T, _, _>(
                #[inline(always)]
                || {
                    for (g, &d) in gw.iter_mut().zip(dw) {
                        *g += d;
                    }
                },
            );
            if let Some(dxb) = dx {
                kernels::gemm_tn::<T, G::OutChannels, G::Patch, G::Cols>(flat(&self.weight), dyb, flat_mut(dcol));
                zero(dxb);
                kernels::col2im_add(&g, flat(dcol), dxb);
            }
        }
        if BIAS {
            let gb = &mut grads.bias;
            kernels::vectorized::<T, _, _>(
                #[inline(always)]
                || {
                    for (g, row) in gb.iter_mut().zip(dyb.chunks_exact(G::Pixels::USIZE)) {
                        let mut s = T::ZERO;
                        for &d in row {
                            s += d;
                        }
                        *g += s;
                    }
                },
            );
        }
    }
}

/// The image the direct sum `d` reads: `x` itself without padding, else `x` zero-padded
/// into `padded`.
#[inline(always)]
pub(crate) fn pad<'a, T: Float>(g: &Window, d: &Direct, x: &'a [T], padded: &'a mut [T]) -> &'a [T] {
    if g.padding == (0, 0) {
        x
    } else {
        kernels::embed(x, (g.c, g.h, g.w), padded, (d.hp, d.wp), g.padding);
        padded
    }
}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Parameters<T> for Conv2d<G, T, BIAS> {
    /// Gradients have the layer's own shape (`bias` is unused without a bias).
    type Grads = Self;

    #[inline]
    fn step<Opt: Optimizer<T>>(&mut self, grads: &Self, mut state: StateMut<'_, Self>, opt: &Opt) {
        kernels::vectorized::<T, _, _>(
            #[inline(always)]
            || {
                let slots = state.slots(|g| flat_mut(&mut g.weight));
                opt.update(flat_mut(&mut self.weight), flat(&grads.weight), slots, ParamKind::Weight);
                if BIAS {
                    let slots = state.slots(|g| &mut g.bias[..]);
                    opt.update(&mut self.bias, &grads.bias, slots, ParamKind::Bias);
                }
            },
        );
    }

    /// The weights, then the bias (if any).
    fn visit_grads<F: FnMut(&mut [T], ParamKind)>(&self, tensors: &mut Self, visit: &mut F) {
        visit(flat_mut(&mut tensors.weight), ParamKind::Weight);
        if BIAS {
            visit(&mut tensors.bias, ParamKind::Bias);
        }
    }
}

// SAFETY: two arrays of floats; all-zero is a valid (zero) layer.
unsafe impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Zeroable for Conv2d<G, T, BIAS> {}
// SAFETY: three arrays of floats.
unsafe impl<G: Conv2dGeometry, T: Float> Zeroable for Conv2dBuffers<G, T> {}
// SAFETY: three arrays of floats and a `Conv2dBuffers`.
unsafe impl<G: Conv2dGeometry, T: Float> Zeroable for Conv2dScratch<G, T> {}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Default for Conv2d<G, T, BIAS> {
    /// All zeros (on the stack).
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<G: Conv2dGeometry, T: Float> Default for Conv2dBuffers<G, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<G: Conv2dGeometry, T: Float> Default for Conv2dScratch<G, T> {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Clone for Conv2d<G, T, BIAS> {
    fn clone(&self) -> Self {
        Conv2d { weight: self.weight.clone(), bias: self.bias.clone() }
    }
}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Copy for Conv2d<G, T, BIAS>
where
    Matrix<G::OutChannels, G::Patch, T>: Copy,
    Vector<G::OutChannels, T>: Copy,
{
}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> PartialEq for Conv2d<G, T, BIAS> {
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> fmt::Debug for Conv2d<G, T, BIAS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Conv2d<{}×{}×{} → {}×{}×{}, kernel {}×{}, stride {}×{}, padding {}×{}, {}>{}",
            G::IN_CHANNELS,
            G::HEIGHT,
            G::WIDTH,
            G::OutChannels::USIZE,
            G::OUT_HEIGHT,
            G::OUT_WIDTH,
            G::KERNEL.0,
            G::KERNEL.1,
            G::STRIDE.0,
            G::STRIDE.1,
            G::PADDING.0,
            G::PADDING.1,
            T::NAME,
            if BIAS { "" } else { " (no bias)" }
        )
    }
}
