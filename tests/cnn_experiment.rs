//! A short version of the convolutional experiment on part of the embedded data: the LeNet
//! with Batch Normalization must learn the digits within a few hundred steps, both networks
//! must start from the same weights, and the folded BN network must classify every test
//! digit exactly as its eval path does.

use bn_paper::cnn::{run, Config, LeNetBn, LeNetPlain};
use bn_paper::mnist::{load_default, Dataset, IMAGE_PIXELS};

/// Every `k`th digit of `data` (the embedded splits are in file order; a stride keeps
/// every class).
fn every(data: &Dataset, k: usize) -> Dataset {
    let mut out = Dataset::default();
    for (image, label) in data.iter().step_by(k) {
        out.images.extend_from_slice(image);
        out.labels.push(label);
    }
    out
}

#[test]
fn both_networks_start_from_the_same_weights() {
    let (bn, plain) = (LeNetBn::new_boxed(7), LeNetPlain::new_boxed(7));
    assert_eq!(bn.conv2d0.weight, plain.conv2d0.weight);
    assert_eq!(bn.conv2d4.weight, plain.conv2d3.weight);
    assert_eq!(bn.dense9.weight, plain.dense7.weight);
    assert_eq!(LeNetBn::INPUT, IMAGE_PIXELS);
}

#[test]
fn bn_lenet_learns_and_folding_is_exact() {
    let (train, test) = load_default().expect("embedded data");
    // 1,000 training digits, 250 test digits, 25 of each class.
    let (train, test) = (every(&train, 4), every(&test, 4));
    assert_eq!((train.len(), test.len()), (1000, 250));
    assert_eq!(test.class_counts(), [25; 10]);
    let cfg = Config { steps: 300, eval_every: 100, lr: 0.1, timed_forwards: 0, ..Config::default() };
    let mut seen = Vec::new();
    let report = run(&cfg, &train, &test, |_| {}, |r| seen.push(r.step));
    assert_eq!(seen, [0, 100, 200, 300]);
    let (first, last) = (&report.records[0], report.last().unwrap());
    // From chance (same weights: same accuracy) to most digits right after 300 steps
    // (18 epochs of the 1,000 digits).
    assert_eq!(first.acc_bn, first.acc_plain);
    assert!(first.acc_bn < 0.3, "at step 0: {}", first.acc_bn);
    assert!(last.acc_bn > 0.85, "with BN after 300 steps: {}", last.acc_bn);
    assert!(last.loss_bn < 0.3, "training loss with BN: {}", last.loss_bn);
    // Folding is exact: the same prediction on every test digit, one sample or batched.
    assert_eq!(report.folded_disagreements, 0);
    assert_eq!(report.batch_disagreements, 0);
    assert_eq!(report.folded_acc, report.eval_acc);
    // The one-sample eval path agrees with the batched one used during training.
    assert_eq!(report.eval_acc, last.acc_bn);
    assert!(report.timing.folded_one > 0.0 && report.timing.eval_batch > 0.0);
}

/// A learning rate far too high: a diverging network is reported with its step and trains
/// no more, while the other network of the pair goes on until it diverges too.
#[test]
fn a_diverging_network_is_reported_with_its_step() {
    let (train, test) = load_default().expect("embedded data");
    let (train, test) = (every(&train, 8), every(&test, 10));
    let cfg = Config { steps: 12, eval_every: 3, lr: 1e30, timed_forwards: 0, ..Config::default() };
    let report = run(&cfg, &train, &test, |_| {}, |_| {});
    let last = report.last().unwrap();
    let d = last.diverged_plain.expect("lr 1e30 diverges");
    assert!((1..=cfg.steps).contains(&d.step), "{d:?}");
    assert!(d.to_string().starts_with(&format!("diverged at step {} (", d.step)), "{d}");
    for r in report.records.iter().filter(|r| r.step >= d.step) {
        assert_eq!(r.diverged_plain.map(|e| (e.step, e.loss.to_bits())), Some((d.step, d.loss.to_bits())));
        assert!(r.acc_plain.is_nan() && r.loss_plain.is_nan(), "{r:?}");
    }
    if let Some(b) = last.diverged_bn {
        assert!(b.to_string().starts_with("diverged at step "), "{b}");
    }
}
