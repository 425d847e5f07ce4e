//! Recurrent sequence models trained by backpropagation through time.
//!
//! [`ElmanRnn`] is the gate-less recurrent network of the rnnstudy
//! experiment (docs/SPEC.md §2): input 1, hidden `H` (100 by default) with `tanh`,
//! one sigmoid output per time step, full BPTT over the whole sequence with
//! the gradients of every time step summed into one update per sequence. It
//! implements [`nncore::SequenceModel`], so [`nncore::Trainer`] trains it.
//!
//! Beyond the article, the same trait is implemented by:
//! - the IRNN ([`Elman::irnn`]): ReLU hidden units and the recurrent
//!   matrix initialised to the identity, with the article's other weights;
//!   and Le, Jaitly & Hinton's own initialisation of it ([`Elman::irnn_le`]);
//! - the tanh RNN with an orthogonal recurrent matrix
//!   ([`Elman::orthogonal`], Saxe et al. 2014);
//! - [`IndRnn`]: Li et al.'s two-layer IndRNN, diagonal recurrence with its
//!   weights bounded by `2^(1/T)` ([`Cell::constrain`]);
//! - [`Lru`]: Orvieto et al.'s Linear Recurrent Unit, a diagonal complex
//!   linear recurrence with a ReLU readout;
//! - [`Gru`] and [`Lstm`]: gated cells with the equations of PyTorch's
//!   `nn.GRU` / `nn.LSTM` (gate blocks r, z, n and i, f, g, o; LSTM forget
//!   bias 1), with the same sigmoid output per step, so their gradients can be
//!   checked against PyTorch (`tools/crosscheck_torch.py`; the gate-less
//!   cells against PyTorch autograd, `tools/gateless_torch.py`).
//!
//! All of them are one generic model, [`Recurrent<C>`](Recurrent), around a
//! [`Cell`]: the model owns the buffers, the time loop, BPTT, the sigmoid
//! head, the loss, `‖∂E/∂h_t‖` and batched prediction; the cell
//! ([`Elman`], [`IndRnn`], [`Lru`], [`GruCell`], [`LstmCell`]) only its step
//! maths.
//!
//! ```
//! use nncore::{Sgd, Trainer, SequenceModel};
//! use rand::Rng;
//! use rnn::{Elman, ElmanRnn};
//! use seqdata::{AlternatingSign, Stream, seeded_rng};
//!
//! let task = AlternatingSign::new(8)?;
//! let pool = task.training_pool(1)?;
//! let mut model = ElmanRnn::new(Elman::article(100), &mut seeded_rng(1, Stream::Init))?;
//! let mut trainer = Trainer::new(Sgd::article()); // lr 0.1 for W_in/W_out/b_out, 0.001 for W/b
//! let mut order = seeded_rng(1, Stream::Sampling);
//! for _ in 0..100 {
//!     let (x, y) = pool.sample(order.random_range(0..pool.len()));
//!     let stats = trainer.step(&mut model, x, y)?;
//!     assert!(stats.loss.is_finite());
//! }
//! let probs = model.forward(&[0.3, 0.9, 0.1, 0.5, 0.2, 0.2, 0.7, 0.4])?;
//! assert_eq!(probs.len(), 8);
//!
//! // Saved parameters load back with the cell they were made with.
//! let back = ElmanRnn::from_json(&model.params().to_json(), |h| Ok(Elman::article(h)))?;
//! assert_eq!(back.params().values(), model.params().values());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How to add a cell
//!
//! A new cell is one file in `src/` (plus its `mod` and `pub use` lines
//! here): a settings struct, its [`Cell`] impl, generic over the precision
//! `S` ([`nncore::Scalar`]: `f64` or `f32`), and a type alias. Say,
//! a "minimal gated unit"-like cell with one sigmoid gate that mixes the
//! previous state with the input, `h_t = f_t ⊙ h_{t-1} + (1 − f_t) x_t`,
//! `f_t = σ(x_t w + h_{t-1} U + b)` (`G = 1`):
//!
//! ```
//! use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul};
//! use nncore::{ParamGroup, Result, Scalar, SequenceModel};
//! use nncore::activation::sigmoid;
//! use nncore::init::fill_scaled_normal;
//! use nncore::linalg::{mat_vec, outer_sum, vec_mat_acc};
//! use rand::Rng;
//! use rnn::cell::{Block, Cell, check_hidden, input_grads, split_blocks, split_blocks_mut};
//! use rnn::Recurrent;
//!
//! /// The settings: the hidden size.
//! #[derive(Debug, Clone, Copy, PartialEq)]
//! pub struct Leaky { pub hidden: usize }
//!
//! /// The model: `Recurrent` runs the cell and adds the sigmoid head.
//! pub type LeakyRnn<S = f64> = Recurrent<Leaky, S>;
//!
//! impl Leaky {
//!     fn lens(&self) -> [usize; 3] { let h = self.hidden; [h, h * h, h] }
//!     fn row<S: Scalar>(&self, a: &mut [S], x: S, prev: &[S], h: &mut [S]) {
//!         for ((hk, ak), &pk) in h.iter_mut().zip(a.iter_mut()).zip(prev) {
//!             *ak = sigmoid(*ak);
//!             *hk = *ak * pk + (S::one() - *ak) * x;
//!         }
//!     }
//! }
//!
//! /// The tape: the gate `f_t` and the delta of its pre-activation, `L × H`.
//! #[derive(Debug, Clone)]
//! pub struct LeakyTape<S> { f: Vec<S>, delta: Vec<S>, x: Vec<S> }
//!
//! impl<S: Scalar> Cell<S> for Leaky {
//!     const GATES: usize = 1;
//!     const RECURRENT: usize = 1; // U
//!     type Tape = LeakyTape<S>;
//!     type Batch = ndarray::Array2<S>; // the gate pre-activations, n × H
//!
//!     fn kind(&self) -> &'static str { "leaky" }
//!     fn hidden(&self) -> usize { self.hidden }
//!     fn check(&self) -> Result<()> { check_hidden(self.hidden) }
//!     fn blocks(&self) -> Vec<Block> {
//!         let h = self.hidden;
//!         vec![
//!             ("w", vec![1, h], ParamGroup::InputOutput),
//!             ("U", vec![h, h], ParamGroup::Recurrent),
//!             ("b", vec![h], ParamGroup::Recurrent),
//!         ]
//!     }
//!     fn init_before_head<R: Rng + ?Sized>(&self, p: &mut [S], rng: &mut R) {
//!         let [w, _, _] = split_blocks_mut(p, self.lens());
//!         fill_scaled_normal(w, 1, rng);
//!     }
//!     fn init_after_head<R: Rng + ?Sized>(&self, p: &mut [S], rng: &mut R) {
//!         let [_, u, _] = split_blocks_mut(p, self.lens());
//!         fill_scaled_normal(u, self.hidden, rng);
//!     }
//!     fn tape(&self, len: usize) -> LeakyTape<S> {
//!         let n = len * self.hidden;
//!         LeakyTape { f: vec![S::zero(); n], delta: vec![S::zero(); n], x: vec![S::zero(); len] }
//!     }
//!     fn forward_step(&self, p: &[S], tape: &mut LeakyTape<S>, t: usize, x: S,
//!                     prev: &[S], h: &mut [S]) {
//!         let [w, u, b] = split_blocks(p, self.lens());
//!         let n = self.hidden;
//!         let a = &mut tape.f[t * n..(t + 1) * n];
//!         for ((ak, &bk), &wk) in a.iter_mut().zip(b).zip(w) { *ak = bk + x * wk; }
//!         if t > 0 { vec_mat_acc(prev, u, a); }
//!         self.row(a, x, prev, h);
//!         tape.x[t] = x;
//!     }
//!     fn backward_step(&self, p: &[S], tape: &mut LeakyTape<S>, t: usize,
//!                      prev: &[S], _h: &[S], dh: &[S], carry: &mut [S]) {
//!         let [_, u, _] = split_blocks(p, self.lens());
//!         let n = self.hidden;
//!         let (f, x) = (&tape.f[t * n..(t + 1) * n], tape.x[t]);
//!         let delta = &mut tape.delta[t * n..(t + 1) * n];
//!         for (((d, &g), &fk), &pk) in delta.iter_mut().zip(dh).zip(f).zip(prev) {
//!             *d = g * (pk - x) * fk * (S::one() - fk);
//!         }
//!         if t > 0 {
//!             mat_vec(u, delta, carry); // through U …
//!             for ((c, &g), &fk) in carry.iter_mut().zip(dh).zip(f) { *c += g * fk; } // … and f ⊙ h
//!         }
//!     }
//!     fn grads(&self, tape: &LeakyTape<S>, x: &[S], prev: &[S], col: &mut [S],
//!              g: &mut [S]) {
//!         let [g_w, g_u, g_b] = split_blocks_mut(g, self.lens());
//!         let deltas = &tape.delta[..x.len() * self.hidden];
//!         input_grads(x, deltas, g_w, g_b);
//!         outer_sum(prev, deltas, self.hidden, col, g_u);
//!     }
//!     fn batch(&self, _p: &[S], n: usize) -> ndarray::Array2<S> {
//!         ndarray::Array2::zeros((n, self.hidden))
//!     }
//!     fn batch_step(&self, p: &[S], a: &mut ndarray::Array2<S>, t: usize,
//!                   x: ArrayView1<'_, S>, prev: ArrayView2<'_, S>,
//!                   mut h: ArrayViewMut2<'_, S>) {
//!         let [w, u, b] = split_blocks(p, self.lens());
//!         for (mut row, &xt) in a.axis_iter_mut(Axis(0)).zip(x) {
//!             for ((ak, &bk), &wk) in row.iter_mut().zip(b).zip(w) { *ak = bk + xt * wk; }
//!         }
//!         if t > 0 {
//!             let u = ArrayView2::from_shape((self.hidden, self.hidden), u).unwrap();
//!             general_mat_mul(S::one(), &prev, &u, S::one(), a);
//!         }
//!         for (((mut ar, pr), mut hr), &xt) in a.axis_iter_mut(Axis(0))
//!             .zip(prev.axis_iter(Axis(0))).zip(h.axis_iter_mut(Axis(0))).zip(x)
//!         {
//!             self.row(ar.as_slice_mut().unwrap(), xt, pr.as_slice().unwrap(),
//!                      hr.as_slice_mut().unwrap());
//!         }
//!     }
//! }
//!
//! // That is all: training, loss, BPTT through the head, JSON, batches.
//! let mut m = LeakyRnn::<f64>::new(Leaky { hidden: 8 }, &mut seqdata::seeded_rng(1, seqdata::Stream::Init))?;
//! let (x, y) = ([0.3, 0.9, 0.1, 0.5], [1.0, 0.0, 1.0, 1.0]);
//! let check = nncore::check_gradients(&mut m, &x, &y, 1e-6)?;
//! assert!(check.max_rel_err() < 1e-5, "{check}");
//! let batch = m.predict_batch(ndarray::Array2::from_shape_vec((1, 4), x.to_vec())?.view())?;
//! assert!((batch[[0, 3]] - m.forward(&x)?[3]).abs() < 1e-12);
//!
//! // The same cell in f32: the same code, and the same outputs to f32's precision.
//! let mut m32 = LeakyRnn::<f32>::new(Leaky { hidden: 8 }, &mut seqdata::seeded_rng(1, seqdata::Stream::Init))?;
//! assert!((m32.forward(&x)?[3] - m.forward(&x)?[3]).abs() < 1e-5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Then `mod leaky;` and `pub use leaky::{Leaky, LeakyRnn};` in `lib.rs`,
//! and the cell's tests call the generic helpers of `test_support.rs`
//! (`assert_gradients_match_finite_differences(|h| Leaky { hidden: h }, …)`,
//! …).
//!
//! A cell that fits no other's mould keeps whatever it needs in its tape;
//! see [`cell`] for the contract (when each method is called, which rows
//! it gets, and the rule that nothing allocates after the tape is made).
#![warn(missing_docs)]

pub mod cell;
mod elman;
mod gated;
mod gru;
mod indrnn;
mod lru;
mod lstm;
mod recurrent;
#[cfg(test)]
mod test_support;

pub use cell::{Cell, MAX_HIDDEN};
pub use elman::{Elman, ElmanRnn, ElmanTape, HiddenActivation, IoInit, LE_STD, RecurrentInit};
pub use gru::{Gru, GruBatch, GruCell, GruTape};
pub use indrnn::{INDRNN_INPUT_STD, INDRNN_MAG, IndRnn, IndRnnNet, IndRnnTape};
pub use lru::{Lru, LruBatch, LruRnn, LruTape};
pub use lstm::{Lstm, LstmBatch, LstmCell, LstmTape};
pub use nncore::{Error, Result};
pub use recurrent::Recurrent;
