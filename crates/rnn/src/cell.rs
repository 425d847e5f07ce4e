//! The [`Cell`] trait: the maths of one recurrent cell, one time step at a
//! time, for [`Recurrent`](crate::Recurrent) to run over a sequence.
//!
//! In the style of candle's `RNN` trait, a cell knows how to take one step
//! forward and one step backward; everything around that (the buffers of
//! hidden states, the time loop, BPTT's bookkeeping, the sigmoid output
//! head, the loss, `‖∂E/∂h_t‖`, batched prediction and the
//! [`nncore::SequenceModel`] impl) is the generic model's.
//!
//! # Scalar type
//!
//! A cell is written once, generic over the [`Scalar`] type `S` it computes
//! in (`f64`, the default, or `f32`): `impl<S: Scalar> Cell<S> for MyCell`.
//! The parameters, the tape and the hidden rows are slices and ndarray
//! views of `S`, and the cells call nncore's kernels (`vec_mat_acc`,
//! `mat_vec`, `outer_sum`, `axpy`, `dot`, the activations), generic over
//! the same `S`, not copies of them: the `f64` instantiation is the code
//! that ran before `f32` existed, bit for bit.
//!
//! [`ParamSet`]: nncore::ParamSet

use std::fmt::Debug;

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2};
use rand::Rng;

use nncore::init::fill_scaled_normal;
use nncore::linalg::{axpy, norm};
use nncore::{Error, ParamGroup, Result, Scalar};

