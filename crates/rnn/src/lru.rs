//! The Linear Recurrent Unit (Orvieto et al. 2023, arXiv 2303.06349): a
//! linear, diagonal, complex recurrence whose only nonlinearity is a
//! per-step readout.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis, linalg::general_mat_mul};
use rand::Rng;

use nncore::activation::{relu_grad_from_output, relu_in_place};
use nncore::init::{fill_normal, fill_scaled_normal};
use nncore::linalg::{StepMatrix, outer_sum};
use nncore::{Error, ParamGroup, Result, Scalar};

use crate::cell::{Block, Cell, check_hidden, input_grads, split_blocks, split_blocks_mut};
use crate::recurrent::Recurrent;

/// Block indices of an [`Lru`] cell.
const NU: usize = 0;
/// The number of blocks.
const BLOCKS: usize = 11;

/// A gate-less LRU network: the [`Lru`] cell and the sigmoid head.
///
/// ```text
/// λ   = exp(−exp(ν) + i·exp(θ))                 (N complex eigenvalues)
/// x_t = λ ⊙ x_{t−1} + exp(γ_log) ⊙ ((B_re + i·B_im) u_t + (B0_re + i·B0_im)),   x_{−1} = 0
/// h_t = relu(Re(x_t C) + u_t D + b),   C = C_re + i·C_im
/// y_t = sigmoid(h_t W_out + b_out)
/// ```
pub type LruRnn = Recurrent<Lru>;

/// The LRU cell's settings: `N = H` complex states and a readout of `H`
/// ReLU units; the eigenvalues start uniform on the ring `r_min ≤ |λ| ≤
/// r_max`, their phases uniform in `[0, max_phase)`.
///
/// # What the paper does, and what this cell changes
///
/// Orvieto et al.'s layer (their §3 and appendix A) is
/// `x_k = diag(λ) x_{k−1} + γ ⊙ (B u_k)`, `y_k = Re(C x_k) + D ⊙ u_k`, with
/// the exponential parametrisation `λ = exp(−exp(ν_log) + i exp(θ_log))`,
/// the normalisation `γ = exp(γ_log)` trained from `γ_log =
/// log √(1 − |λ|²)`, `ν_log` and `θ_log` from the ring initialisation,
/// `B ~ N(0, 1/(2 H_in))` (real and imaginary parts), `C ~ N(0, 1/N)`,
/// `D ~ N(0, 1)`. This cell keeps all of that. It changes:
///
/// - **The input is a scalar** (`H_in = 1`), so `B` is `N × 1` (stored as
///   the rows `B_re`, `B_im` `[1, N]`) and `D` is `[1, H]` (`u_t D` instead
///   of `D ⊙ u_t`). The paper's LRU reads the output of a linear encoder
///   with a bias, `B (W_e x + b_e)`; for a scalar `x` that is `x·B' + B
///   b_e`, so the encoder is folded into `B` and a constant complex drive
///   `B0 = B b_e` (`B0_re`, `B0_im`, drawn as `B` is). Without it the
///   recurrence is driven by the inputs alone, which are all positive here,
///   and no state can tell an even step from an odd one, which the
///   alternating-sign label needs.
/// - **One layer, and the readout is its nonlinearity.** The paper stacks
///   LRU layers with a position-wise MLP (or GLU), normalisation and skip
///   connections between them. Here one layer's readout is one ReLU layer,
///   `h_t = relu(Re(x_t C) + u_t D + b)` (the bias `b` is ours), and the
///   shared sigmoid head reads `h_t`. `C` is `[N, H]` in the row-vector
///   convention of the other cells (the paper's `C` transposed).
/// - The recurrence has `N = H` states.
///
/// The state `x_t` is the memory, not `h_t` (which does not feed the next
/// step), so the gradient-flow diagnostic reports `‖∂E/∂x_t‖` for this
/// cell, and the spectral norm is that of the recurrence, `max |λ|`.
///
/// Parameters (JSON keys): `nu_log`, `theta_log`, `gamma_log` `[N]`,
/// `B_re`, `B_im` `[1, N]` and `B0_re`, `B0_im` `[N]` in
/// [`ParamGroup::Recurrent`], the group of the
/// paper's "RNN parameters" that train at a smaller rate (their appendix
/// D: "a smaller learning rate for the RNN/SSM parameters A and B", and
/// γ); `C_re`, `C_im` `[N, H]`, `D` `[1, H]`, `b` `[H]` in
/// [`ParamGroup::InputOutput`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lru {
    /// States `N` and readout units `H` (default 100).
    pub hidden: usize,
    /// The ring's inner radius (default 0.9).
    pub r_min: f64,
    /// The ring's outer radius (default 0.999).
    pub r_max: f64,
    /// The largest initial phase (default 2π).
    pub max_phase: f64,
}

