//! Benchmark fixtures and the roofline of the rnnstudy models, every list of
//! models derived from the registry ([`models::ModelKind::all`]).
//!
//! Run the criterion benchmarks with `cargo bench -p bench`, and the
//! roofline table with `cargo xtask roofline`.
//!
//! ```
//! let kind: models::ModelKind = "lstm".parse()?;
//! let mut model = bench::model(kind, 8, nncore::Precision::F32);
//! let data = bench::data(8, 4);
//! let mut trainer = bench::trainer(kind);
//! let (x, y) = data.sample(0);
//! assert!(trainer.step(model.as_mut(), x, y)?.loss.is_finite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod roofline;

use models::ModelKind;
use nncore::{Optimizer, Precision, SequenceModel, Trainer};
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

/// The article's hidden size, used by every fixture.
pub const HIDDEN: usize = 100;

/// A model of `kind` with the article's hidden size, for sequences of `len`,
/// in `precision`, from a fixed seed.
pub fn model(kind: ModelKind, len: usize, precision: Precision) -> Box<dyn SequenceModel> {
    kind.build(HIDDEN, len, precision, &mut seeded_rng(0, Stream::Init))
        .expect("registered kinds build at the article's size")
}

/// The kind's article optimiser (SGD at its rates), as a trainer.
pub fn trainer(kind: ModelKind) -> Trainer<Box<dyn Optimizer>> {
    Trainer::new(
        kind.info()
            .article
            .build()
            .expect("article rates are valid"),
    )
}

/// `n` held-out sequences of length `len`.
pub fn data(len: usize, n: usize) -> Dataset {
    AlternatingSign::new(len)
        .and_then(|t| t.heldout(n, 0))
        .expect("valid sizes")
}
