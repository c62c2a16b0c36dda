//! Dropout in a network declared with `network!` (inverted dropout, Srivastava et al. 2014):
//! the identity in eval, batched, one sample at a time and in the folded model; in training,
//! masks drawn from the trainer's seeded state (the same seed gives the same masks, the state
//! advances after each forward, fresh trainers start alike), about p of the values dropped
//! and every kept value scaled by 1/(1 − p). Its gradients are checked in `tests/gradients.rs`.

mod common;

use bn_core::typenum::U32;
use bn_core::{flat, flat_mut, Batch, Rng, Trainer};

use common::random::bits;

bn_core::network! {
    /// Dropout alone: the output is the dropout's.
    pub struct DropoutOnly {
        input: 64,
        dropout(p = 0.4),
    }
}

#[test]
fn dropout_is_the_identity_in_eval_and_seeded_in_training() {
    let mut x = Batch::<U32, bn_core::typenum::U64, f32>::default();
    let mut rng = Rng::seed(1);
    flat_mut(&mut x).iter_mut().for_each(|v| *v = (1.0 + rng.uniform()) as f32);
    let mut net = DropoutOnly::new(0);
    assert_eq!(DropoutOnly::PARAMS, 0);

    // Eval: the identity, bit for bit, batched and one sample at a time.
    let mut trainer = Trainer::<DropoutOnly, U32>::new_boxed();
    assert_eq!(bits(flat(net.forward_eval(&x, &mut trainer.workspace))), bits(flat(&x)));
    assert_eq!(net.eval(&x[3]), x[3]);
    assert_eq!(net.fold().forward(&x[5]), x[5]);

    // Training: the same seed gives the same output, another seed another one, and the
    // state moves on between forwards.
    let mut forward = |seed: Option<u64>| {
        if let Some(s) = seed {
            trainer.seed(s);
        }
        *net.forward_train(&x, &mut trainer.workspace)
    };
    let a = forward(Some(11));
    let b = forward(Some(11));
    let c = forward(Some(12));
    let next = forward(None);
    assert_eq!(bits(flat(&a)), bits(flat(&b)), "the same seed, the same masks");
    assert_ne!(a, c, "another seed, other masks");
    assert_ne!(c, next, "the state advances after a forward");
    // Inverted dropout: zeros near p = 0.4, every kept value x/(1 − p).
    let mut zeros = 0;
    for (&y, &x) in flat(&a).iter().zip(flat(&x)) {
        if y == 0.0 {
            zeros += 1;
        } else {
            assert_eq!(y, x * (1.0 / (1.0 - 0.4f32)));
        }
    }
    let n = 32.0 * 64.0;
    let sd = (n * 0.4 * 0.6f64).sqrt();
    assert!((f64::from(zeros) - 0.4 * n).abs() < 5.0 * sd, "{zeros} zeros of {n}");

    // Trainers start from state 0: two fresh trainers draw the same masks.
    let (mut t1, mut t2) = (Trainer::<DropoutOnly, U32>::new_boxed(), Trainer::<DropoutOnly, U32>::new_boxed());
    let y1 = *net.forward_train(&x, &mut t1.workspace);
    let y2 = *net.forward_train(&x, &mut t2.workspace);
    assert_eq!(y1, y2);
}
