//! The one-hidden-layer MLP ("DNN") of the rnnstudy experiment.
//!
//! [`Mlp`] reads the whole sequence at once (input `L`), has one hidden layer
//! of `H` ReLU units (100 by default) and `L` sigmoid outputs, one per
//! position (docs/SPEC.md §2). It implements [`nncore::SequenceModel`], so the same
//! [`nncore::Trainer`] that trains the recurrent models trains it. `Mlp<f32>`
//! computes in `f32`, `Mlp` (`Mlp<f64>`) in `f64`.
//!
//! ```
//! use nncore::{Sgd, Trainer, SequenceModel};
//! use rand::Rng;
//! use dnn::{Mlp, MlpConfig};
//! use seqdata::{AlternatingSign, Stream, seeded_rng};
//!
//! let task = AlternatingSign::new(8)?;
//! let pool = task.training_pool(1)?;
//! let mut model = Mlp::<f32>::new(MlpConfig::for_length(8), &mut seeded_rng(1, Stream::Init))?;
//! let mut trainer = Trainer::new(Sgd::new(0.1, 0.1)?); // the article: 0.1 everywhere
//! let mut order = seeded_rng(1, Stream::Sampling);
//! for _ in 0..100 {
//!     let (x, y) = pool.sample(order.random_range(0..pool.len()));
//!     trainer.step(&mut model, x, y)?;
//! }
//! // An MLP takes exactly its length.
//! assert!(model.forward(&[0.5; 7]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod mlp;

pub use mlp::{Mlp, MlpConfig};
pub use nncore::{Error, Result};
