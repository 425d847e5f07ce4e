//! Criterion benchmarks of the rnnstudy models and data generator.
//!
//! Run them with `cargo bench -p bench`. This library only holds the
//! shared fixtures the benchmarks use.
#![warn(missing_docs)]

use rnn::{Elman, ElmanRnn, Gru, GruCell, Lstm, LstmCell};
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

/// An article-sized Elman RNN (H = 100) with a fixed seed.
pub fn elman() -> ElmanRnn {
    ElmanRnn::new(Elman::article(100), &mut seeded_rng(0, Stream::Init)).expect("valid config")
}

/// `n` held-out sequences of length `len`.
pub fn data(len: usize, n: usize) -> Dataset {
    AlternatingSign::new(len)
        .and_then(|t| t.heldout(n, 0))
        .expect("valid sizes")
}

/// The article's MLP for sequences of `len`, with a fixed seed.
pub fn mlp(len: usize) -> dnn::Mlp {
    dnn::Mlp::new(
        dnn::MlpConfig::for_length(len),
        &mut seeded_rng(0, Stream::Init),
    )
    .expect("valid config")
}

/// An IRNN (ReLU, identity-initialised Elman RNN), H = 100, fixed seed.
pub fn irnn() -> ElmanRnn {
    ElmanRnn::new(Elman::irnn(100), &mut seeded_rng(0, Stream::Init)).expect("valid config")
}

/// A GRU, H = 100, fixed seed.
pub fn gru() -> Gru {
    Gru::new(GruCell::new(100), &mut seeded_rng(0, Stream::Init)).expect("valid config")
}

/// An LSTM, H = 100, fixed seed.
pub fn lstm() -> Lstm {
    Lstm::new(LstmCell::new(100), &mut seeded_rng(0, Stream::Init)).expect("valid config")
}