/// One parameter block a cell declares: its name (the JSON key), its shape
/// (`[n]` or `[rows, cols]`, row-major) and its learning-rate group, as
/// [`nncore::ParamSet::new`] takes them.
pub type Block = (&'static str, Vec<usize>, ParamGroup);

/// The largest hidden size the cells accept.
pub const MAX_HIDDEN: usize = 4096;

/// Checks a hidden size: `1 ..= MAX_HIDDEN` (what every cell's
/// [`Cell::check`] starts with).
pub fn check_hidden(hidden: usize) -> Result<()> {
    if hidden == 0 || hidden > MAX_HIDDEN {
        return Err(Error::invalid(
            "hidden",
            hidden,
            format!("use 1 ..= {MAX_HIDDEN}"),
        ));
    }
    Ok(())
}

/// A recurrent cell: `h_t = cell(x_t, h_{t-1}, state)` for a scalar input
/// `x_t` and `H` hidden units, with its backward step.
///
/// # Contract
///
/// - **Parameters.** The cell's blocks ([`Cell::blocks`]) come first in the
///   model's [`ParamSet`](nncore::ParamSet), followed by the head's `W_out`
///   `[H, 1]` and `b_out` `[1]`. Every method that reads parameters gets the
///   cell's part of the flat buffer only (`params`, and in
///   [`Cell::grads`] `grads`), its blocks laid out one after the other in
///   the order of [`Cell::blocks`]; [`split_blocks`] and
///   [`split_blocks_mut`] cut it up without allocating.
/// - **Forward.** For one sequence of length `L` the model calls
///   [`Cell::start_forward`] once, then [`Cell::forward_step`] for `t = 0 …
///   L−1` with `h_prev` = `h_{t-1}` (zeros at `t = 0`) and `h` to fill with
///   `h_t`. What the backward pass needs beyond the hidden states goes in
///   the cell's [`Cell::Tape`], indexed by `t`.
/// - **Backward.** The model calls [`Cell::start_backward`], then
///   [`Cell::backward_step`] for `t = L−1 … 0` with `dh` = `∂E/∂h_t` (the
///   head's term plus the carry from step `t + 1`); the step writes, when `t
///   > 0`, the carry `∂E/∂h_{t-1}` through this step into `carry`. Then
///   [`Cell::grads`] sums the cell's parameter gradients over time.
/// - **Batches.** `predict_batch` calls [`Cell::batch_step`] for `t = 0 …
///   L−1` on `n` rows at once, the recurrent product `H_{t-1} W` done as one
///   matrix–matrix product per step, and each row's nonlinearity by the same
///   per-row function the single-sequence step uses.
/// - **No allocation** in `start_*`, `*_step` and `grads`: the buffers are
///   made by [`Cell::tape`] when a longer sequence than any before arrives.
///
/// See the crate docs ("How to add a cell") for a complete small cell.
pub trait Cell<S: Scalar = f64>: Clone + Debug + Send + Sync {
    /// The gate count `G`: the pre-activations of one step are `G·H` wide
    /// (1 for the Elman cell, 3 for the GRU, 4 for the LSTM), and the
    /// recurrent matrix is `[H, G·H]`.
    const GATES: usize;

    /// The index, among [`Cell::blocks`], of the recurrent weights: the
    /// matrix `[H, G·H]` (`W_{hh}`, which multiplies `h_{t-1}`) of a dense
    /// cell, which the default [`Cell::recurrent_weights`] reads, or a
    /// diagonal cell's vector of recurrent weights.
    const RECURRENT: usize;

    /// What one sequence's forward pass keeps for its backward pass (gate
    /// activations, deltas, …), sized for a sequence length.
    type Tape: Clone + Debug + Send + Sync;

    /// Scratch for [`Cell::batch_step`] over `n` rows (made once per
    /// `predict_batch`).
    type Batch;

    /// The model kind, as [`SequenceModel::kind`](nncore::SequenceModel::kind)
    /// reports it (`"rnn"`, `"gru"`, …).
    fn kind(&self) -> &'static str;

    /// The hidden size `H`.
    fn hidden(&self) -> usize;

    /// Checks the settings (the hidden size with [`check_hidden`], and
    /// anything else the cell takes).
    fn check(&self) -> Result<()>;

    /// The cell's parameter blocks, in layout order (the head's `W_out` and
    /// `b_out` follow them and must not be among them).
    fn blocks(&self) -> Vec<Block>;

    /// Initialises what is drawn before the head's `W_out`: `params` (the
    /// cell's blocks, all zero) gets e.g. the input weights.
    ///
    /// The model draws `W_out ~ N(0, 1)/√H` between
    /// [`Cell::init_before_head`] and [`Cell::init_after_head`], which is
    /// the article's order: input weights, `W_out`, recurrent matrix.
    fn init_before_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R);

    /// Draws the head's `W_out` (`H` entries), between
    /// [`Cell::init_before_head`] and [`Cell::init_after_head`]: `N(0, 1) /
    /// √H` by default, the article's.
    fn init_head<R: Rng + ?Sized>(&self, w_out: &mut [S], rng: &mut R) {
        fill_scaled_normal(w_out, self.hidden(), rng);
    }

    /// Initialises what is drawn after the head's `W_out` (the recurrent
    /// matrix) and anything fixed (e.g. a forget-gate bias).
    fn init_after_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R);

    /// The linear map from the carried state at `t − 1` to step `t`'s
    /// pre-activations, as a dense `f64` matrix, for the spectral-norm
    /// diagnostic
    /// ([`SequenceModel::recurrent_weights`](nncore::SequenceModel::recurrent_weights)).
    /// By default block [`Cell::RECURRENT`], `[H, G·H]`; a diagonal cell
    /// gives its diagonal as a matrix.
    fn recurrent_weights(&self, params: &[S]) -> Array2<f64> {
        let blocks = self.blocks();
        let start: usize = blocks[..Self::RECURRENT]
            .iter()
            .map(|(_, shape, _)| shape.iter().product::<usize>())
            .sum();
        let (h, gh) = (self.hidden(), Self::GATES * self.hidden());
        let w = &params[start..start + h * gh];
        Array2::from_shape_fn((h, gh), |(i, j)| w[i * gh + j].as_f64())
    }

    /// Keeps the parameters in the cell's feasible set after each optimiser
    /// step (e.g. IndRNN's bound on its recurrent weights); nothing by
    /// default.
    fn constrain(&self, params: &mut [S]) {
        let _ = params;
    }

    /// A tape for sequences of up to `len` steps (`len` may be 0).
    fn tape(&self, len: usize) -> Self::Tape;

    /// Called once before the forward steps of a sequence (e.g. to pre-sum
    /// biases); does nothing by default.
    fn start_forward(&self, params: &[S], tape: &mut Self::Tape) {
        let _ = (params, tape);
    }

    /// One forward step: `h ← h_t` from the input `x_t` and `h_prev =
    /// h_{t-1}`, keeping in `tape` (row `t`) what the backward step needs.
    fn forward_step(
        &self,
        params: &[S],
        tape: &mut Self::Tape,
        t: usize,
        x_t: S,
        h_prev: &[S],
        h: &mut [S],
    );

    /// Called once before the backward steps of a sequence (e.g. to zero a
    /// carried cell-state gradient, or to prepare the recurrent matrix for
    /// the carries with [`nncore::linalg::StepMatrix::prepare`]); does nothing
    /// by default.
    fn start_backward(&self, params: &[S], tape: &mut Self::Tape) {
        let _ = (params, tape);
    }

    /// One backward step: from `dh = ∂E/∂h_t` (and `h_prev`, `h` = `h_{t-1}`,
    /// `h_t`), records the step's deltas in `tape` and, when `t > 0`, writes
    /// `carry ← ∂E/∂h_{t-1}` through this step (left alone at `t = 0`).
    #[allow(clippy::too_many_arguments)]
    fn backward_step(
        &self,
        params: &[S],
        tape: &mut Self::Tape,
        t: usize,
        h_prev: &[S],
        h: &[S],
        dh: &[S],
        carry: &mut [S],
    );

    /// The norm of the gradient of the error w.r.t. the state the cell
    /// carries from step `t` to step `t + 1`, after [`Cell::backward_step`]
    /// at `t` (the gradient-flow diagnostic). By default `‖dh‖ =
    /// ‖∂E/∂h_t‖`; a cell that carries its memory in a state of its own
    /// (the LRU's `x_t`) reports that state's.
    fn state_grad_norm(&self, tape: &Self::Tape, t: usize, dh: &[S]) -> S {
        let _ = (tape, t);
        norm(dh)
    }

    /// The gradients of the cell's blocks into `grads` (overwritten), summed
    /// over the `L = x.len()` steps of the last backward pass. `h_prev` is
    /// `L × H` (rows `h_{-1} … h_{L-2}`); `col` is `L` of scratch for
    /// [`nncore::linalg::outer_sum`].
    fn grads(&self, tape: &Self::Tape, x: &[S], h_prev: &[S], col: &mut [S], grads: &mut [S]);

    /// Scratch for [`Cell::batch_step`] on `n` rows.
    fn batch(&self, params: &[S], n: usize) -> Self::Batch;

    /// One forward step on `n` rows: `h ← H_t` (`n × H`, standard layout)
    /// from the inputs `x_t` (`n`) and `h_prev = H_{t-1}` (zeros at `t =
    /// 0`), with `H_{t-1} W` as one matrix–matrix product.
    fn batch_step(
        &self,
        params: &[S],
        batch: &mut Self::Batch,
        t: usize,
        x_t: ArrayView1<'_, S>,
        h_prev: ArrayView2<'_, S>,
        h: ArrayViewMut2<'_, S>,
    );
}