impl Default for Lru {
    fn default() -> Self {
        Self::new(100)
    }
}

impl Lru {
    /// An LRU cell of `hidden` states and readout units, the ring `[0.9,
    /// 0.999]` and phases in `[0, 2π)`: the initialisation the paper uses
    /// on its long-range tasks (its appendix's `r_min = 0.9`, `r_max =
    /// 0.999`, and `max_phase = 2π`, the default of its code).
    pub fn new(hidden: usize) -> Self {
        Self {
            hidden,
            r_min: 0.9,
            r_max: 0.999,
            max_phase: std::f64::consts::TAU,
        }
    }

    /// The cell's block sizes, in layout order.
    fn lens(&self) -> [usize; BLOCKS] {
        let n = self.hidden;
        [n, n, n, n, n, n, n, n * n, n * n, n, n]
    }
}

/// The LRU cell's tape: the eigenvalues and normalised input weights of
/// the sequence, the states `x_t`, the readout deltas and the state
/// gradients.
#[derive(Debug, Clone)]
pub struct LruTape<S> {
    /// `Re λ`, `Im λ`, `γ = exp(γ_log)`, `γ B_re`, `γ B_im`, `γ B0_re`,
    /// `γ B0_im`, and for the gradients `exp(ν_log)`, `exp(θ_log)`, `B_re`,
    /// `B_im`, `B0_re`, `B0_im` (each `N`).
    rec: Recurrence<S>,
    e_nu: Vec<S>,
    e_theta: Vec<S>,
    b_re: Vec<S>,
    b_im: Vec<S>,
    b0_re: Vec<S>,
    b0_im: Vec<S>,
    /// `(L + 1) × N`: row 0 is `x_{−1} = 0`, row `t + 1` is `x_t`.
    x_re: Vec<S>,
    x_im: Vec<S>,
    /// `N`: `−Im x_t`, the vector that multiplies `C_im`.
    neg: Vec<S>,
    /// `L × H`: `δ_t = ∂E/∂(pre-ReLU readout)`.
    deltas: Vec<S>,
    /// `L × N`: `∂E/∂x_t`, real and imaginary parts.
    g_re: Vec<S>,
    g_im: Vec<S>,
    /// `N`: `∂E/∂x_t` through step `t + 1` (`conj(λ) ⊙ ∂E/∂x_{t+1}`).
    c_re: Vec<S>,
    c_im: Vec<S>,
    /// `N` of scratch.
    tmp: Vec<S>,
    fwd_re: StepMatrix<S>,
    fwd_im: StepMatrix<S>,
    carry_re: StepMatrix<S>,
    carry_im: StepMatrix<S>,
}

/// The eigenvalues `λ = exp(−exp(ν) + i exp(θ))` as `(Re λ, Im λ)`.
fn lambda(nu: f64, theta: f64) -> (f64, f64) {
    let modulus = (-nu.exp()).exp();
    let phase = theta.exp();
    (modulus * phase.cos(), modulus * phase.sin())
}

