//! What the two examples that train a convolutional network without and with BN on an SGD
//! schedule (`cnn`, `resnet`) share: the schedule's flags ([`SgdArgs`]) and the whole run
//! around the experiment ([`run_example`]): data, header, table, figure, summary, saving.

use std::path::Path;
use std::process::ExitCode;

use bn_core::{Graph, Network, PlainData, StateDict};
use bn_paper::experiments::{write_curves_svg, Record, Report, SgdConfig};
use bn_paper::mnist::Dataset;

use super::pair::{print_accuracies, print_folding, report_figure, run_with_table, save, Int8, SaveArgs};
use super::{non_negative, positive, positive_int, table, unit_interval, DataArgs};

/// The SGD schedule and the evaluation points (`--eval-every`, `--lr`, `--lr-drop`,
/// `--momentum`, `--weight-decay`, `--seed`); each example declares `--steps` with its own
/// default.
#[derive(clap::Args, Debug)]
pub struct SgdArgs {
    /// Evaluate both networks on the test set every N steps [default: steps / 40]
    #[arg(long, value_name = "N", value_parser = positive_int)]
    pub eval_every: Option<usize>,
    /// SGD learning rate, the same for both networks
    #[arg(long, value_name = "X", default_value_t = SgdConfig::default().lr, value_parser = positive::<f32>)]
    pub lr: f32,
    /// After N steps, divide the learning rate by 10 (a list: after each) [default: never]
    #[arg(long, value_name = "N,...", value_parser = positive_int, value_delimiter = ',')]
    pub lr_drop: Vec<usize>,
    /// SGD momentum (0: plain SGD)
    #[arg(long, value_name = "X", default_value_t = SgdConfig::default().momentum, value_parser = unit_interval)]
    pub momentum: f32,
    /// L2 weight decay of every parameter
    #[arg(long, value_name = "X", default_value_t = SgdConfig::default().weight_decay, value_parser = non_negative)]
    pub weight_decay: f32,
    /// Seed of the initial weights and of the mini-batch order
    #[arg(long, value_name = "N", default_value_t = SgdConfig::default().seed)]
    pub seed: u64,
}

impl SgdArgs {
    /// The settings of a run of `steps` steps (about 40 evaluation points unless
    /// `--eval-every` says otherwise); the rest from `base`.
    pub fn config(&self, steps: usize, base: SgdConfig) -> SgdConfig {
        let mut lr_drops: Vec<u64> = self.lr_drop.iter().map(|&d| d as u64).collect();
        lr_drops.sort_unstable();
        SgdConfig {
            steps,
            eval_every: self.eval_every.unwrap_or((steps / 40).max(1)),
            lr: self.lr,
            lr_drops,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            seed: self.seed,
            ..base
        }
    }
}

/// A row of the table; after it, a line for each network that diverged since the row of
/// step `prev` (a diverged network's accuracy is not a result: its cells say so).
fn row(r: &Record, prev: usize) {
    println!(
        "{:>7}  {:>10}  {:>10}  {:>10}  {:>10}",
        r.step,
        table::accuracy(r.acc_plain, r.diverged_plain),
        table::accuracy(r.acc_bn, r.diverged_bn),
        table::loss(r.loss_plain),
        table::loss(r.loss_bn)
    );
    table::print_divergences(prev, [("no BN", r.diverged_plain), ("BN", r.diverged_bn)]);
}

/// Loads the data, prints the networks' `summaries` and the schedule, runs the experiment
/// (`run(train, test, progress, on_record)`) with a table of its evaluation points, writes the figure to `figure`, prints the summary (final
/// accuracies, the steps to reach the `targets`: 90 and 95 % on the embedded subset, 98 and
/// 99 % on full MNIST, the folded model against the eval path, inference times) and saves
/// the models as `--save` says. Fails if the data cannot be read, the models cannot be
/// saved, or the folded model (or a batched forward) predicts differently from the eval
/// path.
pub fn run_example<Bn, Plain>(
    summaries: [&str; 2],
    cfg: &SgdConfig,
    data: &DataArgs,
    figure: &Path,
    save_args: &SaveArgs,
    run: impl FnOnce(&Dataset, &Dataset, &mut dyn FnMut(usize), &mut dyn FnMut(&Record)) -> Report<Bn, Plain>,
    int8: Int8<Bn, Plain>,
) -> ExitCode
where
    Bn: Network + StateDict + Graph,
    Bn::Folded: PlainData + StateDict + Graph,
    Plain: Network,
{
    let (train, test, source) = match data.load() {
        Ok(data) => data,
        Err(status) => return status,
    };
    println!("MNIST ({source}): {} training, {} test digits", train.len(), test.len());
    for summary in summaries {
        println!("{summary}");
    }
    let drop: String = cfg
        .lr_drops
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {} after step {d}", cfg.lr / 10f32.powi(i as i32 + 1)))
        .collect();
    let mut extras = String::new();
    if cfg.momentum > 0.0 {
        extras += &format!(", momentum {}", cfg.momentum);
    }
    if cfg.weight_decay > 0.0 {
        extras += &format!(", weight decay {}", cfg.weight_decay);
    }
    println!(
        "SGD lr {}{drop}{extras}, batch 60, {} steps ({:.1} epochs), test set every {} steps; both networks start from the \
         same weights (seed {}: He normal for the convolutions, Xavier normal for the dense layer, biases 0)\n",
        cfg.lr,
        cfg.steps,
        (cfg.steps * 60) as f64 / train.len() as f64,
        cfg.eval_every,
        cfg.seed
    );
    println!("{:>7}  {:>10}  {:>10}  {:>10}  {:>10}", "step", "acc no BN", "acc BN", "loss no BN", "loss BN");
    let report = run_with_table(cfg.steps, row, |progress, on_record| run(&train, &test, progress, on_record));

    report_figure(figure, write_curves_svg(figure, &report.curves()));
    let last = report.last().expect("at least the initial record");
    println!(
        "\nsummary after {} steps ({:.1} s of training for both networks: train steps {:.2} ms without BN, {:.2} ms \
         with BN, {:.1} s and {:.1} s in all; the rest is the evaluations):",
        last.step,
        report.train_seconds,
        1e3 * report.train_seconds_plain / cfg.steps as f64,
        1e3 * report.train_seconds_bn / cfg.steps as f64,
        report.train_seconds_plain,
        report.train_seconds_bn
    );
    // The subset's 4,000 training digits cap the accuracy lower than full MNIST's 60,000.
    let targets = if train.len() >= 50_000 { [0.98, 0.99] } else { [0.9, 0.95] };
    print_accuracies(&report, targets);
    print_folding(&report, test.len(), true);
    let t = &report.timing;
    println!(
        "  inference per sample: folded {:.1} µs one at a time, {:.1} µs in forward_batch; unfolded eval {:.1} µs \
         one at a time, {:.1} µs in forward_batch",
        t.folded_one / 1e3,
        t.folded_batch / 1e3,
        t.eval_one / 1e3,
        t.eval_batch / 1e3
    );
    let int8 = int8(&report, &train, &test);
    if let Err(status) = save(save_args, &report, int8) {
        return status;
    }
    // A diverged BN network's numbers are NaN: its folded model's predictions are no check.
    if last.diverged_bn.is_none() && (report.folded_disagreements != 0 || report.batch_disagreements != 0) {
        eprintln!("error: the folded model or a batched forward predicts differently from the eval path");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
