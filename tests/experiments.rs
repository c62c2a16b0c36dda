//! The experiments, short: each on the embedded data (or part of it), asserting what the
//! full runs show, and the side-by-side runner they are built on.
//!
//! - `paper`: Batch Normalization beats the plain network at a fixed step budget, the folded
//!   BN network classifies the test split exactly as its eval path does, and a diverging
//!   network is reported with its step.
//! - `cnn`: the LeNet with BN learns the digits within a few hundred steps, both networks
//!   start from the same weights, folding is exact, divergences are reported.
//! - `resnet`: both ResNets (with and without BN) start from the same weights, the BN one
//!   learns within 20 steps on a slice of the data, and its folded model agrees with its
//!   eval path.
//! - `claims`: tiny versions of two claims, in the direction the full runs show (README,
//!   "The claims, measured"): at lr 20 the plain sigmoid network diverges and the BN one
//!   trains; at batch 2 BN's noisy batch statistics cost it and LayerNorm trains. And the
//!   depth experiment end to end on a one-rate grid: its CSV, its cells, and the same
//!   initial weights for every network of one depth.
//! - `runner`: lanes see the same mini-batches, evaluation points fall where the plan says,
//!   a diverged lane stops while the others go on.

use bn_paper::mnist::Dataset;

/// Every `k`th digit of `data` (the embedded splits are in file order; a stride keeps
/// every class).
fn every(data: &Dataset, k: usize) -> Dataset {
    data.subset(&(0..data.len()).step_by(k).collect::<Vec<_>>())
}

mod paper {
    use bn_core::StateDict;
    use bn_paper::experiments::paper::{run, Config};
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
        // Folding is exact: same accuracy, same predictions, one sample or batched.
        assert_eq!(report.folded_acc, report.eval_acc);
        assert_eq!(report.folded_disagreements, 0);
        assert_eq!(report.batch_disagreements, 0);
        assert_eq!(report.eval_acc, last.acc_bn);
        assert!(report.timing.folded_one > 0.0 && report.timing.eval_one > 0.0);
        // The first step that reached 80 % with BN is a recorded one, and reached it.
        let s = report.steps_to(0.8, |r| r.acc_bn).expect("BN reaches 80 %");
        assert!(report.records.iter().any(|r| r.step == s && r.acc_bn >= 0.8));
        assert_eq!(report.steps_to(1.01, |r| r.acc_bn), None);
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

    /// The experiments' old paths (`bn_paper::experiment`, `cnn`, `claims`, `figure`,
    /// `divergence`, `saturation`) still name the same items.
    #[test]
    fn the_old_paths_still_resolve() {
        assert_eq!(bn_paper::experiment::Config::default(), Config::default());
        assert_eq!(bn_paper::cnn::Config::default(), bn_paper::experiments::cnn::Config::default());
        assert_eq!(bn_paper::claims::NAMES, bn_paper::experiments::claims::NAMES);
        assert_eq!(bn_paper::figure::PANEL_TITLES, bn_paper::experiments::paper::PANEL_TITLES);
        assert_eq!(bn_paper::figure::percentiles(&mut [20.0, 10.0]), [11.5, 15.0, 18.5]);
        assert_eq!(bn_paper::divergence::Divergence::of_loss(3, f32::NAN).map(|d| d.step), Some(3));
        assert_eq!(bn_paper::saturation::SAMPLES, bn_paper::experiments::saturation::SAMPLES);
        let _: fn(&bn_paper::experiment::PaperBn) -> f64 = |net| bn_paper::claims::accuracy(net, &Default::default());
    }
}

mod cnn {
    use super::every;
    use bn_paper::experiments::cnn::{run, Config, LeNetBn, LeNetPlain};
    use bn_paper::mnist::{load_default, IMAGE_PIXELS};

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
        assert_eq!(test.class_counts(10), [25; 10]);
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
        // Both networks' training steps were timed, and are part of the loop's time.
        assert!(report.train_seconds_bn > 0.0 && report.train_seconds_plain > 0.0);
        assert!(report.train_seconds_bn + report.train_seconds_plain <= report.train_seconds);
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
}

