//! The rnnstudy orchestrator: `cargo xtask <command>`.
//!
//! - `study`: trains the RNN and the MLP at lengths 8, 16 and 32 over several
//!   seeds and writes JSON reports, SVG plots and `SUMMARY.md` under `reports/`;
//! - `grads`: prints the loss and every gradient for given weights and one
//!   sequence, as JSON, to cross-check against another framework;
//! - `data`: writes a data set as CSV and `.npy` under `data/`;
//! - `roofline`: times the hot paths against the machine's matrix-product peak;
//! - `train`: trains one model and saves it as a model file (JSON);
//! - `eval`: a saved model's accuracy on its held-out set, a data file or fresh data;
//! - `predict`: a saved model's outputs for given sequences.

mod atomic;
mod data;
mod eval;
mod grads;
mod modelfile;
mod models;
mod output;
mod predict;
mod roofline;
mod study;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, error::ErrorKind};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "rnnstudy: a plain RNN and an MLP on the alternating-sign task, measured",
    long_about = "rnnstudy reproduces and extends a small experiment: a gate-less Elman RNN and a \
one-hidden-layer MLP trained by batch-size-1 SGD on the alternating-sign sequence task. \
`cargo xtask study` runs the study; `cargo xtask <command> --help` explains each command."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the study (default: the article's, rnn and dnn at lengths 8, 16, 32 over 10 seeds)
    Study(study::StudyArgs),
    /// Print the loss and every parameter's gradient for given weights and one sequence, as JSON
    Grads(grads::GradsArgs),
    /// Write a data set of the task as CSV and .npy files
    Data(data::DataArgs),
    /// Time the hot paths and compare their GFLOP/s with the machine's matrix-product peak
    Roofline(roofline::RooflineArgs),
    /// Train one model and save it as a model file (JSON)
    Train(train::TrainArgs),
    /// Evaluate a saved model: per-element accuracy, exact match, per-position accuracy
    Eval(eval::EvalArgs),
    /// Print a saved model's output probabilities and decisions for given sequences
    Predict(predict::PredictArgs),
}

/// The workspace root (reports/ and data/ live there).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // One line: clap's message without the usage block.
            let text = e.render().to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("For more information")
                        && !l.starts_with("Usage:")
                })
                .collect();
            eprintln!("{} (see --help)", line.join(" "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Study(args) => study::run(args),
        Command::Grads(args) => grads::run(args),
        Command::Data(args) => data::run(args),
        Command::Roofline(args) => roofline::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
