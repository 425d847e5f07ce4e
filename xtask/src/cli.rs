//! What the commands share: value parsers derived from the registry,
//! paths, the progress bar, printing.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use indicatif::{ProgressBar, ProgressStyle};
use models::ModelKind;
use nncore::{OptimizerKind, Precision};
use study::Mismatched;

/// A `--model` / `--models` value: one of the registry's kinds, listed with
/// their descriptions in `--help`.
pub fn kind_parser() -> impl TypedValueParser<Value = ModelKind> {
    PossibleValuesParser::new(
        ModelKind::all().map(|k| PossibleValue::new(k.name()).help(k.info().about)),
    )
    .map(|s| s.parse::<ModelKind>().expect("a registered name"))
}

/// An `--optimizer` value.
pub fn optimizer_parser() -> impl TypedValueParser<Value = OptimizerKind> {
    PossibleValuesParser::new(OptimizerKind::ALL.map(|k| PossibleValue::new(k.name())))
        .map(|s| s.parse::<OptimizerKind>().expect("a listed name"))
}

/// A `--precision` value.
pub fn precision_parser() -> impl TypedValueParser<Value = Precision> {
    PossibleValuesParser::new(Precision::ALL.map(|p| {
        PossibleValue::new(p.name()).help(match p {
            Precision::F64 => "64-bit floats: the article's, and the default",
            Precision::F32 => "32-bit floats: PyTorch's default, about twice as fast",
        })
    }))
    .map(|s| s.parse::<Precision>().expect("a listed name"))
}

/// A `--mismatched` value.
pub fn mismatched_parser() -> impl TypedValueParser<Value = Mismatched> {
    PossibleValuesParser::new(Mismatched::ALL.map(|k| PossibleValue::new(k.name())))
        .map(|s| s.parse::<Mismatched>().expect("a listed name"))
}

/// Set by the first Ctrl-C (SIGINT) or SIGTERM: long work stops at its next
/// step and keeps what it finished; a second signal exits at once.
pub fn stop_flag() -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static HANDLER: std::sync::Once = std::sync::Once::new();
    HANDLER.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("\nstopped at once; finished runs are kept");
                std::process::exit(130);
            }
            eprintln!(
                "\nstopping: finished runs are kept and the same command resumes the rest \
                 (press Ctrl-C again to quit at once)"
            );
        });
        if let Err(e) = installed {
            eprintln!("note: cannot catch Ctrl-C ({e}); it will stop at once");
        }
    });
    &STOP
}

/// Where this process's results come from: this binary's build (captured
/// by xtask/build.rs), the host, the command line and the start time.
pub fn provenance() -> &'static provenance::Provenance {
    static P: std::sync::OnceLock<provenance::Provenance> = std::sync::OnceLock::new();
    P.get_or_init(|| provenance::Provenance::now(provenance::build!()))
}

/// The workspace root (reports/ and data/ live there).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Where a report named by `--out` goes: `reports/NAME/`, or the path itself
/// if it holds a `/`.
pub fn report_dir(out: &str) -> Result<PathBuf> {
    if out.trim().is_empty() {
        bail!("--out is empty: give a report name such as `study`");
    }
    if out.contains('/') || out.contains(std::path::MAIN_SEPARATOR) {
        Ok(PathBuf::from(out))
    } else if out == "." || out == ".." {
        bail!("--out {out} is not a report name: give a name such as `study`");
    } else {
        Ok(workspace_root().join("reports").join(out))
    }
}

/// A progress bar over `total` steps (hidden when stderr is not a terminal).
pub fn progress_bar(total: u64, message: String) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} (eta {eta})",
        )
        .expect("valid template"),
    );
    bar.set_message(message);
    bar
}

/// Writes `text` to stdout. A reader that stops early (`| head`) ends the
/// output quietly instead of failing.
pub fn emit(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write to stdout"),
    }
}

/// Metrics per position as `0.998 0.871 …`.
pub fn positions(acc: &[f64]) -> String {
    acc.iter()
        .map(|a| format!("{a:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_and_paths() {
        assert!(report_dir("study").unwrap().ends_with("reports/study"));
        assert_eq!(report_dir("/tmp/x").unwrap(), PathBuf::from("/tmp/x"));
        assert!(report_dir("").is_err());
        assert!(report_dir("..").is_err());
    }
}
