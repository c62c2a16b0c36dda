//! Train a `network!` on your own data: a CSV file (or numpy `.npy` files, or the full MNIST
//! files) with AdamW, a linear warm-up then cosine annealing, optional gradient clipping,
//! early stopping, a checkpoint after every epoch, and `--resume` to go on from it.
//!
//! ```sh
//! cargo run --release --example own_data                    # the embedded digits CSV
//! cargo run --release --example own_data -- --csv my.csv --label class --header
//! cargo run --release --example own_data -- --npy x.npy y.npy
//! cargo run --release --example own_data -- --resume        # go on from the checkpoint
//! cargo run --release --example own_data -- --help
//! ```
//!
//! The network is `PaperBn` (`src/networks/mod.rs`): 784 inputs, three `dense(100),
//! batchnorm, sigmoid` layers, 10 classes. For data of another width or another number of
//! classes, declare your own with `bn_core::network!` and use it in place of `Net` below:
//! the CSV loader checks every row against the network's input width.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bn_core::{AdamW, CosineAnnealingLr, LinearLr, Network, Schedule, Trainer};
use bn_paper::mnist;
use bn_train::{
    evaluate, fit, load_checkpoint, load_npy, parse_csv_named, write_atomically, Callbacks, CsvOptions, DataError,
    Dataset, EarlyStopping, EpochInfo, FitConfig, LabelColumn, Monitor, Progress, Standardizer, StepInfo,
};
use clap::Parser;
use common::{bar, non_negative, positive, positive_int, table};
use indicatif::ProgressBar;

/// The network trained here; declare yours with `bn_core::network!`.
type Net = bn_paper::networks::PaperBn;
/// The mini-batch size.
type B = bn_core::typenum::U60;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "own_data",
    about = "Train a network! on your own data (CSV, .npy or MNIST) with AdamW, warm-up + cosine, checkpoints.",
    long_about = None,
    after_help = "\
The data is split into training and validation sets (--valid, seeded), standardized with
the training set's per-feature mean and deviation, and served in shuffled mini-batches of
60 (the last partial batch of an epoch is dropped). After every epoch the validation set is
evaluated and a checkpoint written (atomically); --resume goes on from it exactly. At the
end, the network is folded and the folded model checked against the eval path."
)]
struct Args {
    /// A CSV file of samples, one per line, and a label column [default: the embedded digits]
    #[arg(long, value_name = "FILE", conflicts_with_all = ["npy", "data"])]
    csv: Option<PathBuf>,
    /// The label column: a 0-based index or, with --header, a name [default: the last]
    #[arg(long, value_name = "COLUMN")]
    label: Option<String>,
    /// The CSV file's first line is a header
    #[arg(long)]
    header: bool,
    /// numpy files: samples ([n, features], float32/float64/uint8) and labels ([n], integers)
    #[arg(long, value_names = ["SAMPLES", "LABELS"], num_args = 2, conflicts_with = "data")]
    npy: Option<Vec<PathBuf>>,
    /// Full MNIST: the IDX files in DIR (its test set is then evaluated at the end)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Fraction of the data held out for validation
    #[arg(long, value_name = "X", default_value_t = 0.1, value_parser = positive::<f64>)]
    valid: f64,
    /// Epochs
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = positive_int)]
    epochs: usize,
    /// AdamW's peak learning rate
    #[arg(long, value_name = "X", default_value_t = 1e-3, value_parser = positive::<f64>)]
    lr: f64,
    /// AdamW's decoupled weight decay (not on biases, γ and β)
    #[arg(long, value_name = "X", default_value_t = 0.01, value_parser = non_negative_f64)]
    weight_decay: f64,
    /// Epochs of linear warm-up from lr/10 before the cosine annealing
    #[arg(long, value_name = "N", default_value_t = 1)]
    warmup: usize,
    /// Clip the gradients' global norm to X
    #[arg(long, value_name = "X", value_parser = positive::<f32>)]
    clip: Option<f32>,
    /// Stop after N epochs without a better validation loss
    #[arg(long, value_name = "N", value_parser = positive_int)]
    patience: Option<usize>,
    /// Seed of the initial weights, the split and the batches
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// The checkpoint, written after every epoch
    #[arg(long, value_name = "FILE", default_value = "own_data_checkpoint.safetensors")]
    checkpoint: PathBuf,
    /// Go on from the checkpoint (with the same data options: the split and the
    /// standardization are computed again from them)
    #[arg(long)]
    resume: bool,
    /// Save the trained network (model.safetensors, model.onnx), its folded model (model_folded.safetensors, model_folded.onnx) and the standardization (standardize.csv)
    #[arg(long, value_name = "DIR")]
    save: Option<PathBuf>,
}

