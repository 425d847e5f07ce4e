//! The gated recurrent unit (GRU) cell, with PyTorch's `nn.GRU` equations.

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul};
use rand::Rng;

use nncore::Result;
use nncore::Scalar;
use nncore::activation::{sigmoid_fast_in_place, tanh_in_place};
use nncore::linalg::{StepMatrix, axpy};

use crate::cell::{Block, Cell, check_hidden, input_grads, split_blocks, split_blocks_mut};
use crate::gated::{self, recurrent_grads};
use crate::recurrent::Recurrent;

/// Gate blocks of a GRU: `r`, `z`, `n`.
const GATES: usize = 3;

/// A gated recurrent unit with PyTorch's `nn.GRU` equations (docs/SPEC.md §4) and
/// the Elman RNN's sigmoid output head, row-vector convention:
///
/// ```text
/// r_t = σ(x_t W_ir + b_ir + h_{t-1} W_hr + b_hr)
/// z_t = σ(x_t W_iz + b_iz + h_{t-1} W_hz + b_hz)
/// n_t = tanh(x_t W_in + b_in + r_t ⊙ (h_{t-1} W_hn + b_hn))
/// h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1},   h_{-1} = 0
/// y_t = sigmoid(h_t W_out + b_out)
/// E   = Σ_t ½ (y_t − label_t)²
/// ```
///
/// Parameters (JSON keys and shapes), the three gate blocks `r`, `z`, `n`
/// side by side in that order: `W_ih` `[1, 3H]` (PyTorch's `weight_ih_l0`
/// transposed), `W_hh` `[H, 3H]` (`W_hh[i][k]` connects `h_{t-1}[i]` to
/// gate unit `k`; PyTorch's `weight_hh_l0` transposed), `b_ih` `[3H]`,
/// `b_hh` `[3H]`, `W_out` `[H, 1]`, `b_out` `[1]`. `W_hh`, `b_ih` and
/// `b_hh` are in the [`ParamGroup::Recurrent`](nncore::ParamGroup)
/// learning-rate group, the rest in `InputOutput`.
///
/// The forward step reads `W_hh` row by row (a sum of scaled rows), the
/// backward step takes one contiguous dot per row of `W_hh`, and `∂E/∂W_hh
/// = Σ_t h_{t-1}ᵀ δ_t` is one matrix product per sequence.
pub type Gru = Recurrent<GruCell>;

/// The GRU cell's settings: `H` hidden units, three gate blocks `r, z, n`.
/// Initialised like the Elman RNN: `W_ih ~ N(0,1)/√1`, `W_out ~
/// N(0,1)/√H`, `W_hh ~ N(0,1)/√H`, biases 0, drawn in that order. See
/// [`Gru`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GruCell {
    /// Hidden units `H` (default 100, as the Elman RNN's).
    pub hidden: usize,
}

impl GruCell {
    /// A GRU cell of `hidden` units (checked when a model is made).
    pub fn new(hidden: usize) -> Self {
        Self { hidden }
    }
}

impl Default for GruCell {
    /// 100 units, as the article's Elman RNN.
    fn default() -> Self {
        Self::new(100)
    }
}

/// The GRU's tape.
#[derive(Debug, Clone)]
pub struct GruTape<S> {
    /// `L × 3H`: the gate activations `[r_t, z_t, n_t]`.
    gates: Array2<S>,
    /// `L × H`: `h_{t-1} W_hn + b_hn` (what `r_t` multiplies).
    hn: Array2<S>,
    /// `L × 3H`: `∂E/∂` of the input-side terms of the gate pre-activations
    /// (`x_t W_i* + b_i*`).
    dgi: Array2<S>,
    /// `L × 3H`: `∂E/∂` of the hidden-side terms (`h_{t-1} W_h* + b_h*`);
    /// equal to `dgi` but in the `n` block, which is scaled by `r_t`.
    dgh: Array2<S>,
    /// `3H`: `h_{t-1} W_hh + b_hh` being formed.
    ghh: Vec<S>,
    /// `W_hh` for the forward products.
    fwd: StepMatrix<S>,
    /// `W_hh` for the backward carries.
    carry: StepMatrix<S>,
}

/// The GRU's scratch for a batch of `n` rows.
#[derive(Debug)]
pub struct GruBatch<S> {
    /// `n × 3H`: input-side pre-activations, then the activations.
    a: Array2<S>,
    /// `n × 3H`: the hidden-side pre-activations `H_{t-1} W_hh + b_hh`.
    ghh: Array2<S>,
}

