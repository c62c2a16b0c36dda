//! [`QConv2d`]: a folded convolution quantized to int8, TFLite's per-channel `CONV_2D`.

use core::fmt;

use typenum::Unsigned;

use super::conv2d::{window, Conv2d, Conv2dGeometry};
#[cfg(doc)]
use super::pool::MaxPool2d;
use super::pool::{self, Pool2dGeometry};
use crate::kernels::conv2d_i8;
use crate::quant::{quantize_channel, QuantParams, QuantizeError, Requantized};
use crate::shape::{flat, Matrix, Vector};

/// An int8 2-d convolution (zero padding), integers only: for output channel `o` and pixel
/// `p`,
///
/// ```text
/// acc_op = b_o + Σ_{c,u,v} w_o[c][u][v] · (x[c][p + (u, v)] − z_x)     (i32, exact; padding: x = z_x)
/// y_op   = clamp(z_y + M_o(acc_op), min, max)
/// ```
///
/// quantized from a folded `f32` [`Conv2d`] as [`QDense`](crate::QDense) is from a dense
/// layer, each output channel's weights symmetric with their own scale (TFLite's
/// per-channel scheme: after folding, BN spreads the channels' ranges). The padding reads
/// the input's zero point, the real 0, as PyTorch's zero padding does. Bytes only.
///
/// ```
/// use bn_core::quant::QuantParams;
/// use bn_core::typenum::{U0, U1, U9, U16, U64};
/// use bn_core::{Conv2d, Conv2dShape, QConv2d};
/// // 1×4×4 → 1×4×4, a 3×3 kernel with padding 1: a box filter.
/// // Stride 1: no columns (Cols = 0); Padded = max(1·6·6, 1·8·8) = 64 (see `Conv2dGeometry`).
/// type G = Conv2dShape<U16, U16, U1, U9, U16, U0, U64, 1, 4, 4, 3, 3, 1, 1, 1, 1>;
/// let mut conv = Conv2d::<G>::default();
/// conv.weight[0].iter_mut().for_each(|w| *w = 1.0);
/// let (input, output) = (QuantParams::asymmetric(0.0, 1.0), QuantParams::asymmetric(0.0, 9.0));
/// let q = QConv2d::quantize(&conv, input, output, false).unwrap();
/// let x = [input.quantize(1.0); 16].into();
/// let mut y = Default::default();
/// q.forward_q(&x, &mut y);
/// // A corner sees 4 ones, an edge 6, the middle 9 (and zeros in the padding).
/// let sums: Vec<f32> = y.iter().map(|&v| (output.dequantize(v)).round()).collect();
/// assert_eq!(&sums[..5], &[4.0, 6.0, 6.0, 4.0, 6.0]);
/// assert_eq!(sums[5], 9.0);
/// ```
#[repr(C)]
pub struct QConv2d<G: Conv2dGeometry> {
    /// The weights, `[C_out][C·KH·KW]`, symmetric per output channel.
    pub weight: Matrix<G::OutChannels, G::Patch, i8>,
    /// `z_x`, which the padding reads.
    pub input_zero_point: i8,
    /// The bias, multipliers, zero point and clamp of the output channels.
    pub out: Requantized<G::OutChannels>,
}

impl<G: Conv2dGeometry> QConv2d<G> {
    /// The int8 layer of a folded `f32` convolution whose input and output are quantized by
    /// `input` and `output`; `relu` fuses a following ReLU into the output clamp.
    ///
    /// # Errors
    /// [`QuantizeError::Multiplier`] as [`QDense::quantize`](crate::QDense::quantize).
    pub fn quantize(
        conv: &Conv2d<G, f32, true>,
        input: QuantParams,
        output: QuantParams,
        relu: bool,
    ) -> Result<Self, QuantizeError> {
        let mut q = Self::default();
        q.quantize_into(conv, input, output, relu)?;
        Ok(q)
    }

    /// [`quantize`](Self::quantize) into `self` (in place).
    ///
    /// # Errors
    /// As [`quantize`](Self::quantize).
    pub fn quantize_into(
        &mut self,
        conv: &Conv2d<G, f32, true>,
        input: QuantParams,
        output: QuantParams,
        relu: bool,
    ) -> Result<(), QuantizeError> {
        self.input_zero_point = input.zero_point as i8;
        self.out = Requantized::new(output, relu);
        for o in 0..G::OutChannels::USIZE {
            quantize_channel(&conv.weight[o], conv.bias[o], input, output, &mut self.weight[o], &mut self.out, o)?;
        }
        Ok(())
    }

    /// The int8 output of an int8 image, integers only.
    pub fn forward_q(&self, x: &Vector<G::Input, i8>, y: &mut Vector<G::Output, i8>) {
        conv2d_i8(&window::<G>(), flat(&self.weight), i32::from(self.input_zero_point), &self.out.view(), x, y);
    }