/// A number ≥ 0 (as `f64`: AdamW's hyperparameters are `f64`).
fn non_negative_f64(s: &str) -> Result<f64, String> {
    non_negative(s).and_then(|_| s.parse::<f64>().map_err(|e| e.to_string()))
}

fn main() -> ExitCode {
    let args: Args = common::parse_args();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The data: `(all, test, name)`; a test set only with `--data`.
fn load(args: &Args) -> Result<(Dataset, Option<Dataset>, String), DataError> {
    if let Some(dir) = &args.data {
        let (train, test) = mnist::load_idx_dir(dir)?;
        return Ok((train, Some(test), format!("MNIST in {}", dir.display())));
    }
    if let Some([x, y]) = args.npy.as_deref() {
        return Ok((load_npy(x, y)?, None, format!("{} and {}", x.display(), y.display())));
    }
    let label = match (&args.label, args.header) {
        (None, _) => LabelColumn::Last,
        (Some(l), header) => match l.parse::<usize>() {
            Ok(i) if !header || l.chars().all(|c| c.is_ascii_digit()) => LabelColumn::Index(i),
            _ => LabelColumn::Name(l.clone()),
        },
    };
    let options =
        CsvOptions::default().header(args.header).label(label).for_input::<<Net as bn_core::Inference>::Input>();
    let (bytes, name) = match &args.csv {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| DataError::Io { file: path.clone(), source })?;
            (bytes, path.clone())
        }
        None => {
            let (csv, name) = mnist::embedded_csv()?;
            (csv, name.to_path_buf())
        }
    };
    let data = parse_csv_named(&bytes, &name, &options)?;
    Ok((data, None, name.display().to_string()))
}

/// A progress bar per epoch, and a table row after each.
struct Show {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl Callbacks for Show {
    fn on_step(&mut self, s: &StepInfo) {
        let bar = self
            .bar
            .get_or_insert_with(|| bar(s.batches_per_epoch, &format!("epoch {:>3}/{}", s.epoch + 1, self.epochs)));
        bar.set_position(s.batch as u64 + 1);
    }

    fn on_epoch(&mut self, e: &EpochInfo) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let (vl, va) = e.valid.map_or(("-".into(), "-".into()), |v| (table::loss(v.loss), table::percent(v.accuracy)));
        println!(
            "{:>5}  {:>8}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9.2e}{}",
            e.epoch + 1,
            e.step,
            table::loss(e.train.loss),
            table::percent(e.train.accuracy),
            vl,
            va,
            e.lr,
            if e.best { "  *" } else { "" }
        );
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (all, test, source) = load(args)?;
    let (mut train, mut valid) = all.split(args.valid, args.seed)?;
    let standardize = Standardizer::fit(&train)?;
    standardize.apply(&mut train)?;
    standardize.apply(&mut valid)?;
    let test = test.map(|mut t| standardize.apply(&mut t).map(|()| t)).transpose()?;
    println!(
        "{source}: {} training and {} validation samples of {} features{}",
        train.len(),
        valid.len(),
        train.width(),
        test.as_ref().map_or(String::new(), |t| format!(", {} test samples", t.len()))
    );
    println!("{}", Net::SUMMARY);

    let per_epoch = (train.len() / 60) as u64;
    let warmup = (args.warmup as u64 * per_epoch).max(1);
    let total = args.epochs as u64 * per_epoch;
    let schedule =
        LinearLr::warmup(0.1, warmup).then(CosineAnnealingLr::new(total.saturating_sub(warmup).max(1), 0.0), warmup);
    let mut config = FitConfig::new(
        args.epochs as u64,
        AdamW::new(args.lr).with_weight_decay(args.weight_decay).excluding_norm_and_bias_from_decay(),
        schedule,
    );
    config.clip_grad_norm = args.clip;
    config.seed = args.seed;
    config.early_stopping =
        args.patience.map(|p| EarlyStopping { monitor: Monitor::Loss, patience: p as u64, min_delta: 0.0 });
    config.checkpoint = Some(args.checkpoint.clone());

