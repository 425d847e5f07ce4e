//! The Elman cell of the article (and its gate-less relatives: the IRNN,
//! Le et al.'s IRNN, the orthogonally initialised tanh RNN): `h_t = act(x_t
//! W_in + h_{t-1} W + b)`.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul};
use rand::Rng;

use nncore::activation::{
    relu_grad_from_output, relu_in_place, tanh_grad_from_output, tanh_in_place,
};
use nncore::init::{fill_normal, fill_orthogonal, fill_scaled_normal};
use nncore::linalg::{StepMatrix, outer_sum};
use nncore::{ParamGroup, Result, Scalar};

use crate::cell::{Block, Cell, check_hidden, input_grads, split_blocks, split_blocks_mut};
use crate::recurrent::Recurrent;

/// Block indices in the [`ParamSet`](nncore::ParamSet) of an [`ElmanRnn`]
/// (`W_in` is 0).
const W: usize = 1;
#[cfg(test)]
const B: usize = 2;
#[cfg(test)]
const W_OUT: usize = 3;
#[cfg(test)]
const B_OUT: usize = 4;

/// The hidden units' activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HiddenActivation {
    /// `tanh`, the article's.
    #[default]
    Tanh,
    /// `max(u, 0)`, as in the IRNN.
    Relu,
}

/// How the recurrent matrix `W` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecurrentInit {
    /// `N(0, 1) / √H`, the article's.
    #[default]
    ScaledNormal,
    /// The identity matrix (Le, Jaitly & Hinton 2015).
    Identity,
    /// A random orthogonal matrix (Saxe et al. 2014; Henaff et al. 2016):
    /// every singular value 1, so `h_{t-1} W` neither grows nor shrinks the
    /// state at the start ([`nncore::init::fill_orthogonal`]).
    Orthogonal,
}

/// How the non-recurrent weights (`W_in` and the head's `W_out`) start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoInit {
    /// The article's: `W_in ~ N(0, 1)`, `W_out ~ N(0, 1) / √H`.
    #[default]
    Article,
    /// Le, Jaitly & Hinton 2015 (§3): "the non-recurrent weights are
    /// initialized with a random matrix, whose entries are sampled from a
    /// Gaussian distribution with mean of zero and standard deviation of
    /// 0.001": `W_in`, `W_out ~ N(0, 0.001²)` ([`LE_STD`]).
    Le,
}

/// The standard deviation of Le et al.'s non-recurrent weights.
pub const LE_STD: f64 = 0.001;

impl HiddenActivation {
    /// Applies the activation in place.
    #[inline]
    pub fn apply<S: Scalar>(self, v: &mut [S]) {
        match self {
            Self::Tanh => tanh_in_place(v),
            Self::Relu => relu_in_place(v),
        }
    }
}

/// The gate-less Elman RNN of the article (docs/SPEC.md §2), row-vector convention:
///
/// ```text
/// u_t = x_t W_in + h_{t-1} W + b,   h_t = tanh(u_t),   h_{-1} = 0
/// y_t = sigmoid(h_t W_out + b_out)
/// E   = Σ_t ½ (y_t − label_t)²
/// ```
///
/// (with [`HiddenActivation::Relu`], `h_t = max(u_t, 0)`: the IRNN).
///
/// Parameters (JSON keys and shapes): `W_in` `[1, H]`, `W` `[H, H]` (`W[i][j]`
/// connects `h_{t-1}[i]` to unit `j`), `b` `[H]`, `W_out` `[H, 1]`, `b_out`
/// `[1]`. `W` and `b` are in the [`ParamGroup::Recurrent`] learning-rate
/// group, the rest in [`ParamGroup::InputOutput`].
///
/// The forward step reads `W` row by row (a sum of scaled rows), the
/// backward step takes one contiguous dot per row of `W`, and the
/// recurrent-weight gradient `Σ_t h_{t-1}ᵀ δ_t` is one matrix product per
/// sequence.
pub type ElmanRnn = Recurrent<Elman>;

