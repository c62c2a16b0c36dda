//! The data set, its split, the standardization and the epochs.

use bn_core::typenum::{U2, U3, U4};
use bn_core::{Batch, GenericArray};

use super::*;

/// `n` samples of `width` features: sample `i`, feature `j` holds `100 i + j`; label `i % 3`.
fn numbered(n: usize, width: usize) -> Dataset {
    let mut d = Dataset::new(width);
    for i in 0..n {
        let sample: Vec<f32> = (0..width).map(|j| (100 * i + j) as f32).collect();
        d.push(&sample, (i % 3) as u32);
    }
    d
}

#[test]
fn accessors_and_subset() {
    let d = numbered(5, 2);
    assert_eq!((d.len(), d.width(), d.is_empty()), (5, 2, false));
    assert_eq!(d.sample(3), [300.0, 301.0]);
    assert_eq!(d.sample_array::<2>(4), &[400.0, 401.0]);
    assert_eq!(d.labels(), [0, 1, 2, 0, 1]);
    assert_eq!(d.class_counts(2), [2, 2]);
    assert_eq!(d.classes(), 3);
    assert!(d.check_classes(3).is_ok());
    assert_eq!(d.check_classes(2).unwrap_err().to_string(), "the label of sample 2 is 2, the network has 2 classes");
    assert_eq!(d.expect_width(3).unwrap_err().to_string(), "the data set: 2 values, the network takes 3");
    let s = d.subset(&[4, 0, 4]);
    assert_eq!(s.samples(), [400.0, 401.0, 0.0, 1.0, 400.0, 401.0]);
    assert_eq!(s.labels(), [1, 0, 1]);
    assert!(Dataset::from_parts(2, vec![0.0; 5], vec![0, 0]).is_err());
    assert_eq!(d.iter().map(|(x, l)| x[0] as u32 + l).collect::<Vec<_>>(), [0, 101, 202, 300, 401]);
}

#[test]
fn split_is_seeded_disjoint_and_complete() {
    let d = numbered(100, 1);
    let (train, valid) = d.split(0.2, 5).unwrap();
    assert_eq!((train.len(), valid.len()), (80, 20));
    let mut all: Vec<f32> = train.samples().iter().chain(valid.samples()).copied().collect();
    // Each part keeps the original order.
    assert!(train.samples().is_sorted() && valid.samples().is_sorted());
    all.sort_by(f32::total_cmp);
    assert_eq!(all, d.samples());
    // Labels follow their samples.
    assert!(train.iter().chain(valid.iter()).all(|(x, l)| (x[0] as usize / 100) % 3 == l as usize));
    // Seeded: the same seed, the same split; another seed, another.
    assert_eq!(d.split(0.2, 5).unwrap(), (train.clone(), valid.clone()));
    assert_ne!(d.split(0.2, 6).unwrap().1, valid);
    assert_eq!(d.split(20usize, 5).unwrap().1, valid);
    assert_eq!(d.split(0.0, 1).unwrap().1.len(), 0);
    assert_eq!(d.split(1.0, 1).unwrap().0.len(), 0);
    assert!(d.split(1.5, 1).is_err() && d.split(f64::NAN, 1).is_err() && d.split(101usize, 1).is_err());
}

#[test]
fn standardization_gives_mean_0_std_1_on_train() {
    // Feature 0: 1, 2, 3, 4, 5, 6 (mean 3.5, std sqrt(35/12)); feature 1 constant 7;
    // feature 2 large offset: 1e6 + 0, 2, 4, … (mean 1e6 + 5, std 2 sqrt(35/12)).
    let mut train = Dataset::new(3);
    for i in 0..6 {
        train.push(&[(i + 1) as f32, 7.0, 1e6 + 2.0 * i as f32], 0);
    }
    let fit = Standardizer::fit(&train).unwrap();
    let s = (35.0f64 / 12.0).sqrt() as f32;
    assert_eq!(fit.mean(), [3.5, 7.0, 1e6 + 5.0]);
    assert_eq!(fit.std(), [s, 1.0, 2.0 * s]);
    let mut valid = Dataset::new(3);
    valid.push(&[3.5 + s, 8.0, 1e6 + 5.0], 1);
    fit.apply(&mut train).unwrap();
    fit.apply(&mut valid).unwrap();
    for j in 0..3 {
        let col: Vec<f64> = train.iter().map(|(x, _)| f64::from(x[j])).collect();
        let mean = col.iter().sum::<f64>() / 6.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
        assert!(mean.abs() < 1e-6, "feature {j}: mean {mean}");
        let expected = if j == 1 { 0.0 } else { 1.0 };
        assert!((var - expected).abs() < 1e-5, "feature {j}: variance {var}");
    }
    assert_eq!(train.sample(0)[1], 0.0);
    // The validation set is standardized with the training set's statistics.
    assert_eq!(valid.sample(0), [1.0, 1.0, 0.0]);
    assert!(fit.apply(&mut Dataset::new(2)).is_err());
    assert!(Standardizer::fit(&Dataset::new(3)).is_err());
    assert_eq!(Standardizer::from_parts(fit.mean().to_vec(), fit.std().to_vec()).unwrap(), fit);
    assert!(Standardizer::from_parts(vec![0.0], vec![0.0]).is_err());
}