/// One sequence's recurrence, from the parameters: `λ`, `γ = exp(γ_log)`,
/// and the normalised drives `γ B` and `γ B0` (each `N`).
#[derive(Debug, Clone)]
struct Recurrence<S> {
    lam_re: Vec<S>,
    lam_im: Vec<S>,
    gamma: Vec<S>,
    bn_re: Vec<S>,
    bn_im: Vec<S>,
    cn_re: Vec<S>,
    cn_im: Vec<S>,
}

impl<S: Scalar> Recurrence<S> {
    fn new(n: usize) -> Self {
        let z = vec![S::zero(); n];
        Self {
            lam_re: z.clone(),
            lam_im: z.clone(),
            gamma: z.clone(),
            bn_re: z.clone(),
            bn_im: z.clone(),
            cn_re: z.clone(),
            cn_im: z,
        }
    }

    /// From `cell`'s parameters (`λ` and `γ` computed in `f64`, then
    /// rounded).
    fn prepare(&mut self, cell: &Lru, params: &[S]) {
        let [nu, theta, gamma, b_re, b_im, b0_re, b0_im, ..] = split_blocks(params, cell.lens());
        for i in 0..cell.hidden {
            let (a, b) = lambda(nu[i].as_f64(), theta[i].as_f64());
            let g = S::from_f64(gamma[i].as_f64().exp());
            self.lam_re[i] = S::from_f64(a);
            self.lam_im[i] = S::from_f64(b);
            self.gamma[i] = g;
            self.bn_re[i] = g * b_re[i];
            self.bn_im[i] = g * b_im[i];
            self.cn_re[i] = g * b0_re[i];
            self.cn_im[i] = g * b0_im[i];
        }
    }

    /// State `i` one step on: `λ x + γ (B u + B0)` from `x = pr + i·pi`.
    #[inline(always)]
    fn step(&self, i: usize, pr: S, pi: S, u: S) -> (S, S) {
        (
            self.lam_re[i] * pr - self.lam_im[i] * pi + (self.bn_re[i] * u + self.cn_re[i]),
            self.lam_im[i] * pr + self.lam_re[i] * pi + (self.bn_im[i] * u + self.cn_im[i]),
        )
    }
}

/// Scratch for [`Cell::batch_step`]: the eigenvalues, and the states of
/// `n` rows.
pub struct LruBatch<S> {
    rec: Recurrence<S>,
    /// `n × N`.
    x_re: ndarray::Array2<S>,
    x_im: ndarray::Array2<S>,
}

impl<S: Scalar> Cell<S> for Lru {
    const GATES: usize = 1;
    const RECURRENT: usize = NU;
    type Tape = LruTape<S>;
    type Batch = LruBatch<S>;

