//! The MLP of the article.

use ndarray::{Array2, ArrayView2, linalg::general_mat_mul};
use rand::Rng;

use nncore::activation::{relu_grad_from_output, relu_in_place, sigmoid, sigmoid_in_place};
use nncore::init::fill_scaled_normal;
use nncore::linalg::{mat_vec, vec_mat};
use nncore::model::{check_batch, check_sequence};
use nncore::{Error, ParamGroup, ParamSet, Result, Scalar, SequenceModel};

const W1: usize = 0;
const B1: usize = 1;
const W2: usize = 2;
const B2: usize = 3;

/// The MLP's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlpConfig {
    /// Sequence length `L`: inputs and outputs (no default: it is the task's).
    pub length: usize,
    /// Hidden ReLU units (default 100, the article's).
    pub hidden: usize,
}

impl MlpConfig {
    /// The largest length or hidden size accepted.
    pub const MAX_SIZE: usize = 1 << 16;

    /// The article's MLP for sequences of `length`: hidden 100.
    pub fn for_length(length: usize) -> Self {
        Self {
            length,
            hidden: 100,
        }
    }

    /// Checks the configuration.
    pub fn check(&self) -> Result<()> {
        for (field, v) in [("length", self.length), ("hidden", self.hidden)] {
            if v == 0 || v > Self::MAX_SIZE {
                return Err(Error::invalid(
                    field,
                    v,
                    format!("use 1 ..= {}", Self::MAX_SIZE),
                ));
            }
        }
        Ok(())
    }
}

/// One hidden layer, row-vector convention:
///
/// ```text
/// z = relu(x W1 + b1),   y = sigmoid(z W2 + b2),   E = Σ_t ½ (y_t − label_t)²
/// ```
///
/// Parameters (JSON keys and shapes): `W1` `[L, H]`, `b1` `[H]`, `W2` `[H, L]`,
/// `b2` `[L]`, all in [`ParamGroup::InputOutput`] (the article trains every
/// MLP parameter at 0.1).
///
/// `S` is the precision it computes in (`f64` by default, or `f32`);
/// inputs, outputs and the loss cross [`SequenceModel`] as `f64`.
#[derive(Debug, Clone)]
pub struct Mlp<S: Scalar = f64> {
    config: MlpConfig,
    params: ParamSet,
    /// `L` inputs, in `S`.
    x: Vec<S>,
    /// `L` labels, in `S`.
    labels: Vec<S>,
    z: Vec<S>,
    y: Vec<S>,
    /// `L` outputs as `f64` (what [`SequenceModel::outputs`] lends).
    y_f64: Vec<f64>,
    delta2: Vec<S>,
    delta1: Vec<S>,
}

impl<S: Scalar> Mlp<S> {
    /// A model with the article's initialisation, drawn from `rng` in this
    /// order: `W1 ~ N(0,1)/√L`, `b1 ~ N(0,1)`, `W2 ~ N(0,1)/√H`, `b2 ~ N(0,1)`.
    pub fn new<R: Rng + ?Sized>(config: MlpConfig, rng: &mut R) -> Result<Self> {
        let mut m = Self::zeros(config)?;
        fill_scaled_normal::<S, _>(m.params.value_mut_as(W1), config.length, rng);
        fill_scaled_normal::<S, _>(m.params.value_mut_as(B1), 1, rng);
        fill_scaled_normal::<S, _>(m.params.value_mut_as(W2), config.hidden, rng);
        fill_scaled_normal::<S, _>(m.params.value_mut_as(B2), 1, rng);
        Ok(m)
    }

    /// A model with every parameter zero (to be loaded).
    pub fn zeros(config: MlpConfig) -> Result<Self> {
        config.check()?;
        let MlpConfig {
            length: l,
            hidden: h,
        } = config;
        let params = ParamSet::with_precision(
            [
                ("W1", vec![l, h], ParamGroup::InputOutput),
                ("b1", vec![h], ParamGroup::InputOutput),
                ("W2", vec![h, l], ParamGroup::InputOutput),
                ("b2", vec![l], ParamGroup::InputOutput),
            ],
            S::PRECISION,
        );
        Ok(Self {
            config,
            params,
            x: vec![S::zero(); l],
            labels: vec![S::zero(); l],
            z: vec![S::zero(); h],
            y: vec![S::zero(); l],
            y_f64: vec![0.0; l],
            delta2: vec![S::zero(); l],
            delta1: vec![S::zero(); h],
        })
    }