/// The Elman cell's settings: `u_t = x_t W_in + h_{t-1} W + b`, `h_t =
/// act(u_t)`; one gate block (`G = 1`). See [`ElmanRnn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elman {
    /// Hidden units `H` (default 100, the article's).
    pub hidden: usize,
    /// Hidden activation (default `tanh`, the article's).
    pub activation: HiddenActivation,
    /// Initial recurrent matrix (default scaled normal, the article's).
    pub recurrent_init: RecurrentInit,
    /// Initial non-recurrent weights (default the article's).
    pub io_init: IoInit,
}

impl Default for Elman {
    /// The article's cell: 100 `tanh` units, scaled-normal `W`.
    fn default() -> Self {
        Self::article(100)
    }
}

impl Elman {
    /// The article's Elman cell with `hidden` units: `tanh`, `W ~
    /// N(0,1)/√H`.
    pub fn article(hidden: usize) -> Self {
        Self {
            hidden,
            activation: HiddenActivation::Tanh,
            recurrent_init: RecurrentInit::ScaledNormal,
            io_init: IoInit::Article,
        }
    }

    /// The article's tanh RNN with `W` a random orthogonal matrix
    /// ([`RecurrentInit::Orthogonal`]); everything else as the article's.
    pub fn orthogonal(hidden: usize) -> Self {
        Self {
            recurrent_init: RecurrentInit::Orthogonal,
            ..Self::article(hidden)
        }
    }

    /// The `irnn` kind: ReLU hidden units and `W` initialised to the
    /// identity (Le, Jaitly & Hinton 2015), but the article's `W_in ~ N(0,
    /// 1)` and `W_out ~ N(0, 1)/√H`, with which its ReLU units start far
    /// from Le et al.'s small activations. [`Elman::irnn_le`] is Le et al.'s
    /// own initialisation.
    pub fn irnn(hidden: usize) -> Self {
        Self {
            hidden,
            activation: HiddenActivation::Relu,
            recurrent_init: RecurrentInit::Identity,
            io_init: IoInit::Article,
        }
    }

    /// Le, Jaitly & Hinton's IRNN as the paper initialises it: ReLU units,
    /// `W = I`, `b = 0`, and the non-recurrent weights `W_in`, `W_out ~ N(0,
    /// 0.001²)` ([`IoInit::Le`]). (The paper's network reads a vector per
    /// step and has one output at the end; here the input is a scalar and
    /// the sigmoid head answers at every step.)
    pub fn irnn_le(hidden: usize) -> Self {
        Self {
            io_init: IoInit::Le,
            ..Self::irnn(hidden)
        }
    }

    /// The cell's block sizes, in layout order.
    fn lens(&self) -> [usize; 3] {
        let h = self.hidden;
        [h, h * h, h]
    }
}

/// The Elman cell's tape: `δ_t = ∂E/∂u_t`, `L × H`, and `W` prepared for
/// the backward carries.
#[derive(Debug, Clone)]
pub struct ElmanTape<S> {
    deltas: Array2<S>,
    /// `W` for the forward products.
    fwd: StepMatrix<S>,
    /// `W` for the backward carries.
    carry: StepMatrix<S>,
}

impl<S: Scalar> Cell<S> for Elman {
    const GATES: usize = 1;
    const RECURRENT: usize = W;
    type Tape = ElmanTape<S>;
    type Batch = ();