/// One GRU step on one sequence (or one row of a batch), in place.
///
/// On entry `a` holds the input-side pre-activations `x_t W_ih + b_ih` and
/// `ghh` the hidden-side ones `h_{t-1} W_hh + b_hh`; on exit `a` holds the
/// activations `[r, z, n]` and `cur` holds `h_t`.
#[inline]
fn gru_cell<S: Scalar>(a: &mut [S], ghh: &[S], prev: &[S], cur: &mut [S]) {
    let h = cur.len();
    let (rz, n) = a.split_at_mut(2 * h);
    axpy(S::one(), &ghh[..2 * h], rz);
    sigmoid_fast_in_place(rz);
    let (r, z) = rz.split_at(h);
    for ((nk, &rk), &hk) in n.iter_mut().zip(r).zip(&ghh[2 * h..]) {
        *nk += rk * hk;
    }
    tanh_in_place(n);
    for (((c, &p), &zk), &nk) in cur.iter_mut().zip(prev).zip(z).zip(n.iter()) {
        *c = (S::one() - zk) * nk + zk * p;
    }
}

impl<S: Scalar> Cell<S> for GruCell {
    const GATES: usize = GATES;
    const RECURRENT: usize = gated::W_HH;
    type Tape = GruTape<S>;
    type Batch = GruBatch<S>;