mod resnet {
    use super::every;
    use bn_core::generic_array::GenericArray;
    use bn_core::typenum::U10;
    use bn_core::{Inference, Vector};
    use bn_paper::experiments::resnet::{default_config, run, Config, ResNetBn, ResNetPlain};
    use bn_paper::mnist::load_default;

    #[test]
    fn both_resnets_start_from_the_same_weights() {
        let (bn, plain) = (ResNetBn::new_boxed(7), ResNetPlain::new_boxed(7));
        // The stem, a convolution of each block and of a projection shortcut, the dense layer.
        assert_eq!(bn.conv2d0.weight, plain.conv2d0.weight);
        assert_eq!(bn.residual3.body.conv2d3.weight, plain.residual2.body.conv2d2.weight);
        assert_eq!(bn.residual7.shortcut.conv2d0.weight, plain.residual6.shortcut.conv2d0.weight);
        assert_eq!(bn.dense10.weight, plain.dense9.weight);
        assert_ne!(bn.conv2d0.weight, ResNetBn::new_boxed(8).conv2d0.weight);
    }

    /// 20 steps on a slice: the BN network learns and is ahead, the other stays finite, and
    /// the folded BN network predicts every test digit as its eval path does, its logits
    /// within 1e-5.
    #[test]
    fn both_resnets_learn_and_folding_is_exact() {
        let (train, test) = load_default().expect("embedded data");
        // 1,000 training digits, 100 test digits, 10 of each class.
        let (train, test) = (every(&train, 4), every(&test, 10));
        assert_eq!(test.class_counts(10), [10; 10]);
        let cfg = Config { steps: 20, eval_every: 10, momentum: 0.9, lr: 0.05, timed_forwards: 0, ..default_config() };
        let report = run(&cfg, &train, &test, |_| {}, |_| {});
        let steps: Vec<usize> = report.records.iter().map(|r| r.step).collect();
        assert_eq!(steps, [0, 10, 20]);
        let (first, second, last) = (&report.records[0], &report.records[1], report.last().unwrap());
        // The same weights and, before any step, the eval path of a BN at its initial
        // population statistics (mean 0, variance 1, γ 1, β 0) is nearly the identity: the
        // same predictions.
        assert_eq!(first.acc_bn, first.acc_plain);
        assert!(last.diverged_bn.is_none() && last.diverged_plain.is_none(), "{last:?}");
        // The BN network learns: the mean training loss of steps 11–20 (1.88 when written) is
        // below that of steps 1–10 (2.21), below chance (ln 10 = 2.30) and below that of the
        // network without BN (2.26), which starts slower; BN classifies 35 of the 100 test
        // digits (chance: 10).
        assert!(
            last.loss_bn < second.loss_bn && last.loss_bn < 2.1,
            "with BN: {} then {}",
            second.loss_bn,
            last.loss_bn
        );
        assert!(last.loss_bn < last.loss_plain, "{last:?}");
        assert!(last.acc_bn > 0.25, "with BN after 20 steps: {}", last.acc_bn);
        assert!(last.loss_plain.is_finite() && (0.0..=1.0).contains(&last.acc_plain), "{last:?}");
        // Folding is exact: the same prediction on every test digit, one sample or batched,
        // and the one-sample eval path agrees with the batched one used during training.
        assert_eq!((report.folded_disagreements, report.batch_disagreements), (0, 0));
        assert_eq!(report.folded_acc, report.eval_acc);
        assert_eq!(report.eval_acc, last.acc_bn);
        assert!(report.train_seconds_bn > 0.0 && report.train_seconds_plain > 0.0);
        // And the outputs themselves: the folded model's logits are within 1e-5 of the eval
        // path's on every test digit (max-norm, relative), after training (real population
        // statistics, γ and β).
        let mut worst = 0f32;
        for (image, _) in test.iter() {
            let x = GenericArray::from_slice(image);
            let (mut want, mut got) = (Vector::<U10, f32>::default(), Vector::<U10, f32>::default());
            Inference::forward_one(&*report.bn, x, &mut want);
            Inference::forward_one(&*report.folded, x, &mut got);
            let scale = want.iter().fold(1e-3f32, |m, w| m.max(w.abs()));
            worst = worst.max(got.iter().zip(&want).fold(0f32, |m, (g, w)| m.max((g - w).abs())) / scale);
        }
        println!("ResNetBn after 20 steps, folded vs eval on 100 test digits: {worst:.2e}");
        assert!(worst <= 1e-5, "folded vs eval: {worst:e}");
    }
}

