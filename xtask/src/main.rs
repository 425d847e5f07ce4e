//! The rnnstudy command line: `cargo xtask <command>`. It parses flags,
//! calls the library crates (`study`, `models`, `nncore`, `seqdata`,
//! `plots`, `bench`), writes files and prints; nothing else lives here.

mod cli;
mod data;
mod eval;
mod export;
mod grads;
mod import;
mod merge;
mod predict;
mod report;
mod roofline;
mod speed;
mod study_cmd;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand, error::ErrorKind};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about = "rnnstudy: a plain RNN and an MLP on the alternating-sign task, measured",
    long_about = "rnnstudy reproduces and extends a small experiment: a gate-less Elman RNN and a \
one-hidden-layer MLP trained by batch-size-1 SGD on the alternating-sign sequence task \
(docs/SPEC.md in the repository says exactly what is computed). `cargo xtask study` runs the \
study; `cargo xtask <command> --help` explains each command."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The commands, in the order of a session's work.
#[derive(Subcommand)]
enum Command {
    /// Run a study (default: the article's, rnn and dnn at lengths 8, 16, 32 over 10 seeds)
    Study(Box<study_cmd::StudyArgs>),
    /// Gather the shards of a study (study --shard K/N) into its report
    Merge(merge::MergeArgs),
    /// Train one model and save it as a model file (JSON)
    Train(train::TrainArgs),
    /// Evaluate a saved model: per-element accuracy, exact match, per-position accuracy
    Eval(eval::EvalArgs),
    /// Print a saved model's output probabilities and decisions for given sequences
    Predict(predict::PredictArgs),
    /// Write a data set of the task as CSV and .npy files
    Data(data::DataArgs),
    /// Write a model file's weights in PyTorch's layout (safetensors)
    Export(export::ExportArgs),
    /// Read weights in PyTorch's layout (safetensors) into a model file
    Import(import::ImportArgs),
    /// Print the loss and every parameter's gradient for given weights and one sequence, as JSON
    Grads(grads::GradsArgs),
    /// Time the hot paths and compare them with the machine's compute and cache limits
    Roofline(roofline::RooflineArgs),
    /// Time one training iteration of one model, as one JSON line (tools/bench_torch.py)
    Speed(speed::SpeedArgs),
    /// Regenerate SUMMARY.md and the plots of a report folder from its study.json
    Report(report::ReportArgs),
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
        Command::Study(args) => study_cmd::run(*args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Data(args) => data::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
        Command::Grads(args) => grads::run(args),
        Command::Roofline(args) => roofline::run(args),
        Command::Speed(args) => speed::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // 130, as for a process ended by Ctrl-C, when a signal stopped it.
            if matches!(
                e.downcast_ref::<study::Error>(),
                Some(study::Error::Interrupted { .. })
            ) {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
