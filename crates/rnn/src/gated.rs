//! What the gated cells [`Gru`](crate::Gru) and [`Lstm`](crate::Lstm) share:
//! the parameter layout (PyTorch's, transposed to the row-vector
//! convention), the initialisation, the configuration check and the
//! gradient sums over time that do not depend on the cell.

use rand::Rng;

use nncore::fastmath;
use nncore::init::fill_scaled_normal;
use nncore::linalg::{axpy, outer_sum};
use nncore::{Error, ParamGroup, ParamSet, Result};

/// Block indices in the [`ParamSet`] of a gated cell.
pub(crate) const W_IH: usize = 0;
pub(crate) const W_HH: usize = 1;
pub(crate) const B_IH: usize = 2;
pub(crate) const B_HH: usize = 3;
pub(crate) const W_OUT: usize = 4;
pub(crate) const B_OUT: usize = 5;

/// Every key of a gated cell's parameters, for messages.
const KEYS: &str = "W_ih, W_hh, b_ih, b_hh, W_out, b_out";

/// The largest hidden size the gated cells accept.
pub(crate) const MAX_HIDDEN: usize = 4096;

/// Checks a hidden size: `1 ..= MAX_HIDDEN`.
pub(crate) fn check_hidden(hidden: usize) -> Result<()> {
    if hidden == 0 || hidden > MAX_HIDDEN {
        return Err(Error::invalid(
            "hidden",
            hidden,
            format!("use 1 ..= {MAX_HIDDEN}"),
        ));
    }
    Ok(())
}

/// The zero parameters of a cell with `gates` gate blocks of `h` units:
/// `W_ih` `[1, G·H]`, `W_hh` `[H, G·H]`, `b_ih` `[G·H]`, `b_hh` `[G·H]`,
/// `W_out` `[H, 1]`, `b_out` `[1]`.
pub(crate) fn param_set(h: usize, gates: usize) -> ParamSet {
    let gh = gates * h;
    ParamSet::new([
        ("W_ih", vec![1, gh], ParamGroup::InputOutput),
        ("W_hh", vec![h, gh], ParamGroup::Recurrent),
        ("b_ih", vec![gh], ParamGroup::Recurrent),
        ("b_hh", vec![gh], ParamGroup::Recurrent),
        ("W_out", vec![h, 1], ParamGroup::InputOutput),
        ("b_out", vec![1], ParamGroup::InputOutput),
    ])
}

/// Draws the weights like the Elman RNN's: `W_ih ~ N(0,1)/√1`,
/// `W_out ~ N(0,1)/√H`, `W_hh ~ N(0,1)/√H`, in that order, each row-major.
/// Biases are left as they are.
pub(crate) fn init_weights<R: Rng + ?Sized>(params: &mut ParamSet, h: usize, rng: &mut R) {
    fill_scaled_normal(params.value_mut(W_IH), 1, rng);
    fill_scaled_normal(params.value_mut(W_OUT), h, rng);
    fill_scaled_normal(params.value_mut(W_HH), h, rng);
}

/// The hidden size of a cell with `gates` gate blocks, read from the length
/// of `b_hh` in parameter JSON (which must be a positive multiple of `gates`).
pub(crate) fn hidden_from_json(json: &serde_json::Value, gates: usize) -> Result<usize> {
    let n = json
        .get("b_hh")
        .and_then(|b| b.as_array())
        .map(|b| b.len())
        .ok_or_else(|| Error::MissingParam {
            name: "b_hh".into(),
            expected: KEYS.into(),
        })?;
    if n == 0 || n % gates != 0 {
        return Err(Error::ShapeMismatch {
            name: "b_hh".into(),
            expected: vec![gates * (n / gates).max(1)],
            found: format!("[{n}] (not a positive multiple of the {gates} gate blocks)"),
        });
    }
    Ok(n / gates)
}

/// Applies the logistic sigmoid to every element in place, as
/// `σ(x) = ½ + ½ tanh(x / 2)` with nncore's vectorised
/// [`fastmath::tanh`](nncore::fastmath::tanh): the loop vectorises, where
/// [`nncore::activation::sigmoid_in_place`] calls libm's `exp` per element
/// (at H = 100 the gates take 200–300 sigmoids a time step). Within a few
/// ulp of 1 of the exact value (an absolute error of ~1e-16: values far in
/// the tails lose relative, not absolute, precision).
#[inline]
pub(crate) fn sigmoid_in_place(v: &mut [f64]) {
    for x in v {
        *x = 0.5 + 0.5 * fastmath::tanh(0.5 * *x);
    }
}