/// Cuts a cell's flat parameter (or gradient) slice into its `N` blocks of
/// `lens` entries, without allocating.
///
/// # Panics
/// If the lengths do not add up to `flat.len()`.
pub fn split_blocks<const N: usize, T>(flat: &[T], lens: [usize; N]) -> [&[T]; N] {
    assert_eq!(lens.iter().sum::<usize>(), flat.len(), "cell block sizes");
    let mut rest = flat;
    lens.map(|n| {
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head
    })
}

/// Like [`split_blocks`], mutably.
///
/// # Panics
/// If the lengths do not add up to `flat.len()`.
pub fn split_blocks_mut<const N: usize, T>(flat: &mut [T], lens: [usize; N]) -> [&mut [T]; N] {
    assert_eq!(lens.iter().sum::<usize>(), flat.len(), "cell block sizes");
    let mut rest = flat;
    lens.map(|n| {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        head
    })
}

/// The input-side gradients every cell of a scalar input has:
/// `∂E/∂W_in = Σ_t x_t δ_t` and `∂E/∂b = Σ_t δ_t`, summed in time order,
/// with `deltas` the `L × G·H` rows `δ_t` (gradients w.r.t. the terms `x_t
/// W_in + b` of the pre-activations).
pub fn input_grads<S: Scalar>(x: &[S], deltas: &[S], g_w_in: &mut [S], g_b: &mut [S]) {
    let gh = g_w_in.len();
    g_w_in.fill(S::zero());
    g_b.fill(S::zero());
    for (&xt, delta) in x.iter().zip(deltas.chunks_exact(gh)) {
        axpy(xt, delta, g_w_in);
        axpy(S::one(), delta, g_b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_in_order() {
        let mut v: Vec<f64> = (0..6).map(f64::from).collect();
        let [a, b, c] = split_blocks(&v, [1, 3, 2]);
        assert_eq!(
            (a, b, c),
            (&[0.0][..], &[1.0, 2.0, 3.0][..], &[4.0, 5.0][..])
        );
        let [_, b, _] = split_blocks_mut(&mut v, [1, 3, 2]);
        b[0] = -1.0;
        assert_eq!(v[1], -1.0);
    }

    #[test]
    fn hidden_sizes_are_checked() {
        assert!(check_hidden(0).is_err() && check_hidden(MAX_HIDDEN + 1).is_err());
        assert!(check_hidden(1).is_ok() && check_hidden(MAX_HIDDEN).is_ok());
    }
}
