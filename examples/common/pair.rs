//! What the two experiments that train a network without and with BN side by side
//! (`paper`, `cnn`) print and save around their run: the table while training, the figure,
//! the summary lines they share, the saved models.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bn_core::{Graph, Network, PlainData, StateDict};
use bn_paper::experiments::{Record, Report};

use super::{bar, table};

/// The saving of the trained models (`--save DIR`).
#[derive(clap::Args, Debug)]
pub struct SaveArgs {
    /// Save the BN network (model.safetensors, model.onnx) and its folded model (model_folded.bin, model_folded.onnx)
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

/// With `--save DIR`, writes the trained models into `DIR` and prints them: the BN network
/// as `model.safetensors` (PyTorch's `state_dict` names) and its folded model as
/// `model_folded.bin` (the folded model's scalars, little-endian `f32`, in declaration
/// order: its documented byte layout, what `bn_core::embed!` reads), and both as ONNX files
/// (`model.onnx`, `model_folded.onnx`: onnxruntime and the other runtimes).
pub fn save<Bn, Plain>(args: &SaveArgs, report: &Report<Bn, Plain>) -> Result<(), ExitCode>
where
    Bn: Network + StateDict + Graph,
    Bn::Folded: PlainData + StateDict + Graph,
    Plain: Network,
{
    let Some(dir) = &args.save else { return Ok(()) };
    let written = (|| {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for (name, bytes) in [
            ("model.safetensors", report.bn.save_safetensors()),
            ("model_folded.bin", report.folded.to_bytes()),
            ("model.onnx", bn_core::save_onnx(&*report.bn)),
            ("model_folded.onnx", bn_core::save_onnx(&*report.folded)),
        ] {
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
