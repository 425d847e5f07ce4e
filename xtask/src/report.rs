//! `cargo xtask report`: SUMMARY.md and the plots of a report folder, from
//! its `study.json`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use study::{LockMode, ReportDir, StudyReport};

use crate::cli::emit;

/// Arguments of `cargo xtask report`.
#[derive(Args)]
#[command(after_help = "Example:\n  cargo xtask report reports/study\n\n\
Reads DIR/study.json and writes DIR/SUMMARY.md and every plot again (after a change to the \
summary or the plots, or to restore a deleted file); trains nothing.")]
pub struct ReportArgs {
    /// The report folder (holding study.json)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Writes every plot of `report` into the folder.
pub fn write_plots(report: &StudyReport, dir: &ReportDir) -> Result<()> {
    for (name, svg) in plots::all(report)? {
        dir.write(&name, svg.as_bytes())?;
    }
    Ok(())
}

/// Ends writing a report folder: removes the outputs its last writer made
/// that this one did not (a plot of a length no longer studied), saying so.
pub fn finish(dir: &ReportDir) -> Result<()> {
    let removed = dir.finish()?;
    if !removed.is_empty() {
        eprintln!(
            "note: removed {} stale outputs of an earlier report: {}",
            removed.len(),
            removed.join(", ")
        );
    }
    Ok(())
}

/// Runs `cargo xtask report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let dir = ReportDir::new(&args.dir);
    if !args.dir.join("study.json").exists() {
        // Refused before the lock would create the folder.
        dir.read_report()?;
    }
    let _lock = dir.lock(LockMode::Exclusive)?;
    let report = dir.read_report()?;
    dir.write_summary(&report)?;
    write_plots(&report, &dir)?;
    finish(&dir)?;
    emit(&format!(
        "wrote SUMMARY.md and the plots of {} runs into {}\n",
        report.runs.len(),
        args.dir.display()
    ))
}
