//! What the gated cells [`GruCell`](crate::GruCell) and
//! [`LstmCell`](crate::LstmCell) share: the parameter layout (PyTorch's,
//! transposed to the row-vector convention), the initialisation, the
//! recurrent gradient sums.

use rand::Rng;

use nncore::init::fill_scaled_normal;
use nncore::linalg::{axpy, outer_sum};
use nncore::{ParamGroup, Scalar};

use crate::cell::{Block, split_blocks_mut};

/// Block indices in the [`ParamSet`](nncore::ParamSet) of a gated cell's
/// model (the cell's four blocks, then the head's two).
#[cfg(test)]
pub(crate) const W_IH: usize = 0;
pub(crate) const W_HH: usize = 1;
#[cfg(test)]
pub(crate) const B_IH: usize = 2;
#[cfg(test)]
pub(crate) const B_HH: usize = 3;
#[cfg(test)]
pub(crate) const W_OUT: usize = 4;
#[cfg(test)]
pub(crate) const B_OUT: usize = 5;

/// The sizes of a gated cell's blocks `W_ih`, `W_hh`, `b_ih`, `b_hh` for
/// `gates` gate blocks of `h` units.
pub(crate) fn lens(h: usize, gates: usize) -> [usize; 4] {
    let gh = gates * h;
    [gh, h * gh, gh, gh]
}

/// The blocks of a cell with `gates` gate blocks of `h` units: `W_ih`
/// `[1, G·H]`, `W_hh` `[H, G·H]`, `b_ih` `[G·H]`, `b_hh` `[G·H]`.
pub(crate) fn blocks(h: usize, gates: usize) -> Vec<Block> {
    let gh = gates * h;
    vec![
        ("W_ih", vec![1, gh], ParamGroup::InputOutput),
        ("W_hh", vec![h, gh], ParamGroup::Recurrent),
        ("b_ih", vec![gh], ParamGroup::Recurrent),
        ("b_hh", vec![gh], ParamGroup::Recurrent),
    ]
}

/// Draws `W_ih ~ N(0,1)/√1` (before the head's `W_out`), row-major.
pub(crate) fn init_input<S: Scalar, R: Rng + ?Sized>(
    params: &mut [S],
    h: usize,
    gates: usize,
    rng: &mut R,
) {
    let [w_ih, _, _, _] = split_blocks_mut(params, lens(h, gates));
    fill_scaled_normal(w_ih, 1, rng);
}

/// Draws `W_hh ~ N(0,1)/√H` (after the head's `W_out`), row-major.
pub(crate) fn init_recurrent<S: Scalar, R: Rng + ?Sized>(
    params: &mut [S],
    h: usize,
    gates: usize,
    rng: &mut R,
) {
    let [_, w_hh, _, _] = split_blocks_mut(params, lens(h, gates));
    fill_scaled_normal(w_hh, h, rng);
}

/// The recurrent gradients: `∂E/∂W_hh = Σ_t h_{t-1}ᵀ δ_t = H_prevᵀ Δ` as one
/// matrix product per sequence (allocation-free, through `col`, `L` long),
/// and `∂E/∂b_hh = Σ_t δ_t`. `h_prev` is `L × H` (rows `h_{-1} … h_{L-2}`),
/// `deltas` is `L × G·H` (gradients w.r.t. the gate pre-activations'
/// hidden-side terms `h_{t-1} W_hh + b_hh`).
pub(crate) fn recurrent_grads<S: Scalar>(
    h_prev: &[S],
    deltas: &[S],
    col: &mut [S],
    g_w_hh: &mut [S],
    g_b_hh: &mut [S],
) {
    let gh = g_b_hh.len();
    let h = g_w_hh.len() / gh;
    outer_sum(h_prev, deltas, h, col, g_w_hh);
    g_b_hh.fill(S::zero());
    for delta in deltas.chunks_exact(gh) {
        axpy(S::one(), delta, g_b_hh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_groups() {
        let b = blocks(5, 4);
        let names: Vec<_> = b.iter().map(|s| s.0).collect();
        assert_eq!(names, ["W_ih", "W_hh", "b_ih", "b_hh"]);
        let shapes: Vec<_> = b.iter().map(|s| s.1.clone()).collect();
        assert_eq!(shapes, [vec![1, 20], vec![5, 20], vec![20], vec![20]]);
        let sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
        assert_eq!(sizes, lens(5, 4));
        let groups: Vec<_> = b.iter().map(|s| s.2).collect();
        use ParamGroup::{InputOutput as Io, Recurrent as Rec};
        assert_eq!(groups, [Io, Rec, Rec, Rec]);
    }
}
