//! Recurrent sequence models trained by backpropagation through time.
//!
//! [`ElmanRnn`] is the gate-less recurrent network of the rnnstudy
//! experiment (SPEC §2): input 1, hidden `H` (100 by default) with `tanh`,
//! one sigmoid output per time step, full BPTT over the whole sequence with
//! the gradients of every time step summed into one update per sequence. It
//! implements [`nncore::SequenceModel`], so [`nncore::Trainer`] trains it.
//!
//! Beyond the article, the same trait is implemented by:
//! - the IRNN ([`ElmanConfig::irnn`]): ReLU hidden units and the recurrent
//!   matrix initialised to the identity (Le, Jaitly & Hinton 2015);
//! - [`Gru`] and [`Lstm`]: gated cells with the equations of PyTorch's
//!   `nn.GRU` / `nn.LSTM` (gate blocks r, z, n and i, f, g, o; LSTM forget
//!   bias 1), with the same sigmoid output per step, so their gradients can be
//!   checked against PyTorch (`tools/crosscheck_torch.py`).
//!
//! ```
//! use nncore::{Sgd, Trainer, SequenceModel};
//! use rand::Rng;
//! use rnn::{ElmanConfig, ElmanRnn};
//! use seqdata::{AlternatingSign, Stream, seeded_rng};
//!
//! let task = AlternatingSign::new(8)?;
//! let pool = task.training_pool(1)?;
//! let mut model = ElmanRnn::new(ElmanConfig::default(), &mut seeded_rng(1, Stream::Init))?;
//! let mut trainer = Trainer::new(Sgd::article()); // lr 0.1 for W_in/W_out/b_out, 0.001 for W/b
//! let mut order = seeded_rng(1, Stream::Sampling);
//! for _ in 0..100 {
//!     let (x, y) = pool.sample(order.random_range(0..pool.len()));
//!     let stats = trainer.step(&mut model, x, y)?;
//!     assert!(stats.loss.is_finite());
//! }
//! let probs = model.forward(&[0.3, 0.9, 0.1, 0.5, 0.2, 0.2, 0.7, 0.4])?;
//! assert_eq!(probs.len(), 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod elman;
mod gated;
mod gru;
mod lstm;
#[cfg(test)]
mod test_support;

pub use elman::{ElmanConfig, ElmanRnn, HiddenActivation, RecurrentInit};
pub use gru::{Gru, GruConfig};
pub use lstm::{Lstm, LstmConfig};
pub use nncore::{Error, Result};
