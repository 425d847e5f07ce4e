//! The *alternating-sign* sequence task of the rnnstudy experiment.
//!
//! A sequence is `L` numbers drawn uniformly from `[0, 1)`. Walking left to
//! right we add `x[0]`, subtract `x[1]`, add `x[2]`, … and after each element
//! `t` the label is `1` if the running sum `S_t = Σ_{i≤t} (-1)^i x[i]` is
//! `>= 0`, else `0` (ties go to `1`, so `y[0]` is always `1`).
//!
//! This crate generates single sequences, the 50,000-sequence training pool and
//! the held-out set, always from an injected or named, seeded generator
//! ([`rand_chacha::ChaCha8Rng`]) so that every data set is reproducible bit for
//! bit from its seed. [`io`] reads and writes data sets as CSV and `.npy`.
//!
//! ```
//! use seqdata::{AlternatingSign, labels};
//!
//! // The label rule is a pure function of x.
//! assert_eq!(labels(&[0.2, 0.7, 0.9, 0.1]), vec![1, 0, 1, 1]); // S = 0.2, -0.5, 0.4, 0.3
//!
//! // A training pool and a held-out set at length 8, from named seeds.
//! let task = AlternatingSign::new(8)?;
//! let pool = task.training_pool(42)?;
//! let heldout = task.heldout(2_000, seqdata::DEFAULT_HELDOUT_SEED)?;
//! assert_eq!(pool.len(), seqdata::POOL_SIZE);
//! assert_eq!(heldout.length(), 8);
//! assert_eq!(pool.labels().row(0)[0], 1.0);
//! # Ok::<(), seqdata::Error>(())
//! ```
#![warn(missing_docs)]

mod dataset;
mod error;
pub mod io;
mod label;
mod seeds;
mod task;

pub use dataset::Dataset;
pub use error::{Error, Result};
pub use label::{label_into, labels, running_sums};
pub use seeds::{DEFAULT_HELDOUT_SEED, Stream, seeded_rng};
pub use task::{AlternatingSign, MAX_ELEMENTS, MAX_LENGTH, POOL_SIZE};