    /// A model from parameters as JSON; `L` is read from `b2` and `H` from
    /// `b1`. Shapes and values are checked and the error names the key.
    pub fn from_json(json: &serde_json::Value) -> Result<Self> {
        let len_of = |key: &str| {
            json.get(key)
                .and_then(|v| v.as_array())
                .map(|v| v.len())
                .ok_or_else(|| Error::MissingParam {
                    name: key.into(),
                    expected: "W1, b1, W2, b2".into(),
                })
        };
        let config = MlpConfig {
            length: len_of("b2")?,
            hidden: len_of("b1")?,
        };
        let mut m = Self::zeros(config)?;
        m.params.load_json(json)?;
        Ok(m)
    }

    /// The configuration.
    pub fn config(&self) -> MlpConfig {
        self.config
    }

    /// The forward pass (input already checked), the inputs rounded to `S`
    /// first and the outputs copied out as `f64`.
    fn run_forward(&mut self, x: &[f64]) {
        for (d, &v) in self.x.iter_mut().zip(x) {
            *d = S::from_f64(v);
        }
        let values = self.params.values_as::<S>();
        let specs = self.params.specs();
        let [w1, b1, w2, b2] = [W1, B1, W2, B2].map(|i| &values[specs[i].range()]);
        vec_mat(&self.x, w1, Some(b1), &mut self.z);
        relu_in_place(&mut self.z);
        vec_mat(&self.z, w2, Some(b2), &mut self.y);
        sigmoid_in_place(&mut self.y);
        for (d, &y) in self.y_f64.iter_mut().zip(&self.y) {
            *d = y.as_f64();
        }
    }
}

