//! The crate's error type.

/// What can go wrong when asking for task data or reading a data file.
#[derive(Debug, thiserror::Error, Clone)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {what} {}: {cause}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the file is (`data file`, `label file`).
        what: String,
        /// The operating system's error.
        cause: std::sync::Arc<std::io::Error>,
    },
    /// A file could not be written.
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        /// The file (or the folder it was to go in).
        path: std::path::PathBuf,
        /// The operating system's error.
        cause: std::sync::Arc<std::io::Error>,
    },
    /// A data file's contents are not what they must be; the message names
    /// the place (line, column, entry) and the problem.
    #[error("{0}")]
    Format(String),
    /// An error with the file or place it happened in.
    #[error("{what}: {cause}")]
    Context {
        /// Where: `data file data/x.csv`.
        what: String,
        /// What went wrong there.
        cause: Box<Error>,
    },
    /// The sequence length is zero or above [`crate::MAX_LENGTH`].
    #[error("sequence length {length} is out of range: use 1 ..= {max}")]
    BadLength {
        /// The length asked for.
        length: usize,
        /// The largest length accepted.
        max: usize,
    },
    /// The number of sequences is zero, or the data set would be too large.
    #[error(
        "{count} sequences of length {length} is out of range: use at least 1 and at most {max_elements} numbers in all"
    )]
    BadCount {
        /// The count asked for.
        count: usize,
        /// The sequence length.
        length: usize,
        /// The most numbers (count × length) one data set may hold.
        max_elements: usize,
    },
    /// Inputs and labels of a data set do not have the same shape.
    #[error("inputs are {x_rows}x{x_cols} but labels are {y_rows}x{y_cols}: they must match")]
    ShapeMismatch {
        /// Rows of the inputs.
        x_rows: usize,
        /// Columns of the inputs.
        x_cols: usize,
        /// Rows of the labels.
        y_rows: usize,
        /// Columns of the labels.
        y_cols: usize,
    },
}

impl Error {
    /// This error, said to have happened in `what` (a file, a flag).
    pub fn context(self, what: impl Into<String>) -> Self {
        Self::Context {
            what: what.into(),
            cause: Box::new(self),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
