//! [`Recurrent`]: one generic sequence model around any [`Cell`].

use ndarray::{Array2, ArrayView2, Axis, s};
use rand::Rng;

use nncore::activation::sigmoid;
use nncore::linalg::{axpy, dot};
use nncore::model::{check_batch, check_sequence};
use nncore::subnormal::flush_for;
use nncore::{Error, ParamGroup, ParamSet, Result, Scalar, SequenceModel};

use crate::cell::Cell;

/// A recurrent network: a [`Cell`] run over the sequence, with a sigmoid
/// output per time step, trained by full BPTT with the gradients of every
/// step summed into one update per sequence. Row-vector convention:
///
/// ```text
/// h_t = cell(x_t, h_{t-1}),   h_{-1} = 0
/// y_t = sigmoid(h_t W_out + b_out)
/// E   = Σ_t ½ (y_t − label_t)²
/// ```
///
/// Parameters: the cell's blocks ([`Cell::blocks`]), then the head's `W_out`
/// `[H, 1]` and `b_out` `[1]`, both in [`ParamGroup::InputOutput`]. That
/// order is the flat buffer's, which the optimisers and gradient clipping
/// walk.
///
/// The model owns the buffers (hidden states, outputs, deltas), the time
/// loop, the head and its gradients, the loss, `‖∂E/∂h_t‖` and batched
/// prediction; the cell owns its step maths. The hot path never allocates
/// once the buffers have grown to the longest sequence seen.
///
/// `S` is the precision it computes in (`f64` by default, or `f32`):
/// parameters, hidden states, tape and outputs are all `S`; inputs, outputs
/// and the loss cross [`SequenceModel`] as `f64`.
#[derive(Debug, Clone)]
pub struct Recurrent<C: Cell<S>, S: Scalar = f64> {
    cell: C,
    params: ParamSet,
    /// Entries of the cell's blocks: where the head's `W_out` starts.
    cell_len: usize,
    /// `(L + 1) × H`: row 0 is `h_{-1} = 0`, row `t + 1` is `h_t`.
    hs: Array2<S>,
    /// What the cell keeps between its forward and backward steps.
    tape: C::Tape,
    /// `L` inputs `x_t`, in `S`.
    xs: Vec<S>,
    /// `L` labels, in `S`.
    labels: Vec<S>,
    /// `L` outputs `y_t`.
    ys: Vec<S>,
    /// `L` outputs `y_t` as `f64` (what [`SequenceModel::outputs`] lends).
    ys_f64: Vec<f64>,
    /// `L` output deltas `∂E/∂(h_t W_out + b_out)`.
    dout: Vec<S>,
    /// `H`: `∂E/∂h_t` being formed.
    dh: Vec<S>,
    /// `H`: `∂E/∂h_t` through step `t + 1`, from the cell's backward step.
    carry: Vec<S>,
    /// `L`: `‖∂E/∂h_t‖`.
    dh_norms: Vec<f64>,
    /// `L`: one column of `H_prev`, gathered for the recurrent gradient.
    hcol: Vec<S>,
    /// Length of the sequence in the buffers.
    len: usize,
}

impl<C: Cell<S>, S: Scalar> Recurrent<C, S> {
    /// A model with the cell's initialisation, drawn from `rng` in the
    /// article's order: the cell's [`Cell::init_before_head`] (input
    /// weights), then `W_out ~ N(0,1)/√H` (row-major), then
    /// [`Cell::init_after_head`] (the recurrent matrix); `b_out = 0`.
    /// Errors if the cell's settings are invalid ([`Cell::check`]).
    pub fn new<R: Rng + ?Sized>(cell: C, rng: &mut R) -> Result<Self> {
        let mut m = Self::zeros(cell)?;
        let h = m.hidden();
        let (cell_params, head) = m.params.values_mut_as::<S>().split_at_mut(m.cell_len);
        m.cell.init_before_head(cell_params, rng);
        m.cell.init_head(&mut head[..h], rng);
        m.cell.init_after_head(cell_params, rng);
        Ok(m)
    }

    /// A model with every parameter zero (to be loaded, e.g. from JSON).
    /// Errors if the cell's settings are invalid ([`Cell::check`]).
    pub fn zeros(cell: C) -> Result<Self> {
        cell.check()?;
        let h = cell.hidden();
        let mut blocks = cell.blocks();
        let cell_len = blocks
            .iter()
            .map(|(_, shape, _)| shape.iter().product::<usize>())
            .sum();
        blocks.push(("W_out", vec![h, 1], ParamGroup::InputOutput));
        blocks.push(("b_out", vec![1], ParamGroup::InputOutput));
        Ok(Self {
            params: ParamSet::with_precision(blocks, S::PRECISION),
            cell_len,
            hs: Array2::zeros((1, h)),
            tape: cell.tape(0),
            xs: Vec::new(),
            labels: Vec::new(),
            ys: Vec::new(),
            ys_f64: Vec::new(),
            dout: Vec::new(),
            dh: vec![S::zero(); h],
            carry: vec![S::zero(); h],
            dh_norms: Vec::new(),
            hcol: Vec::new(),
            len: 0,
            cell,
        })
    }

