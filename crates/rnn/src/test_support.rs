//! Test helpers shared by every cell's tests: generic over the [`Cell`],
//! each takes the cell's constructor `cell(hidden)` (e.g. `GruCell::new`)
//! and makes the same assertions, with the same bounds, for every cell.

use crate::cell::{Block, Cell, MAX_HIDDEN};
use crate::gated::{B_HH, B_OUT, W_HH, W_IH, W_OUT};
use crate::recurrent::Recurrent;
use nncore::linalg::norm;
use nncore::{
    Optimizer, ParamGroup, Result, SequenceModel, Sgd, Trainer, check_gradients, majority_baseline,
    score,
};
use rand::Rng;
use seqdata::{AlternatingSign, Stream, seeded_rng};

/// A model of `cell(hidden)` initialised from the `Init` stream of `seed`.
pub(crate) fn model<C: Cell>(cell: impl Fn(usize) -> C, hidden: usize, seed: u64) -> Recurrent<C> {
    Recurrent::new(cell(hidden), &mut seeded_rng(seed, Stream::Init)).unwrap()
}

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
pub(crate) fn train<C: Cell>(
    cell: impl Fn(usize) -> C,
    seed: u64,
    iters: usize,
    len: usize,
    hidden: usize,
    sgd: Sgd,
) -> Recurrent<C> {
    let pool = AlternatingSign::new(len)
        .unwrap()
        .training_pool(seed)
        .unwrap();
    let mut m = model(cell, hidden, seed);
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

/// The layout of `m`: the cell's `blocks` (name, shape, group), then the
/// head's `W_out` `[H, 1]` and `b_out` `[1]` (input/output group).
pub(crate) fn assert_layout<C: Cell>(m: &Recurrent<C>, blocks: &[Block]) {
    let h = m.hidden();
    let mut want = blocks.to_vec();
    want.push(("W_out", vec![h, 1], ParamGroup::InputOutput));
    want.push(("b_out", vec![1], ParamGroup::InputOutput));
    let got: Vec<Block> = m
        .params()
        .specs()
        .iter()
        .map(|s| (s.name, s.shape.clone(), s.group))
        .collect();
    assert_eq!(got, want);
    assert_eq!(m.cell().blocks(), blocks);
    assert_eq!(m.params().specs()[C::RECURRENT].shape, [h, C::GATES * h]);
    assert_eq!(
        m.recurrent_weights().unwrap(),
        m.params().view2(C::RECURRENT)
    );
    assert_eq!(SequenceModel::hidden(m), h);
}

/// Every parameter entry, H = 16, at each `(L, seed)` of `cases`,
/// matches finite differences to 1e-6; every block has a gradient, but
/// the recurrent matrix at L = 1 (where `h_{-1} = 0`).
pub(crate) fn assert_gradients_match_finite_differences<C: Cell>(
    cell: impl Fn(usize) -> C,
    cases: &[(usize, u64)],
) {
    for &(len, seed) in cases {
        let mut m = model(&cell, 16, seed);
        perturb(&mut m, seed);
        let (x, y) = sample(len, seed);
        let check = check_gradients(&mut m, &x, &y, 1e-5).unwrap();
        eprintln!(
            "{} L = {len}: max relative error {:.2e}",
            m.kind(),
            check.max_rel_err()
        );
        assert!(
            check.max_rel_err() <= 1e-6,
            "{} L = {len}: relative error {:.3e}\n{check}",
            m.kind(),
            check.max_rel_err()
        );
        // At L = 1, h_{-1} = 0 so the recurrent matrix's gradient is exactly zero.
        let blocks = m.params().specs().len();
        let nonzero = check.params.iter().filter(|p| p.scale > 0.0).count();
        assert_eq!(
            nonzero,
            if len == 1 { blocks - 1 } else { blocks },
            "{check}"
        );
        assert_eq!(check.params[C::RECURRENT].scale == 0.0, len == 1, "{check}");
    }
}

/// The gradients still match with the recurrent matrix scaled by 4 (H =
/// 7, L = 16).
pub(crate) fn assert_gradients_match_with_large_recurrent_weights<C: Cell>(
    cell: impl Fn(usize) -> C,
) {
    let mut m = model(cell, 7, 3);
    perturb(&mut m, 3);
    m.params_mut()
        .value_mut(C::RECURRENT)
        .iter_mut()
        .for_each(|v| *v *= 4.0);
    let (x, y) = sample(16, 5);
    let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
    assert!(check.max_rel_err() <= 1e-6, "{check}");
    assert!(check.params.iter().all(|p| p.scale > 0.0), "{check}");
}

/// A freshly initialised gated cell of `h` units: the layout `W_ih`
/// `[1, G·H]`, `W_hh` `[H, G·H]`, `b_ih`, `b_hh` `[G·H]` (then the head),
/// the recurrent group, zero `b_hh` and `b_out`, nonzero weights, and its
/// kind. (`b_ih` differs between the cells.)
pub(crate) fn assert_gated_init_layout_and_groups<C: Cell>(
    cell: impl Fn(usize) -> C,
    h: usize,
    kind: &str,
) -> Recurrent<C> {
    let m = model(cell, h, 1);
    let gh = C::GATES * h;
    use ParamGroup::{InputOutput as Io, Recurrent as Rec};
    assert_layout(
        &m,
        &[
            ("W_ih", vec![1, gh], Io),
            ("W_hh", vec![h, gh], Rec),
            ("b_ih", vec![gh], Rec),
            ("b_hh", vec![gh], Rec),
        ],
    );
    let p = m.params();
    assert_eq!(C::RECURRENT, W_HH);
    assert!(p.value(B_HH).iter().all(|&v| v == 0.0));
    assert_eq!(p.value(B_OUT), [0.0]);
    for i in [W_IH, W_HH, W_OUT] {
        assert!(p.value(i).iter().all(|&v| v != 0.0));
    }
    assert_eq!(m.kind(), kind);
    m
}

/// After `loss_and_grad` (H = 20, L = 12) there is one finite, positive
/// `‖∂E/∂h_t‖` per step, the last one `|dout| ‖W_out‖`.
pub(crate) fn assert_hidden_grad_norms_per_step<C: Cell>(cell: impl Fn(usize) -> C) {
    let mut m = model(cell, 20, 1);
    let (x, y) = sample(12, 2);
    m.loss_and_grad(&x, &y).unwrap();
    let norms = m.hidden_grad_norms().unwrap();
    assert_eq!(norms.len(), 12);
    assert!(norms.iter().all(|v| v.is_finite() && *v > 0.0));
    // At the last step only the output contributes: |dout| ‖W_out‖.
    let y_last = m.outputs()[11];
    let d = (y_last - y[11]) * y_last * (1.0 - y_last);
    let w_out = m.params().index_of("W_out").unwrap();
    let want = d.abs() * norm(m.params().value(w_out));
    assert!((norms[11] - want).abs() < 1e-12 * want.max(1.0));
}

/// One step of each `(L, sgd)` of `cases` lowers the loss on its sequence
/// (`hidden` units, model seed 7, sequence seed 8).
pub(crate) fn assert_one_sgd_step_lowers_the_loss<C: Cell>(
    cell: impl Fn(usize) -> C,
    hidden: usize,
    cases: &[(usize, Sgd)],
) {
    for &(len, sgd) in cases {
        let mut m = model(&cell, hidden, 7);
        let (x, y) = sample(len, 8);
        let before = m.loss_and_grad(&x, &y).unwrap();
        let mut sgd = sgd;
        sgd.step(m.params_mut());
        let after = m.loss(&x, &y).unwrap();
        assert!(after < before, "L = {len}, {sgd:?}: {before} -> {after}");
    }
}

/// The same seed trains the same parameters, bit for bit; another seed
/// does not.
pub(crate) fn assert_training_is_reproducible<C: Cell>(cell: impl Fn(usize) -> C) {
    let a = train(&cell, 5, 200, 8, 20, Sgd::article());
    let b = train(&cell, 5, 200, 8, 20, Sgd::article());
    assert_eq!(a.params(), b.params());
    let c = train(&cell, 6, 200, 8, 20, Sgd::article());
    assert_ne!(a.params().values(), c.params().values());
}

/// `predict_batch` of a trained, perturbed model matches `forward` one
/// sequence at a time to 1e-12, and a shorter sequence after longer
/// ones gives what it gives a fresh copy.
pub(crate) fn assert_batch_matches_single<C: Cell>(cell: impl Fn(usize) -> C) {
    let mut m0 = train(cell, 2, 300, 8, 24, Sgd::article());
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
    assert_eq!(m.hidden_states(), fresh.hidden_states());
    assert_eq!(m.hidden_states().dim(), (3, m.hidden()));
}

/// The JSON of `m` (a gated cell of `h` units) has the shapes of the
/// layout and reads back equal through `from_json` (hidden size from
/// `W_out`, cell from `cell`), which rejects, naming the key: a ragged
/// `W_hh` row, a `b_ih` of `G·(h − 1)` entries, a `b_hh` of
/// `bad_b_hh_len` entries and empty JSON (no `W_out`, every key listed).
/// Returns the JSON, for the cell's own checks.
pub(crate) fn assert_gated_json_round_trip_and_errors<C: Cell + PartialEq>(
    m: &Recurrent<C>,
    cell: impl Fn(usize) -> C,
    bad_b_hh_len: usize,
) -> serde_json::Value {
    let h = m.hidden();
    let gh = C::GATES * h;
    let from_json = |j: &serde_json::Value| Recurrent::from_json(j, |h| Ok(cell(h)));
    let j = m.params().to_json();
    assert_eq!(j["W_hh"].as_array().unwrap().len(), h);
    assert_eq!(j["W_hh"][0].as_array().unwrap().len(), gh);
    assert_eq!(j["W_ih"][0].as_array().unwrap().len(), gh);
    assert_eq!(j["b_hh"].as_array().unwrap().len(), gh);
    assert_eq!(j["W_out"][0].as_array().unwrap().len(), 1);
    let back = from_json(&j).unwrap();
    assert_eq!(back.params(), m.params());
    assert!(back.cell() == m.cell());
    let mut bad = j.clone();
    bad["W_hh"][1] = serde_json::json!([1.0, 2.0]);
    let e = json_error(from_json, &bad);
    assert!(e.contains("`W_hh`") && e.contains("[1]"), "{e}");
    let mut bad = j.clone();
    bad["b_ih"] = serde_json::json!(vec![0.0; C::GATES * (h - 1)]);
    let e = json_error(from_json, &bad);
    assert!(e.contains("`b_ih`"), "{e}");
    let mut bad = j.clone();
    bad["b_hh"] = serde_json::json!(vec![0.0; bad_b_hh_len]);
    let e = json_error(from_json, &bad);
    assert!(e.contains("`b_hh`"), "{e}");
    let e = json_error(from_json, &serde_json::json!({}));
    assert!(
        e.contains("`W_out`") && e.contains("W_ih, W_hh, b_ih, b_hh, W_out, b_out"),
        "{e}"
    );
    for bad_w_out in [serde_json::json!([]), serde_json::json!(1.0)] {
        let mut bad = j.clone();
        bad["W_out"] = bad_w_out;
        let e = json_error(from_json, &bad);
        assert!(e.contains("`W_out`"), "{e}");
    }
    j
}

/// Empty, non-finite, mislabelled and empty-batch input is an error on a
/// model of `cell(4)`, and `zeros` rejects 0 and `MAX_HIDDEN + 1` units.
pub(crate) fn assert_bad_input_is_an_error<C: Cell>(cell: impl Fn(usize) -> C) {
    let mut m = model(&cell, 4, 1);
    assert!(m.forward(&[]).is_err());
    assert!(m.loss_and_grad(&[0.1, f64::NAN], &[1.0, 1.0]).is_err());
    assert!(m.loss_and_grad(&[0.1, f64::INFINITY], &[1.0, 1.0]).is_err());
    assert!(m.loss_and_grad(&[0.1, 0.2], &[1.0]).is_err());
    assert!(
        m.predict_batch(ndarray::Array2::zeros((3, 0)).view())
            .is_err()
    );
    assert!(Recurrent::zeros(cell(0)).is_err());
    assert!(Recurrent::zeros(cell(MAX_HIDDEN + 1)).is_err());
    assert!(Recurrent::new(cell(0), &mut seeded_rng(1, Stream::Init)).is_err());
}

/// Trained with `sgd` (H = 32, 3,000 iterations, seed 1) at L = 8, the
/// cell's held-out per-element accuracy beats the majority baseline by
/// more than `margin`.
pub(crate) fn assert_learns_the_task_at_length_8<C: Cell>(
    cell: impl Fn(usize) -> C,
    sgd: Sgd,
    margin: f64,
) {
    let m = train(cell, 1, 3000, 8, 32, sgd);
    let d = AlternatingSign::new(8).unwrap().heldout(1000, 3).unwrap();
    let acc = score(m.predict_batch(d.inputs()).unwrap().view(), d.labels()).per_element;
    let base = majority_baseline(d.labels());
    eprintln!(
        "{}: held-out accuracy {acc:.3}, baseline {base:.3}",
        m.kind()
    );
    assert!(acc > base + margin, "accuracy {acc} vs baseline {base}");
}