    /// [`forward_q`](Self::forward_q) then [`MaxPool2d::<P>::forward_q`](MaxPool2d::forward_q)
    /// with no floor (`−128`; a ReLU is in this layer's clamp), in one pass, without the
    /// convolution's output: exactly the same bytes. `P` pools this layer's output (its
    /// channels and sizes checked at compile time). Requantization is non-decreasing in the accumulator (a quantized
    /// model's multipliers are positive), so a window's largest output is the requantized
    /// largest accumulator: each pooled output is requantized once, and with SIMD 2×2 windows
    /// are pooled in registers (other pools, and channels of corrupted files, computed
    /// value by value, give the same bytes).
    ///
    /// ```
    /// use bn_core::quant::QuantParams;
    /// use bn_core::typenum::{U0, U1, U4, U9, U16, U64};
    /// use bn_core::{Conv2d, Conv2dShape, MaxPool2d, Pool2dShape, QConv2d, Vector};
    /// // 1×4×4 → 1×4×4 (a 3×3 box filter, padding 1), then a 2×2 max pool → 1×2×2.
    /// type G = Conv2dShape<U16, U16, U1, U9, U16, U0, U64, 1, 4, 4, 3, 3, 1, 1, 1, 1>;
    /// type P = Pool2dShape<U16, U4, 1, 4, 4, 2, 2>;
    /// let mut conv = Conv2d::<G>::default();
    /// conv.weight[0].iter_mut().for_each(|w| *w = 1.0);
    /// let (input, output) = (QuantParams::asymmetric(0.0, 1.0), QuantParams::asymmetric(0.0, 9.0));
    /// let q = QConv2d::quantize(&conv, input, output, true).unwrap();
    /// let x: Vector<U16, i8> = (0..16).map(|i| input.quantize(i as f32 / 15.0)).collect();
    /// let (mut fused, mut conv_out, mut pooled) = (Default::default(), Default::default(), Default::default());
    /// q.forward_q_max_pool::<P>(&x, &mut fused);
    /// q.forward_q(&x, &mut conv_out);
    /// MaxPool2d::<P>::forward_q(&conv_out, &mut pooled, -128);
    /// assert_eq!(fused, pooled);
    /// ```
    pub fn forward_q_max_pool<P: Pool2dGeometry<Input = G::Output>>(
        &self,
        x: &Vector<G::Input, i8>,
        y: &mut Vector<P::Output, i8>,
    ) {
        const {
            assert!(
                P::CHANNELS == G::OutChannels::USIZE && P::HEIGHT == G::OUT_HEIGHT && P::WIDTH == G::OUT_WIDTH,
                "QConv2d::forward_q_max_pool: the pool's input must be the convolution's output"
            );
        };
        let view = self.out.view();
        view.conv2d_max_pool(
            &window::<G>(),
            &pool::window::<P>(),
            flat(&self.weight),
            i32::from(self.input_zero_point),
            x,
            y,
        );
    }
}

// SAFETY: bytes only; all zeros is a valid value.
unsafe impl<G: Conv2dGeometry> crate::zeroed::Zeroable for QConv2d<G> {}

impl<G: Conv2dGeometry> Default for QConv2d<G> {
    fn default() -> Self {
        QConv2d { weight: Matrix::default(), input_zero_point: 0, out: Requantized::default() }
    }
}

impl<G: Conv2dGeometry> Clone for QConv2d<G> {
    fn clone(&self) -> Self {
        QConv2d { weight: self.weight.clone(), input_zero_point: self.input_zero_point, out: self.out.clone() }
    }
}

impl<G: Conv2dGeometry> Copy for QConv2d<G>
where
    Matrix<G::OutChannels, G::Patch, i8>: Copy,
    Requantized<G::OutChannels>: Copy,
{
}

impl<G: Conv2dGeometry> PartialEq for QConv2d<G> {
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.input_zero_point == other.input_zero_point && self.out == other.out
    }
}

impl<G: Conv2dGeometry> Eq for QConv2d<G> {}

impl<G: Conv2dGeometry> fmt::Debug for QConv2d<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QConv2d")
            .field("weight", &self.weight)
            .field("input_zero_point", &self.input_zero_point)
            .field("out", &self.out)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use typenum::{U0, U18, U2, U72, U9};

    use super::*;
    use crate::{Init, Rng};

    /// 2×6×6 → 2×3×3 (stride 2, padding 1) against the float layer: within two output steps.
    #[test]
    fn int8_conv_follows_the_float_layer() {
        type G = crate::Conv2dShape<U72, U18, U2, U18, U9, U9, U0, 2, 6, 6, 3, 3, 2, 2, 1, 1>;
        let mut rng = Rng::seed(5);
        let mut conv = Conv2d::<G>::default();
        Init::Gaussian { std: 0.3 }.fill(crate::shape::flat_mut(&mut conv.weight), 1, 1, &mut rng);
        Init::Gaussian { std: 0.2 }.fill(&mut conv.bias, 1, 1, &mut rng);
        let (input, output) = (QuantParams::asymmetric(-0.5, 1.5), QuantParams::asymmetric(-3.0, 3.0));
        for relu in [false, true] {
            let q = QConv2d::quantize(&conv, input, output, relu).unwrap();
            let mut buffers = crate::CacheAligned::<crate::Conv2dBuffers<G>>::zeroed();
            for _ in 0..50 {
                let x: Vector<U72, f32> = (0..72).map(|_| (rng.uniform() * 2.0 - 0.5) as f32).collect();
                let xq: Vector<U72, i8> = x.iter().map(|&v| input.quantize(v)).collect();
                let (mut y, mut yq) = (Vector::default(), Vector::default());
                conv.forward_one(&x, &mut y, &mut buffers.0);
                q.forward_q(&xq, &mut yq);
                for (&f, &q) in y.iter().zip(yq.iter()) {
                    let want = output.quantize(if relu { f.max(0.0) } else { f });
                    assert!((i32::from(q) - i32::from(want)).abs() <= 2, "{q} vs {want} ({f})");
                }
            }
        }
    }
}
