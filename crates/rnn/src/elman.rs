//! The Elman RNN of the article.

use ndarray::{Array2, ArrayView2, Axis, linalg::general_mat_mul, s};
use rand::Rng;

use nncore::activation::{
    relu_grad_from_output, relu_in_place, sigmoid, tanh_grad_from_output, tanh_in_place,
};
use nncore::init::fill_scaled_normal;
use nncore::linalg::{axpy, dot, mat_vec, norm, outer_sum, vec_mat_acc};
use nncore::model::{check_batch, check_sequence};
use nncore::{Error, ParamGroup, ParamSet, Result, SequenceModel};

/// Block indices in the [`ParamSet`].
const W_IN: usize = 0;
const W: usize = 1;
const B: usize = 2;
const W_OUT: usize = 3;
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
}

impl HiddenActivation {
    /// Applies the activation in place.
    #[inline]
    pub fn apply(self, v: &mut [f64]) {
        match self {
            Self::Tanh => tanh_in_place(v),
            Self::Relu => relu_in_place(v),
        }
    }
}

/// The Elman RNN's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElmanConfig {
    /// Hidden units `H` (default 100, the article's).
    pub hidden: usize,
    /// Hidden activation (default `tanh`, the article's).
    pub activation: HiddenActivation,
    /// Initial recurrent matrix (default scaled normal, the article's).
    pub recurrent_init: RecurrentInit,
}

impl Default for ElmanConfig {
    fn default() -> Self {
        Self {
            hidden: 100,
            activation: HiddenActivation::Tanh,
            recurrent_init: RecurrentInit::ScaledNormal,
        }
    }
}

impl ElmanConfig {
    /// The article's Elman RNN with `hidden` units.
    pub fn with_hidden(hidden: usize) -> Self {
        Self {
            hidden,
            ..Self::default()
        }
    }

    /// An IRNN (Le, Jaitly & Hinton 2015): ReLU hidden units and `W`
    /// initialised to the identity; everything else as the article's.
    pub fn irnn(hidden: usize) -> Self {
        Self {
            hidden,
            activation: HiddenActivation::Relu,
            recurrent_init: RecurrentInit::Identity,
        }
    }

    /// The largest hidden size accepted.
    pub const MAX_HIDDEN: usize = 4096;

    /// Checks the configuration.
    pub fn check(&self) -> Result<()> {
        if self.hidden == 0 || self.hidden > Self::MAX_HIDDEN {
            return Err(Error::invalid(
                "hidden",
                self.hidden,
                format!("use 1 ..= {}", Self::MAX_HIDDEN),
            ));
        }
        Ok(())
    }
}

/// A gate-less recurrent network (SPEC §2), row-vector convention:
///
/// ```text
/// u_t = x_t W_in + h_{t-1} W + b,   h_t = tanh(u_t),   h_{-1} = 0
/// y_t = sigmoid(h_t W_out + b_out)
/// E   = Σ_t ½ (y_t − label_t)²
/// ```
///
/// Parameters (JSON keys and shapes): `W_in` `[1, H]`, `W` `[H, H]` (`W[i][j]`
/// connects `h_{t-1}[i]` to unit `j`), `b` `[H]`, `W_out` `[H, 1]`, `b_out`
/// `[1]`. `W` and `b` are in the [`ParamGroup::Recurrent`] learning-rate
/// group, the rest in [`ParamGroup::InputOutput`].
///
/// The hot path never allocates once its buffers have grown to the longest
/// sequence seen: the forward pass reads `W` row by row (a sum of scaled rows),
/// the backward pass takes one contiguous dot per row of `W`, and the
/// recurrent-weight gradient `Σ_t h_{t-1}ᵀ δ_t` is one matrix product per
/// sequence.
#[derive(Debug, Clone)]
pub struct ElmanRnn {
    hidden: usize,
    activation: HiddenActivation,
    params: ParamSet,
    /// `(L + 1) × H`: row 0 is `h_{-1} = 0`, row `t + 1` is `h_t`.
    hs: Array2<f64>,
    /// `L × H`: `δ_t = ∂E/∂u_t`.
    deltas: Array2<f64>,
    /// `L` outputs `y_t`.
    ys: Vec<f64>,
    /// `L` output deltas `∂E/∂(h_t W_out + b_out)`.
    dout: Vec<f64>,
    /// `H`: `∂E/∂h_t` being formed, and the carry `δ_{t+1} Wᵀ`.
    dh: Vec<f64>,
    carry: Vec<f64>,
    /// `L`: `‖∂E/∂h_t‖`.
    dh_norms: Vec<f64>,
    /// `L`: one column of `H_prev`, gathered for the `W` gradient.
    hcol: Vec<f64>,
    /// Length of the sequence in the buffers.
    len: usize,
}

