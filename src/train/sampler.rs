//! Mini-batches: digits drawn without replacement, reshuffled every epoch, from a seed.

use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::typenum::U784;
use bn_core::{Batch, Rng};

use crate::mnist::Dataset;

/// The order in which an epoch-shuffling sampler visits `len` digits: a permutation of
/// `0..len`, shuffled in place (Fisher–Yates, [`Rng::shuffle`]) at the start of every epoch,
/// each shuffle starting from the previous epoch's order.
///
/// Every experiment draws its mini-batches from one of these; the generator is
/// `Rng::seed(seed ^ 0x5eed)`, so the order depends on the experiment's seed alone.
///
/// ```
/// use bn_paper::train::EpochSampler;
/// let mut s = EpochSampler::new(4, 1);
/// let epoch: Vec<usize> = (0..4).map(|_| s.next_index()).collect();
/// let mut sorted = epoch.clone();
/// sorted.sort();
/// assert_eq!(sorted, [0, 1, 2, 3]); // each digit once per epoch
/// ```
#[derive(Clone, Debug)]
pub struct EpochSampler {
    rng: Rng,
    order: Vec<usize>,
    cursor: usize,
}

impl EpochSampler {
    /// A sampler over `len` digits (at least one) whose order follows from `seed`.
    pub fn new(len: usize, seed: u64) -> Self {
        assert!(len > 0, "a sampler needs at least one digit");
        EpochSampler { rng: Rng::seed(seed ^ 0x5eed), order: (0..len).collect(), cursor: len }
    }

    /// The next digit's index; a new epoch (a reshuffle) begins after every `len` draws.
    pub fn next_index(&mut self) -> usize {
        if self.cursor == self.order.len() {
            self.rng.shuffle(&mut self.order);
            self.cursor = 0;
        }
        self.cursor += 1;
        self.order[self.cursor - 1]
    }
}

/// A mini-batch of `B` digits: the images, row after row, and their labels.
pub struct MiniBatch<B: ArrayLength> {
    /// The images.
    pub x: Box<Batch<B, U784>>,
    /// The class of each row.
    pub labels: GenericArray<usize, B>,
}

impl<B: ArrayLength> MiniBatch<B> {
    /// A zeroed mini-batch on the heap.
    pub fn new() -> Self {
        MiniBatch { x: bn_core::boxed_zeroed(), labels: GenericArray::default() }
    }

    /// Fills the mini-batch with the next `B` digits of `sampler` over `data`, in order.
    pub fn draw(&mut self, sampler: &mut EpochSampler, data: &Dataset) {
        for (b, label) in self.labels.iter_mut().enumerate() {
            let i = sampler.next_index();
            self.x[b].copy_from_slice(data.sample(i));
            *label = data.label(i) as usize;
        }
    }
}

impl<B: ArrayLength> Default for MiniBatch<B> {
    fn default() -> Self {
        Self::new()
    }
}

/// Copies digits `start..start + n` of `data` into the first `n` rows of `x` (`n ≤ B`; the
/// other rows keep what they held): how the evaluations read the data in chunks.
pub fn fill_rows<B: ArrayLength>(x: &mut Batch<B, U784>, data: &Dataset, start: usize, n: usize) {
    for (b, row) in x.iter_mut().enumerate().take(n) {
        row.copy_from_slice(data.sample(start + b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order the three experiments drew their mini-batches in before they shared this
    /// sampler (the loop each of them wrote out): the sampler must reproduce it.
    fn reference_order(len: usize, seed: u64, draws: usize) -> Vec<usize> {
        let mut rng = Rng::seed(seed ^ 0x5eed);
        let mut order: Vec<usize> = (0..len).collect();
        let mut cursor = order.len();
        let mut out = Vec::new();
        for _ in 0..draws {
            if cursor == order.len() {
                rng.shuffle(&mut order);
                cursor = 0;
            }
            out.push(order[cursor]);
            cursor += 1;
        }
        out
    }

    #[test]
    fn the_order_is_the_experiments_order() {
        for (len, seed) in [(1, 0), (7, 1), (60, 2), (100, 0xdead_beef)] {
            let mut s = EpochSampler::new(len, seed);
            let got: Vec<usize> = (0..5 * len + 3).map(|_| s.next_index()).collect();
            assert_eq!(got, reference_order(len, seed, 5 * len + 3), "len {len}, seed {seed}");
        }
    }

    #[test]
    fn every_epoch_visits_every_digit_once_in_a_new_order() {
        let mut s = EpochSampler::new(50, 3);
        let epochs: Vec<Vec<usize>> = (0..3).map(|_| (0..50).map(|_| s.next_index()).collect()).collect();
        for epoch in &epochs {
            let mut sorted = epoch.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        }
        assert_ne!(epochs[0], epochs[1]);
        assert_ne!(epochs[1], epochs[2]);
        // The same seed gives the same order, another seed another.
        let mut again = EpochSampler::new(50, 3);
        assert_eq!((0..50).map(|_| again.next_index()).collect::<Vec<_>>(), epochs[0]);
        let mut other = EpochSampler::new(50, 4);
        assert_ne!((0..50).map(|_| other.next_index()).collect::<Vec<_>>(), epochs[0]);
    }

    #[test]
    fn a_mini_batch_holds_the_sampled_digits_and_their_labels() {
        use bn_core::typenum::U3;
        let mut data = Dataset::new(784);
        for k in 0..5u8 {
            data.push(&[f32::from(k) / 10.0; 784], u32::from(k));
        }
        let (mut s, mut reference) = (EpochSampler::new(5, 9), EpochSampler::new(5, 9));
        let mut batch = MiniBatch::<U3>::new();
        for _ in 0..4 {
            batch.draw(&mut s, &data);
            for b in 0..3 {
                let i = reference.next_index();
                assert_eq!(batch.labels[b], i);
                assert!(batch.x[b].iter().all(|&p| p == f32::from(i as u8) / 10.0));
            }
        }
        let mut x = Batch::<U3, U784>::default();
        fill_rows(&mut x, &data, 3, 2);
        assert_eq!((x[0][0], x[1][783], x[2][0]), (0.3, 0.4, 0.0));
    }
}