impl<S: Scalar> SequenceModel for Mlp<S> {
    fn kind(&self) -> &'static str {
        "dnn"
    }

    fn params(&self) -> &ParamSet {
        &self.params
    }

    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.params
    }

    fn fixed_length(&self) -> Option<usize> {
        Some(self.config.length)
    }

    fn hidden(&self) -> usize {
        self.config.hidden
    }

    fn forward(&mut self, x: &[f64]) -> Result<&[f64]> {
        check_sequence(x, None, self.fixed_length())?;
        let _flushed = nncore::subnormal::flush_for::<S>();
        self.run_forward(x);
        Ok(&self.y_f64)
    }

    fn outputs(&self) -> &[f64] {
        &self.y_f64
    }

    fn loss_and_grad(&mut self, x: &[f64], labels: &[f64]) -> Result<f64> {
        check_sequence(x, Some(labels), self.fixed_length())?;
        let _flushed = nncore::subnormal::flush_for::<S>();
        self.run_forward(x);
        for (d, &v) in self.labels.iter_mut().zip(labels) {
            *d = S::from_f64(v);
        }
        let (mut loss, half) = (S::zero(), S::from_f64(0.5));
        for ((d, &y), &lab) in self.delta2.iter_mut().zip(&self.y).zip(&self.labels) {
            loss += half * (y - lab) * (y - lab);
            *d = (y - lab) * y * (S::one() - y);
        }
        let ([_, _, w2, _], [g_w1, g_b1, g_w2, g_b2]) = self.params.split_for_backward::<4, S>();
        let h = self.config.hidden;
        let l = self.config.length;
        // W2: zᵀ δ2 (outer product), b2: δ2.
        for (row, &zi) in g_w2.chunks_exact_mut(l).zip(&self.z) {
            for (g, &d) in row.iter_mut().zip(&self.delta2) {
                *g = zi * d;
            }
        }
        g_b2.copy_from_slice(&self.delta2);
        // δ1 = (W2 δ2) ⊙ relu'(z)
        mat_vec(w2, &self.delta2, &mut self.delta1);
        for (d, &z) in self.delta1.iter_mut().zip(&self.z) {
            *d *= relu_grad_from_output(z);
        }
        // W1: xᵀ δ1, b1: δ1.
        // (One pass: `madd(0, x_i, δ)`, what `axpy` onto a zeroed row gives.)
        for (row, &xi) in g_w1.chunks_exact_mut(h).zip(&self.x) {
            for (g, &d) in row.iter_mut().zip(&self.delta1) {
                *g = S::madd(S::zero(), xi, d);
            }
        }
        g_b1.copy_from_slice(&self.delta1);
        Ok(loss.as_f64())
    }

    fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_batch(xs, self.fixed_length())?;
        let _flushed = nncore::subnormal::flush_for::<S>();
        let n = xs.nrows();
        let MlpConfig {
            length: l,
            hidden: h,
        } = self.config;
        let xs = xs.mapv(S::from_f64);
        let mut z = Array2::<S>::zeros((n, h));
        z.rows_mut().into_iter().for_each(|mut r| {
            r.as_slice_mut()
                .expect("standard")
                .copy_from_slice(self.params.value_as(B1))
        });
        let one = S::one();
        general_mat_mul(one, &xs, &self.params.view2_as::<S>(W1), one, &mut z);
        relu_in_place(z.as_slice_mut().expect("standard"));
        let mut y = Array2::<S>::zeros((n, l));
        y.rows_mut().into_iter().for_each(|mut r| {
            r.as_slice_mut()
                .expect("standard")
                .copy_from_slice(self.params.value_as(B2))
        });
        general_mat_mul(one, &z, &self.params.view2_as::<S>(W2), one, &mut y);
        Ok(y.mapv(|v| sigmoid(v).as_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncore::{Optimizer, Sgd, Trainer, check_gradients};
    use rand::Rng;
    use seqdata::{AlternatingSign, Stream, seeded_rng};

    fn model(len: usize, seed: u64) -> Mlp {
        Mlp::new(
            MlpConfig::for_length(len),
            &mut seeded_rng(seed, Stream::Init),
        )
        .unwrap()
    }

    fn sample(len: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let d = AlternatingSign::new(len).unwrap().heldout(1, seed).unwrap();
        let (x, y) = d.sample(0);
        (x.to_vec(), y.to_vec())
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (len, seed) in [(8, 1), (32, 2)] {
            let mut m = model(len, seed);
            let (x, y) = sample(len, seed);
            let check = check_gradients(&mut m, &x, &y, 1e-5).unwrap();
            eprintln!("L = {len}: max relative error {:.2e}", check.max_rel_err());
            assert!(
                check.max_rel_err() <= 1e-6,
                "L = {len}: {:.3e}\n{check}",
                check.max_rel_err()
            );
            assert!(check.params.iter().all(|p| p.scale > 0.0), "{check}");
        }
    }

    #[test]
    fn one_sgd_step_lowers_the_loss_on_its_sequence() {
        for len in [8, 32] {
            let mut m = model(len, 3);
            let (x, y) = sample(len, 4);
            let before = m.loss_and_grad(&x, &y).unwrap();
            Sgd::new(0.1, 0.1).unwrap().step(m.params_mut());
            let after = m.loss(&x, &y).unwrap();
            assert!(after < before, "L = {len}: {before} -> {after}");
        }
    }

    fn train(seed: u64, iters: usize) -> Mlp {
        let pool = AlternatingSign::new(8)
            .unwrap()
            .training_pool(seed)
            .unwrap();
        let mut m = model(8, seed);
        let mut trainer = Trainer::new(Sgd::new(0.1, 0.1).unwrap());
        let mut order = seeded_rng(seed, Stream::Sampling);
        for _ in 0..iters {
            let (x, y) = pool.sample(order.random_range(0..pool.len()));
            trainer.step(&mut m, x, y).unwrap();
        }
        m
    }

    #[test]
    fn training_is_reproducible_bit_for_bit() {
        assert_eq!(train(4, 200).params(), train(4, 200).params());
        assert_ne!(
            train(4, 200).params().values(),
            train(5, 200).params().values()
        );
    }

    #[test]
    fn batch_prediction_matches_one_at_a_time() {
        let mut m = train(2, 300);
        let d = AlternatingSign::new(8).unwrap().heldout(40, 1).unwrap();
        let batch = m.predict_batch(d.inputs()).unwrap();
        for i in 0..d.len() {
            let y = m.forward(d.sample(i).0).unwrap();
            for (a, b) in y.iter().zip(batch.row(i)) {
                assert!((a - b).abs() < 1e-12, "row {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn json_round_trip_and_errors() {
        let m = model(8, 9);
        let j = m.params().to_json();
        assert_eq!(j["W1"].as_array().unwrap().len(), 8);
        assert_eq!(j["W1"][0].as_array().unwrap().len(), 100);
        assert_eq!(j["W2"][0].as_array().unwrap().len(), 8);
        assert_eq!(Mlp::<f64>::from_json(&j).unwrap().params(), m.params());
        let mut bad = j.clone();
        bad["W2"][3][2] = serde_json::json!("x");
        let e = Mlp::<f64>::from_json(&bad).unwrap_err().to_string();
        assert!(e.contains("`W2` at [3][2]"), "{e}");
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let mut m = model(8, 1);
        let e = m.forward(&[0.1; 9]).unwrap_err();
        assert!(e.to_string().contains("takes length 8"), "{e}");
        assert!(m.predict_batch(Array2::zeros((3, 4)).view()).is_err());
        assert!(
            Mlp::<f64>::zeros(MlpConfig {
                length: 0,
                hidden: 1
            })
            .is_err()
        );
    }
}