/// The output deltas `dout_t = ∂E/∂(h_t W_out + b_out) = (y_t − label_t)
/// y_t (1 − y_t)` into `dout`; returns the loss `Σ_t ½ (y_t − label_t)²`.
pub(crate) fn output_deltas(ys: &[f64], labels: &[f64], dout: &mut [f64]) -> f64 {
    let mut loss = 0.0;
    for ((d, &y), &lab) in dout.iter_mut().zip(ys).zip(labels) {
        loss += 0.5 * (y - lab) * (y - lab);
        *d = (y - lab) * y * (1.0 - y);
    }
    loss
}

/// The output head's gradients: `∂E/∂W_out = Σ_t h_tᵀ dout_t`,
/// `∂E/∂b_out = Σ_t dout_t`, with `hs` the `L × H` rows `h_0 … h_{L-1}`.
pub(crate) fn output_grads(hs: &[f64], dout: &[f64], g_w_out: &mut [f64], g_b_out: &mut [f64]) {
    let h = g_w_out.len();
    g_w_out.fill(0.0);
    for (&d, ht) in dout.iter().zip(hs.chunks_exact(h)) {
        axpy(d, ht, g_w_out);
    }
    g_b_out[0] = dout.iter().sum();
}

/// The input-side gradients: `∂E/∂W_ih = Σ_t x_t δ_t`, `∂E/∂b = Σ_t δ_t`,
/// with `deltas` the `L × G·H` rows `δ_t` (gradients w.r.t. the gate
/// pre-activations' input-side terms).
pub(crate) fn input_grads(x: &[f64], deltas: &[f64], g_w_ih: &mut [f64], g_b: &mut [f64]) {
    let gh = g_w_ih.len();
    g_w_ih.fill(0.0);
    g_b.fill(0.0);
    for (&xt, delta) in x.iter().zip(deltas.chunks_exact(gh)) {
        axpy(xt, delta, g_w_ih);
        axpy(1.0, delta, g_b);
    }
}

/// The recurrent gradients: `∂E/∂W_hh = Σ_t h_{t-1}ᵀ δ_t = H_prevᵀ Δ` as one
/// matrix product per sequence (allocation-free, through `col`, `L` long),
/// and `∂E/∂b_hh = Σ_t δ_t`. `h_prev` is `L × H` (rows `h_{-1} … h_{L-2}`),
/// `deltas` is `L × G·H` (gradients w.r.t. the gate pre-activations'
/// hidden-side terms `h_{t-1} W_hh + b_hh`).
pub(crate) fn recurrent_grads(
    h_prev: &[f64],
    deltas: &[f64],
    col: &mut [f64],
    g_w_hh: &mut [f64],
    g_b_hh: &mut [f64],
) {
    let gh = g_b_hh.len();
    let h = g_w_hh.len() / gh;
    outer_sum(h_prev, deltas, h, col, g_w_hh);
    g_b_hh.fill(0.0);
    for delta in deltas.chunks_exact(gh) {
        axpy(1.0, delta, g_b_hh);
    }
}