impl ElmanRnn {
    /// A model with the article's initialisation: `W_in ~ N(0,1)/√1`,
    /// `W ~ N(0,1)/√H`, `W_out ~ N(0,1)/√H`, biases 0, drawn from `rng` in
    /// the article's order (`W_in`, `W_out`, `W`), each row-major; with
    /// [`RecurrentInit::Identity`], `W = I` instead.
    pub fn new<R: Rng + ?Sized>(config: ElmanConfig, rng: &mut R) -> Result<Self> {
        let mut m = Self::zeros(config)?;
        let h = m.hidden;
        fill_scaled_normal(m.params.value_mut(W_IN), 1, rng);
        fill_scaled_normal(m.params.value_mut(W_OUT), h, rng);
        match config.recurrent_init {
            RecurrentInit::ScaledNormal => fill_scaled_normal(m.params.value_mut(W), h, rng),
            RecurrentInit::Identity => {
                for (i, row) in m.params.value_mut(W).chunks_exact_mut(h).enumerate() {
                    row[i] = 1.0;
                }
            }
        }
        Ok(m)
    }

    /// A model with every parameter zero (to be loaded, e.g. from JSON).
    pub fn zeros(config: ElmanConfig) -> Result<Self> {
        config.check()?;
        let h = config.hidden;
        let activation = config.activation;
        let params = ParamSet::new([
            ("W_in", vec![1, h], ParamGroup::InputOutput),
            ("W", vec![h, h], ParamGroup::Recurrent),
            ("b", vec![h], ParamGroup::Recurrent),
            ("W_out", vec![h, 1], ParamGroup::InputOutput),
            ("b_out", vec![1], ParamGroup::InputOutput),
        ]);
        Ok(Self {
            hidden: h,
            activation,
            params,
            hs: Array2::zeros((1, h)),
            deltas: Array2::zeros((0, h)),
            ys: Vec::new(),
            dout: Vec::new(),
            dh: vec![0.0; h],
            carry: vec![0.0; h],
            dh_norms: Vec::new(),
            hcol: Vec::new(),
            len: 0,
        })
    }

    /// A model from parameters as JSON (the layout of [`ElmanRnn`]); the
    /// hidden size is read from `b`. Shapes and values are checked and the
    /// error names the offending key.
    pub fn from_json(json: &serde_json::Value) -> Result<Self> {
        Self::from_json_with(json, HiddenActivation::Tanh)
    }

    /// Like [`Self::from_json`], with the given hidden activation (the IRNN's
    /// parameters have the same layout).
    pub fn from_json_with(json: &serde_json::Value, activation: HiddenActivation) -> Result<Self> {
        let hidden = json
            .get("b")
            .and_then(|b| b.as_array())
            .map(|b| b.len())
            .ok_or_else(|| Error::MissingParam {
                name: "b".into(),
                expected: "W_in, W, b, W_out, b_out".into(),
            })?;
        let mut m = Self::zeros(ElmanConfig {
            hidden,
            activation,
            ..ElmanConfig::default()
        })?;
        m.params.load_json(json)?;
        Ok(m)
    }

    /// The hidden size `H`.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The hidden states `h_0 … h_{L-1}` of the last forward pass, `(L, H)`.
    pub fn hidden_states(&self) -> ArrayView2<'_, f64> {
        self.hs.slice(s![1..=self.len, ..])
    }

    /// Grows the buffers to hold a sequence of length `l` (no-op if they do).
    fn reserve(&mut self, l: usize) {
        if self.hs.nrows() < l + 1 {
            self.hs = Array2::zeros((l + 1, self.hidden));
            self.deltas = Array2::zeros((l, self.hidden));
            self.ys.resize(l, 0.0);
            self.dout.resize(l, 0.0);
            self.dh_norms.resize(l, 0.0);
            self.hcol.resize(l, 0.0);
        }
        self.len = l;
    }

    /// The forward pass into the buffers (input already checked).
    fn run_forward(&mut self, x: &[f64]) {
        let l = x.len();
        self.reserve(l);
        let h = self.hidden;
        let [w_in, w, b, w_out, b_out] = self.params.values_split::<5>();
        let hs = self.hs.as_slice_mut().expect("standard layout");
        hs[..h].fill(0.0);
        for (t, &xt) in x.iter().enumerate() {
            let (prev, cur) = hs[t * h..(t + 2) * h].split_at_mut(h);
            // u = b + x_t W_in + h_{t-1} W, W read row by row.
            for ((c, &bj), &wj) in cur.iter_mut().zip(b).zip(w_in) {
                *c = bj + xt * wj;
            }
            if t > 0 {
                vec_mat_acc(prev, w, cur);
            }
            self.activation.apply(cur);
            self.ys[t] = sigmoid(dot(cur, w_out) + b_out[0]);
        }
    }
}

