//! The model registry and the model file.
//!
//! - [`KINDS`] is the one table of model kinds: each row names a kind and
//!   says how to build it, load it, what the article trains it with and what
//!   one training iteration costs. [`ModelKind`] is a handle on a row;
//!   everything that lists kinds iterates [`ModelKind::all`].
//! - [`ModelFile`] is the versioned model file (`rnnstudy.model/1`; `/2`
//!   for an imported model): save, load, and every field checked with
//!   errors that name it.
//! - [`torch`] writes a model file's weights in PyTorch's layout
//!   (safetensors: the tensors of `nn.RNN` / `nn.GRU` / `nn.LSTM` +
//!   `nn.Linear`, or two `nn.Linear`) and reads them back, each kind's
//!   mapping being its registry row's [`KindInfo::torch`].
//!
//! ```
//! use models::{ModelFile, ModelKind, Training};
//! use nncore::{Precision, Schedule, Trainer, evaluate, fit};
//! use seqdata::{AlternatingSign, Stream, seeded_rng};
//!
//! // Build an RNN by name, in f32, with the article's optimiser, and train it
//! // briefly.
//! let kind: ModelKind = "rnn".parse()?;
//! let task = AlternatingSign::new(8)?;
//! let (pool, heldout) = (task.training_pool(0)?, task.heldout(200, 1)?);
//! let mut model = kind.build(16, 8, Precision::F32, &mut seeded_rng(0, Stream::Init))?;
//! let spec = kind.info().article;
//! let mut trainer = Trainer::new(spec.build()?);
//! let schedule = Schedule { iters: 200, eval_every: 100, ..Schedule::default() };
//! let out = fit(model.as_mut(), &mut trainer, &pool, &mut seeded_rng(0, Stream::Sampling),
//!               &heldout, &schedule, &mut ())?;
//!
//! // Save it, load it back, and evaluate it again: the same metrics.
//! let training = Training::new(0, out.iters, spec, None, pool.len(), &heldout, 1, &schedule);
//! let file = ModelFile::new(model.as_ref(), kind, 8, training, out.final_metrics.clone())?;
//! let dir = tempfile::tempdir()?;
//! file.save(&dir.path().join("m.json"))?;
//! let (back, loaded) = ModelFile::load(&dir.path().join("m.json"))?;
//! assert_eq!(back, file);
//! assert_eq!(evaluate(loaded.as_ref(), &back.heldout_set()?)?, out.final_metrics);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod file;
mod registry;
pub mod torch;

pub use file::{
    ImportedFrom, MAX_FILE_BYTES, MAX_HELDOUT, MAX_HIDDEN, MAX_LENGTH, ModelFile, SCHEMA,
    SCHEMA_IMPORTED, SCHEMA_PRECISION, SUPPORTED_VERSIONS, Training, check_saveable,
};
pub use registry::{BuildFn, FromJsonFn, KINDS, KindInfo, ModelKind, SizeFn, ZerosFn};

/// What can go wrong building, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name that is not in the registry.
    #[error("unknown model kind `{name}`: use one of {known}")]
    UnknownKind {
        /// The name given.
        name: String,
        /// Every registered name.
        known: String,
    },
    /// A model file's contents are wrong; the message names the field.
    #[error("{0}")]
    Format(String),
    /// A model's configuration or parameters are wrong.
    #[error(transparent)]
    Model(#[from] nncore::Error),
    /// Reading or writing a file, or making the held-out set, failed.
    #[error(transparent)]
    Data(#[from] seqdata::Error),
    /// An error with the file or place it happened in.
    #[error("{what}: {cause}")]
    Context {
        /// Where: `model file m.json`.
        what: String,
        /// What went wrong there.
        cause: Box<Error>,
    },
}

impl Error {
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
