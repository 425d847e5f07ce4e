//! The crate's error type.

/// What can go wrong when asking for task data.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
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

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
