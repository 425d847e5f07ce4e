//! `cargo xtask merge`: the shards of one study gathered into its report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use study::{LockMode, ReportDir};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask merge`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
cargo xtask merge reports/s0 reports/s1 reports/s2 --out sweep\n  \
cargo xtask merge /shared/sweep            # the shards wrote into one folder: merged in place\n\n\
Reads study.toml and runs/*.json of every folder, checks that they are one study (the same \
resolved study.toml, every run of the plan's configuration, one build), and writes study.json, \
SUMMARY.md, the plots and every run into --out, exactly as one process running the whole study \
would. Missing runs are listed and refused unless --allow-partial; a partial study says so in \
SUMMARY.md. README (scale-out) shows Slurm, GNU parallel and Kubernetes.")]
pub struct MergeArgs {
    /// Report folders of the shards (or one folder they share)
    #[arg(value_name = "FOLDER", required = true)]
    dirs: Vec<PathBuf>,
    /// Report name or folder of the merged study [default: the first folder]
    #[arg(long, value_name = "NAME")]
    out: Option<String>,
    /// Merge even with runs missing (the summary says which)
    #[arg(long)]
    allow_partial: bool,
    /// Replace another study held in the --out folder; without it, such a folder is refused
    #[arg(long)]
    overwrite: bool,
}

/// Runs `cargo xtask merge`.
pub fn run(args: MergeArgs) -> Result<()> {
    let out = match &args.out {
        Some(o) => cli::report_dir(o)?,
        None => args.dirs[0].clone(),
    };
    let dir = ReportDir::new(&out);
    let _lock = dir.lock(LockMode::Exclusive)?;
    let report = study::merge(
        &args.dirs,
        &dir,
        args.allow_partial,
        args.overwrite,
        Some(cli::provenance()),
    )?;
    crate::report::write_plots(&report, &dir)?;
    crate::report::finish(&dir)?;
    let mut text = study::summary::text_report(&report);
    if !report.missing.is_empty() {
        text.push_str(&format!(
            "PARTIAL: {} runs missing: {}\n",
            report.missing.len(),
            report.missing.join(", ")
        ));
    }
    text.push_str(&format!(
        "merged {} runs from {} folders into {}\n",
        report.runs.len(),
        args.dirs.len(),
        out.display()
    ));
    emit(&text)
}
