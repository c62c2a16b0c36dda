//! A short version of the paper experiment on the embedded data: Batch Normalization must
//! beat the plain network at a fixed step budget, and the folded BN network must classify
//! the test split exactly as its eval path does.

use bn_core::StateDict;
use bn_paper::experiment::{run, Config};
use bn_paper::mnist::load_default;

#[test]
fn bn_beats_plain_and_folding_is_exact() {
    let (train, test) = load_default().expect("embedded data");
    let cfg = Config { steps: 300, eval_every: 100, ..Config::default() };
    let mut seen = Vec::new();
    let report = run(&cfg, &train, &test, |_| {}, |r| seen.push(r.step));
    assert_eq!(seen, [0, 100, 200, 300]);
    let last = report.last().unwrap();
    // At 300 steps (4.5 epochs of the 4000 digits) the BN network is far ahead.
    assert!(last.acc_bn > 0.85, "with BN: {}", last.acc_bn);
    assert!(last.acc_bn > last.acc_plain + 0.05, "with BN {} vs without {}", last.acc_bn, last.acc_plain);
    assert!(last.loss_bn < last.loss_plain, "loss with BN {} vs without {}", last.loss_bn, last.loss_plain);
    // The figure's data: BN keeps the followed sigmoid's input centred and spread out.
    assert!(last.pct_bn[0] < last.pct_bn[1] && last.pct_bn[1] < last.pct_bn[2]);
    // Folding is exact: same accuracy, same predictions.
    assert_eq!(report.folded_acc, report.eval_acc);
    assert_eq!(report.folded_disagreements, 0);
    assert_eq!(report.eval_acc, last.acc_bn);
    assert!(report.folded_ns_per_sample > 0.0);
}

/// A learning rate far too high: the network without BN diverges within a few steps, the
/// run says at which step (and stops training it), and never reports an accuracy for it
/// afterwards.
#[test]
fn a_diverging_network_is_reported_with_its_step() {
    let (train, test) = load_default().expect("embedded data");
    let cfg = Config { steps: 20, eval_every: 5, lr: 1e38, ..Config::default() };
    let report = run(&cfg, &train, &test, |_| {}, |_| {});
    let last = report.last().unwrap();
    let d = last.diverged_plain.expect("lr 1e38 diverges");
    assert!((1..=cfg.steps).contains(&d.step), "{d:?}");
    assert!(d.to_string().starts_with(&format!("diverged at step {} (", d.step)), "{d}");
    assert!(!d.loss.is_finite() || !report.plain.is_finite(), "{d:?}");
    for r in &report.records {
        // Before the divergence: a result; from its step on: NaN, and the divergence.
        if r.step < d.step {
            assert!(r.diverged_plain.is_none() && r.acc_plain.is_finite(), "{r:?}");
        } else {
            assert_eq!(r.diverged_plain.map(|e| (e.step, e.loss.to_bits())), Some((d.step, d.loss.to_bits())));
            assert!(r.acc_plain.is_nan() && r.loss_plain.is_nan(), "{r:?}");
        }
    }
}