    /// A model from parameters as JSON (the keys and shapes of
    /// [`ParamSet::to_json`]). The hidden size `H` is read from the head's
    /// `W_out` (`H` rows), `cell(H)` makes the cell, and then every
    /// parameter is loaded: shapes and values are checked and an error
    /// names the offending key.
    pub fn from_json(
        json: &serde_json::Value,
        cell: impl FnOnce(usize) -> Result<C>,
    ) -> Result<Self> {
        let rows = match json.get("W_out") {
            Some(w) => w
                .as_array()
                .map(Vec::len)
                .filter(|&n| n > 0)
                .ok_or_else(|| Error::ShapeMismatch {
                    name: "W_out".into(),
                    expected: vec![1, 1],
                    found: format!(
                        "{w} (the [H, 1] output weights, H ≥ 1 rows, give the hidden size)"
                    ),
                })?,
            None => {
                // Name every key, as `ParamSet::load_json` does (a model of
                // one unit has the same keys).
                let expected = match cell(1).and_then(Self::zeros) {
                    Ok(m) => m.params.names(),
                    Err(_) => "W_out, b_out and the cell's parameters".into(),
                };
                return Err(Error::MissingParam {
                    name: "W_out".into(),
                    expected,
                });
            }
        };
        let mut m = Self::zeros(cell(rows)?)?;
        m.params.load_json(json)?;
        Ok(m)
    }

    /// The cell (its settings).
    pub fn cell(&self) -> &C {
        &self.cell
    }

    /// The hidden size `H`.
    pub fn hidden(&self) -> usize {
        self.cell.hidden()
    }

    /// The hidden states `h_0 … h_{L-1}` of the last forward pass, `(L, H)`.
    pub fn hidden_states(&self) -> ArrayView2<'_, S> {
        self.hs.slice(s![1..=self.len, ..])
    }

    /// The cell's tape of the last forward (and backward) pass, and its
    /// length `L`.
    pub(crate) fn tape(&self) -> (&C::Tape, usize) {
        (&self.tape, self.len)
    }

    /// Grows the buffers to hold a sequence of length `l` (no-op if they do).
    fn reserve(&mut self, l: usize) {
        if self.hs.nrows() < l + 1 {
            self.hs = Array2::zeros((l + 1, self.hidden()));
            self.tape = self.cell.tape(l);
            self.xs.resize(l, S::zero());
            self.labels.resize(l, S::zero());
            self.ys.resize(l, S::zero());
            self.ys_f64.resize(l, 0.0);
            self.dout.resize(l, S::zero());
            self.dh_norms.resize(l, 0.0);
            self.hcol.resize(l, S::zero());
        }
        self.len = l;
    }

    /// The forward pass into the buffers (input already checked), the
    /// inputs rounded to `S` first and the outputs copied out as `f64`.
    fn run_forward(&mut self, x: &[f64]) {
        let l = x.len();
        self.reserve(l);
        for (d, &v) in self.xs.iter_mut().zip(x) {
            *d = S::from_f64(v);
        }
        let h = self.hidden();
        let (cell_params, head) = self.params.values_as::<S>().split_at(self.cell_len);
        let (w_out, b_out) = head.split_at(h);
        self.cell.start_forward(cell_params, &mut self.tape);
        let hs = self.hs.as_slice_mut().expect("standard layout");
        hs[..h].fill(S::zero());
        for (t, &xt) in self.xs[..l].iter().enumerate() {
            let (prev, cur) = hs[t * h..(t + 2) * h].split_at_mut(h);
            self.cell
                .forward_step(cell_params, &mut self.tape, t, xt, prev, cur);
            self.ys[t] = sigmoid(dot(cur, w_out) + b_out[0]);
        }
        for (d, &y) in self.ys_f64.iter_mut().zip(&self.ys[..l]) {
            *d = y.as_f64();
        }
    }
}

/// The output deltas `dout_t = ∂E/∂(h_t W_out + b_out) = (y_t − label_t)
/// y_t (1 − y_t)` into `dout`; returns the loss `Σ_t ½ (y_t − label_t)²`.
fn output_deltas<S: Scalar>(ys: &[S], labels: &[S], dout: &mut [S]) -> S {
    let (mut loss, half) = (S::zero(), S::from_f64(0.5));
    for ((d, &y), &lab) in dout.iter_mut().zip(ys).zip(labels) {
        loss += half * (y - lab) * (y - lab);
        *d = (y - lab) * y * (S::one() - y);
    }
    loss
}

