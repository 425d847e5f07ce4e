//! The Independently Recurrent Neural Network (Li et al. 2018, arXiv
//! 1803.04831): element-wise (diagonal) recurrence with ReLU units and
//! bounded recurrent weights, two layers deep as in the paper's adding
//! problem.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul};
use rand::Rng;

use nncore::activation::{relu_grad_from_output, relu_in_place};
use nncore::init::{fill_normal, fill_uniform};
use nncore::linalg::{StepMatrix, outer_sum};
use nncore::{Error, ParamGroup, Result, Scalar};

use crate::cell::{Block, Cell, check_hidden, input_grads, split_blocks, split_blocks_mut};
use crate::recurrent::Recurrent;

/// Block index of the top layer's recurrent weights `u2`.
const U2: usize = 4;
/// The number of blocks.
const BLOCKS: usize = 6;

/// The standard deviation of the input weights (the official code's
/// `lasagne.init.Normal(0.001)`, its `--in2hidW 0.001`).
pub const INDRNN_INPUT_STD: f64 = 0.001;

/// `MAG` of the official code: the recurrent weights are bounded by
/// `MAG^(1/T)` and the top layer's start at least `(1/MAG)^(1/T)`.
pub const INDRNN_MAG: f64 = 2.0;

/// A two-layer IndRNN with the sigmoid head.
///
/// ```text
/// a_t = relu(x_t W_in + u1 ⊙ a_{t−1} + b1)        (layer 1, H units)
/// h_t = relu(a_t W2   + u2 ⊙ h_{t−1} + b2)        (layer 2, H units)
/// y_t = sigmoid(h_t W_out + b_out),   a_{−1} = h_{−1} = 0
/// ```
pub type IndRnnNet = Recurrent<IndRnn>;

/// The IndRNN cell's settings: `H` units per layer, and the sequence
/// length `T` that sets the bound on the recurrent weights.
///
/// # What the paper does, and what this cell changes
///
/// Li et al.'s neuron is `h_t = σ(W x_t + u ⊙ h_{t−1} + b)` with `σ =
/// relu`; on the adding problem they stack two layers and constrain "the
/// recurrent weight … in the range of |u_n| ∈ (0, ᵀ√2)". The official
/// adding-problem code (`adding/adding.py`) draws the first layer's `u`
/// from `U(0, 2^(1/T))` and the last layer's from `U((1/2)^(1/T),
/// 2^(1/T))`, the input weights from `N(0, 0.001²)`, the biases 0, and
/// clips every `u` to `[−2^(1/T), 2^(1/T)]` at each training step. This
/// cell does all of that ([`Cell::constrain`] clips after each optimiser
/// step, which is the same sequence of clips as the code's before each).
/// It changes:
///
/// - the input is a scalar and the sigmoid head answers at every step (the
///   paper's network has one linear output at the end);
/// - the paper clips each gradient element at 10 through the hidden state
///   (Lasagne's `grad_clipping`); here clipping is the study's choice
///   (`clip`, a global norm), like every other cell's.
///
/// The gradient-flow diagnostic is the top layer's `‖∂E/∂h_t‖` (the
/// default), the state the head reads; the first layer's `a_t` carries
/// memory too and is not in it.
///
/// Parameters (JSON keys): `W_in` `[1, H]`, `u1` `[H]`, `b1` `[H]`, `W2`
/// `[H, H]`, `u2` `[H]`, `b2` `[H]`. The recurrent weights and the biases
/// (`u1`, `b1`, `u2`, `b2`) are in [`ParamGroup::Recurrent`], as the
/// Elman cell's `W` and `b` are; `W_in` and `W2` are feed-forward, in
/// [`ParamGroup::InputOutput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndRnn {
    /// Units per layer `H` (default 100).
    pub hidden: usize,
    /// The sequence length `T` of the bound `|u| ≤ 2^(1/T)` (the training
    /// length).
    pub length: usize,
}

impl IndRnn {
    /// A cell of `hidden` units per layer for sequences of `length`.
    pub fn new(hidden: usize, length: usize) -> Self {
        Self { hidden, length }
    }

    /// The bound `MAG^(1/T)` on `|u|`.
    pub fn u_bound(&self) -> f64 {
        INDRNN_MAG.powf(1.0 / self.length.max(1) as f64)
    }

