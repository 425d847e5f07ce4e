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

/// Seconds per training iteration of `kind` at length `len` in
/// `precision`: the article's optimiser, one sequence per iteration drawn
/// in turn from 256 held-out-style sequences, `iters` iterations timed
/// after `iters / 10 + 1` of warm-up, on the calling thread. What
/// `cargo xtask speed` prints and `tools/bench_torch.py` compares with
/// PyTorch.
///
/// ```
/// let s = bench::seconds_per_iteration("rnn".parse()?, 8, nncore::Precision::F32, 20);
/// assert!(s > 0.0 && s < 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seconds_per_iteration(
    kind: ModelKind,
    len: usize,
    precision: Precision,
    iters: usize,
) -> f64 {
    let d = data(len, 256);
    let mut m = model(kind, len, precision);
    let mut t = trainer(kind);
    let mut step = |i: usize| {
        let (x, y) = d.sample(i % d.len());
        std::hint::black_box(t.step(m.as_mut(), x, y).expect("valid data"));
    };
    (0..iters / 10 + 1).for_each(&mut step);
    let start = std::time::Instant::now();
    (0..iters).for_each(&mut step);
    start.elapsed().as_secs_f64() / iters.max(1) as f64
}
