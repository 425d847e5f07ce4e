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