mod claims {
    use bn_paper::experiments::claims::{batch_size, lr_sweep, Context, Data};
    use bn_paper::mnist::load_default;

    fn data() -> Data {
        let (train, test) = load_default().expect("embedded data");
        Data::new(train, test)
    }

    #[test]
    fn at_a_high_learning_rate_bn_trains_and_plain_diverges() {
        let data = data();
        let ctx = Context { data: &data, quick: true, seed: 1, progress: &|_, _| {} };
        // 300 steps of 60. Measured here: without BN at chance with a loss of 3.4 (diverged),
        // with BN 84.3 %.
        let plain = lr_sweep::cell(&ctx, 20.0, false, 300, 0.1);
        let bn = lr_sweep::cell(&ctx, 20.0, true, 300, 0.1);
        eprintln!("lr 20: without BN {plain:?}\nwith BN {bn:?}");
        assert!(plain.diverged, "without BN at lr 20: {plain:?}");
        assert!(!bn.diverged && bn.test_accuracy > 0.7, "with BN at lr 20: {bn:?}");
        // The table's cells say which is which.
        assert!(plain.to_string().ends_with(" % (diverged)"), "{plain}");
        assert!(bn.to_string().ends_with(" %"), "{bn}");
    }

    #[test]
    fn at_batch_size_2_layernorm_beats_batchnorm() {
        let data = data();
        // 4,000 digits seen (2,000 steps of 2) at 0.0548, the grid's smallest rate at batch 2
        // (the full run saw 60,000 and chose 0.183 for BN, 0.548 for LayerNorm). Measured here:
        // BN 23.1 %, LayerNorm 78.4 %.
        let bn = batch_size::one(&data, "batchnorm", 2, 4000, 0.0548, 1);
        let ln = batch_size::one(&data, "layernorm", 2, 4000, 0.0548, 1);
        eprintln!("batch 2: BN {bn:?}\nLayerNorm {ln:?}");
        assert!(ln.test > 0.6, "LayerNorm at batch 2: {ln:?}");
        assert!(ln.test > bn.test + 0.3, "LayerNorm {} vs BN {} at batch 2", ln.test, bn.test);
    }
}

mod depth {
    use super::every;
    use bn_paper::experiments::claims::depth::{
        initial_weights, run_with, Arch, Budget, Norm, CSV_HEADER, DEPTHS, FAMILIES,
    };
    use bn_paper::experiments::claims::{Context, Data};
    use bn_paper::mnist::load_default;

    /// Every network of one depth (plain or residual, no normalization, BN or GroupNorm)
    /// draws the same weights from the same seed: one convolution per layer (the stem and
    /// `d`), then the dense layer; another seed draws others.
    #[test]
    fn every_network_of_a_depth_starts_from_the_same_weights() {
        for depth in DEPTHS {
            let mut archs: Vec<Arch> =
                FAMILIES.iter().map(|&(residual, norm)| Arch { depth, residual, norm }).collect();
            if depth == 16 {
                archs.push(Arch { depth, residual: true, norm: Norm::Gn });
            }
            let first = initial_weights(archs[0], 7);
            assert_eq!(first.len(), depth + 2, "depth {depth}");
            assert_eq!(first[1].len(), 8 * 8 * 3 * 3);
            assert!(first.iter().all(|w| w.iter().any(|&x| x != 0.0)));
            for &arch in &archs[1..] {
                assert!(initial_weights(arch, 7) == first, "{arch:?} draws other weights than {:?}", archs[0]);
            }
            assert!(initial_weights(archs[0], 8) != first);
        }
    }