/// The output head's gradients: `∂E/∂W_out = Σ_t h_tᵀ dout_t`,
/// `∂E/∂b_out = Σ_t dout_t`, with `hs` the `L × H` rows `h_0 … h_{L-1}`.
fn output_grads<S: Scalar>(hs: &[S], dout: &[S], g_w_out: &mut [S], g_b_out: &mut [S]) {
    let h = g_w_out.len();
    g_w_out.fill(S::zero());
    for (&d, ht) in dout.iter().zip(hs.chunks_exact(h)) {
        axpy(d, ht, g_w_out);
    }
    g_b_out[0] = dout.iter().copied().sum();
}

impl<C: Cell<S>, S: Scalar> SequenceModel for Recurrent<C, S> {
    fn kind(&self) -> &'static str {
        self.cell.kind()
    }

    fn params(&self) -> &ParamSet {
        &self.params
    }

    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.params
    }

    fn forward(&mut self, x: &[f64]) -> Result<&[f64]> {
        check_sequence(x, None, None)?;
        let _flushed = flush_for::<S>();
        self.run_forward(x);
        Ok(&self.ys_f64[..x.len()])
    }

    fn outputs(&self) -> &[f64] {
        &self.ys_f64[..self.len]
    }

    fn loss_and_grad(&mut self, x: &[f64], labels: &[f64]) -> Result<f64> {
        check_sequence(x, Some(labels), None)?;
        let _flushed = flush_for::<S>();
        self.run_forward(x);
        let (l, h) = (x.len(), self.hidden());
        for (d, &v) in self.labels.iter_mut().zip(labels) {
            *d = S::from_f64(v);
        }
        let loss = output_deltas(&self.ys[..l], &self.labels[..l], &mut self.dout[..l]);

        let (values, grads) = self.params.values_and_grads_as::<S>();
        let (cell_params, head) = values.split_at(self.cell_len);
        let w_out = &head[..h];
        let (cell_grads, head_grads) = grads.split_at_mut(self.cell_len);
        let (g_w_out, g_b_out) = head_grads.split_at_mut(h);
        let hs = self.hs.as_slice().expect("standard layout");
        let (dh, carry) = (&mut self.dh, &mut self.carry);
        self.cell.start_backward(cell_params, &mut self.tape);
        carry.fill(S::zero());
        for t in (0..l).rev() {
            let d = self.dout[t];
            // ∂E/∂h_t = dout_t W_outᵀ + (through step t + 1)
            for ((g, &wo), &c) in dh.iter_mut().zip(w_out).zip(carry.iter()) {
                *g = d * wo + c;
            }
            let (prev, ht) = (&hs[t * h..(t + 1) * h], &hs[(t + 1) * h..(t + 2) * h]);
            self.cell
                .backward_step(cell_params, &mut self.tape, t, prev, ht, dh, carry);
            self.dh_norms[t] = self.cell.state_grad_norm(&self.tape, t, dh).as_f64();
        }

        // Gradients, summed over time steps: the head's, then the cell's.
        output_grads(&hs[h..(l + 1) * h], &self.dout[..l], g_w_out, g_b_out);
        self.cell.grads(
            &self.tape,
            &self.xs[..l],
            &hs[..l * h],
            &mut self.hcol[..l],
            cell_grads,
        );
        Ok(loss.as_f64())
    }

    fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_batch(xs, None)?;
        let _flushed = flush_for::<S>();
        let (n, l) = xs.dim();
        let h = self.hidden();
        let (cell_params, head) = self.params.values_as::<S>().split_at(self.cell_len);
        let (w_out, b_out) = (&head[..h], head[h]);
        let xs = xs.mapv(S::from_f64);
        let mut batch = self.cell.batch(cell_params, n);
        let mut prev = Array2::<S>::zeros((n, h));
        let mut cur = Array2::<S>::zeros((n, h));
        let mut out = Array2::<f64>::zeros((n, l));
        for t in 0..l {
            self.cell.batch_step(
                cell_params,
                &mut batch,
                t,
                xs.column(t),
                prev.view(),
                cur.view_mut(),
            );
            for (i, row) in cur.axis_iter(Axis(0)).enumerate() {
                let y = sigmoid(dot(row.as_slice().expect("standard layout"), w_out) + b_out);
                out[[i, t]] = y.as_f64();
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        Ok(out)
    }

    fn hidden_grad_norms(&self) -> Option<&[f64]> {
        Some(&self.dh_norms[..self.len])
    }

    fn hidden(&self) -> usize {
        self.cell.hidden()
    }

    fn recurrent_weights(&self) -> Option<Array2<f64>> {
        let cell_params = &self.params.values_as::<S>()[..self.cell_len];
        Some(self.cell.recurrent_weights(cell_params))
    }

    fn constrain(&mut self) {
        let cell_params = &mut self.params.values_mut_as::<S>()[..self.cell_len];
        self.cell.constrain(cell_params);
    }
}
