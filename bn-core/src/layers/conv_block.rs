//! [`ConvBlock`]: the usual block of a convolutional network, `conv2d, batchnorm, relu,
//! maxpool`, trained a sample at a time between the two points where Batch Normalization
//! needs the whole batch, with the same bits as the four layers one after the other and
//! less memory traffic (how, and why it pays: `docs/kernels.md` in the repository).

use core::marker::PhantomData;

use generic_array::{ArrayLength, GenericArray};
use typenum::Unsigned;

use super::activation::{Activation, ReLU};
use super::batchnorm::{BatchNorm, BatchNormCache, BatchNormGrads};
use super::conv2d::{Conv2d, Conv2dBuffers, Conv2dGeometry, Conv2dScratch};
use super::pool::{MaxPool2d, Pool2dGeometry};
use crate::float::Float;
use crate::kernels::channels::{self, BackwardSums, Channels, Coefficients};
use crate::kernels::zero;
use crate::shape::{Batch, Vector};
use crate::train::Freeze;

/// `conv2d → batchnorm (over channels) → relu → maxpool` trained a sample at a time:
///
/// ```text
/// y = maxpool(max(BN(conv(x)), 0))      BN per channel over all m' = B·OH·OW values
/// ```
///
/// (Ioffe & Szegedy 2015, §3.2, for the BN over channels). `P` is the pool's geometry, `S`
/// the pixels of a channel (`OH·OW` of the convolution). Each sample's convolution runs
/// while its terms of the channel statistics are taken, then each sample is normalized,
/// rectified and pooled through one sample's scratch: the BN's and ReLU's outputs are never
/// stored, and every value is bit for bit what [`Conv2d`], [`BatchNorm`] (with
/// [`Fused::ReLU`](crate::Fused::ReLU)) and [`MaxPool2d`] compute one after the other.
///
/// ```
/// use bn_core::typenum::{U0, U2, U32, U4, U8, U9};
/// use bn_core::{
///     generic_array::arr, Batch, BatchNorm, BatchNormCache, Conv2d, Conv2dBuffers, Conv2dShape, ConvBlock,
///     Pool2dShape,
/// };
/// // 1×3×3 → conv 2×2 → 2×2×2 → BN, ReLU → max pool 2 → 2×1×1, a batch of 2.
/// type G = Conv2dShape<U9, U8, U2, U4, U4, U0, U32, 1, 3, 3, 2, 2, 1, 1, 0, 0>;
/// type P = Pool2dShape<U8, U2, 2, 2, 2, 2, 2>;
/// let mut conv = Conv2d::<G, f64, false>::default();
/// // Channel 0 takes each window's top-left pixel, channel 1 minus its bottom-right one.
/// conv.weight = arr![arr![1.0, 0.0, 0.0, 0.0], arr![0.0, 0.0, 0.0, -1.0]];
/// let mut bn = BatchNorm::<U2, f64>::new();
/// let x: Batch<U2, U9, f64> = arr![
///     arr![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
///     arr![10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0]
/// ];
/// let (mut sums, mut cache, mut y, mut argmax) =
///     (Batch::default(), BatchNormCache::default(), Batch::<U2, U2, f64>::default(), Batch::default());
/// let (mut act, mut buffers) = (Default::default(), Conv2dBuffers::default());
/// ConvBlock::<P, U4>::forward_train(&conv, &mut bn, &x, &mut sums, &mut cache, &mut y, &mut argmax, &mut act, &mut buffers);
/// // Channel 0 holds 1, 2, 4, 5 and 10, 11, 13, 14; channel 1 their mirror, −5, −6, −8, −9
/// // and −14, −15, −17, −18: both have a variance of 22.75 over the batch.
/// assert_eq!((cache.mean[0], cache.mean[1]), (7.5, -11.5));
/// let top = 6.5 / (22.75 + 1e-5f64).sqrt(); // the largest normalized value of each channel
/// // Sample 0 is below the mean on channel 0 (the ReLU gives 0), above it on channel 1.
/// for (got, want) in y.iter().flatten().zip([0.0, top, top, 0.0]) {
///     assert!((got - want).abs() < 1e-12, "{got} vs {want}");
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvBlock<P, S>(PhantomData<fn() -> (P, S)>);