    let mut net = Net::new_boxed(args.seed);
    let mut trainer = Trainer::<Net, B>::new_boxed();
    let progress = if args.resume {
        let p = load_checkpoint(&args.checkpoint, &mut *net, &mut trainer)?;
        println!("resumed from {} at step {} (epoch {})", args.checkpoint.display(), p.step, p.epochs.epoch + 1);
        p
    } else {
        Progress::default()
    };
    println!(
        "AdamW lr {} (warm-up over {warmup} steps from 0.1 × lr, then cosine to 0 at step {total}), weight decay {} \
         (not on biases, γ, β){}, batch 60, {} epochs; checkpoint: {}\n",
        args.lr,
        args.weight_decay,
        args.clip.map_or(String::new(), |c| format!(", gradients clipped to norm {c}")),
        args.epochs,
        args.checkpoint.display()
    );
    println!(
        "{:>5}  {:>8}  {:>10}  {:>10}  {:>10}  {:>10}  {:>9}",
        "epoch", "step", "train loss", "train acc", "valid loss", "valid acc", "lr"
    );
    let start = std::time::Instant::now();
    let report = fit(
        &mut *net,
        &mut trainer,
        &train,
        Some(&valid),
        &config,
        progress,
        &mut Show { bar: None, epochs: args.epochs },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if report.stopped_early {
        println!("stopped early: no better validation loss for {} epochs", args.patience.unwrap_or(0));
    }
    let valid_m = evaluate(&*net, &valid)?;
    println!(
        "\nafter {} steps ({seconds:.1} s): validation accuracy {} (loss {}), best epoch {}",
        report.progress.step,
        table::percent(valid_m.accuracy),
        table::loss(valid_m.loss),
        report.progress.best_epoch + 1
    );
    let folded = net.fold_boxed();
    let evaluated = test.as_ref().unwrap_or(&valid);
    // One pass: each sample through the eval path and the folded model.
    let (mut eval_hits, mut folded_hits, mut differ) = (0usize, 0usize, 0usize);
    for (x, label) in evaluated.iter() {
        let x = bn_core::GenericArray::from_slice(x);
        let (e, f) = (bn_core::Inference::classify(&*net, x), bn_core::Inference::classify(&*folded, x));
        eval_hits += usize::from(e == label as usize);
        folded_hits += usize::from(f == label as usize);
        differ += usize::from(e != f);
    }
    let n = evaluated.len().max(1) as f64;
    println!(
        "{} accuracy {} (folded model {}, {differ} of {} predictions differ)",
        if test.is_some() { "test" } else { "validation" },
        table::percent(eval_hits as f64 / n),
        table::percent(folded_hits as f64 / n),
        evaluated.len()
    );
    if let Some(dir) = &args.save {
        save(dir, &net, &folded, &standardize)?;
    }
    if differ > 0 {
        return Err("the folded model predicts differently from the eval path".into());
    }
    Ok(())
}

/// Writes `model.safetensors`, `model_folded.safetensors`, their ONNX files `model.onnx` and
/// `model_folded.onnx`, and `standardize.csv` (the
/// training set's per-feature mean, then standard deviation: a raw input `x` goes into the
/// model as `(x − mean) / std`) into `dir`, atomically.
fn save(
    dir: &Path,
    net: &Net,
    folded: &<Net as Network>::Folded,
    standardize: &Standardizer,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let line = |v: &[f32]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let csv = format!("{}\n{}\n", line(standardize.mean()), line(standardize.std()));
    let files = [
        ("model.safetensors", net.save_safetensors()),
        ("model_folded.safetensors", folded.save_safetensors()),
        ("model.onnx", net.save_onnx()),
        ("model_folded.onnx", folded.save_onnx()),
        ("standardize.csv", csv.into_bytes()),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        write_atomically(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("saved {}", path.display());
    }
    Ok(())
}