fn draw<B: bn_core::generic_array::ArrayLength, I: bn_core::generic_array::ArrayLength>(
    e: &mut Epochs<'_, B, I>,
    n: usize,
) -> Vec<(BatchInfo, Vec<usize>)> {
    let mut x = Batch::<B, I>::default();
    let mut y = GenericArray::<usize, B>::default();
    (0..n)
        .map(|_| {
            let info = e.next_batch(&mut x, &mut y);
            // Rows and labels belong together: row b is sample i = x[b][0] / 100.
            let idx: Vec<usize> = x.iter().map(|row| row[0] as usize / 100).collect();
            for (b, &i) in idx.iter().enumerate() {
                assert_eq!(y[b], i % 3);
                assert_eq!(row_of(&x[b]), (0..I::USIZE).map(|j| (100 * i + j) as f32).collect::<Vec<_>>());
            }
            (info, idx)
        })
        .collect()
}

fn row_of<I: bn_core::generic_array::ArrayLength>(row: &GenericArray<f32, I>) -> Vec<f32> {
    row.to_vec()
}

#[test]
fn every_sample_once_per_epoch_when_len_is_a_multiple_of_b() {
    let d = numbered(12, 3);
    let mut e = Epochs::<U4, U3>::new(&d, 9).unwrap();
    assert_eq!(e.batches_per_epoch(), 3);
    let batches = draw(&mut e, 9);
    let mut epochs = Vec::new();
    for epoch in 0..3 {
        let mut seen: Vec<usize> = Vec::new();
        for (k, (info, idx)) in batches[3 * epoch..3 * epoch + 3].iter().enumerate() {
            assert_eq!(*info, BatchInfo { epoch: epoch as u64, batch: k, last_in_epoch: k == 2 });
            seen.extend(idx);
        }
        epochs.push(seen.clone());
        seen.sort_unstable();
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
    }
    assert_ne!(epochs[0], epochs[1]);
    assert_ne!(epochs[1], epochs[2]);
}

#[test]
fn the_last_partial_batch_is_dropped() {
    let d = numbered(7, 1);
    let mut e = Epochs::<U3, bn_core::typenum::U1>::new(&d, 1).unwrap();
    assert_eq!(e.batches_per_epoch(), 2);
    let order = e.order().to_vec();
    let batches = draw(&mut e, 3);
    // Epoch 0: the first 6 of its order; the 7th sample is dropped; batch 3 is epoch 1's.
    assert_eq!([&batches[0].1[..], &batches[1].1[..]].concat(), order[..6]);
    assert_eq!((batches[2].0.epoch, batches[2].0.batch), (1, 0));
    assert!(Epochs::<U4, U3>::new(&numbered(3, 3), 1).is_err()); // no full batch
    let err = Epochs::<U2, U4>::new(&d, 1).unwrap_err().to_string();
    assert_eq!(err, "the data set: 1 values, the network takes 4");
}

#[test]
fn seeded_order_and_exact_resume() {
    let d = numbered(10, 2);
    let mut a = Epochs::<U3, U2>::new(&d, 42).unwrap();
    let mut b = Epochs::<U3, U2>::new(&d, 42).unwrap();
    let first = draw(&mut a, 7);
    assert_eq!(draw(&mut b, 7), first);
    let mut other = Epochs::<U3, U2>::new(&d, 43).unwrap();
    assert_ne!(draw(&mut other, 7), first);
    // Resume from every point: a fresh iterator set to the saved state continues identically.
    let mut run = Epochs::<U3, U2>::new(&d, 42).unwrap();
    for k in 0..10 {
        let state = run.state();
        let next = draw(&mut run, 5);
        let mut resumed = Epochs::<U3, U2>::new(&d, 0).unwrap();
        resumed.set_state(state).unwrap();
        assert_eq!(draw(&mut resumed, 5), next, "resumed after {k} batches");
        // Rewind and advance one batch.
        run.set_state(state).unwrap();
        draw(&mut run, 1);
    }
    let mut bad = Epochs::<U3, U2>::new(&d, 1).unwrap();
    assert!(bad.set_state(EpochState { seed: 1, epoch: 0, batch: 4 }).is_err());
    assert_eq!(bad.state(), EpochState { seed: 1, epoch: 0, batch: 0 });
}
