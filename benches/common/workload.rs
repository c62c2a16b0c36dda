//! The batch-60 workload of a network, shared by the paper MLP's and the LeNet's benches: a
//! training step, the folded model on one sample, and on a batch through `forward_batch`.

use std::hint::black_box;

use bn_core::typenum::U60;
use bn_core::{
    boxed_zeroed, flat_mut, Batch, CacheAligned, GenericArray, Inference, Network, Rng, Sgd, SoftmaxCrossEntropy,
    Trainer, Vector,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Throughput};

/// The batch size of the workloads.
pub const BATCH: usize = 60;

/// A network trained a few steps on one random batch (inputs uniform in [0, 1), labels
/// uniform over `classes`), its trainer, and its folded model on a cache line.
pub struct Workload<N: Network<Scalar = f32>> {
    pub net: Box<N>,
    pub trainer: Box<Trainer<N, U60>>,
    pub x: Box<Batch<U60, N::Input>>,
    pub labels: GenericArray<usize, U60>,
    /// On a cache line (as the L2 read floor is measured): `fold_boxed` gets whatever offset
    /// the allocator gives (16 bytes past a line here).
    pub folded: Box<CacheAligned<N::Folded>>,
    pub y: Batch<U60, N::Output>,
}

/// The learning rate of the timed training steps.
const LR: f32 = 0.01;

impl<N: Network<Scalar = f32>> Workload<N> {
    /// The network from seed 1, the batch from `data_seed`, then five SGD steps (lr 0.1) so
    /// that the population statistics and the folded weights are not trivial.
    pub fn new(data_seed: u64, classes: usize) -> Self {
        let mut rng = Rng::seed(data_seed);
        let mut net = N::new_boxed(1);
        let mut x = boxed_zeroed::<Batch<U60, N::Input>>();
        flat_mut(&mut x).iter_mut().for_each(|p| *p = rng.uniform() as f32);
        let mut labels = GenericArray::<usize, U60>::default();
        labels.iter_mut().for_each(|l| *l = rng.below(classes));
        let mut trainer = Trainer::<N, U60>::new_boxed();
        for _ in 0..5 {
            net.train_step(&*x, &labels, &SoftmaxCrossEntropy, &Sgd::new(0.1), &mut trainer);
        }
        let mut folded = boxed_zeroed::<CacheAligned<N::Folded>>();
        net.fold_into(&mut folded.0);
        Workload { net, trainer, x, labels, folded, y: Batch::default() }
    }

    /// One training step at batch 60.
    pub fn train_step(&mut self) -> f32 {
        self.net.train_step(&*self.x, &self.labels, &SoftmaxCrossEntropy, &Sgd::new(LR), &mut self.trainer)
    }

    /// The folded model on one sample (the 8th of the batch).
    pub fn folded_one(&self) -> Vector<N::Output> {
        let mut y = Vector::<N::Output>::default();
        self.folded.0.forward_one(black_box(&self.x[7]), &mut y);
        y
    }

    /// The folded model on the whole batch, through `forward_batch`.
    pub fn folded_batch(&mut self) {
        self.folded.0.forward_batch(black_box(&*self.x), &mut self.y);
        black_box(&self.y);
    }

    /// Registers `train_step_b60`, `folded_one` and `folded_batch60` in `group`, with
    /// throughputs of `train_flops` per step and `folded_flops` per sample.
    pub fn bench(&mut self, group: &mut BenchmarkGroup<'_, WallTime>, train_flops: f64, folded_flops: f64) {
        group.throughput(Throughput::Elements(train_flops as u64));
        group.bench_function("train_step_b60", |b| b.iter(|| black_box(self.train_step())));
        group.throughput(Throughput::Elements(folded_flops as u64));
        group.bench_function("folded_one", |b| b.iter(|| black_box(self.folded_one())));
        group.throughput(Throughput::Elements(BATCH as u64 * folded_flops as u64));
        group.bench_function("folded_batch60", |b| b.iter(|| self.folded_batch()));
    }

    /// Seconds per training step, per one-sample folded forward, and per sample of the
    /// batched folded forward ([`super::time_per_call`]), for the table.
    pub fn times(&mut self) -> [f64; 3] {
        let train = super::time_per_call(|| {
            black_box(self.train_step());
        });
        let one = super::time_per_call(|| {
            black_box(self.folded_one());
        });
        let batch = super::time_per_call(|| self.folded_batch()) / BATCH as f64;
        [train, one, batch]
    }
}
