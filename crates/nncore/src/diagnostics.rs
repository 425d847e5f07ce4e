//! Why a model learns or does not: the gradient flow `‖∂E/∂h_t‖` over time
//! and the recurrent matrix's spectral norm, through [`SequenceModel`]'s
//! trait methods (never through parameter names).

use seqdata::Dataset;
use serde::{Deserialize, Serialize};

use crate::{Result, SequenceModel, linalg};

/// `‖∂E/∂h_t‖` for every time step `t`, averaged over a fixed batch of
/// sequences, at one point of training. Vanishing gradients show as decay
/// from the last step back, exploding ones as growth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradFlow {
    /// Iterations done when it was measured (0: before training).
    pub iter: usize,
    /// One norm per time step.
    #[serde(deserialize_with = "crate::nullable::vec_f64")]
    pub norms: Vec<f64>,
}

/// `‖∂E/∂h_t‖` for every `t`, averaged over the first `n` sequences of
/// `batch` (the model's gradients are overwritten: call it between training
/// steps). `None` for a model without a hidden state over time.
///
/// With `last_only`, `E` is the last step's error alone, `E_{L−1}`: then the
/// curve is how far the error signal from the end of the sequence reaches
/// back, and vanishing shows as geometric decay from `t = L−1` back to
/// `t = 0`. (It is computed with the model's own loss by giving every
/// earlier step its own output as label, which makes those steps' error
/// terms exactly zero.)
pub fn grad_flow(
    model: &mut dyn SequenceModel,
    batch: &Dataset,
    n: usize,
    last_only: bool,
) -> Result<Option<Vec<f64>>> {
    let mut sum: Option<Vec<f64>> = None;
    let n = n.min(batch.len());
    let mut target = Vec::new();
    for i in 0..n {
        let (x, y) = batch.sample(i);
        let y = if last_only {
            target.clear();
            target.extend_from_slice(model.forward(x)?);
            let last = y.len() - 1;
            target[last] = y[last];
            &target[..]
        } else {
            y
        };
        model.loss_and_grad(x, y)?;
        let Some(norms) = model.hidden_grad_norms() else {
            return Ok(None);
        };
        let acc = sum.get_or_insert_with(|| vec![0.0; norms.len()]);
        for (a, v) in acc.iter_mut().zip(norms) {
            *a += v;
        }
    }
    Ok(sum.map(|v| v.into_iter().map(|x| x / n as f64).collect()))
}

/// The largest singular value of the model's recurrent matrix
/// ([`SequenceModel::recurrent_weights`]), if it has one (100 steps of power
/// iteration).
pub fn recurrent_spectral_norm(model: &dyn SequenceModel) -> Option<f64> {
    let w = model.recurrent_weights()?;
    let (rows, cols) = w.dim();
    let flat = w.as_slice().expect("a standard-layout copy");
    Some(linalg::spectral_norm(flat, rows, cols, 100))
}