    fn kind(&self) -> &'static str {
        use {HiddenActivation as A, IoInit as I, RecurrentInit as R};
        match (self.activation, self.recurrent_init, self.io_init) {
            (A::Tanh, R::ScaledNormal, I::Article) => "rnn",
            (A::Tanh, R::Orthogonal, I::Article) => "rnn-orth",
            (A::Relu, R::Identity, I::Article) => "irnn",
            (A::Relu, R::Identity, I::Le) => "irnn-le",
            _ => "elman",
        }
    }

    fn hidden(&self) -> usize {
        self.hidden
    }

    fn check(&self) -> Result<()> {
        check_hidden(self.hidden)
    }

    fn blocks(&self) -> Vec<Block> {
        let h = self.hidden;
        vec![
            ("W_in", vec![1, h], ParamGroup::InputOutput),
            ("W", vec![h, h], ParamGroup::Recurrent),
            ("b", vec![h], ParamGroup::Recurrent),
        ]
    }

    /// `W_in ~ N(0,1)/√1`, or `N(0, 0.001²)` ([`IoInit::Le`]).
    fn init_before_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        let [w_in, _, _] = split_blocks_mut(params, self.lens());
        match self.io_init {
            IoInit::Article => fill_scaled_normal(w_in, 1, rng),
            IoInit::Le => fill_normal(w_in, LE_STD, rng),
        }
    }

    /// `W_out ~ N(0,1)/√H`, or `N(0, 0.001²)` ([`IoInit::Le`]).
    fn init_head<R: Rng + ?Sized>(&self, w_out: &mut [S], rng: &mut R) {
        match self.io_init {
            IoInit::Article => fill_scaled_normal(w_out, self.hidden, rng),
            IoInit::Le => fill_normal(w_out, LE_STD, rng),
        }
    }

    /// `W ~ N(0,1)/√H`, `W = I` ([`RecurrentInit::Identity`]) or a random
    /// orthogonal `W` ([`RecurrentInit::Orthogonal`]); `b = 0`.
    fn init_after_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        let h = self.hidden;
        let [_, w, _] = split_blocks_mut(params, self.lens());
        match self.recurrent_init {
            RecurrentInit::ScaledNormal => fill_scaled_normal(w, h, rng),
            RecurrentInit::Identity => {
                for (i, row) in w.chunks_exact_mut(h).enumerate() {
                    row[i] = S::one();
                }
            }
            RecurrentInit::Orthogonal => fill_orthogonal(w, h, rng),
        }
    }

    fn tape(&self, len: usize) -> ElmanTape<S> {
        ElmanTape {
            deltas: Array2::zeros((len, self.hidden)),
            fwd: StepMatrix::forward(self.hidden, self.hidden),
            carry: StepMatrix::carry(self.hidden, self.hidden),
        }
    }

    /// `W` for the forward products ([`StepMatrix::prepare`]).
    fn start_forward(&self, params: &[S], tape: &mut ElmanTape<S>) {
        let [_, w, _] = split_blocks(params, self.lens());
        tape.fwd.prepare(w);
    }

    /// `W` for the carries ([`StepMatrix::prepare`]).
    fn start_backward(&self, params: &[S], tape: &mut ElmanTape<S>) {
        let [_, w, _] = split_blocks(params, self.lens());
        tape.carry.prepare(w);
    }

    fn forward_step(
        &self,
        params: &[S],
        tape: &mut ElmanTape<S>,
        t: usize,
        x_t: S,
        h_prev: &[S],
        h: &mut [S],
    ) {
        let [w_in, w, b] = split_blocks(params, self.lens());
        // u = b + x_t W_in + h_{t-1} W, W read row by row.
        for ((c, &bj), &wj) in h.iter_mut().zip(b).zip(w_in) {
            *c = bj + x_t * wj;
        }
        if t > 0 {
            tape.fwd.vec_mat_acc(w, h_prev, h);
        }
        self.activation.apply(h);
    }

    fn backward_step(
        &self,
        params: &[S],
        tape: &mut ElmanTape<S>,
        t: usize,
        _h_prev: &[S],
        h: &[S],
        dh: &[S],
        carry: &mut [S],
    ) {
        let [_, w, _] = split_blocks(params, self.lens());
        let n = self.hidden;
        let ElmanTape {
            deltas,
            carry: plan,
            ..
        } = tape;
        let deltas = deltas.as_slice_mut().expect("standard layout");
        let delta = &mut deltas[t * n..(t + 1) * n];
        match self.activation {
            HiddenActivation::Tanh => {
                for ((dl, &g), &hv) in delta.iter_mut().zip(dh).zip(h) {
                    *dl = g * tanh_grad_from_output(hv);
                }
            }
            HiddenActivation::Relu => {
                for ((dl, &g), &hv) in delta.iter_mut().zip(dh).zip(h) {
                    *dl = g * relu_grad_from_output(hv);
                }
            }
        }
        if t > 0 {
            // carry = W δ_t.
            plan.mat_vec(w, delta, carry);
        }
    }

    fn grads(&self, tape: &ElmanTape<S>, x: &[S], h_prev: &[S], col: &mut [S], grads: &mut [S]) {
        let (l, h) = (x.len(), self.hidden);
        let [g_w_in, g_w, g_b] = split_blocks_mut(grads, self.lens());
        let deltas = &tape.deltas.as_slice().expect("standard layout")[..l * h];
        // W_in: Σ_t x_t δ_t;  b: Σ_t δ_t
        input_grads(x, deltas, g_w_in, g_b);
        // W: Σ_t h_{t-1}ᵀ δ_t = H_prevᵀ Δ, one matrix product per sequence
        // (allocation-free: row i of the product is (column i of H_prev) · Δ).
        outer_sum(h_prev, deltas, h, col, g_w);
    }

    fn batch(&self, _params: &[S], _n: usize) {}

    fn batch_step(
        &self,
        params: &[S],
        _batch: &mut (),
        t: usize,
        x_t: ArrayView1<'_, S>,
        h_prev: ArrayView2<'_, S>,
        mut h: ArrayViewMut2<'_, S>,
    ) {
        let [w_in, w, b] = split_blocks(params, self.lens());
        // U = x_t ⊗ W_in + b, then += H_{t-1} W.
        for (mut row, &xt) in h.axis_iter_mut(Axis(0)).zip(x_t) {
            let row = row.as_slice_mut().expect("standard layout");
            for ((c, &bj), &wj) in row.iter_mut().zip(b).zip(w_in) {
                *c = bj + xt * wj;
            }
        }
        if t > 0 {
            let w = ArrayView2::from_shape((self.hidden, self.hidden), w).expect("W is [H, H]");
            general_mat_mul(S::one(), &h_prev, &w, S::one(), &mut h);
        }
        self.activation
            .apply(h.as_slice_mut().expect("standard layout"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, sample};
    use nncore::{SequenceModel, Sgd, check_gradients};
    use seqdata::{Stream, seeded_rng};

    fn model(hidden: usize, seed: u64) -> ElmanRnn {
        ElmanRnn::new(Elman::article(hidden), &mut seeded_rng(seed, Stream::Init)).unwrap()
    }

    /// Every parameter entry, H = 100, at L = 1, 2, 8 and 32.
    #[test]
    fn gradients_match_finite_differences() {
        for (len, seed) in [(1, 11), (2, 12), (8, 13), (32, 14)] {
            let mut m = model(100, seed);
            // Move off the initial point so the biases matter too.
            m.params_mut()
                .values_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| {
                    *v += 0.01 * ((i % 7) as f64 - 3.0);
                });
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-5).unwrap();
            eprintln!("L = {len}: max relative error {:.2e}", check.max_rel_err());
            assert!(
                check.max_rel_err() <= 1e-6,
                "L = {len}: relative error {:.3e}\n{check}",
                check.max_rel_err()
            );
            // At L = 1, h_{-1} = 0 so W's gradient is exactly zero: nothing to compare.
            let nonzero = check.params.iter().filter(|p| p.scale > 0.0).count();
            assert_eq!(nonzero, if len == 1 { 4 } else { 5 }, "{check}");
        }
    }

    /// The same at H = 16 through the shared helper (every cell's check).
    #[test]
    fn gradients_match_finite_differences_small() {
        test_support::assert_gradients_match_finite_differences(
            Elman::article,
            &[(1, 41), (2, 42), (8, 43), (32, 44)],
        );
    }

    #[test]
    fn gradients_match_with_a_small_hidden_layer_and_large_weights() {
        // Large recurrent weights: the regime where gradients explode.
        let mut m = model(7, 3);
        m.params_mut()
            .value_mut(W)
            .iter_mut()
            .for_each(|v| *v *= 4.0);
        let (x, y) = sample(16, 5);
        let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
        assert!(check.max_rel_err() <= 1e-6, "{check}");
    }

    #[test]
    fn layout_and_groups() {
        let m = model(5, 1);
        test_support::assert_layout(
            &m,
            &[
                ("W_in", vec![1, 5], ParamGroup::InputOutput),
                ("W", vec![5, 5], ParamGroup::Recurrent),
                ("b", vec![5], ParamGroup::Recurrent),
            ],
        );
        assert_eq!(m.kind(), "rnn");
        assert_eq!(m.recurrent_weights().unwrap(), m.params().view2(W));
        assert_eq!(m.params().value(B), [0.0; 5]);
        assert_eq!(m.params().value(B_OUT), [0.0]);
        assert!(m.params().value(W_OUT).iter().all(|&v| v != 0.0));
        assert_eq!(Elman::default(), Elman::article(100));
    }

    /// The IRNN: ReLU units, W = I at the start; gradients at L = 1, 2, 8
    /// and 32 (H = 30: the shared helper's larger perturbation makes ReLU
    /// kinks fall inside its finite-difference steps).
    #[test]
    fn irnn_gradients_match_and_init_is_the_identity() {
        let mut m = ElmanRnn::new(Elman::irnn(30), &mut seeded_rng(4, Stream::Init)).unwrap();
        assert_eq!(m.kind(), "irnn");
        let w = m.params().view2(W);
        assert!(
            w.indexed_iter()
                .all(|((i, j), &v)| v == if i == j { 1.0 } else { 0.0 })
        );
        // Off the identity, so that the recurrent gradient is generic.
        m.params_mut()
            .values_mut()
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| {
                *v += 0.02 * ((i % 5) as f64 - 2.0);
            });
        for (len, seed) in [(1, 3), (2, 4), (8, 1), (32, 2)] {
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
            eprintln!("L = {len}: max relative error {:.2e}", check.max_rel_err());
            assert!(check.max_rel_err() <= 1e-6, "L = {len}\n{check}");
            // Every block has a gradient, but W at L = 1 (h_{-1} = 0).
            for (i, p) in check.params.iter().enumerate() {
                assert_eq!(p.scale > 0.0, len > 1 || i != W, "L = {len}\n{check}");
            }
        }
        let j = m.params().to_json();
        let back = ElmanRnn::from_json(&j, |h| Ok(Elman::irnn(h))).unwrap();
        assert_eq!(back.kind(), "irnn");
        assert!(back.params().values() == m.params().values());
    }

    /// The orthogonally initialised tanh RNN: `WᵀW = I` at the start, the
    /// rest drawn as the article's; gradients at L = 1, 2, 8 and 32.
    #[test]
    fn orthogonal_init_and_gradients() {
        let m = ElmanRnn::new(Elman::orthogonal(40), &mut seeded_rng(4, Stream::Init)).unwrap();
        assert_eq!(m.kind(), "rnn-orth");
        let w = m.params().view2(W);
        let err = (w.t().dot(&w) - Array2::<f64>::eye(40))
            .iter()
            .fold(0.0f64, |a, v| a.max(v.abs()));
        assert!(err < 1e-13, "|WᵀW − I| = {err:e}");
        // The same W_in and W_out draws as the article's cell.
        let a = model(40, 4);
        assert_eq!(m.params().value(0), a.params().value(0));
        assert_eq!(m.params().value(W_OUT), a.params().value(W_OUT));
        test_support::assert_gradients_match_finite_differences(
            Elman::orthogonal,
            &[(1, 41), (2, 42), (8, 43), (32, 44)],
        );
    }

    /// Le et al.'s IRNN: `W = I`, `b = 0`, `W_in`, `W_out ~ N(0, 0.001²)`;
    /// gradients at L = 1, 2, 8 and 32 off that point.
    #[test]
    fn le_irnn_init_and_gradients() {
        let mut m = ElmanRnn::new(Elman::irnn_le(30), &mut seeded_rng(4, Stream::Init)).unwrap();
        assert_eq!(m.kind(), "irnn-le");
        let p = m.params();
        assert!(
            p.view2(W)
                .indexed_iter()
                .all(|((i, j), &v)| v == if i == j { 1.0 } else { 0.0 })
        );
        for block in [0, W_OUT] {
            let v = p.value(block);
            assert!(v.iter().all(|x| x.abs() < 0.006 && *x != 0.0), "{v:?}");
        }
        assert!(p.value(B).iter().all(|&b| b == 0.0));
        test_support::perturb(&mut m, 4);
        for (len, seed) in [(1, 3), (2, 4), (8, 1), (32, 2)] {
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
            assert!(check.max_rel_err() <= 1e-6, "L = {len}\n{check}");
        }
    }

    #[test]
    fn hidden_gradient_norms_are_recorded_per_step() {
        test_support::assert_hidden_grad_norms_per_step(Elman::article);
    }

    /// The gradient is a descent direction: a small SGD step lowers the loss
    /// on its own sequence. (With the article's rates the step at L = 32 can
    /// overshoot: the gradient is summed over 32 time steps.)
    #[test]
    fn one_sgd_step_lowers_the_loss_on_its_sequence() {
        test_support::assert_one_sgd_step_lowers_the_loss(
            Elman::article,
            100,
            &[
                (8, Sgd::article()),
                (8, Sgd::new(1e-3, 1e-3).unwrap()),
                (32, Sgd::new(1e-3, 1e-3).unwrap()),
            ],
        );
    }

    #[test]
    fn training_is_reproducible_bit_for_bit() {
        test_support::assert_training_is_reproducible(Elman::article);
    }

    #[test]
    fn batch_prediction_matches_one_at_a_time() {
        test_support::assert_batch_matches_single(Elman::article);
        test_support::assert_batch_matches_single(Elman::irnn);
    }

    #[test]
    fn json_round_trip_and_errors() {
        let from_json = |j: &serde_json::Value| ElmanRnn::from_json(j, |h| Ok(Elman::article(h)));
        let m = model(4, 9);
        let j = m.params().to_json();
        assert_eq!(j["W"].as_array().unwrap().len(), 4);
        assert_eq!(j["W_in"].as_array().unwrap().len(), 1);
        assert_eq!(j["W_out"][0].as_array().unwrap().len(), 1);
        let back = from_json(&j).unwrap();
        assert_eq!(back.params(), m.params());
        assert_eq!(back.cell(), &Elman::article(4));
        let mut bad = j.clone();
        bad["W"][1] = serde_json::json!([1.0, 2.0]);
        let e = test_support::json_error(from_json, &bad);
        assert!(e.contains("`W`") && e.contains("[1]"), "{e}");
        let e = test_support::json_error(from_json, &serde_json::json!({}));
        assert!(
            e.contains("`W_out`") && e.contains("W_in, W, b, W_out, b_out"),
            "{e}"
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        test_support::assert_bad_input_is_an_error(Elman::article);
        test_support::assert_bad_input_is_an_error(Elman::irnn);
    }
}