    fn kind(&self) -> &'static str {
        "gru"
    }

    fn hidden(&self) -> usize {
        self.hidden
    }

    fn check(&self) -> Result<()> {
        check_hidden(self.hidden)
    }

    fn blocks(&self) -> Vec<Block> {
        gated::blocks(self.hidden, GATES)
    }

    fn init_before_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        gated::init_input(params, self.hidden, GATES, rng);
    }

    fn init_after_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        gated::init_recurrent(params, self.hidden, GATES, rng);
    }

    fn tape(&self, len: usize) -> GruTape<S> {
        let (h, gh) = (self.hidden, GATES * self.hidden);
        GruTape {
            gates: Array2::zeros((len, gh)),
            hn: Array2::zeros((len, h)),
            dgi: Array2::zeros((len, gh)),
            dgh: Array2::zeros((len, gh)),
            ghh: vec![S::zero(); gh],
            fwd: StepMatrix::forward(h, gh),
            carry: StepMatrix::carry(h, gh),
        }
    }

    /// `W_hh` for the forward products ([`StepMatrix::prepare`]).
    fn start_forward(&self, params: &[S], tape: &mut GruTape<S>) {
        let [_, w_hh, _, _] = split_blocks(params, gated::lens(self.hidden, GATES));
        tape.fwd.prepare(w_hh);
    }

    /// `W_hh` for the carries ([`StepMatrix::prepare`]).
    fn start_backward(&self, params: &[S], tape: &mut GruTape<S>) {
        let [_, w_hh, _, _] = split_blocks(params, gated::lens(self.hidden, GATES));
        tape.carry.prepare(w_hh);
    }

    fn forward_step(
        &self,
        params: &[S],
        tape: &mut GruTape<S>,
        t: usize,
        x_t: S,
        h_prev: &[S],
        h: &mut [S],
    ) {
        let [w_ih, w_hh, b_ih, b_hh] = split_blocks(params, gated::lens(self.hidden, GATES));
        let (n, gh) = (self.hidden, GATES * self.hidden);
        let gates = tape.gates.as_slice_mut().expect("standard layout");
        let hn = tape.hn.as_slice_mut().expect("standard layout");
        let (ghh, fwd) = (&mut tape.ghh, &mut tape.fwd);
        let a = &mut gates[t * gh..(t + 1) * gh];
        for ((a, &b), &w) in a.iter_mut().zip(b_ih).zip(w_ih) {
            *a = b + x_t * w;
        }
        // ghh = b_hh + h_{t-1} W_hh, W_hh read row by row.
        ghh.copy_from_slice(b_hh);
        if t > 0 {
            fwd.vec_mat_acc(w_hh, h_prev, ghh);
        }
        hn[t * n..(t + 1) * n].copy_from_slice(&ghh[2 * n..]);
        gru_cell(a, ghh, h_prev, h);
    }

    fn backward_step(
        &self,
        params: &[S],
        tape: &mut GruTape<S>,
        t: usize,
        h_prev: &[S],
        _h: &[S],
        dh: &[S],
        carry: &mut [S],
    ) {
        let [_, w_hh, _, _] = split_blocks(params, gated::lens(self.hidden, GATES));
        let (h, gh) = (self.hidden, GATES * self.hidden);
        let gates = tape.gates.as_slice().expect("standard layout");
        let hn = tape.hn.as_slice().expect("standard layout");
        let dgi = tape.dgi.as_slice_mut().expect("standard layout");
        let dgh = tape.dgh.as_slice_mut().expect("standard layout");
        let act = &gates[t * gh..(t + 1) * gh];
        let (r, rest) = act.split_at(h);
        let (z, n) = rest.split_at(h);
        let gi = &mut dgi[t * gh..(t + 1) * gh];
        let (gi_r, rest) = gi.split_at_mut(h);
        let (gi_z, gi_n) = rest.split_at_mut(h);
        // h_t = (1 − z) n + z h_{t-1}:
        //   ∂n_pre = ∂h (1 − z)(1 − n²),  ∂z_pre = ∂h (h_{t-1} − n) z (1 − z)
        for ((((dz, dn), &g), &p), (&zk, &nk)) in gi_z
            .iter_mut()
            .zip(gi_n.iter_mut())
            .zip(dh)
            .zip(h_prev)
            .zip(z.iter().zip(n))
        {
            *dn = g * (S::one() - zk) * (S::one() - nk * nk);
            *dz = g * (p - nk) * zk * (S::one() - zk);
        }
        // n_pre = a_n + r (h_{t-1} W_hn + b_hn):
        //   ∂r_pre = ∂n_pre hn r (1 − r),  ∂(h_{t-1} W_hn + b_hn) = r ∂n_pre
        let gh_t = &mut dgh[t * gh..(t + 1) * gh];
        let (gh_rz, gh_n) = gh_t.split_at_mut(2 * h);
        for (((dr, dhn), &dn), (&rk, &hk)) in gi_r
            .iter_mut()
            .zip(gh_n.iter_mut())
            .zip(gi_n.iter())
            .zip(r.iter().zip(&hn[t * h..(t + 1) * h]))
        {
            *dr = dn * hk * rk * (S::one() - rk);
            *dhn = rk * dn;
        }
        gh_rz.copy_from_slice(&gi[..2 * h]);
        if t > 0 {
            // carry = W_hh δh_t + ∂h z.
            tape.carry.mat_vec(w_hh, gh_t, carry);
            for ((c, &g), &zk) in carry.iter_mut().zip(dh).zip(z) {
                *c += g * zk;
            }
        }
    }

    fn grads(&self, tape: &GruTape<S>, x: &[S], h_prev: &[S], col: &mut [S], grads: &mut [S]) {
        let gh = GATES * self.hidden;
        let l = x.len();
        let [g_w_ih, g_w_hh, g_b_ih, g_b_hh] =
            split_blocks_mut(grads, gated::lens(self.hidden, GATES));
        let dgi = tape.dgi.as_slice().expect("standard layout");
        let dgh = tape.dgh.as_slice().expect("standard layout");
        input_grads(x, &dgi[..l * gh], g_w_ih, g_b_ih);
        recurrent_grads(h_prev, &dgh[..l * gh], col, g_w_hh, g_b_hh);
    }

    fn batch(&self, _params: &[S], n: usize) -> GruBatch<S> {
        let gh = GATES * self.hidden;
        GruBatch {
            a: Array2::zeros((n, gh)),
            ghh: Array2::zeros((n, gh)),
        }
    }

    fn batch_step(
        &self,
        params: &[S],
        batch: &mut GruBatch<S>,
        t: usize,
        x_t: ArrayView1<'_, S>,
        h_prev: ArrayView2<'_, S>,
        mut h: ArrayViewMut2<'_, S>,
    ) {
        let [w_ih, w_hh, b_ih, b_hh] = split_blocks(params, gated::lens(self.hidden, GATES));
        let GruBatch { a, ghh } = batch;
        // A = x_t ⊗ W_ih + b_ih;  G = b_hh, then += H_{t-1} W_hh.
        for ((mut a_row, mut g_row), &xt) in a
            .axis_iter_mut(Axis(0))
            .zip(ghh.axis_iter_mut(Axis(0)))
            .zip(x_t)
        {
            let a_row = a_row.as_slice_mut().expect("standard layout");
            for ((c, &b), &w) in a_row.iter_mut().zip(b_ih).zip(w_ih) {
                *c = b + xt * w;
            }
            g_row
                .as_slice_mut()
                .expect("standard layout")
                .copy_from_slice(b_hh);
        }
        if t > 0 {
            let w_hh = ArrayView2::from_shape((self.hidden, GATES * self.hidden), w_hh)
                .expect("W_hh is [H, 3H]");
            general_mat_mul(S::one(), &h_prev, &w_hh, S::one(), ghh);
        }
        for (((mut a_row, g_row), p_row), mut c_row) in a
            .axis_iter_mut(Axis(0))
            .zip(ghh.axis_iter(Axis(0)))
            .zip(h_prev.axis_iter(Axis(0)))
            .zip(h.axis_iter_mut(Axis(0)))
        {
            gru_cell(
                a_row.as_slice_mut().expect("standard layout"),
                g_row.as_slice().expect("standard layout"),
                p_row.as_slice().expect("standard layout"),
                c_row.as_slice_mut().expect("standard layout"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gated::{B_IH, B_OUT, W_IH, W_OUT};
    use crate::test_support::*;
    use nncore::activation::sigmoid;
    use nncore::{SequenceModel, Sgd};

    /// Every parameter entry, H = 16, at L = 1, 2, 8 and 32.
    #[test]
    fn gradients_match_finite_differences() {
        assert_gradients_match_finite_differences(
            GruCell::new,
            &[(1, 21), (2, 24), (8, 22), (32, 23)],
        );
    }

    #[test]
    fn gradients_match_with_large_recurrent_weights() {
        assert_gradients_match_with_large_recurrent_weights(GruCell::new);
    }

    #[test]
    fn init_layout_and_groups() {
        let m = assert_gated_init_layout_and_groups(GruCell::new, 5, "gru");
        assert!(m.params().value(B_IH).iter().all(|&v| v == 0.0));
        assert_eq!(m.hidden(), 5);
        assert_eq!(GruCell::default().hidden, 100);
    }

    /// A hand-computed step with H = 1 pins the gate order `r, z, n` and
    /// where `b_hn` sits (inside `r ⊙ (…)`).
    #[test]
    fn one_unit_matches_the_equations() {
        let mut m = Gru::zeros(GruCell::new(1)).unwrap();
        let p = m.params_mut();
        p.value_mut(W_IH).copy_from_slice(&[0.5, -0.3, 0.8]);
        p.value_mut(gated::W_HH).copy_from_slice(&[0.2, 0.7, -0.4]);
        p.value_mut(B_IH).copy_from_slice(&[0.1, 0.2, 0.3]);
        p.value_mut(gated::B_HH).copy_from_slice(&[-0.1, 0.05, 0.6]);
        p.value_mut(W_OUT).copy_from_slice(&[1.5]);
        p.value_mut(B_OUT).copy_from_slice(&[-0.2]);
        let x: [f64; 2] = [0.9, 0.4];
        let mut h = 0.0f64;
        let mut want = Vec::new();
        for &xt in &x {
            let r = sigmoid(xt * 0.5 + 0.1 + h * 0.2 - 0.1);
            let z = sigmoid(xt * -0.3 + 0.2 + h * 0.7 + 0.05);
            let n = (xt * 0.8 + 0.3 + r * (h * -0.4 + 0.6)).tanh();
            h = (1.0 - z) * n + z * h;
            want.push(sigmoid(1.5 * h - 0.2));
        }
        let got = m.forward(&x).unwrap();
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-14, "{got:?} vs {want:?}");
        }
        assert!((m.hidden_states()[[1, 0]] - h).abs() < 1e-14);
    }

    #[test]
    fn hidden_gradient_norms_are_recorded_per_step() {
        assert_hidden_grad_norms_per_step(GruCell::new);
    }

    #[test]
    fn one_sgd_step_lowers_the_loss_on_its_sequence() {
        let sgd = Sgd::new(1e-3, 1e-3).unwrap();
        assert_one_sgd_step_lowers_the_loss(GruCell::new, 30, &[(8, sgd), (32, sgd)]);
    }

    #[test]
    fn training_is_reproducible_bit_for_bit() {
        assert_training_is_reproducible(GruCell::new);
    }

    #[test]
    fn batch_prediction_matches_one_at_a_time() {
        assert_batch_matches_single(GruCell::new);
    }

    #[test]
    fn json_round_trip_and_errors() {
        let j =
            assert_gated_json_round_trip_and_errors(&model(GruCell::new, 4, 9), GruCell::new, 10);
        // The hidden size comes from W_out: 3 rows read the 4-unit GRU's
        // parameters as a 3-unit GRU's, whose W_ih is [1, 9], not [1, 12].
        let mut short = j.clone();
        short["W_out"] = serde_json::json!([[0.0], [0.0], [0.0]]);
        let e = json_error(|j| Gru::from_json(j, |h| Ok(GruCell::new(h))), &short);
        assert!(e.contains("`W_ih`") && e.contains("12"), "{e}");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_bad_input_is_an_error(GruCell::new);
    }

    /// The GRU learns the task at L = 8: held-out accuracy well above the
    /// per-position majority baseline (0.67). With H = 32 and SGD at 0.3 on
    /// every group, 8 of 8 seeds reach 0.94–0.97 in 3,000 iterations; the
    /// article's rates (0.1, 0.001) leave the GRU at the all-ones answer
    /// (0.65) for 20,000: its gates need the recurrent biases to move.
    #[test]
    fn learns_the_task_at_length_8() {
        assert_learns_the_task_at_length_8(GruCell::new, Sgd::new(0.3, 0.3).unwrap(), 0.2);
    }
}
