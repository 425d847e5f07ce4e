//! The crate's error type.

/// What can go wrong in the shared building blocks and in the models built on them.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// A configuration value is out of its range.
    #[error("invalid {field} = {value}: {reason}")]
    InvalidConfig {
        /// The field's name.
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// What would be accepted.
        reason: String,
    },
    /// A sequence does not have the length the model takes.
    #[error("a sequence of length {found} was given to a model that takes length {expected}")]
    LengthMismatch {
        /// What the model takes.
        expected: usize,
        /// What it was given.
        found: usize,
    },
    /// Labels and inputs differ in length.
    #[error("the sequence has {inputs} inputs but {labels} labels: they must match")]
    LabelLength {
        /// Inputs given.
        inputs: usize,
        /// Labels given.
        labels: usize,
    },
    /// An empty sequence was given.
    #[error("the sequence is empty: give at least one element")]
    EmptySequence,
    /// Parameter JSON is not an object.
    #[error("parameters must be a JSON object of named arrays, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: String,
    },
    /// A parameter the model needs is missing.
    #[error("parameter `{name}` is missing (expected keys: {expected})")]
    MissingParam {
        /// The missing key.
        name: String,
        /// Every key the model expects.
        expected: String,
    },
    /// A key that names no parameter of the model.
    #[error("unknown parameter `{name}` (expected keys: {expected})")]
    UnknownParam {
        /// The unknown key.
        name: String,
        /// Every key the model expects.
        expected: String,
    },
    /// A parameter of the wrong shape.
    #[error("parameter `{name}` has shape {found}, expected {expected:?}")]
    ShapeMismatch {
        /// The parameter.
        name: String,
        /// The shape the model expects.
        expected: Vec<usize>,
        /// What was found, described.
        found: String,
    },
    /// A parameter entry that is not a finite number.
    #[error("parameter `{name}` at {index}: {problem}")]
    BadValue {
        /// The parameter.
        name: String,
        /// Where, e.g. `[3][7]`.
        index: String,
        /// What is wrong, e.g. `NaN is not allowed`.
        problem: String,
    },
    /// The observer stopped the run ([`Observer::should_stop`](crate::Observer::should_stop)).
    #[error("the run was stopped after {iters_done} iterations")]
    Interrupted {
        /// Iterations done when it stopped.
        iters_done: usize,
    },
    /// An input value that is not finite.
    #[error("input x[{index}] = {value} is not a finite number")]
    NonFiniteInput {
        /// Position in the sequence.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An [`Error::InvalidConfig`] for `field`.
    pub fn invalid(field: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
