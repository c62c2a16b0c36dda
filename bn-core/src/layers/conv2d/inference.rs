//! [`Conv2d`] at inference: the conv, ReLU and max pool in one call, and the folding of
//! per-channel affine maps (inference-mode Batch Normalizations) into the convolution.

use generic_array::ArrayLength;
use typenum::Unsigned;

use super::layer::{pad, window, Conv2d, Conv2dBuffers, Conv2dGeometry};
use crate::float::Float;
use crate::kernels::{self, Direct};
use crate::layers::affine::Affine;
use crate::layers::pool::{self, MaxPool2d, Pool2dGeometry};
use crate::shape::{flat, Batch, Vector};

impl<G: Conv2dGeometry, T: Float, const BIAS: bool> Conv2d<G, T, BIAS> {
    /// The forward of one sample, then a ReLU and the max pool `P`, bit for bit
    /// [`forward_one`](Self::forward_one) into `sum`, [`ReLU`](crate::ReLU), and
    /// [`MaxPool2d::forward_one`](crate::MaxPool2d::forward_one) into `y` (what a folded
    /// `conv2d, relu, maxpool` runs). With stride 1 and a 2×2 pool of stride 2 on AVX-512,
    /// one pass that never writes `sum` (the sums stay in registers until pooled);
    /// otherwise the three steps, through `sum`.
    #[inline]
    pub fn forward_one_relu_max_pool<P: Pool2dGeometry<Input = G::Output>>(
        &self,
        x: &Vector<G::Input, T>,
        y: &mut Vector<P::Output, T>,
        sum: &mut Vector<G::Output, T>,
        buffers: &mut Conv2dBuffers<G, T>,
    ) {
        const {
            assert!(
                P::CHANNELS == G::OutChannels::USIZE && P::HEIGHT == G::OUT_HEIGHT && P::WIDTH == G::OUT_WIDTH,
                "forward_one_relu_max_pool: the pool's input must be the convolution's output"
            )
        };
        let (g, p) = (window::<G>(), pool::window::<P>());
        if g.direct() && p.size == 2 && p.stride == 2 {
            let d = Direct::forward(&g, G::OutChannels::USIZE);
            let xp = pad(&g, &d, x, &mut buffers.padded);
            let bias = BIAS.then_some(&self.bias[..]);
            kernels::conv_sum_relu_pool(&d, flat(&self.weight), xp, bias, sum, y);
        } else {
            self.forward_one(x, sum, buffers);
            MaxPool2d::<P>::forward_one_relu(sum, y);
        }
    }

    /// [`forward_one_relu_max_pool`](Self::forward_one_relu_max_pool) for every sample of a
    /// batch (`sum`: one sample's scratch).
    #[inline]
    pub fn forward_relu_max_pool<B: ArrayLength, P: Pool2dGeometry<Input = G::Output>>(
        &self,
        x: &Batch<B, G::Input, T>,
        y: &mut Batch<B, P::Output, T>,
        sum: &mut Vector<G::Output, T>,
        buffers: &mut Conv2dBuffers<G, T>,
    ) {
        for (xb, yb) in x.iter().zip(y.iter_mut()) {
            self.forward_one_relu_max_pool::<P>(xb, yb, sum, buffers);
        }
    }

    /// Writes into `out` the single convolution equal to `after ∘ self ∘ before`, each a
    /// per-channel affine map (an inference-mode Batch Normalization), in place:
    ///
    /// - `after` (a BN right after the conv, per output channel `o`): `W'[o] = a[o]·W[o]`,
    ///   `b'[o] = a[o]·b[o] + c[o]` — exactly `torch.nn.utils.fusion.fuse_conv_bn_eval`;
    /// - `before` (a BN before the conv, per input channel `c`): `W'[o][c] = W[o][c]·a[c]`,
    ///   `b'[o] = b[o] + Σ_{c,u,v} W[o][c][u][v]·s[c]`. This is exact only without padding:
    ///   a padded conv sees zeros at the border, not the shifted `s[c]`. `network!` folds a BN
    ///   into the next conv only when that conv has no padding; the method applies the
    ///   formula regardless (see the test that shows the border difference).
    pub fn fold_into<Ci: ArrayLength>(
        &self,
        before: Option<&Affine<Ci, T>>,
        after: Option<&Affine<G::OutChannels, T>>,
        out: &mut Conv2d<G, T, true>,
    ) {
        const { assert!(Ci::USIZE == G::IN_CHANNELS, "fold_into: `before` must have one entry per input channel") };
        let area = G::KERNEL.0 * G::KERNEL.1;
        for o in 0..G::OutChannels::USIZE {
            let w = &self.weight[o];
            let row = &mut out.weight[o];
            let mut b = if BIAS { self.bias[o] } else { T::ZERO };
            match before {
                Some(pre) => {
                    for (c, (wc, rc)) in w.chunks_exact(area).zip(row.chunks_exact_mut(area)).enumerate() {
                        let (a, s) = (pre.scale[c], pre.shift[c]);
                        let mut sum = T::ZERO;
                        for (r, &v) in rc.iter_mut().zip(wc) {
                            *r = v * a;
                            sum += v;
                        }
                        b += sum * s;
                    }
                }
                None => row.clone_from(w),
            }
            if let Some(post) = after {
                let a = post.scale[o];
                row.iter_mut().for_each(|v| *v *= a);
                b = a * b + post.shift[o];
            }
            out.bias[o] = b;
        }
    }
}
