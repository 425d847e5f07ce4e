//! The study engine: what a study is ([`Study`], read from a TOML study
//! file), its deterministic job plan ([`Job`]), running it into a report
//! folder with resume ([`run`], [`ReportDir`]), the report schema
//! ([`StudyReport`], written as `study.json` and `runs/*.json`), the
//! summary and verdict computed from the numbers ([`summary`]), and
//! splitting a study across machines ([`Shard`], [`run_shard`], [`merge`]).
//!
//! A two-variant study, from a study file to `study.json`, with the
//! library alone:
//!
//! ```
//! use study::{ReportDir, RunOptions, Study};
//!
//! let study = Study::from_toml(r#"
//!     name = "tiny"
//!     lengths = [4]
//!     seeds = 2
//!     iters = 200
//!     eval_every = 100
//!     heldout = 64
//!     [[variant]]
//!     model = "rnn"
//!     hidden = 8
//!     [[variant]]
//!     model = "gru"
//!     hidden = 8
//!     optimizer = "adam"
//!     lr_io = 0.01
//!     lr_rec = 0.01
//!     clip = 1.0
//! "#)?;
//! let dir = tempfile::tempdir()?;
//! let report = study::run(&study, &ReportDir::new(dir.path()), &RunOptions::default())?;
//! assert_eq!(report.runs.len(), 2 * 2);
//! assert_eq!(report.labels(), ["rnn h8", "gru h8 adam lr 0.01/0.01 clip 1"]);
//! assert!(dir.path().join("study.json").exists() && dir.path().join("SUMMARY.md").exists());
//! // The folder keeps the resolved study: it replays the same study.
//! let kept = std::fs::read_to_string(dir.path().join("study.toml"))?;
//! assert_eq!(Study::from_toml(&kept)?, study);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod adaptive;
mod config;
mod folder;
mod plan;
mod report;
mod run;
mod shard;
pub mod summary;
pub mod tables;

pub use config::{
    DEFAULT_HIDDEN, DEFAULT_MAX_SEEDS, MAX_HELDOUT, MAX_HIDDEN, MAX_LENGTH, MAX_SEEDS,
    MAX_VARIANTS, PRESETS, Search, SearchDef, SearchKind, SeedsDef, Study, StudyFile, Variant,
    VariantDef, differences, parse_seeds,
};
pub use folder::{
    LOCK_FILE, LockGuard, LockMode, Mismatched, OUTPUTS_FILE, ReportDir, STUDY_FILE, Skipped,
};
pub use plan::Job;
pub use report::{
    ARITHMETIC_VERSION, ARITHMETIC_VERSION_F32, RunInputs, RunReport, SCHEMA, StudyReport,
    SummaryRow, Timing, arithmetic_version, ci95_half_width, mean_std, run_file_name, summarise,
    t975,
};
pub use run::{RunOptions, model_file, run, run_report, run_shard, train_job};
pub use shard::{Shard, build_id, merge};

/// What can go wrong defining or running a study.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value out of its range; names the key, the value and the fix.
    #[error("invalid {field} = {value}: {reason}")]
    Invalid {
        /// The key (`lengths`, `variant `rnn`: lr_io`).
        field: String,
        /// The value given, as text.
        value: String,
        /// What would be accepted.
        reason: String,
    },
    /// A study file that is not valid TOML or has a wrong key or value.
    #[error("study file: {0}")]
    StudyFile(String),
    /// A report folder that cannot be created, written or cleaned.
    #[error("report folder {}: {problem}", path.display())]
    Folder {
        /// The folder or file.
        path: std::path::PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A study that cannot be resumed.
    #[error("resume: {0}")]
    Resume(String),
    /// A report folder that another process is writing.
    #[error(
        "report folder {} is being written by {holder}: wait for it to finish, or write \
         elsewhere",
        path.display()
    )]
    Busy {
        /// The folder.
        path: std::path::PathBuf,
        /// Who holds its lock (`process 1234 (cargo xtask study …)`).
        holder: String,
    },
    /// A report folder that holds another study.
    #[error("report folder {} holds another study ({what}); {fix}", path.display())]
    Occupied {
        /// The folder.
        path: std::path::PathBuf,
        /// What differs.
        what: String,
        /// What to do (`give another --out, or --overwrite to replace it`).
        fix: &'static str,
    },
    /// Run files that do not match the plan, refused ([`Mismatched::Refuse`]).
    #[error(
        "{} run files do not match the study: {}; remove them, or let them be retrained",
        skipped.len(),
        skipped.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Mismatched {
        /// Each file and why.
        skipped: Vec<Skipped>,
    },
    /// The study was stopped (a signal) before it finished.
    #[error(
        "interrupted: {finished} of {total} runs are finished and kept in {}; the same command \
         trains the rest",
        dir.display()
    )]
    Interrupted {
        /// Runs finished (kept in `runs/`).
        finished: usize,
        /// Runs of the plan (or the shard).
        total: usize,
        /// The folder's `runs/`.
        dir: std::path::PathBuf,
    },
    /// Shards that cannot be merged.
    #[error("merge: {0}")]
    Merge(String),
    /// A `study.json` that cannot be read back.
    #[error("{0}")]
    Report(String),
    /// Building or training a model failed.
    #[error(transparent)]
    Model(#[from] models::Error),
    /// A model, optimiser or schedule setting is wrong.
    #[error(transparent)]
    Core(#[from] nncore::Error),
    /// Data or file I/O failed.
    #[error(transparent)]
    Data(#[from] seqdata::Error),
    /// An error with what it happened in.
    #[error("{what}: {cause}")]
    Context {
        /// Where (`run rnn L=8 seed=0`).
        what: String,
        /// What went wrong there.
        cause: Box<Error>,
    },
}

impl Error {
    /// An [`Error::Invalid`].
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Whether this is a run stopped by a signal ([`RunOptions::stop`]).
    pub fn is_interruption(&self) -> bool {
        match self {
            Error::Interrupted { .. } | Error::Core(nncore::Error::Interrupted { .. }) => true,
            Error::Context { cause, .. } => cause.is_interruption(),
            _ => false,
        }
    }

    /// This error, said to have happened in `what`.
    pub fn context(self, what: impl Into<String>) -> Self {
        Self::Context {
            what: what.into(),
            cause: Box::new(self),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl StudyReport {
    /// The variant labels of the study, in order.
    pub fn labels(&self) -> Vec<String> {
        self.config.labels()
    }
}