    /// The experiment on a one-rate grid and 20 steps: one row per cell, in the issue's
    /// columns and `batch`; the shallow networks learn; the batch-size part's rates scaled.
    #[test]
    fn the_depth_experiment_writes_its_csv() {
        let (train, test) = load_default().expect("embedded data");
        let data = Data::new(every(&train, 2), every(&test, 4));
        let ctx = Context { data: &data, quick: true, seed: 1, progress: &|_, _| {} };
        let report = run_with(&ctx, &[0.1], Budget { steps: 20, eval_every: 10 });
        eprintln!("{}", report.csv);
        let mut lines = report.csv.lines();
        assert_eq!(format!("{}\n", lines.next().unwrap()), CSV_HEADER);
        assert_eq!(CSV_HEADER, "depth,residual,norm,lr,final_test_accuracy,steps_to_90,diverged,batch\n");
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        // 4 depths × 4 families at batch 60, then residual 16 with BN, GN and none at 2 and
        // 8, and with GN at 60.
        assert_eq!(rows.len(), 16 + 1 + 6, "{}", report.csv);
        assert!(rows.iter().all(|r| r.len() == 8), "{}", report.csv);
        let keys: Vec<String> = rows.iter().map(|r| format!("{}/{}/{}/{}", r[0], r[1], r[2], r[7])).collect();
        assert_eq!(&keys[..4], ["2/0/none/60", "2/0/bn/60", "2/1/none/60", "2/1/bn/60"]);
        assert_eq!(
            &keys[16..],
            ["16/1/bn/2", "16/1/gn/2", "16/1/none/2", "16/1/bn/8", "16/1/gn/8", "16/1/none/8", "16/1/gn/60"]
        );
        for (r, batch) in rows.iter().zip([60; 16].into_iter().chain([2, 2, 2, 8, 8, 8, 60])) {
            // The batch-size part's rate: 0.1 × √(B/60), to three digits.
            let lr = [(60, "0.1"), (8, "0.0365"), (2, "0.0183")].iter().find(|(b, _)| *b == batch).unwrap().1;
            assert_eq!(r[3], lr, "{r:?}");
            let acc: f64 = r[4].parse().unwrap();
            assert!((0.0..=1.0).contains(&acc), "{r:?}");
            assert!(r[5].is_empty() || r[5].parse::<usize>().unwrap() <= 20 * 60 / batch, "{r:?}");
            assert!(r[6] == "0" || r[6] == "1", "{r:?}");
        }
        // Measured here: the 2-convolution networks at 73–79 % after 20 steps; the
        // 16-convolution residual network at chance without normalization (10.0 %, the full
        // run's too at this rate), 32.4 % with BN.
        let acc = |k: usize| rows[k][4].parse::<f64>().unwrap();
        for (k, r) in rows[..4].iter().enumerate() {
            assert!(acc(k) > 0.6 && r[6] == "0", "{r:?}");
        }
        assert_eq!(&keys[14..16], ["16/1/none/60", "16/1/bn/60"]);
        assert!(acc(14) <= 0.15 && acc(15) > 0.2, "{:?} {:?}", rows[14], rows[15]);
        assert_eq!(report.figure.panels.len(), 4);
        assert!(report.text.contains("Steps to 90 % test accuracy"), "{}", report.text);
    }
}

mod runner {
    use super::every;
    use bn_core::typenum::{U100, U60};
    use bn_core::Sgd;
    use bn_paper::experiments::claims::{train, Outcome};
    use bn_paper::mnist::load_default;
    use bn_paper::networks::{PaperBn, PaperPlain};
    use bn_paper::train::{accuracy, run_side_by_side, Lane, LanePoint, Plan, Point, Trainee, Watch};

