//! Held-out evaluation: a model's [`Metrics`] on a data set, computed in
//! fixed chunks of batch predictions.

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use seqdata::Dataset;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, SequenceModel, loss::squared_error, score};

/// How well a model does on a data set: the numbers a study records at every
/// evaluation, a model file keeps and `cargo xtask eval` prints. (The field
/// names say `heldout` because that is the set they are measured on in a
/// study; [`evaluate`] measures them on any set.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Fraction of all outputs that are right (output `>= 0.5` counts as 1).
    #[serde(deserialize_with = "crate::nullable::f64")]
    pub heldout_acc: f64,
    /// Fraction of sequences with every output right.
    #[serde(deserialize_with = "crate::nullable::f64")]
    pub heldout_exact: f64,
    /// Fraction right at each position `t`.
    #[serde(deserialize_with = "crate::nullable::vec_f64")]
    pub per_position_acc: Vec<f64>,
    /// Mean loss per sequence, `Σ_t ½ (y_t − label_t)²`.
    #[serde(deserialize_with = "crate::nullable::f64")]
    pub heldout_loss: f64,
}

impl Metrics {
    /// Checks that the accuracies are fractions, the loss a finite number
    /// `>= 0`, and that there is one per-position accuracy per position of
    /// `length`; the error names the field.
    pub fn check(&self, length: usize) -> Result<()> {
        let fraction = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        for (field, v) in [
            ("heldout_acc", self.heldout_acc),
            ("heldout_exact", self.heldout_exact),
        ] {
            if !fraction(v) {
                return Err(Error::invalid(field, v, "not a fraction in 0 ..= 1"));
            }
        }
        if self.per_position_acc.len() != length {
            return Err(Error::invalid(
                "per_position_acc",
                format!("{} entries", self.per_position_acc.len()),
                format!("one per position: {length}"),
            ));
        }
        if let Some((t, v)) = self
            .per_position_acc
            .iter()
            .enumerate()
            .find(|(_, v)| !fraction(**v))
        {
            return Err(Error::invalid(
                "per_position_acc",
                format!("[{t}] {v}"),
                "not a fraction in 0 ..= 1",
            ));
        }
        if !(self.heldout_loss.is_finite() && self.heldout_loss >= 0.0) {
            return Err(Error::invalid(
                "heldout_loss",
                self.heldout_loss,
                "not a finite number >= 0",
            ));
        }
        Ok(())
    }
}

/// Rows per evaluation chunk: the chunk's batch products stay in cache.
pub const EVAL_CHUNK: usize = 256;

/// The model's metrics on `data`, in chunks of [`EVAL_CHUNK`] sequences, on
/// the calling thread (so that a run's evaluation time is its own).
///
/// ```
/// use nncore::{SequenceModel, evaluate};
/// # use nncore::{ParamSet, ParamGroup, Result};
/// # use ndarray::{Array2, ArrayView2};
/// # struct Half(ParamSet, Vec<f64>);
/// # impl SequenceModel for Half {
/// #     fn kind(&self) -> &'static str { "half" }
/// #     fn params(&self) -> &ParamSet { &self.0 }
/// #     fn params_mut(&mut self) -> &mut ParamSet { &mut self.0 }
/// #     fn forward(&mut self, x: &[f64]) -> Result<&[f64]> { self.1 = vec![0.6; x.len()]; Ok(&self.1) }
/// #     fn loss_and_grad(&mut self, x: &[f64], _: &[f64]) -> Result<f64> { self.forward(x)?; Ok(0.0) }
/// #     fn outputs(&self) -> &[f64] { &self.1 }
/// #     fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>> { Ok(Array2::from_elem(xs.dim(), 0.6)) }
/// #     fn hidden(&self) -> usize { 0 }
/// # }
/// # let model = Half(ParamSet::new([]), vec![]);
/// let data = seqdata::AlternatingSign::new(8)?.heldout(500, 1)?;
/// // A model that always answers "1" scores the fraction of 1 labels.
/// let m = evaluate(&model, &data)?;
/// assert_eq!(m.per_position_acc[0], 1.0);
/// assert_eq!(m, nncore::evaluate_parallel(&model, &data)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn evaluate(model: &dyn SequenceModel, data: &Dataset) -> Result<Metrics> {
    let parts: Vec<Array2<f64>> = data
        .inputs()
        .axis_chunks_iter(Axis(0), EVAL_CHUNK)
        .map(|chunk| model.predict_batch(chunk))
        .collect::<Result<_>>()?;
    Ok(metrics_of(&parts, data))
}

/// Like [`evaluate`], with the chunks spread over rayon's threads; the
/// result is the same, bit for bit.
pub fn evaluate_parallel(model: &dyn SequenceModel, data: &Dataset) -> Result<Metrics> {
    let inputs = data.inputs();
    let chunks: Vec<ArrayView2<'_, f64>> = inputs.axis_chunks_iter(Axis(0), EVAL_CHUNK).collect();
    let parts: Vec<Array2<f64>> = chunks
        .into_par_iter()
        .map(|chunk| model.predict_batch(chunk))
        .collect::<Result<_>>()?;
    Ok(metrics_of(&parts, data))
}

/// Scores the chunks' predictions, in order, against `data`'s labels.
fn metrics_of(parts: &[Array2<f64>], data: &Dataset) -> Metrics {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let pred = ndarray::concatenate(Axis(0), &views).expect("chunks of one data set");
    let s = score(pred.view(), data.labels());
    let loss: f64 = pred
        .rows()
        .into_iter()
        .zip(data.labels().rows())
        .map(|(p, y)| {
            squared_error(
                p.as_slice().expect("standard"),
                y.as_slice().expect("standard"),
            )
        })
        .sum::<f64>()
        / data.len() as f64;
    Metrics {
        heldout_acc: s.per_element,
        heldout_exact: s.exact,
        per_position_acc: s.per_position,
        heldout_loss: loss,
    }
}
