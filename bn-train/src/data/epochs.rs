//! [`Epochs`]: mini-batches drawn without replacement, reshuffled every epoch from a seed,
//! written into a network's batch; [`EpochState`], what a checkpoint stores to resume.

use core::marker::PhantomData;

use bn_core::generic_array::{ArrayLength, GenericArray};
use bn_core::{Batch, Rng};

use super::Dataset;
use crate::DataError;

/// Where an [`Epochs`] iterator is: enough to resume it exactly (a checkpoint stores it).
///
/// The order of epoch `e` depends on `(seed, e)` alone, so restoring needs no replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EpochState {
    /// The seed the iterator was built with.
    pub seed: u64,
    /// The current epoch (0-based).
    pub epoch: u64,
    /// How many batches of the current epoch were drawn.
    pub batch: usize,
}

/// What [`Epochs::next_batch`] drew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    /// The epoch it belongs to (0-based).
    pub epoch: u64,
    /// Its index in the epoch (0-based).
    pub batch: usize,
    /// Whether it is the epoch's last batch.
    pub last_in_epoch: bool,
}

/// Epochs of mini-batches of `B` samples of `I` features (a network's `Batch<B, I>` and the
/// class labels [`bn_core::SoftmaxCrossEntropy`] takes), drawn from a [`Dataset`] without
/// replacement in an order reshuffled every epoch.
///
/// - **Order.** Epoch `e` visits the samples in the order of `0..len` shuffled (Fisher–Yates,
///   [`Rng::shuffle`]) by `Rng::seed(mix(seed, e))`, where `mix` is SplitMix64's finalizer
///   of `seed + e × 0x9e3779b97f4a7c15`: the same seed gives the same batches on every
///   platform, and epoch `e`'s order can be rebuilt without drawing the ones before it
///   ([`state`](Self::state), [`set_state`](Self::set_state)).
/// - **The last partial batch is dropped** (PyTorch's `drop_last=True`): the batch size is a
///   compile-time constant, so an epoch is `⌊len / B⌋` full batches, and the `len mod B`
///   samples left at the end of an epoch's order are not visited in that epoch. Since every
///   epoch has a new order, they are other samples each epoch. When `len` is a multiple of
///   `B`, every sample is visited exactly once per epoch.
/// - **No allocation per batch**: the order is allocated once, at construction, and
///   reshuffled in place.
///
/// ```
/// use bn_core::typenum::{U2, U3};
/// use bn_core::{Batch, GenericArray};
/// use bn_train::{Dataset, Epochs};
///
/// let data = Dataset::from_parts(3, (0..15).map(|v| v as f32).collect(), vec![0, 1, 2, 3, 4]).unwrap();
/// let mut epochs = Epochs::<U2, U3>::new(&data, 42).unwrap();
/// assert_eq!(epochs.batches_per_epoch(), 2); // 5 samples: 2 batches, 1 sample dropped
/// let (mut x, mut y) = (Batch::<U2, U3>::default(), GenericArray::<usize, U2>::default());
/// let info = epochs.next_batch(&mut x, &mut y);
/// assert_eq!((info.epoch, info.batch, info.last_in_epoch), (0, 0, false));
/// assert_eq!(x[0][0], 3.0 * y[0] as f32); // sample i holds 3i, 3i + 1, 3i + 2
/// ```
#[derive(Clone, Debug)]
pub struct Epochs<'a, B: ArrayLength, I: ArrayLength> {
    data: &'a Dataset,
    order: Vec<usize>,
    state: EpochState,
    shape: PhantomData<fn() -> (B, I)>,
}

impl<'a, B: ArrayLength, I: ArrayLength> Epochs<'a, B, I> {
    /// Epochs over `data` from `seed`, starting at epoch 0.
    ///
    /// # Errors
    /// [`DataError::Width`] if the samples do not have `I` features (the network's input),
    /// [`DataError::Invalid`] if `data` has fewer than `B` samples (no full batch) or `B`
    /// is 0.
    pub fn new(data: &'a Dataset, seed: u64) -> Result<Self, DataError> {
        data.expect_width(I::USIZE)?;
        if B::USIZE == 0 || data.len() < B::USIZE {
            return Err(DataError::Invalid {
                message: format!("{} samples do not make one batch of {}", data.len(), B::USIZE),
            });
        }
        let mut epochs =
            Epochs { data, order: (0..data.len()).collect(), state: EpochState::default(), shape: PhantomData };
        epochs.set_state(EpochState { seed, epoch: 0, batch: 0 })?;
        Ok(epochs)
    }

    /// Full batches per epoch: `⌊len / B⌋`.
    pub fn batches_per_epoch(&self) -> usize {
        self.data.len() / B::USIZE
    }

    /// Where the iterator is (the next batch is `state().batch` of `state().epoch`, or the
    /// first of the next epoch when the current one is complete).
    pub fn state(&self) -> EpochState {
        self.state
    }

    /// Resumes from a saved state: the next batches are those that followed it.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if `state.batch` exceeds the batches per epoch (a state saved
    /// over another data set).
    pub fn set_state(&mut self, state: EpochState) -> Result<(), DataError> {
        if state.batch > self.batches_per_epoch() {
            return Err(DataError::Invalid {
                message: format!(
                    "a saved epoch state at batch {} of an epoch of {} batches",
                    state.batch,
                    self.batches_per_epoch()
                ),
            });
        }
        self.state = state;
        self.shuffle();
        Ok(())
    }

    /// The order of the current epoch's samples (indices into the data set); the first
    /// `batches_per_epoch() × B` are visited.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Fills `x` with the next batch's samples and `labels` with their labels, starting the
    /// next epoch (a new order) when the current one is complete: an endless stream of
    /// batches, `batches_per_epoch()` per epoch.
    pub fn next_batch(&mut self, x: &mut Batch<B, I>, labels: &mut GenericArray<usize, B>) -> BatchInfo {
        let per_epoch = self.batches_per_epoch();
        if self.state.batch >= per_epoch {
            self.state.epoch = self.state.epoch.wrapping_add(1);
            self.state.batch = 0;
            self.shuffle();
        }
        let start = self.state.batch * B::USIZE;
        for ((row, label), &i) in x.iter_mut().zip(labels.iter_mut()).zip(&self.order[start..start + B::USIZE]) {
            row.copy_from_slice(self.data.sample(i));
            *label = self.data.label(i) as usize;
        }
        let info = BatchInfo {
            epoch: self.state.epoch,
            batch: self.state.batch,
            last_in_epoch: self.state.batch + 1 == per_epoch,
        };
        self.state.batch += 1;
        info
    }

    /// Rebuilds the current epoch's order from the seed and the epoch.
    fn shuffle(&mut self) {
        for (k, o) in self.order.iter_mut().enumerate() {
            *o = k;
        }
        Rng::seed(epoch_seed(self.state.seed, self.state.epoch)).shuffle(&mut self.order);
    }
}

/// SplitMix64's finalizer of `seed + epoch × golden ratio`: a well-mixed seed per epoch.
fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    let mut z = seed.wrapping_add(epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
