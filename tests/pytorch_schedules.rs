//! bn-core's learning-rate schedules against PyTorch's `torch.optim.lr_scheduler`: the
//! learning rate (and the momentum or Adam's β₁ that `OneCycleLR` cycles) before each of 80
//! steps, as recorded by `tools/pytorch_schedules.py` in `tests/fixtures/pytorch/schedules.txt`
//! (torch 2.15), within 1e-12 relative.

use std::collections::BTreeMap;

use bn_core::{Anneal, CosineAnnealingLr, LinearLr, MultiStepLr, OneCycleLr, Schedule, Scheduled, Sgd, StepLr};

const FIXTURE: &str = include_str!("fixtures/pytorch/schedules.txt");
/// The optimizer's learning rate when the script made it.
const BASE_LR: f64 = 0.1;
const STEPS: u64 = 80;

/// Each case of the script: `t → (lr, momentum)`.
fn recorded() -> BTreeMap<String, Vec<(f64, Option<f64>)>> {
    let mut cases: BTreeMap<String, Vec<(f64, Option<f64>)>> = BTreeMap::new();
    for (n, line) in FIXTURE.lines().enumerate().filter(|(_, l)| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, t, lr, momentum] = fields[..] else { panic!("schedules.txt line {}: {line:?}", n + 1) };
        let values = cases.entry(name.to_owned()).or_default();
        assert_eq!(t.parse::<usize>().unwrap(), values.len(), "line {}: steps in order", n + 1);
        let momentum = (momentum != "-").then(|| momentum.parse().unwrap());
        values.push((lr.parse().unwrap(), momentum));
    }
    cases
}

fn close(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= 1e-12 * theirs.abs().max(ours.abs()) || ours == theirs
}

/// Compares `schedule` with the recorded case, through `Schedule::apply` on an optimizer as
/// a training loop would use it.
fn check(cases: &BTreeMap<String, Vec<(f64, Option<f64>)>>, name: &str, schedule: impl Schedule) {
    let theirs = &cases[name];
    assert_eq!(theirs.len() as u64, STEPS, "{name}");
    let mut worst = 0.0f64;
    for (t, &(lr, momentum)) in theirs.iter().enumerate() {
        let t = t as u64;
        let ours = schedule.lr(BASE_LR, t);
        assert!(close(ours, lr), "{name} step {t}: lr {ours} here, {lr} in PyTorch");
        assert_eq!(schedule.momentum(t).is_some(), momentum.is_some(), "{name} step {t}: momentum cycled?");
        if let (Some(ours), Some(theirs)) = (schedule.momentum(t), momentum) {
            assert!(close(ours, theirs), "{name} step {t}: momentum {ours} here, {theirs} in PyTorch");
        }
        worst = worst.max((ours - lr).abs() / lr.abs().max(f64::MIN_POSITIVE));
        // What an optimizer gets.
        let mut sgd = Sgd::new(0.0f64).with_momentum(0.9);
        schedule.apply(&mut sgd, BASE_LR, t);
        assert_eq!(sgd.lr, ours);
        assert_eq!(sgd.momentum, schedule.momentum(t).unwrap_or(0.9));
    }
    println!("{name}: worst relative difference {worst:.1e}");
}

#[test]
fn every_schedule_matches_pytorch() {
    let cases = recorded();
    check(&cases, "step", StepLr::new(7, 0.5));
    check(&cases, "multistep", MultiStepLr::new([25, 10, 25], 0.3));
    check(&cases, "cosine", CosineAnnealingLr::new(30, 1e-3));
    check(&cases, "linear", LinearLr::new(0.1, 1.0, 8));
    check(&cases, "linear_default", LinearLr::new(1.0 / 3.0, 1.0, 5));
    check(&cases, "onecycle_sgd", OneCycleLr::new(0.4, STEPS));
    check(
        &cases,
        "onecycle_adam_three_phase_linear",
        OneCycleLr::new(0.01, STEPS)
            .with_pct_start(0.25)
            .with_anneal(Anneal::Linear)
            .with_three_phase()
            .with_momentum(0.8, 0.9)
            .with_div_factors(10.0, 100.0),
    );
    check(&cases, "onecycle_no_momentum", OneCycleLr::new(0.4, STEPS).without_momentum());
    check(&cases, "warmup_cosine", LinearLr::warmup(0.01, 5).then(CosineAnnealingLr::new(STEPS - 5, 0.0), 5));
    check(
        &cases,
        "three_sequential",
        LinearLr::new(0.5, 1.0, 4).then(StepLr::new(5, 0.5), 6).then(CosineAnnealingLr::new(40, 1e-4), 20),
    );
    assert_eq!(cases.len(), 10, "a case of the fixture is not checked");
}

/// `Scheduled` is what a schedule needs of an optimizer: a user's own optimizer can take
/// part.
#[test]
fn a_users_optimizer_can_be_scheduled() {
    struct Mine(f64);
    impl Scheduled for Mine {
        fn lr(&self) -> f64 {
            self.0
        }
        fn set_lr(&mut self, lr: f64) {
            self.0 = lr;
        }
        fn set_momentum(&mut self, _: f64) {}
    }
    let mut mine = Mine(0.0);
    StepLr::new(1, 0.5).apply(&mut mine, 1.0, 3);
    assert_eq!(mine.0, 0.125);
}