    fn lens(&self) -> [usize; BLOCKS] {
        let h = self.hidden;
        [h, h, h, h * h, h, h]
    }
}

/// The IndRNN's tape: the first layer's states and both layers' deltas.
#[derive(Debug, Clone)]
pub struct IndRnnTape<S> {
    /// `(L + 1) × H`: row 0 is `a_{−1} = 0`, row `t + 1` is `a_t`.
    a: Vec<S>,
    /// `L × H`: `∂E/∂(layer-1 pre-activation)`.
    d1: Vec<S>,
    /// `L × H`: `∂E/∂(layer-2 pre-activation)`.
    d2: Vec<S>,
    /// `H`: `u1 ⊙ δ1_{t+1}`, the carry into `a_t`.
    carry_a: Vec<S>,
    fwd: StepMatrix<S>,
    back: StepMatrix<S>,
}

impl<S: Scalar> Cell<S> for IndRnn {
    const GATES: usize = 1;
    const RECURRENT: usize = U2;
    type Tape = IndRnnTape<S>;
    type Batch = Array2<S>;

    fn kind(&self) -> &'static str {
        "indrnn"
    }

    fn hidden(&self) -> usize {
        self.hidden
    }

    fn check(&self) -> Result<()> {
        check_hidden(self.hidden)?;
        if self.length == 0 {
            return Err(Error::invalid(
                "IndRNN length",
                0,
                "give the training length T ≥ 1 (the bound is 2^(1/T))",
            ));
        }
        Ok(())
    }

    fn blocks(&self) -> Vec<Block> {
        let h = self.hidden;
        let (rec, io) = (ParamGroup::Recurrent, ParamGroup::InputOutput);
        vec![
            ("W_in", vec![1, h], io),
            ("u1", vec![h], rec),
            ("b1", vec![h], rec),
            ("W2", vec![h, h], io),
            ("u2", vec![h], rec),
            ("b2", vec![h], rec),
        ]
    }

    /// `W_in`, then `W2 ~ N(0, 0.001²)`.
    fn init_before_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        let [w_in, _, _, w2, _, _] = split_blocks_mut(params, self.lens());
        fill_normal(w_in, INDRNN_INPUT_STD, rng);
        fill_normal(w2, INDRNN_INPUT_STD, rng);
    }

    /// `u1 ~ U(0, 2^(1/T))`, `u2 ~ U((1/2)^(1/T), 2^(1/T))`, biases 0.
    fn init_after_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        let [_, u1, _, _, u2, _] = split_blocks_mut(params, self.lens());
        let hi = self.u_bound();
        fill_uniform(u1, 0.0, hi, rng);
        fill_uniform(u2, 1.0 / hi, hi, rng);
    }

    /// `diag(u1, u2)`, `2H × 2H`: its spectral norm is the largest `|u|`.
    fn recurrent_weights(&self, params: &[S]) -> Array2<f64> {
        let [_, u1, _, _, u2, _] = split_blocks(params, self.lens());
        let h = self.hidden;
        let mut m = Array2::zeros((2 * h, 2 * h));
        for (i, &u) in u1.iter().chain(u2).enumerate() {
            m[[i, i]] = u.as_f64();
        }
        m
    }

    /// `u1`, `u2` clipped to `[−2^(1/T), 2^(1/T)]`.
    fn constrain(&self, params: &mut [S]) {
        let [_, u1, _, _, u2, _] = split_blocks_mut(params, self.lens());
        let hi = S::from_f64(self.u_bound());
        for u in u1.iter_mut().chain(u2.iter_mut()) {
            // (A NaN stays NaN, for the divergence check to see.)
            if *u > hi {
                *u = hi;
            } else if *u < -hi {
                *u = -hi;
            }
        }
    }

    fn tape(&self, len: usize) -> IndRnnTape<S> {
        let (h, z) = (self.hidden, S::zero());
        IndRnnTape {
            a: vec![z; (len + 1) * h],
            d1: vec![z; len * h],
            d2: vec![z; len * h],
            carry_a: vec![z; h],
            fwd: StepMatrix::forward(h, h),
            back: StepMatrix::carry(h, h),
        }
    }

    fn start_forward(&self, params: &[S], tape: &mut IndRnnTape<S>) {
        let [_, _, _, w2, _, _] = split_blocks(params, self.lens());
        tape.a[..self.hidden].fill(S::zero());
        tape.fwd.prepare(w2);
    }

    fn start_backward(&self, params: &[S], tape: &mut IndRnnTape<S>) {
        let [_, _, _, w2, _, _] = split_blocks(params, self.lens());
        tape.back.prepare(w2);
        tape.carry_a.fill(S::zero());
    }

    fn forward_step(
        &self,
        params: &[S],
        tape: &mut IndRnnTape<S>,
        t: usize,
        x_t: S,
        h_prev: &[S],
        h: &mut [S],
    ) {
        let [w_in, u1, b1, w2, u2, b2] = split_blocks(params, self.lens());
        let n = self.hidden;
        let (prev, cur) = tape.a[t * n..(t + 2) * n].split_at_mut(n);
        for i in 0..n {
            cur[i] = b1[i] + x_t * w_in[i] + u1[i] * prev[i];
        }
        relu_in_place(cur);
        for i in 0..n {
            h[i] = b2[i] + u2[i] * h_prev[i];
        }
        tape.fwd.vec_mat_acc(w2, cur, h);
        relu_in_place(h);
    }

    fn backward_step(
        &self,
        params: &[S],
        tape: &mut IndRnnTape<S>,
        t: usize,
        _h_prev: &[S],
        h: &[S],
        dh: &[S],
        carry: &mut [S],
    ) {
        let [_, u1, _, w2, u2, _] = split_blocks(params, self.lens());
        let n = self.hidden;
        let IndRnnTape {
            a,
            d1,
            d2,
            carry_a,
            back,
            ..
        } = tape;
        let delta2 = &mut d2[t * n..(t + 1) * n];
        for ((d, &g), &hv) in delta2.iter_mut().zip(dh).zip(h) {
            *d = g * relu_grad_from_output(hv);
        }
        // ∂E/∂a_t = W2 δ2_t + u1 ⊙ δ1_{t+1}.
        let delta1 = &mut d1[t * n..(t + 1) * n];
        back.mat_vec(w2, delta2, delta1);
        let a_t = &a[(t + 1) * n..(t + 2) * n];
        for i in 0..n {
            delta1[i] = (delta1[i] + carry_a[i]) * relu_grad_from_output(a_t[i]);
            carry_a[i] = u1[i] * delta1[i];
        }
        if t > 0 {
            for i in 0..n {
                carry[i] = u2[i] * delta2[i];
            }
        }
    }

    fn grads(&self, tape: &IndRnnTape<S>, x: &[S], h_prev: &[S], col: &mut [S], grads: &mut [S]) {
        let (l, n) = (x.len(), self.hidden);
        let [g_w_in, g_u1, g_b1, g_w2, g_u2, g_b2] = split_blocks_mut(grads, self.lens());
        let (d1, d2) = (&tape.d1[..l * n], &tape.d2[..l * n]);
        // W_in: Σ_t x_t δ1_t, b1: Σ_t δ1_t; b2: Σ_t δ2_t.
        input_grads(x, d1, g_w_in, g_b1);
        g_b2.fill(S::zero());
        for delta in d2.chunks_exact(n) {
            for (g, &d) in g_b2.iter_mut().zip(delta) {
                *g += d;
            }
        }
        // W2: Σ_t a_tᵀ δ2_t.
        outer_sum(&tape.a[n..(l + 1) * n], d2, n, col, g_w2);
        // u1: Σ_t δ1_t ⊙ a_{t−1};  u2: Σ_t δ2_t ⊙ h_{t−1}.
        g_u1.fill(S::zero());
        g_u2.fill(S::zero());
        for t in 0..l {
            let (a_prev, hp) = (&tape.a[t * n..(t + 1) * n], &h_prev[t * n..(t + 1) * n]);
            let (e1, e2) = (&d1[t * n..(t + 1) * n], &d2[t * n..(t + 1) * n]);
            for i in 0..n {
                g_u1[i] += e1[i] * a_prev[i];
                g_u2[i] += e2[i] * hp[i];
            }
        }
    }

    /// The first layer's states of `n` rows.
    fn batch(&self, _params: &[S], n: usize) -> Array2<S> {
        Array2::zeros((n, self.hidden))
    }

    fn batch_step(
        &self,
        params: &[S],
        a: &mut Array2<S>,
        _t: usize,
        x_t: ArrayView1<'_, S>,
        h_prev: ArrayView2<'_, S>,
        mut h: ArrayViewMut2<'_, S>,
    ) {
        let [w_in, u1, b1, w2, u2, b2] = split_blocks(params, self.lens());
        let n = self.hidden;
        for (mut row, &xt) in a.axis_iter_mut(Axis(0)).zip(x_t) {
            let row = row.as_slice_mut().expect("standard layout");
            for i in 0..n {
                row[i] = b1[i] + xt * w_in[i] + u1[i] * row[i];
            }
            relu_in_place(row);
        }
        for (mut row, prev) in h.axis_iter_mut(Axis(0)).zip(h_prev.axis_iter(Axis(0))) {
            for i in 0..n {
                row[i] = b2[i] + u2[i] * prev[i];
            }
        }
        let w2 = ArrayView2::from_shape((n, n), w2).expect("W2 is [H, H]");
        general_mat_mul(S::one(), &a.view(), &w2, S::one(), &mut h);
        relu_in_place(h.as_slice_mut().expect("standard layout"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, model, perturb, sample};
    use nncore::{SequenceModel, check_gradients};

    fn cell(h: usize) -> IndRnn {
        IndRnn::new(h, 32)
    }

    /// Every parameter entry (H = 16) at L = 1, 2, 8 and 32 matches finite
    /// differences to 1e-6; every block has a gradient but `u1`, `u2` at
    /// L = 1.
    #[test]
    fn gradients_match_finite_differences() {
        for (len, seed) in [(1, 41), (2, 42), (8, 43), (32, 44)] {
            let mut m = model(cell, 16, seed);
            // Off the initial N(0, 0.001²) weights, so that the ReLUs are
            // on and off and no gradient is tiny.
            perturb(&mut m, seed);
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
            eprintln!(
                "indrnn L = {len}: max relative error {:.2e}",
                check.max_rel_err()
            );
            assert!(check.max_rel_err() <= 1e-6, "L = {len}\n{check}");
            for (i, p) in check.params.iter().enumerate() {
                let zero = len == 1 && (i == 1 || i == U2);
                assert_eq!(p.scale == 0.0, zero, "L = {len}, block {i}\n{check}");
            }
        }
    }

    #[test]
    fn init_and_the_bound_are_the_papers() {
        let m = model(|h| IndRnn::new(h, 100), 64, 3);
        let p = m.params();
        let hi = 2f64.powf(0.01);
        assert!(p.value(1).iter().all(|&u| (0.0..hi).contains(&u)));
        assert!(p.value(U2).iter().all(|&u| (1.0 / hi..hi).contains(&u)));
        assert!(p.value(0).iter().all(|&w| w.abs() < 0.01));
        assert!(p.value(2).iter().chain(p.value(5)).all(|&b| b == 0.0));
        // The constraint clips |u| to the bound and leaves the rest.
        let mut m = m;
        m.params_mut().value_mut(1)[0] = 5.0;
        m.params_mut().value_mut(U2)[1] = -5.0;
        let before = m.params().value(0).to_vec();
        m.constrain();
        assert_eq!(m.params().value(1)[0], hi);
        assert_eq!(m.params().value(U2)[1], -hi);
        assert_eq!(m.params().value(0), before);
        let s = nncore::diagnostics::recurrent_spectral_norm(&m).unwrap();
        // (Power iteration, from below: the |u| are close together.)
        assert!(s <= hi + 1e-12 && s > hi - 0.01, "{s} vs {hi}");
    }

    #[test]
    fn batch_prediction_matches_one_at_a_time() {
        test_support::assert_batch_matches_single(cell);
    }

    #[test]
    fn training_is_reproducible_bit_for_bit() {
        test_support::assert_training_is_reproducible(cell);
    }

    #[test]
    fn bad_input_is_an_error() {
        test_support::assert_bad_input_is_an_error(cell);
        assert!(IndRnnNet::zeros(IndRnn::new(4, 0)).is_err());
    }

    #[test]
    fn hidden_gradient_norms_are_recorded_per_step() {
        let mut m = model(cell, 20, 1);
        perturb(&mut m, 1);
        let (x, y) = sample(12, 2);
        m.loss_and_grad(&x, &y).unwrap();
        assert_eq!(m.hidden_grad_norms().unwrap().len(), 12);
    }
}
