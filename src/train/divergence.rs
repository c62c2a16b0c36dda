//! [`Divergence`]: a training run whose numbers stopped being finite, detected after every
//! step from the loss `train_step` returns and the network's [`StateDict::is_finite`] (one
//! pass over the parameters and population statistics, no allocation). The experiments stop
//! training a diverged network and report the step instead of an accuracy.

use std::fmt;

use bn_core::StateDict;

/// Where and how a training run diverged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Divergence {
    /// The training step (1-based) whose loss was not finite, or after which the network's
    /// parameters were not.
    pub step: usize,
    /// That step's loss: NaN or ±∞, or finite when only the parameters were not.
    pub loss: f32,
}

impl Divergence {
    /// `Some` when step `step`, which returned `loss`, left `net` diverged: the loss is NaN
    /// or ±∞, or a parameter or population statistic of `net` is.
    pub fn check<N: StateDict + ?Sized>(step: usize, loss: f32, net: &N) -> Option<Divergence> {
        (!loss.is_finite() || !net.is_finite()).then_some(Divergence { step, loss })
    }

    /// `Some` when step `step` returned a NaN or ±∞ `loss` (the parameters are not looked
    /// at: the cheap check of many short runs).
    pub fn of_loss(step: usize, loss: f32) -> Option<Divergence> {
        (!loss.is_finite()).then_some(Divergence { step, loss })
    }
}

/// `diverged at step 12 (loss NaN)`, `… (loss inf)`, or `… (parameters not finite, loss 2.3026)`.
impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.loss.is_finite() {
            write!(f, "diverged at step {} (parameters not finite, loss {:.4})", self.step, self.loss)
        } else {
            write!(f, "diverged at step {} (loss {})", self.step, self.loss)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    bn_core::network! { struct Tiny { input: 2, dense(3), batchnorm, relu, dense(2) } }

    #[test]
    fn a_non_finite_loss_or_parameter_is_a_divergence() {
        let mut net = Tiny::new(1);
        assert_eq!(Divergence::check(5, 0.7, &net), None);
        let d = Divergence::check(5, f32::NAN, &net).unwrap();
        assert_eq!(d.to_string(), "diverged at step 5 (loss NaN)");
        assert_eq!(Divergence::check(6, f32::INFINITY, &net).unwrap().to_string(), "diverged at step 6 (loss inf)");
        assert_eq!(Divergence::check(6, -f32::INFINITY, &net).unwrap().to_string(), "diverged at step 6 (loss -inf)");
        net.dense3.weight[1][0] = f32::INFINITY;
        let d = Divergence::check(7, 2.0, &net).unwrap();
        assert_eq!(d.to_string(), "diverged at step 7 (parameters not finite, loss 2.0000)");
        // The loss alone does not look at the parameters.
        assert_eq!(Divergence::of_loss(7, 2.0), None);
        assert_eq!(Divergence::of_loss(8, f32::NAN).unwrap().to_string(), "diverged at step 8 (loss NaN)");
    }
}