    fn plan(steps: usize, eval_every: usize, optimizer: &dyn Fn(usize) -> Sgd<f32>) -> Plan<'_> {
        Plan { steps, eval_every, seed: 3, watch: Watch::LossAndState, optimizer }
    }

    /// Two copies of one network in two lanes see the same mini-batches: the same losses,
    /// the same accuracies at every point, the same weights after; and one of them alone
    /// (the claims' `train`) trains exactly as it did beside the other.
    #[test]
    fn lanes_train_on_the_same_mini_batches() {
        let (train_set, test) = load_default().expect("embedded data");
        let (train_set, test) = (every(&train_set, 8), every(&test, 10));
        let (mut a, mut b, mut alone) = (PaperBn::new_boxed(5), PaperBn::new_boxed(5), PaperBn::new_boxed(5));
        let sgd = |_| Sgd::new(0.1);
        let mut points: Vec<Point> = Vec::new();
        let mut progress = Vec::new();
        {
            let mut lane_a = Lane::<PaperBn, U60, U100>::new(&mut a);
            let mut lane_b = Lane::<PaperBn, U60, U100>::new(&mut b);
            run_side_by_side(
                &mut [&mut lane_a, &mut lane_b],
                &train_set,
                Some(&test),
                &plan(7, 3, &sgd),
                |s| progress.push(s),
                |p| points.push(p),
            );
            assert_eq!(lane_a.losses().len(), 7);
            assert_eq!(lane_a.losses(), lane_b.losses());
        }
        assert_eq!(progress, (1..=7).collect::<Vec<_>>());
        // Points at step 0, every 3 steps, and the last step.
        assert_eq!(points.iter().map(|p| p.step).collect::<Vec<_>>(), [0, 3, 6, 7]);
        for p in &points {
            let bits = |l: &LanePoint| (l.accuracy.to_bits(), l.loss.to_bits(), l.probe.clone(), l.diverged);
            assert_eq!(bits(&p.lanes[0]), bits(&p.lanes[1]), "step {}", p.step);
            assert!(p.lanes[0].accuracy > 0.0 && p.lanes[0].diverged.is_none());
        }
        // No loss before training; then the mean since the previous point.
        assert!(points[0].lanes[0].loss.is_nan());
        assert!(points[1..].iter().all(|p| p.lanes[0].loss.is_finite() && p.lanes[0].loss > 0.0));
        // The accuracy reported at the last point is the trained network's.
        assert_eq!(points[3].lanes[0].accuracy, accuracy(&*a, &test));
        assert_eq!(a.dense0.weight, b.dense0.weight);
        // Alone, with the same seed: the same steps, the same network.
        let outcome: Outcome = train::<PaperBn, U60>(&mut alone, &train_set, 7, &Sgd::new(0.1), 3, |_, _, _| {});
        assert_eq!((outcome.steps, outcome.non_finite), (7, false));
        assert_eq!(alone.dense0.weight, a.dense0.weight);
        assert_eq!(alone.batchnorm1.running_mean, a.batchnorm1.running_mean);
    }

    /// A lane that diverges stops there (its losses end at its divergence) and reports NaN;
    /// the other lane trains every step.
    #[test]
    fn a_diverged_lane_stops_and_the_others_go_on() {
        let (train_set, test) = load_default().expect("embedded data");
        let (train_set, test) = (every(&train_set, 8), every(&test, 10));
        let (mut ok, mut wild) = (PaperPlain::new_boxed(1), PaperPlain::new_boxed(1));
        // The second lane's weights are NaN from the start: its first step diverges.
        wild.dense0.weight[0][0] = f32::NAN;
        let sgd = |_| Sgd::new(0.1);
        let mut last = None;
        let mut lane_ok = Lane::<PaperPlain, U60>::new(&mut ok);
        let mut lane_wild = Lane::<PaperPlain, U60>::new(&mut wild);
        let lanes: &mut [&mut dyn Trainee<U60>] = &mut [&mut lane_ok, &mut lane_wild];
        run_side_by_side(lanes, &train_set, Some(&test), &plan(6, 2, &sgd), |_| {}, |p| last = Some(p));
        let last = last.unwrap();
        assert_eq!(last.step, 6);
        let d = last.lanes[1].diverged.expect("NaN weights diverge");
        assert_eq!(d.step, 1);
        assert!(last.lanes[1].accuracy.is_nan() && last.lanes[1].loss.is_nan() && last.lanes[1].probe.is_empty());
        assert_eq!(lane_wild.losses().len(), 1);
        assert_eq!(lane_ok.losses().len(), 6);
        assert!(last.lanes[0].diverged.is_none() && last.lanes[0].accuracy.is_finite());
        // With the loss alone watched (the claims' runs), NaN weights give a NaN loss at once.
        let mut net = PaperPlain::new_boxed(1);
        net.dense2.weight[2][1] = f32::NAN;
        let outcome = train::<PaperPlain, U60>(&mut net, &train_set, 10, &Sgd::new(0.1), 1, |_, _, _| {});
        assert_eq!((outcome.steps, outcome.non_finite), (1, true));
        assert!(outcome.final_loss.is_nan());
    }
}
