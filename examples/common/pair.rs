//! What the two experiments that train a network without and with BN side by side
//! (`paper`, `cnn`) print and save around their run: the table while training, the figure,
//! the summary lines they share, the saved models.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bn_core::quant::Quantize;
use bn_core::typenum::{U10, U784};
use bn_core::{Graph, Inference, Network, PlainData, StateDict};
use bn_paper::experiments::{Record, Report};
use bn_paper::mnist::Dataset;
use bn_paper::train::{check_int8, CALIBRATION};

use super::{bar, table};

/// The saving of the trained models (`--save DIR`).
#[derive(clap::Args, Debug)]
pub struct SaveArgs {
    /// Save the BN network (model.safetensors, model.onnx), its folded model (model_folded.bin, model_folded.onnx) and its int8 model (model_int8.bin)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
}

/// Runs an experiment of `steps` steps (`run(progress, on_record)`) under a progress bar,
/// printing each evaluation point with `row(record, step of the previous row)`.
pub fn run_with_table<R>(
    steps: usize,
    row: fn(&Record, usize),
    run: impl FnOnce(&mut dyn FnMut(usize), &mut dyn FnMut(&Record)) -> R,
) -> R {
    let bar = bar(steps, "training");
    let mut prev = 0;
    let report = run(&mut |step| bar.set_position(step as u64), &mut |r| {
        bar.suspend(|| row(r, prev));
        prev = r.step;
    });
    bar.finish();
    report
}

/// Prints where the figure went, or why it could not be written.
pub fn report_figure(path: &Path, written: Result<(), Box<dyn std::error::Error>>) {
    match written {
        Ok(()) => println!("\nfigure: {}", path.display()),
        Err(e) => eprintln!("\nerror: could not write the figure {}: {e}", path.display()),
    }
}

/// The summary's lines of both networks' final test accuracy and of the first steps that
/// reached each of `targets`.
pub fn print_accuracies<Bn: Network, Plain: Network>(report: &Report<Bn, Plain>, targets: [f64; 2]) {
    let last = report.last().expect("at least the initial record");
    println!("  test accuracy without BN: {}", table::final_accuracy(last.acc_plain, last.diverged_plain));
    println!("  test accuracy with BN:    {}", table::final_accuracy(last.acc_bn, last.diverged_bn));
    for target in targets {
        println!(
            "  steps to {:.0}% test accuracy: without BN {}, with BN {}",
            100.0 * target,
            table::steps_to(report.steps_to(target, |r| r.acc_plain)),
            table::steps_to(report.steps_to(target, |r| r.acc_bn))
        );
    }
}

/// The summary's line of the folded BN network against its eval path on `tested` digits
/// (with `batched`, the `forward_batch` check too), or why it was not checked.
pub fn print_folding<Bn: Network, Plain: Network>(report: &Report<Bn, Plain>, tested: usize, batched: bool) {
    let last = report.last().expect("at least the initial record");
    if let Some(d) = last.diverged_bn {
        println!("  folded BN network: not evaluated, the BN network {d}");
        return;
    }
    let batch = if batched {
        format!("; forward_batch vs one sample: {} differ", report.batch_disagreements)
    } else {
        String::new()
    };
    println!(
        "  folded BN network: test accuracy {:.2}% (eval path {:.2}%, {} of {tested} predictions differ{batch})",
        100.0 * report.folded_acc,
        100.0 * report.eval_acc,
        report.folded_disagreements,
    );
}

/// What an experiment does for its int8 model: [`report_int8`], or [`no_int8`] for a network
/// that int8 inference does not compute.
pub type Int8<Bn, Plain> = fn(&Report<Bn, Plain>, &Dataset, &Dataset) -> Option<Vec<u8>>;

/// No int8 model (a network with residual blocks, which the int8 models do not compute yet).
pub fn no_int8<Bn: Network, Plain: Network>(_: &Report<Bn, Plain>, _: &Dataset, _: &Dataset) -> Option<Vec<u8>> {
    None
}

/// Quantizes the folded BN network to int8 (calibrated on the first 1,000 training digits)
/// and prints its test accuracy, size and speed beside the folded model's; the int8 model's
/// bytes, for `--save`, or `None` when the BN network diverged or the quantization failed
/// (said).
pub fn report_int8<Bn, Plain>(report: &Report<Bn, Plain>, train: &Dataset, test: &Dataset) -> Option<Vec<u8>>
where
    Bn: Network,
    Bn::Folded: Quantize + Inference<Scalar = f32, Input = U784, Output = U10> + PlainData,
    Plain: Network,
{
    if report.last().is_some_and(|l| l.diverged_bn.is_some()) {
        return None;
    }
    match check_int8(&*report.folded, train, test, 20_000) {
        Ok((q, c)) => {
            println!(
                "  int8 model (calibrated on {CALIBRATION} training digits): test accuracy {:.2}% (folded f32 {:.2}%, {} \
                 of {} predictions differ), {} bytes (f32 {}), {:.2} µs one at a time (f32 {:.2}), {:.2} µs in \
                 forward_batch (f32 {:.2})",
                100.0 * c.int8_acc,
                100.0 * c.folded_acc,
                c.disagreements,
                test.len(),
                c.bytes[1],
                c.bytes[0],
                c.ns[2] / 1e3,
                c.ns[0] / 1e3,
                c.ns[3] / 1e3,
                c.ns[1] / 1e3
            );
            Some(q.to_bytes())
        }
        Err(e) => {
            eprintln!("  int8 model: not made: {e}");
            None
        }
    }
}

/// With `--save DIR`, writes the trained models into `DIR` and prints them: the BN network
/// as `model.safetensors` (PyTorch's `state_dict` names) and its folded model as
/// `model_folded.bin` (the folded model's scalars, little-endian `f32`, in declaration
/// order: its documented byte layout, what `bn_core::embed!` reads), and both as ONNX files
/// (`model.onnx`, `model_folded.onnx`: onnxruntime and the other runtimes), and the int8
/// model's bytes `int8` (if any) as `model_int8.bin` (what `bn_core::embed!` reads).
pub fn save<Bn, Plain>(args: &SaveArgs, report: &Report<Bn, Plain>, int8: Option<Vec<u8>>) -> Result<(), ExitCode>
where
    Bn: Network + StateDict + Graph,
    Bn::Folded: PlainData + StateDict + Graph,
    Plain: Network,
{
    let Some(dir) = &args.save else { return Ok(()) };
    let written = (|| {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        let files = [
            ("model.safetensors", report.bn.save_safetensors()),
            ("model_folded.bin", report.folded.to_bytes()),
            ("model.onnx", bn_core::save_onnx(&*report.bn)),
            ("model_folded.onnx", bn_core::save_onnx(&*report.folded)),
        ];
        let int8 = int8.map(|bytes| ("model_int8.bin", bytes));
        for (name, bytes) in files.into_iter().chain(int8) {
            let path = dir.join(name);
            std::fs::write(&path, bytes)?;
            written.push(path.display().to_string());
        }
        std::io::Result::Ok(written)
    })();
    match written {
        Ok(files) => {
            println!("  saved: {}", files.join(", "));
            Ok(())
        }
        Err(e) => {
            eprintln!("error: could not save the model to {}: {e}", dir.display());
            Err(ExitCode::FAILURE)
        }
    }
}