    fn kind(&self) -> &'static str {
        "lru"
    }

    fn hidden(&self) -> usize {
        self.hidden
    }

    fn check(&self) -> Result<()> {
        check_hidden(self.hidden)?;
        if !(0.0 <= self.r_min && self.r_min < self.r_max && self.r_max < 1.0) {
            return Err(Error::invalid(
                "LRU ring",
                format!("[{}, {}]", self.r_min, self.r_max),
                "use 0 ≤ r_min < r_max < 1",
            ));
        }
        if !(self.max_phase > 0.0 && self.max_phase <= std::f64::consts::TAU) {
            return Err(Error::invalid(
                "LRU max_phase",
                self.max_phase,
                "use 0 < max_phase ≤ 2π",
            ));
        }
        Ok(())
    }

    fn blocks(&self) -> Vec<Block> {
        let n = self.hidden;
        let (rec, io) = (ParamGroup::Recurrent, ParamGroup::InputOutput);
        vec![
            ("nu_log", vec![n], rec),
            ("theta_log", vec![n], rec),
            ("gamma_log", vec![n], rec),
            ("B_re", vec![1, n], rec),
            ("B_im", vec![1, n], rec),
            ("B0_re", vec![n], rec),
            ("B0_im", vec![n], rec),
            ("C_re", vec![n, n], io),
            ("C_im", vec![n, n], io),
            ("D", vec![1, n], io),
            ("b", vec![n], io),
        ]
    }

    /// The ring (the paper's `init_lru_parameters`): `u1`, `u2 ~ U[0, 1)`
    /// (all `u1` first), `ν_log = log(−½ log(u1 (r_max² − r_min²) +
    /// r_min²))`, `θ_log = log(max_phase · u2)`, `γ_log = log √(1 −
    /// |λ|²)`; then `B_re`, `B_im`, `B0_re`, `B0_im ~ N(0, 1)/√2`.
    fn init_before_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        let [nu, theta, gamma, b_re, b_im, b0_re, b0_im, ..] =
            split_blocks_mut(params, self.lens());
        let (r2min, r2max) = (self.r_min * self.r_min, self.r_max * self.r_max);
        let u1: Vec<f64> = (0..self.hidden).map(|_| rng.random()).collect();
        let u2: Vec<f64> = (0..self.hidden).map(|_| rng.random()).collect();
        for i in 0..self.hidden {
            let nu_i = (-0.5 * (u1[i] * (r2max - r2min) + r2min).ln()).ln();
            // u2 = 0 would make θ_log = −∞; the draw is in (0, 1) but for
            // one value in 2⁵³.
            let theta_i = (self.max_phase * u2[i].max(f64::MIN_POSITIVE)).ln();
            let modulus = (-nu_i.exp()).exp();
            nu[i] = S::from_f64(nu_i);
            theta[i] = S::from_f64(theta_i);
            gamma[i] = S::from_f64((1.0 - modulus * modulus).sqrt().ln());
        }
        fill_normal(b_re, std::f64::consts::FRAC_1_SQRT_2, rng);
        fill_normal(b_im, std::f64::consts::FRAC_1_SQRT_2, rng);
        fill_normal(b0_re, std::f64::consts::FRAC_1_SQRT_2, rng);
        fill_normal(b0_im, std::f64::consts::FRAC_1_SQRT_2, rng);
    }

    /// `C_re`, `C_im ~ N(0, 1)/√N`, `D ~ N(0, 1)`, `b = 0`.
    fn init_after_head<R: Rng + ?Sized>(&self, params: &mut [S], rng: &mut R) {
        let [.., c_re, c_im, d, _] = split_blocks_mut(params, self.lens());
        fill_scaled_normal(c_re, self.hidden, rng);
        fill_scaled_normal(c_im, self.hidden, rng);
        fill_scaled_normal(d, 1, rng);
    }

    /// The recurrence as a real `2N × 2N` matrix acting on the row `[Re x,
    /// Im x]`: blocks `[[diag Re λ, diag Im λ], [−diag Im λ, diag Re λ]]`,
    /// whose spectral norm is `max |λ|`.
    fn recurrent_weights(&self, params: &[S]) -> ndarray::Array2<f64> {
        let [nu, theta, ..] = split_blocks(params, self.lens());
        let n = self.hidden;
        let mut m = ndarray::Array2::zeros((2 * n, 2 * n));
        for i in 0..n {
            let (a, b) = lambda(nu[i].as_f64(), theta[i].as_f64());
            m[[i, i]] = a;
            m[[n + i, n + i]] = a;
            m[[i, n + i]] = b;
            m[[n + i, i]] = -b;
        }
        m
    }

    fn tape(&self, len: usize) -> LruTape<S> {
        let (n, z) = (self.hidden, S::zero());
        LruTape {
            rec: Recurrence::new(n),
            e_nu: vec![z; n],
            e_theta: vec![z; n],
            b_re: vec![z; n],
            b_im: vec![z; n],
            b0_re: vec![z; n],
            b0_im: vec![z; n],
            x_re: vec![z; (len + 1) * n],
            x_im: vec![z; (len + 1) * n],
            neg: vec![z; n],
            deltas: vec![z; len * n],
            g_re: vec![z; len * n],
            g_im: vec![z; len * n],
            c_re: vec![z; n],
            c_im: vec![z; n],
            tmp: vec![z; n],
            fwd_re: StepMatrix::forward(n, n),
            fwd_im: StepMatrix::forward(n, n),
            carry_re: StepMatrix::carry(n, n),
            carry_im: StepMatrix::carry(n, n),
        }
    }

    /// `λ`, `γ` and `γ B` for the sequence, and `C` for the products.
    fn start_forward(&self, params: &[S], tape: &mut LruTape<S>) {
        let [nu, theta, _, b_re, b_im, b0_re, b0_im, c_re, c_im, ..] =
            split_blocks(params, self.lens());
        tape.rec.prepare(self, params);
        for i in 0..self.hidden {
            tape.e_nu[i] = S::from_f64(nu[i].as_f64().exp());
            tape.e_theta[i] = S::from_f64(theta[i].as_f64().exp());
        }
        tape.b_re.copy_from_slice(b_re);
        tape.b_im.copy_from_slice(b_im);
        tape.b0_re.copy_from_slice(b0_re);
        tape.b0_im.copy_from_slice(b0_im);
        let n = self.hidden;
        tape.x_re[..n].fill(S::zero());
        tape.x_im[..n].fill(S::zero());
        tape.fwd_re.prepare(c_re);
        tape.fwd_im.prepare(c_im);
    }

    /// `C` for the backward products, and no state gradient after the
    /// last step.
    fn start_backward(&self, params: &[S], tape: &mut LruTape<S>) {
        let [.., c_re, c_im, _, _] = split_blocks(params, self.lens());
        tape.carry_re.prepare(c_re);
        tape.carry_im.prepare(c_im);
        tape.c_re.fill(S::zero());
        tape.c_im.fill(S::zero());
    }

    fn forward_step(
        &self,
        params: &[S],
        tape: &mut LruTape<S>,
        t: usize,
        x_t: S,
        _h_prev: &[S],
        h: &mut [S],
    ) {
        let [.., c_re, c_im, d, b] = split_blocks(params, self.lens());
        let n = self.hidden;
        let LruTape {
            rec,
            x_re,
            x_im,
            neg,
            fwd_re,
            fwd_im,
            ..
        } = tape;
        let (prev_re, cur_re) = x_re[t * n..(t + 2) * n].split_at_mut(n);
        let (prev_im, cur_im) = x_im[t * n..(t + 2) * n].split_at_mut(n);
        // x_t = λ x_{t−1} + γ (B u_t + B0), in complex arithmetic.
        for i in 0..n {
            let (pr, pi) = (prev_re[i], prev_im[i]);
            (cur_re[i], cur_im[i]) = rec.step(i, pr, pi, x_t);
            neg[i] = -cur_im[i];
        }
        // h = relu(b + u_t D + Re x_t C_re − Im x_t C_im).
        for ((c, &bj), &dj) in h.iter_mut().zip(b).zip(d) {
            *c = bj + x_t * dj;
        }
        fwd_re.vec_mat_acc(c_re, cur_re, h);
        fwd_im.vec_mat_acc(c_im, neg, h);
        relu_in_place(h);
    }

    fn backward_step(
        &self,
        params: &[S],
        tape: &mut LruTape<S>,
        t: usize,
        _h_prev: &[S],
        h: &[S],
        dh: &[S],
        _carry: &mut [S],
    ) {
        let [.., c_re, c_im, _, _] = split_blocks(params, self.lens());
        let n = self.hidden;
        let LruTape {
            rec,
            deltas,
            g_re,
            g_im,
            c_re: carry_re,
            c_im: carry_im,
            tmp,
            carry_re: plan_re,
            carry_im: plan_im,
            ..
        } = tape;
        let delta = &mut deltas[t * n..(t + 1) * n];
        for ((dl, &g), &hv) in delta.iter_mut().zip(dh).zip(h) {
            *dl = g * relu_grad_from_output(hv);
        }
        // ∂E/∂x_t = (C_re δ_t − i C_im δ_t) + conj(λ) ∂E/∂x_{t+1}.
        let (gr, gi) = (&mut g_re[t * n..(t + 1) * n], &mut g_im[t * n..(t + 1) * n]);
        plan_re.mat_vec(c_re, delta, gr);
        plan_im.mat_vec(c_im, delta, tmp);
        for i in 0..n {
            gr[i] += carry_re[i];
            gi[i] = carry_im[i] - tmp[i];
            // Through x_t = λ x_{t−1} + …: ∂E/∂x_{t−1} = conj(λ) ∂E/∂x_t.
            carry_re[i] = rec.lam_re[i] * gr[i] + rec.lam_im[i] * gi[i];
            carry_im[i] = rec.lam_re[i] * gi[i] - rec.lam_im[i] * gr[i];
        }
        // h_{t−1} does not feed step t: the model's carry stays zero.
    }

    /// `‖∂E/∂x_t‖`, the complex state's gradient.
    fn state_grad_norm(&self, tape: &LruTape<S>, t: usize, _dh: &[S]) -> S {
        let n = self.hidden;
        let (gr, gi) = (
            &tape.g_re[t * n..(t + 1) * n],
            &tape.g_im[t * n..(t + 1) * n],
        );
        let sq = gr
            .iter()
            .zip(gi)
            .fold(S::zero(), |acc, (&r, &i)| acc + r * r + i * i);
        sq.sqrt()
    }

    fn grads(&self, tape: &LruTape<S>, x: &[S], _h_prev: &[S], col: &mut [S], grads: &mut [S]) {
        let (l, n) = (x.len(), self.hidden);
        let [
            g_nu,
            g_theta,
            g_gamma,
            g_b_re,
            g_b_im,
            g_b0_re,
            g_b0_im,
            g_c_re,
            g_c_im,
            g_d,
            g_b,
        ] = split_blocks_mut(grads, self.lens());
        let deltas = &tape.deltas[..l * n];
        // D: Σ_t u_t δ_t;  b: Σ_t δ_t.
        input_grads(x, deltas, g_d, g_b);
        // C_re: Σ_t (Re x_t)ᵀ δ_t;  C_im: −Σ_t (Im x_t)ᵀ δ_t.
        outer_sum(&tape.x_re[n..(l + 1) * n], deltas, n, col, g_c_re);
        outer_sum(&tape.x_im[n..(l + 1) * n], deltas, n, col, g_c_im);
        g_c_im.iter_mut().for_each(|v| *v = -*v);
        // λ: with g = ∂E/∂x_t and p = x_{t−1},
        // ∂E/∂Re λ = Σ_t g_re p_re + g_im p_im, ∂E/∂Im λ = Σ_t g_im p_re − g_re p_im;
        // B: ∂E/∂B_re = γ Σ_t g_re u_t, ∂E/∂B_im = γ Σ_t g_im u_t;
        // B0: ∂E/∂B0_re = γ Σ_t g_re, ∂E/∂B0_im = γ Σ_t g_im.
        // g_nu and g_theta hold ∂E/∂Re λ and ∂E/∂Im λ until the chain rule below.
        for g in [
            &mut *g_nu,
            &mut *g_theta,
            &mut *g_b_re,
            &mut *g_b_im,
            &mut *g_b0_re,
            &mut *g_b0_im,
        ] {
            g.fill(S::zero());
        }
        for (t, &u) in x.iter().enumerate() {
            let (gr, gi) = (
                &tape.g_re[t * n..(t + 1) * n],
                &tape.g_im[t * n..(t + 1) * n],
            );
            let (pr, pi) = (
                &tape.x_re[t * n..(t + 1) * n],
                &tape.x_im[t * n..(t + 1) * n],
            );
            for i in 0..n {
                g_nu[i] += gr[i] * pr[i] + gi[i] * pi[i];
                g_theta[i] += gi[i] * pr[i] - gr[i] * pi[i];
                g_b_re[i] += gr[i] * u;
                g_b_im[i] += gi[i] * u;
                g_b0_re[i] += gr[i];
                g_b0_im[i] += gi[i];
            }
        }
        for i in 0..n {
            let (da, db) = (g_nu[i], g_theta[i]);
            let (a, b) = (tape.rec.lam_re[i], tape.rec.lam_im[i]);
            // Re λ = e^{−e^ν} cos e^θ, Im λ = e^{−e^ν} sin e^θ:
            // ∂/∂ν = −e^ν (Re λ, Im λ), ∂/∂θ = e^θ (−Im λ, Re λ).
            g_nu[i] = -tape.e_nu[i] * (da * a + db * b);
            g_theta[i] = tape.e_theta[i] * (db * a - da * b);
            let gamma = tape.rec.gamma[i];
            g_b_re[i] = gamma * g_b_re[i];
            g_b_im[i] = gamma * g_b_im[i];
            g_b0_re[i] = gamma * g_b0_re[i];
            g_b0_im[i] = gamma * g_b0_im[i];
            // γ = exp(γ_log): ∂E/∂γ_log = γ ∂E/∂γ
            //   = B_re ∂E/∂B_re + B_im ∂E/∂B_im + B0_re ∂E/∂B0_re + B0_im ∂E/∂B0_im.
            g_gamma[i] = (tape.b_re[i] * g_b_re[i] + tape.b_im[i] * g_b_im[i])
                + (tape.b0_re[i] * g_b0_re[i] + tape.b0_im[i] * g_b0_im[i]);
        }
    }

    fn batch(&self, params: &[S], n: usize) -> LruBatch<S> {
        let h = self.hidden;
        let mut rec = Recurrence::new(h);
        rec.prepare(self, params);
        LruBatch {
            rec,
            x_re: ndarray::Array2::zeros((n, h)),
            x_im: ndarray::Array2::zeros((n, h)),
        }
    }

    fn batch_step(
        &self,
        params: &[S],
        batch: &mut LruBatch<S>,
        _t: usize,
        x_t: ArrayView1<'_, S>,
        _h_prev: ArrayView2<'_, S>,
        mut h: ArrayViewMut2<'_, S>,
    ) {
        let [.., c_re, c_im, d, b] = split_blocks(params, self.lens());
        let n = self.hidden;
        let LruBatch { rec, x_re, x_im } = batch;
        for ((mut xr, mut xi), &u) in x_re
            .axis_iter_mut(Axis(0))
            .zip(x_im.axis_iter_mut(Axis(0)))
            .zip(x_t)
        {
            for i in 0..n {
                let (pr, pi) = (xr[i], xi[i]);
                (xr[i], xi[i]) = rec.step(i, pr, pi, u);
            }
        }
        for (mut row, &u) in h.axis_iter_mut(Axis(0)).zip(x_t) {
            let row = row.as_slice_mut().expect("standard layout");
            for ((c, &bj), &dj) in row.iter_mut().zip(b).zip(d) {
                *c = bj + u * dj;
            }
        }
        let c_re = ArrayView2::from_shape((n, n), c_re).expect("C_re is [N, H]");
        let c_im = ArrayView2::from_shape((n, n), c_im).expect("C_im is [N, H]");
        general_mat_mul(S::one(), &x_re.view(), &c_re, S::one(), &mut h);
        general_mat_mul(-S::one(), &x_im.view(), &c_im, S::one(), &mut h);
        relu_in_place(h.as_slice_mut().expect("standard layout"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{self, model, perturb, sample};
    use nncore::{SequenceModel, check_gradients};

    /// Every parameter entry (H = 16) at L = 1, 2, 8 and 32 matches finite
    /// differences to 1e-6; every block has a gradient, but `ν_log`,
    /// `θ_log` at L = 1 (`x_{−1} = 0`).
    #[test]
    fn gradients_match_finite_differences() {
        for (len, seed) in [(1, 41), (2, 42), (8, 43), (32, 44)] {
            let mut m = model(Lru::new, 16, seed);
            perturb(&mut m, seed);
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-6).unwrap();
            eprintln!(
                "lru L = {len}: max relative error {:.2e}",
                check.max_rel_err()
            );
            assert!(check.max_rel_err() <= 1e-6, "L = {len}\n{check}");
            for (i, p) in check.params.iter().enumerate() {
                let zero = len == 1 && (i == 0 || i == 1);
                assert_eq!(p.scale == 0.0, zero, "L = {len}, block {i}\n{check}");
            }
        }
    }

    #[test]
    fn init_is_the_ring_and_the_layout_is_the_papers() {
        let m = model(Lru::new, 50, 3);
        let p = m.params();
        let names: Vec<&str> = p.specs().iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "nu_log",
                "theta_log",
                "gamma_log",
                "B_re",
                "B_im",
                "B0_re",
                "B0_im",
                "C_re",
                "C_im",
                "D",
                "b",
                "W_out",
                "b_out"
            ]
        );
        for i in 0..50 {
            let (a, b) = lambda(p.value(0)[i], p.value(1)[i]);
            let r = a.hypot(b);
            assert!((0.9..=0.999).contains(&r), "|λ| = {r}");
            let g = p.value(2)[i].exp();
            assert!((g - (1.0 - r * r).sqrt()).abs() < 1e-12);
        }
        let w = m.recurrent_weights().unwrap();
        assert_eq!(w.dim(), (100, 100));
        let s = nncore::diagnostics::recurrent_spectral_norm(&m).unwrap();
        let max_r = (0..50)
            .map(|i| {
                let (a, b) = lambda(p.value(0)[i], p.value(1)[i]);
                a.hypot(b)
            })
            .fold(0.0, f64::max);
        // Power iteration (100 steps) converges slowly when the |λ| are
        // this close together: from below, to within a few 1e-3.
        assert!(
            s <= max_r + 1e-12 && s > max_r - 5e-3,
            "{s} vs max |λ| {max_r}"
        );
        assert!(p.value(10).iter().all(|&v| v == 0.0));
    }

    /// The gradient-flow diagnostic is the state's: after `loss_and_grad`
    /// at L = 12, `‖∂E/∂x_t‖` is positive at every step (the head's
    /// `‖∂E/∂h_t‖` would be the step's own error only).
    #[test]
    fn gradient_flow_is_the_states() {
        let mut m = model(Lru::new, 20, 1);
        let (x, y) = sample(12, 2);
        m.loss_and_grad(&x, &y).unwrap();
        let norms = m.hidden_grad_norms().unwrap();
        assert_eq!(norms.len(), 12);
        assert!(norms.iter().all(|v| v.is_finite() && *v > 0.0), "{norms:?}");
    }

    #[test]
    fn batch_prediction_matches_one_at_a_time() {
        test_support::assert_batch_matches_single(Lru::new);
    }

    #[test]
    fn training_is_reproducible_bit_for_bit() {
        test_support::assert_training_is_reproducible(Lru::new);
    }

    #[test]
    fn bad_input_and_bad_settings_are_errors() {
        test_support::assert_bad_input_is_an_error(Lru::new);
        let bad = Lru {
            r_max: 1.0,
            ..Lru::new(4)
        };
        let e = LruRnn::zeros(bad).unwrap_err().to_string();
        assert!(e.contains("r_max"), "{e}");
    }

    #[test]
    fn json_round_trip() {
        let m = model(Lru::new, 6, 9);
        let j = m.params().to_json();
        let back = LruRnn::from_json(&j, |h| Ok(Lru::new(h))).unwrap();
        assert_eq!(back.params(), m.params());
    }
}