/// Test helpers shared by the [`Gru`](crate::Gru) and [`Lstm`](crate::Lstm)
/// tests: each checks one property of any gated cell built by `new(hidden,
/// seed)` (or of one model), so that both cells are held to the same
/// assertions and bounds.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{B_HH, B_OUT, W_HH, W_IH, W_OUT};
    use nncore::linalg::norm;
    use nncore::{
        Optimizer, ParamGroup, Result, SequenceModel, Sgd, Trainer, check_gradients,
        majority_baseline, score,
    };
    use rand::Rng;
    use seqdata::{AlternatingSign, Stream, seeded_rng};

    /// Moves every parameter a little off its initial value (most biases
    /// start at 0), so that every block has a nonzero gradient.
    pub(crate) fn perturb<M: SequenceModel>(m: &mut M, seed: u64) {
        let mut rng = seeded_rng(seed, Stream::Other);
        for v in m.params_mut().values_mut() {
            *v += rng.random_range(-0.2..0.2);
        }
    }

    /// One held-out sequence of length `len` and its labels.
    pub(crate) fn sample(len: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let d = AlternatingSign::new(len).unwrap().heldout(1, seed).unwrap();
        let (x, y) = d.sample(0);
        (x.to_vec(), y.to_vec())
    }

    /// A model of `hidden` units trained for `iters` SGD steps on sequences
    /// of length `len` drawn from the training pool of `seed`.
    pub(crate) fn train<M: SequenceModel>(
        new: impl Fn(usize, u64) -> M,
        seed: u64,
        iters: usize,
        len: usize,
        hidden: usize,
        sgd: Sgd,
    ) -> M {
        let pool = AlternatingSign::new(len)
            .unwrap()
            .training_pool(seed)
            .unwrap();
        let mut m = new(hidden, seed);
        let mut trainer = Trainer::new(sgd);
        let mut order = seeded_rng(seed, Stream::Sampling);
        for _ in 0..iters {
            let (x, y) = pool.sample(order.random_range(0..pool.len()));
            trainer.step(&mut m, x, y).unwrap();
        }
        m
    }

    /// The error message of `from_json(json)`, which must fail.
    pub(crate) fn json_error<M>(
        from_json: impl Fn(&serde_json::Value) -> Result<M>,
        json: &serde_json::Value,
    ) -> String {
        from_json(json)
            .err()
            .expect("from_json accepted bad parameters")
            .to_string()
    }

    /// Every parameter entry, H = 16, at each `(L, seed)` of `cases`,
    /// matches finite differences to 1e-6; all six blocks have a gradient,
    /// but for `W_hh` at L = 1.
    pub(crate) fn assert_gradients_match_finite_differences<M: SequenceModel>(
        new: impl Fn(usize, u64) -> M,
        cases: &[(usize, u64)],
    ) {
        for &(len, seed) in cases {
            let mut m = new(16, seed);
            perturb(&mut m, seed);
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-5).unwrap();
            assert!(
                check.max_rel_err() <= 1e-6,
                "L = {len}: relative error {:.3e}\n{check}",
                check.max_rel_err()
            );
            // At L = 1, h_{-1} = 0 so W_hh's gradient is exactly zero.
            let nonzero = check.params.iter().filter(|p| p.scale > 0.0).count();
            assert_eq!(nonzero, if len == 1 { 5 } else { 6 }, "{check}");
        }
    }

    /// The gradients still match with `W_hh` scaled by 4 (H = 7, L = 16).
    pub(crate) fn assert_gradients_match_with_large_recurrent_weights<M: SequenceModel>(
        new: impl Fn(usize, u64) -> M,
    ) {
        let mut m = new(7, 3);
        perturb(&mut m, 3);
        m.params_mut()
            .value_mut(W_HH)
            .iter_mut()
            .for_each(|v| *v *= 4.0);
        let (x, y) = sample(16, 5);
        let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
        assert!(check.max_rel_err() <= 1e-6, "{check}");
        assert!(check.params.iter().all(|p| p.scale > 0.0), "{check}");
    }

    /// A freshly initialised cell of `h` units and `gates` gate blocks: the
    /// shapes, the recurrent group, zero `b_hh` and `b_out`, nonzero
    /// weights, and its kind. (`b_ih` differs between the cells.)
    pub(crate) fn assert_init_layout_and_groups<M: SequenceModel>(
        m: &M,
        h: usize,
        gates: usize,
        kind: &str,
    ) {
        let gh = gates * h;
        let p = m.params();
        let shapes: Vec<_> = p
            .specs()
            .iter()
            .map(|s| (s.name, s.shape.clone()))
            .collect();
        assert_eq!(
            shapes,
            [
                ("W_ih", vec![1, gh]),
                ("W_hh", vec![h, gh]),
                ("b_ih", vec![gh]),
                ("b_hh", vec![gh]),
                ("W_out", vec![h, 1]),
                ("b_out", vec![1]),
            ]
        );
        let rec: Vec<_> = p
            .specs()
            .iter()
            .filter(|s| s.group == ParamGroup::Recurrent)
            .map(|s| s.name)
            .collect();
        assert_eq!(rec, ["W_hh", "b_ih", "b_hh"]);
        assert!(p.value(B_HH).iter().all(|&v| v == 0.0));
        assert_eq!(p.value(B_OUT), [0.0]);
        for i in [W_IH, W_HH, W_OUT] {
            assert!(p.value(i).iter().all(|&v| v != 0.0));
        }
        assert_eq!(m.kind(), kind);
    }

    /// After `loss_and_grad` (H = 20, L = 12) there is one finite, positive
    /// `‖∂E/∂h_t‖` per step, the last one `|dout| ‖W_out‖`.
    pub(crate) fn assert_hidden_grad_norms_per_step<M: SequenceModel>(
        new: impl Fn(usize, u64) -> M,
    ) {
        let mut m = new(20, 1);
        let (x, y) = sample(12, 2);
        m.loss_and_grad(&x, &y).unwrap();
        let norms = m.hidden_grad_norms().unwrap();
        assert_eq!(norms.len(), 12);
        assert!(norms.iter().all(|v| v.is_finite() && *v > 0.0));
        // At the last step only the output contributes: |dout| ‖W_out‖.
        let y_last = m.outputs()[11];
        let d = (y_last - y[11]) * y_last * (1.0 - y_last);
        let want = d.abs() * norm(m.params().value(W_OUT));
        assert!((norms[11] - want).abs() < 1e-12 * want.max(1.0));
    }

    /// One SGD step (1e-3) lowers the loss on its sequence at L = 8 and 32.
    pub(crate) fn assert_one_sgd_step_lowers_the_loss<M: SequenceModel>(
        new: impl Fn(usize, u64) -> M,
    ) {
        for len in [8, 32] {
            let mut m = new(30, 7);
            let (x, y) = sample(len, 8);
            let before = m.loss_and_grad(&x, &y).unwrap();
            let mut sgd = Sgd::new(1e-3, 1e-3).unwrap();
            sgd.step(m.params_mut());
            let after = m.loss(&x, &y).unwrap();
            assert!(after < before, "L = {len}: {before} -> {after}");
        }
    }

    /// The same seed trains the same parameters, bit for bit; another seed
    /// does not.
    pub(crate) fn assert_training_is_reproducible<M: SequenceModel>(new: impl Fn(usize, u64) -> M) {
        let a = train(&new, 5, 200, 8, 20, Sgd::article());
        let b = train(&new, 5, 200, 8, 20, Sgd::article());
        assert_eq!(a.params(), b.params());
        let c = train(&new, 6, 200, 8, 20, Sgd::article());
        assert_ne!(a.params().values(), c.params().values());
    }

    /// `predict_batch` of a trained, perturbed model matches `forward` one
    /// sequence at a time to 1e-12, and a shorter sequence after longer
    /// ones gives what it gives a fresh copy.
    pub(crate) fn assert_batch_matches_single<M: SequenceModel + Clone>(
        new: impl Fn(usize, u64) -> M,
    ) {
        let mut m0 = train(&new, 2, 300, 8, 24, Sgd::article());
        perturb(&mut m0, 2);
        let d = AlternatingSign::new(16).unwrap().heldout(50, 1).unwrap();
        let batch = m0.predict_batch(d.inputs()).unwrap();
        assert_eq!(batch.dim(), (50, 16));
        let mut m = m0.clone();
        for i in 0..d.len() {
            let y = m.forward(d.sample(i).0).unwrap();
            for (a, b) in y.iter().zip(batch.row(i)) {
                assert!((a - b).abs() < 1e-12, "row {i}: {a} vs {b}");
            }
        }
        // A shorter sequence after a longer one reuses the buffers correctly.
        let y3 = m.forward(&[0.5, 0.1, 0.2]).unwrap().to_vec();
        let mut fresh = m0.clone();
        assert_eq!(y3, fresh.forward(&[0.5, 0.1, 0.2]).unwrap());
    }

    /// The JSON of `m` (`h` units, `gates` blocks) has the shapes of the
    /// layout and reads back equal through `from_json`, which rejects,
    /// naming the key: a ragged `W_hh` row, a `b_ih` of `gates·(h − 1)`
    /// entries, a `b_hh` of `bad_b_hh_len` entries and empty JSON. Returns
    /// the JSON, for the cell's own checks.
    pub(crate) fn assert_json_round_trip_and_errors<M: SequenceModel>(
        m: &M,
        h: usize,
        gates: usize,
        from_json: impl Fn(&serde_json::Value) -> Result<M>,
        bad_b_hh_len: usize,
    ) -> serde_json::Value {
        let gh = gates * h;
        let j = m.params().to_json();
        assert_eq!(j["W_hh"].as_array().unwrap().len(), h);
        assert_eq!(j["W_hh"][0].as_array().unwrap().len(), gh);
        assert_eq!(j["W_ih"][0].as_array().unwrap().len(), gh);
        assert_eq!(j["b_hh"].as_array().unwrap().len(), gh);
        assert_eq!(j["W_out"][0].as_array().unwrap().len(), 1);
        let back = from_json(&j).unwrap();
        assert_eq!(back.params(), m.params());
        let mut bad = j.clone();
        bad["W_hh"][1] = serde_json::json!([1.0, 2.0]);
        let e = json_error(&from_json, &bad);
        assert!(e.contains("`W_hh`") && e.contains("[1]"), "{e}");
        let mut bad = j.clone();
        bad["b_ih"] = serde_json::json!(vec![0.0; gates * (h - 1)]);
        let e = json_error(&from_json, &bad);
        assert!(e.contains("`b_ih`"), "{e}");
        let mut bad = j.clone();
        bad["b_hh"] = serde_json::json!(vec![0.0; bad_b_hh_len]);
        let e = json_error(&from_json, &bad);
        assert!(e.contains("`b_hh`"), "{e}");
        let e = json_error(&from_json, &serde_json::json!({}));
        assert!(e.contains("`b_hh`"), "{e}");
        j
    }

    /// Empty, non-finite, mislabelled and empty-batch input is an error on
    /// `m`, and `zeros(hidden)` rejects 0 and `max_hidden + 1` units.
    pub(crate) fn assert_bad_input_is_an_error<M: SequenceModel>(
        m: &mut M,
        zeros: impl Fn(usize) -> Result<M>,
        max_hidden: usize,
    ) {
        assert!(m.forward(&[]).is_err());
        assert!(m.loss_and_grad(&[0.1, f64::NAN], &[1.0, 1.0]).is_err());
        assert!(m.loss_and_grad(&[0.1, f64::INFINITY], &[1.0, 1.0]).is_err());
        assert!(m.loss_and_grad(&[0.1, 0.2], &[1.0]).is_err());
        assert!(
            m.predict_batch(ndarray::Array2::zeros((3, 0)).view())
                .is_err()
        );
        assert!(zeros(0).is_err());
        assert!(zeros(max_hidden + 1).is_err());
    }

    /// Trained with `sgd` (H = 32, 3,000 iterations, seed 1) at L = 8, the
    /// cell's held-out per-element accuracy beats the majority baseline by
    /// more than `margin`.
    pub(crate) fn assert_learns_the_task_at_length_8<M: SequenceModel>(
        new: impl Fn(usize, u64) -> M,
        sgd: Sgd,
        margin: f64,
    ) {
        let m = train(new, 1, 3000, 8, 32, sgd);
        let d = AlternatingSign::new(8).unwrap().heldout(1000, 3).unwrap();
        let acc = score(m.predict_batch(d.inputs()).unwrap().view(), d.labels()).per_element;
        let base = majority_baseline(d.labels());
        eprintln!(
            "{}: held-out accuracy {acc:.3}, baseline {base:.3}",
            m.kind()
        );
        assert!(acc > base + margin, "accuracy {acc} vs baseline {base}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_size_is_read_from_b_hh() {
        let j = serde_json::json!({"b_hh": vec![0.0; 12]});
        assert_eq!(hidden_from_json(&j, 3).unwrap(), 4);
        assert_eq!(hidden_from_json(&j, 4).unwrap(), 3);
        for bad in [
            serde_json::json!({"b_hh": vec![0.0; 7]}),
            serde_json::json!({"b_hh": []}),
        ] {
            let e = hidden_from_json(&bad, 3).unwrap_err().to_string();
            assert!(e.contains("`b_hh`"), "{e}");
        }
        let e = hidden_from_json(&serde_json::json!({"b": [1.0]}), 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`b_hh` is missing"), "{e}");
    }

    #[test]
    fn layout_and_groups() {
        let p = param_set(5, 4);
        let names: Vec<_> = p.specs().iter().map(|s| s.name).collect();
        assert_eq!(names, ["W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out"]);
        let shapes: Vec<_> = p.specs().iter().map(|s| s.shape.clone()).collect();
        assert_eq!(
            shapes,
            [
                vec![1, 20],
                vec![5, 20],
                vec![20],
                vec![20],
                vec![5, 1],
                vec![1]
            ]
        );
        let groups: Vec<_> = p.specs().iter().map(|s| s.group).collect();
        use ParamGroup::{InputOutput as Io, Recurrent as Rec};
        assert_eq!(groups, [Io, Rec, Rec, Rec, Io, Io]);
        assert!(check_hidden(0).is_err() && check_hidden(MAX_HIDDEN + 1).is_err());
        assert!(check_hidden(1).is_ok());
    }
}