impl<P: Pool2dGeometry, S: ArrayLength> ConvBlock<P, S> {
    /// The compile-time check that the four layers fit together.
    const fn check<G: Conv2dGeometry, N: ArrayLength>() {
        assert!(N::USIZE == G::OutChannels::USIZE, "ConvBlock: the BN must have one entry per output channel");
        assert!(S::USIZE == G::Pixels::USIZE, "ConvBlock: S must be the convolution's output pixels");
        assert!(
            P::CHANNELS == G::OutChannels::USIZE && P::HEIGHT == G::OUT_HEIGHT && P::WIDTH == G::OUT_WIDTH,
            "ConvBlock: the pool's input must be the convolution's output"
        );
    }

    /// The training forward of a batch: `sums` gets the convolution's output (kept for the
    /// backward), `cache` the batch statistics (and `bn` its population statistics, as
    /// [`BatchNorm::forward_train_channels`] does), `y` the pooled output and `argmax` where each
    /// output came from; `act` is one sample's scratch.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn forward_train<G, N, B, T, const BIAS: bool>(
        conv: &Conv2d<G, T, BIAS>,
        bn: &mut BatchNorm<N, T>,
        x: &Batch<B, G::Input, T>,
        sums: &mut Batch<B, G::Output, T>,
        cache: &mut BatchNormCache<N, T>,
        y: &mut Batch<B, P::Output, T>,
        argmax: &mut Batch<B, P::Output, T>,
        act: &mut Vector<G::Output, T>,
        buffers: &mut Conv2dBuffers<G, T>,
    ) where
        G: Conv2dGeometry<Output = P::Input>,
        N: ArrayLength,
        B: ArrayLength,
        T: Float,
    {
        const { Self::check::<G, N>() };
        const { assert!(B::USIZE * S::USIZE >= 2, "ConvBlock needs at least 2 values per channel") };
        assert!(!bn.renorm, "ConvBlock: Batch Renormalization trains layer by layer (network! does so)");
        let (n, s) = (N::USIZE, S::USIZE);
        if bn.freeze == Freeze::No {
            let mut stats = cache.as_stats();
            for (b, (xb, sb)) in x.iter().zip(sums.iter_mut()).enumerate() {
                conv.forward_one(xb, sb, buffers);
                channels::statistics_sample(n, s, b, sb, &mut stats);
            }
            channels::statistics_finish(n, B::USIZE * s, bn.eps, &mut stats);
            bn.track(B::USIZE * s, &cache.mean, &cache.var);
        } else {
            // Frozen: the population statistics, as shift and inverse deviation.
            for (xb, sb) in x.iter().zip(sums.iter_mut()) {
                conv.forward_one(xb, sb, buffers);
            }
            bn.fill_frozen_cache(cache);
        }
        let frozen = bn.freeze != Freeze::No;
        let stats = cache.as_stats();
        for ((sb, yb), ab) in sums.iter().zip(y.iter_mut()).zip(argmax.iter_mut()) {
            if frozen {
                // The eval path's own arithmetic, so that frozen training is eval bit for bit.
                bn.forward_eval_one_channels::<S, G::Output>(sb, act);
                act.iter_mut().for_each(|v| *v = ReLU::f(*v));
            } else {
                channels::normalize_sample(n, s, sb, act, &bn.gamma, &bn.beta, &stats, ReLU::f);
            }
            MaxPool2d::<P>::forward_train_one(act, yb, ab);
        }
    }

    /// The backward of [`forward_train`](Self::forward_train): from `dy`, the gradient with
    /// respect to the pooled output, the gradients of the convolution and the BN (written,
    /// not added) and, when asked, `dx`; `g` and `dz` are one sample's scratch.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn backward<G, N, B, T, const BIAS: bool>(
        conv: &Conv2d<G, T, BIAS>,
        bn: &BatchNorm<N, T>,
        x: &Batch<B, G::Input, T>,
        sums: &Batch<B, G::Output, T>,
        cache: &BatchNormCache<N, T>,
        argmax: &Batch<B, P::Output, T>,
        dy: &Batch<B, P::Output, T>,
        mut dx: Option<&mut Batch<B, G::Input, T>>,
        conv_grads: &mut Conv2d<G, T, BIAS>,
        bn_grads: &mut BatchNormGrads<N, T>,
        scratch: &mut Conv2dScratch<G, T>,
        g: &mut Vector<G::Output, T>,
        dz: &mut Vector<G::Output, T>,
    ) where
        G: Conv2dGeometry<Output = P::Input>,
        N: ArrayLength,
        B: ArrayLength,
        T: Float,
    {
        const { Self::check::<G, N>() };
        let (n, s) = (N::USIZE, S::USIZE);
        let ch = Channels {
            gamma: &bn.gamma,
            beta: &bn.beta,
            inv_std: &cache.inv_std,
            shift: &cache.shift,
            delta: &cache.delta,
        };
        // ReLU'(z) from z (recomputed from the convolution's output).
        let df = ReLU::df_from_output::<T>;
        zero(&mut bn_grads.gamma);
        zero(&mut bn_grads.beta);
        let mut s_xc = GenericArray::<T, N>::default();
        let mut acc = BackwardSums { dgamma: &mut bn_grads.gamma, dbeta: &mut bn_grads.beta, s_xc: &mut s_xc };
        for ((sb, ab), dyb) in sums.iter().zip(argmax.iter()).zip(dy.iter()) {
            MaxPool2d::<P>::backward_one(ab, dyb, g);
            channels::backward_sums_sample(n, s, sb, g, &ch, &mut acc, df);
        }
        let mut factors =
            [GenericArray::<T, N>::default(), GenericArray::<T, N>::default(), GenericArray::<T, N>::default()];
        let [f0, f1, f2] = &mut factors;
        let mut coef = Coefficients { gamma_inv: f0, dvar2_m: f1, dmu_m: f2 };
        channels::backward_coefficients(n, B::USIZE * s, &ch, &mut acc, &mut coef);
        if bn.freeze != Freeze::No {
            // Frozen: no gradient through the statistics, `dx = g·γ/σ`.
            zero(coef.dvar2_m);
            zero(coef.dmu_m);
        }
        let coef = coef.as_ref();
        conv.backward_begin(conv_grads, scratch, dx.is_some());
        for (b, (((xb, sb), ab), dyb)) in x.iter().zip(sums.iter()).zip(argmax.iter()).zip(dy.iter()).enumerate() {
            MaxPool2d::<P>::backward_one(ab, dyb, g);
            channels::backward_sample(n, s, sb, g, dz, &ch, &coef, df);
            conv.backward_one(xb, dz, dx.as_deref_mut().map(|dx| &mut dx[b]), conv_grads, scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::batchnorm::Fused;
    use crate::layers::testing::random_batch;
    use crate::rng::{Init, Rng};
    use crate::shape::flat;
    use alloc::vec::Vec;
    use typenum::{U0, U108, U18, U27, U3, U300, U36, U4, U72};

    /// 2×6×6 → conv 3×3, padding 1 → 3×6×6 → BN, ReLU → max pool 2 → 3×3×3.
    type G = crate::Conv2dShape<U72, U108, U3, U18, U36, U0, U300, 2, 6, 6, 3, 3, 1, 1, 1, 1>;
    type P = crate::Pool2dShape<U108, U27, 3, 6, 6, 2, 2>;

    fn bits<T: Float>(v: &[T]) -> Vec<u64> {
        v.iter().map(|f| f.to_f64().to_bits()).collect()
    }

    /// The block equals the four layers one after the other, bit for bit: outputs, batch and
    /// population statistics, every gradient and the input gradient.
    fn block_equals_layers<T: Float, const BIAS: bool>(seed: u64) {
        let mut rng = Rng::seed(seed);
        let conv = Conv2d::<G, T, BIAS>::new(Init::HeNormal, &mut rng);
        let mut bn = BatchNorm::<U3, T>::new();
        for (g, b) in bn.gamma.iter_mut().zip(bn.beta.iter_mut()) {
            (*g, *b) = (T::from_f64(rng.normal()), T::from_f64(rng.normal() * 0.3));
        }
        let mut bn2 = bn;
        let x: Batch<U4, U72, f64> = random_batch(&mut rng);
        let x: Batch<U4, U72, T> = x.iter().map(|r| r.iter().map(|&v| T::from_f64(v)).collect()).collect();
        let dy: Batch<U4, U27, f64> = random_batch(&mut rng);
        let dy: Batch<U4, U27, T> = dy.iter().map(|r| r.iter().map(|&v| T::from_f64(v)).collect()).collect();
        let mut scratch = Conv2dScratch::<G, T>::default();

        // The four layers.
        let (mut a1, mut a3, mut c1) = (Batch::<U4, U108, T>::default(), Batch::default(), BatchNormCache::default());
        let (mut y1, mut i1) = (Batch::<U4, U27, T>::default(), Batch::default());
        conv.forward(&x, &mut a1, &mut scratch.forward);
        bn.forward_train_channels::<U36, _, _>(&a1, &mut a3, &mut c1, Fused::ReLU);
        MaxPool2d::<P>::forward_train(&a3, &mut y1, &mut i1);
        let (mut d3, mut d1, mut dx1) = (Batch::<U4, U108, T>::default(), Batch::default(), Batch::default());
        let (mut gc1, mut gb1) = (Conv2d::<G, T, BIAS>::default(), BatchNormGrads::default());
        MaxPool2d::<P>::backward(&i1, &dy, &mut d3);
        bn.backward_channels::<U36, _, _>(&a1, &c1, &d3, &mut d1, &mut gb1, Fused::ReLU);
        conv.backward(&x, &d1, Some(&mut dx1), &mut gc1, &mut scratch);

        // The block.
        let (mut a2, mut c2) = (Batch::<U4, U108, T>::default(), BatchNormCache::default());
        let (mut y2, mut i2) = (Batch::<U4, U27, T>::default(), Batch::default());
        let (mut t0, mut t1) = (Vector::<U108, T>::default(), Vector::<U108, T>::default());
        let forward = &mut scratch.forward;
        ConvBlock::<P, U36>::forward_train(&conv, &mut bn2, &x, &mut a2, &mut c2, &mut y2, &mut i2, &mut t0, forward);
        let (mut dx2, mut gc2, mut gb2) =
            (Batch::<U4, U72, T>::default(), Conv2d::default(), BatchNormGrads::default());
        ConvBlock::<P, U36>::backward(
            &conv,
            &bn2,
            &x,
            &a2,
            &c2,
            &i2,
            &dy,
            Some(&mut dx2),
            &mut gc2,
            &mut gb2,
            &mut scratch,
            &mut t0,
            &mut t1,
        );

        assert_eq!(bits(flat(&a1)), bits(flat(&a2)), "conv output");
        assert_eq!(bits(flat(&y1)), bits(flat(&y2)), "pooled output");
        assert_eq!(bits(flat(&i1)), bits(flat(&i2)), "argmax");
        assert_eq!(bits(&c1.mean), bits(&c2.mean));
        assert_eq!(bits(&c1.var), bits(&c2.var));
        assert_eq!(bits(&bn.running_mean), bits(&bn2.running_mean));
        assert_eq!(bits(&bn.running_var), bits(&bn2.running_var));
        assert_eq!(bits(&gb1.gamma), bits(&gb2.gamma), "dγ");
        assert_eq!(bits(&gb1.beta), bits(&gb2.beta), "dβ");
        assert_eq!(bits(flat(&gc1.weight)), bits(flat(&gc2.weight)), "dW");
        assert_eq!(bits(&gc1.bias), bits(&gc2.bias), "db");
        assert_eq!(bits(flat(&dx1)), bits(flat(&dx2)), "dx");
        // The data exercised the ReLU and the pool.
        assert!(flat(&a3).contains(&T::ZERO) && flat(&dx1).iter().any(|v| *v != T::ZERO));
    }

    #[test]
    fn block_equals_the_four_layers() {
        block_equals_layers::<f64, false>(1);
        block_equals_layers::<f32, false>(2);
        block_equals_layers::<f32, true>(3);
    }
}
