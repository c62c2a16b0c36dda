//! Drawing a batch allocates nothing: the order is allocated once, at construction.

#[path = "../../bn-core/tests/common/counting.rs"]
mod counting;

use bn_core::typenum::{U16, U8};
use bn_core::{Batch, GenericArray};
use bn_train::{Dataset, Epochs};
use counting::assert_no_alloc;

#[test]
fn next_batch_allocates_nothing_across_epochs() {
    let data = Dataset::from_parts(8, (0..50 * 8).map(|v| v as f32).collect(), (0..50).collect()).unwrap();
    let mut epochs = Epochs::<U16, U8>::new(&data, 3).unwrap();
    let mut x: Box<Batch<U16, U8>> = bn_core::boxed_zeroed();
    let mut y = GenericArray::<usize, U16>::default();
    let ((), a, d) = counting::count(|| drop(std::hint::black_box(Box::new(std::hint::black_box(7u64)))));
    assert!(a >= 1 && d >= 1, "the counter counts");
    assert_no_alloc("10 epochs of batches", || {
        for _ in 0..10 * epochs.batches_per_epoch() {
            epochs.next_batch(&mut x, &mut y);
        }
    });
    assert_eq!(epochs.state().epoch, 9);
    assert_no_alloc("a resume", || epochs.set_state(bn_train::EpochState { seed: 3, epoch: 77, batch: 1 }).unwrap());
}