impl SequenceModel for ElmanRnn {
    fn kind(&self) -> &'static str {
        match self.activation {
            HiddenActivation::Tanh => "rnn",
            HiddenActivation::Relu => "irnn",
        }
    }

    fn params(&self) -> &ParamSet {
        &self.params
    }

    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.params
    }

    fn forward(&mut self, x: &[f64]) -> Result<&[f64]> {
        check_sequence(x, None, None)?;
        self.run_forward(x);
        Ok(&self.ys[..x.len()])
    }

    fn outputs(&self) -> &[f64] {
        &self.ys[..self.len]
    }

    fn loss_and_grad(&mut self, x: &[f64], labels: &[f64]) -> Result<f64> {
        check_sequence(x, Some(labels), None)?;
        self.run_forward(x);
        let (l, h) = (x.len(), self.hidden);
        let mut loss = 0.0;
        for ((d, &y), &lab) in self.dout.iter_mut().zip(&self.ys[..l]).zip(labels) {
            loss += 0.5 * (y - lab) * (y - lab);
            *d = (y - lab) * y * (1.0 - y);
        }

        let ([_, w, _, w_out, _], [g_w_in, g_w, g_b, g_w_out, g_b_out]) =
            self.params.split_for_backward::<5>();
        let hs = self.hs.as_slice().expect("standard layout");
        let deltas = self.deltas.as_slice_mut().expect("standard layout");
        let (dh, carry) = (&mut self.dh, &mut self.carry);
        carry.fill(0.0);
        for t in (0..l).rev() {
            let ht = &hs[(t + 1) * h..(t + 2) * h];
            let d = self.dout[t];
            // ∂E/∂h_t = dout_t W_outᵀ + δ_{t+1} Wᵀ
            for ((g, &wo), &c) in dh.iter_mut().zip(w_out).zip(carry.iter()) {
                *g = d * wo + c;
            }
            self.dh_norms[t] = norm(dh);
            let delta = &mut deltas[t * h..(t + 1) * h];
            match self.activation {
                HiddenActivation::Tanh => {
                    for ((dl, &g), &hv) in delta.iter_mut().zip(dh.iter()).zip(ht) {
                        *dl = g * tanh_grad_from_output(hv);
                    }
                }
                HiddenActivation::Relu => {
                    for ((dl, &g), &hv) in delta.iter_mut().zip(dh.iter()).zip(ht) {
                        *dl = g * relu_grad_from_output(hv);
                    }
                }
            }
            if t > 0 {
                // carry = W δ_t: one contiguous dot per row of W.
                mat_vec(w, delta, carry);
            }
        }

        // Gradients, summed over time steps.
        let dout = &self.dout[..l];
        // W_out: Σ_t h_t dout_t;  b_out: Σ_t dout_t
        g_w_out.fill(0.0);
        for (t, &d) in dout.iter().enumerate() {
            axpy(d, &hs[(t + 1) * h..(t + 2) * h], g_w_out);
        }
        g_b_out[0] = dout.iter().sum();
        // W_in: Σ_t x_t δ_t;  b: Σ_t δ_t
        g_w_in.fill(0.0);
        g_b.fill(0.0);
        for (t, &xt) in x.iter().enumerate() {
            let delta = &deltas[t * h..(t + 1) * h];
            axpy(xt, delta, g_w_in);
            axpy(1.0, delta, g_b);
        }
        // W: Σ_t h_{t-1}ᵀ δ_t = H_prevᵀ Δ, one matrix product per sequence
        // (allocation-free: row i of the product is (column i of H_prev) · Δ).
        outer_sum(&hs[..l * h], &deltas[..l * h], h, &mut self.hcol[..l], g_w);
        Ok(loss)
    }

    fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_batch(xs, None)?;
        let (n, l) = xs.dim();
        let h = self.hidden;
        let w = self.params.view2(W);
        let w_in = self.params.value(W_IN);
        let b = self.params.value(B);
        let w_out = self.params.value(W_OUT);
        let b_out = self.params.value(B_OUT)[0];
        let mut prev = Array2::<f64>::zeros((n, h));
        let mut cur = Array2::<f64>::zeros((n, h));
        let mut out = Array2::<f64>::zeros((n, l));
        for t in 0..l {
            // U = x_t ⊗ W_in + b, then += H_{t-1} W.
            for (mut row, &xt) in cur.axis_iter_mut(Axis(0)).zip(xs.column(t)) {
                let row = row.as_slice_mut().expect("standard layout");
                for ((c, &bj), &wj) in row.iter_mut().zip(b).zip(w_in) {
                    *c = bj + xt * wj;
                }
            }
            if t > 0 {
                general_mat_mul(1.0, &prev, &w, 1.0, &mut cur);
            }
            self.activation
                .apply(cur.as_slice_mut().expect("standard layout"));
            for (i, row) in cur.axis_iter(Axis(0)).enumerate() {
                out[[i, t]] = sigmoid(dot(row.as_slice().expect("standard layout"), w_out) + b_out);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        Ok(out)
    }

    fn hidden_grad_norms(&self) -> Option<&[f64]> {
        Some(&self.dh_norms[..self.len])
    }

    fn hidden(&self) -> usize {
        self.hidden
    }

    fn recurrent_weights(&self) -> Option<ArrayView2<'_, f64>> {
        Some(self.params.view2(W))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, sample};
    use nncore::{Optimizer, Sgd, check_gradients};
    use seqdata::{Stream, seeded_rng};

    fn model(hidden: usize, seed: u64) -> ElmanRnn {
        ElmanRnn::new(
            ElmanConfig::with_hidden(hidden),
            &mut seeded_rng(seed, Stream::Init),
        )
        .unwrap()
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

    /// The IRNN: ReLU units, W = I at the start.
    #[test]
    fn irnn_gradients_match_and_init_is_the_identity() {
        let mut m = ElmanRnn::new(ElmanConfig::irnn(30), &mut seeded_rng(4, Stream::Init)).unwrap();
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
        for (len, seed) in [(8, 1), (32, 2)] {
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
            assert!(check.max_rel_err() <= 1e-6, "L = {len}\n{check}");
            assert!(check.params.iter().all(|p| p.scale > 0.0), "{check}");
        }
        let j = m.params().to_json();
        let back = ElmanRnn::from_json_with(&j, HiddenActivation::Relu).unwrap();
        assert_eq!(back.kind(), "irnn");
        assert!(back.params().values() == m.params().values());
    }

    #[test]
    fn hidden_gradient_norms_are_recorded_per_step() {
        let mut m = model(20, 1);
        let (x, y) = sample(12, 2);
        m.loss_and_grad(&x, &y).unwrap();
        let norms = m.hidden_grad_norms().unwrap();
        assert_eq!(norms.len(), 12);
        assert!(norms.iter().all(|v| v.is_finite() && *v > 0.0));
    }

    /// The gradient is a descent direction: a small SGD step lowers the loss
    /// on its own sequence. (With the article's rates the step at L = 32 can
    /// overshoot: the gradient is summed over 32 time steps.)
    #[test]
    fn one_sgd_step_lowers_the_loss_on_its_sequence() {
        for (len, sgd) in [
            (8, Sgd::article()),
            (8, Sgd::new(1e-3, 1e-3).unwrap()),
            (32, Sgd::new(1e-3, 1e-3).unwrap()),
        ] {
            let mut m = model(100, 7);
            let (x, y) = sample(len, 8);
            let before = m.loss_and_grad(&x, &y).unwrap();
            let mut sgd = sgd;
            sgd.step(m.params_mut());
            let after = m.loss(&x, &y).unwrap();
            assert!(after < before, "L = {len}, {sgd:?}: {before} -> {after}");
        }
    }

    fn new(hidden: usize, seed: u64) -> ElmanRnn {
        model(hidden, seed)
    }

    #[test]
    fn training_is_reproducible_bit_for_bit() {
        test_support::assert_training_is_reproducible(new);
    }

    #[test]
    fn batch_prediction_matches_one_at_a_time() {
        test_support::assert_batch_matches_single(new);
    }

    #[test]
    fn json_round_trip_and_errors() {
        let m = model(4, 9);
        let j = m.params().to_json();
        assert_eq!(j["W"].as_array().unwrap().len(), 4);
        assert_eq!(j["W_in"].as_array().unwrap().len(), 1);
        assert_eq!(j["W_out"][0].as_array().unwrap().len(), 1);
        let back = ElmanRnn::from_json(&j).unwrap();
        assert_eq!(back.params(), m.params());
        let mut bad = j.clone();
        bad["W"][1] = serde_json::json!([1.0, 2.0]);
        let e = ElmanRnn::from_json(&bad).unwrap_err().to_string();
        assert!(e.contains("`W`") && e.contains("[1]"), "{e}");
        assert!(ElmanRnn::from_json(&serde_json::json!({})).is_err());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut m = model(4, 1);
        assert!(m.forward(&[]).is_err());
        assert!(m.loss_and_grad(&[0.1, f64::INFINITY], &[1.0, 1.0]).is_err());
        assert!(m.loss_and_grad(&[0.1, 0.2], &[1.0]).is_err());
        assert!(ElmanRnn::zeros(ElmanConfig::with_hidden(0)).is_err());
    }
}
