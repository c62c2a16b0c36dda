//! The operands of the Batch Normalization kernels, as slices: a `B × N` row-major batch
//! (statistics per column) and per-column vectors of `N`. The layer fills them from its
//! fields; the kernels never see the layer.

use crate::float::Float;

/// The per-column statistics a training forward records for its backward.
pub(crate) struct BnStats<'a, T> {
    /// Batch mean μ_B (rounded; for the population statistics).
    pub mean: &'a mut [T],
    /// Biased batch variance σ²_B.
    pub var: &'a mut [T],
    /// `1/√(σ²_B + ε)`.
    pub inv_std: &'a mut [T],
    /// The centering shift: the batch's first row.
    pub shift: &'a mut [T],
    /// `μ_B − shift`, accurately.
    pub delta: &'a mut [T],
}

/// The operands of a training forward: `x`, `y` (`B·N`), `gamma`, `beta` (`N`), ε, and the
/// statistics it writes.
pub(crate) struct BnTrain<'a, T> {
    pub eps: T,
    pub x: &'a [T],
    pub gamma: &'a [T],
    pub beta: &'a [T],
    pub y: &'a mut [T],
    pub stats: BnStats<'a, T>,
}

/// The operands of a backward: `x`, `dy`, `dx` (`B·N`), `gamma` and the forward's `inv_std`,
/// `shift`, `delta` (`N`); it writes `dx`, `dgamma` and `dbeta`.
pub(crate) struct BnBackward<'a, T> {
    pub x: &'a [T],
    pub dy: &'a [T],
    pub gamma: &'a [T],
    pub inv_std: &'a [T],
    pub shift: &'a [T],
    pub delta: &'a [T],
    pub dx: &'a mut [T],
    pub dgamma: &'a mut [T],
    pub dbeta: &'a mut [T],
}

impl<T: Float> BnStats<'_, T> {
    /// The same slices as `f32`, when `T` is `f32`.
    #[inline(always)]
    pub fn as_f32(&mut self) -> Option<BnStats<'_, f32>> {
        Some(BnStats {
            mean: T::as_f32_mut(self.mean)?,
            var: T::as_f32_mut(self.var)?,
            inv_std: T::as_f32_mut(self.inv_std)?,
            shift: T::as_f32_mut(self.shift)?,
            delta: T::as_f32_mut(self.delta)?,
        })
    }
}

impl<T: Float> BnTrain<'_, T> {
    /// The same operands as `f32`, when `T` is `f32` (ε converts exactly then).
    #[inline(always)]
    pub fn as_f32(&mut self) -> Option<BnTrain<'_, f32>> {
        Some(BnTrain {
            eps: self.eps.to_f64() as f32,
            x: T::as_f32(self.x)?,
            gamma: T::as_f32(self.gamma)?,
            beta: T::as_f32(self.beta)?,
            y: T::as_f32_mut(self.y)?,
            stats: self.stats.as_f32()?,
        })
    }
}

impl<T: Float> BnBackward<'_, T> {
    /// The same operands as `f32`, when `T` is `f32`.
    #[inline(always)]
    pub fn as_f32(&mut self) -> Option<BnBackward<'_, f32>> {
        Some(BnBackward {
            x: T::as_f32(self.x)?,
            dy: T::as_f32(self.dy)?,
            gamma: T::as_f32(self.gamma)?,
            inv_std: T::as_f32(self.inv_std)?,
            shift: T::as_f32(self.shift)?,
            delta: T::as_f32(self.delta)?,
            dx: T::as_f32_mut(self.dx)?,
            dgamma: T::as_f32_mut(self.dgamma)?,
            dbeta: T::as_f32_mut(self.dbeta)?,
        })
    }
}
