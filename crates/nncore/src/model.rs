//! The one trait every model implements, so one training loop serves them all.

use ndarray::{Array2, ArrayView2};

use crate::{Error, ParamSet, Precision, Result, loss::squared_error};

/// A model that maps a sequence `x` of `L` numbers to `L` probabilities
/// (one sigmoid output per position), trained on the squared error
/// `E = Σ_t ½ (y_t − label_t)²`.
///
/// Implementations keep their scratch buffers between calls, so that a
/// steady-state [`loss_and_grad`](Self::loss_and_grad) does not allocate.
pub trait SequenceModel: Send + Sync {
    /// A short name of the model kind (`"rnn"`, `"dnn"`, …).
    fn kind(&self) -> &'static str;

    /// The parameters and their gradients.
    fn params(&self) -> &ParamSet;

    /// The parameters and their gradients, mutable (optimisers, loading).
    fn params_mut(&mut self) -> &mut ParamSet;

    /// The one sequence length the model takes, if it takes only one (the
    /// MLP); `None` for a recurrent model that takes any length.
    fn fixed_length(&self) -> Option<usize> {
        None
    }

    /// Runs the model on one sequence and returns its `L` output probabilities.
    fn forward(&mut self, x: &[f64]) -> Result<&[f64]>;

    /// Forward and backward on one sequence: returns the loss and
    /// *overwrites* the gradients in [`params_mut`](Self::params_mut) with
    /// `∂E/∂θ`. The outputs stay readable through [`outputs`](Self::outputs).
    fn loss_and_grad(&mut self, x: &[f64], labels: &[f64]) -> Result<f64>;

    /// The outputs of the last [`forward`](Self::forward) or
    /// [`loss_and_grad`](Self::loss_and_grad).
    fn outputs(&self) -> &[f64];

    /// The loss on one sequence, without touching the gradients.
    fn loss(&mut self, x: &[f64], labels: &[f64]) -> Result<f64> {
        check_sequence(x, Some(labels), self.fixed_length())?;
        let y = self.forward(x)?;
        Ok(squared_error(y, labels))
    }

    /// Output probabilities for a batch of sequences `(n, L)`, as `(n, L)`.
    /// Implementations use matrix-matrix products over the batch.
    fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>>;

    /// `‖∂E/∂h_t‖` for every time step `t` of the last
    /// [`loss_and_grad`](Self::loss_and_grad), for models with a hidden state
    /// (gradient-flow diagnostics).
    fn hidden_grad_norms(&self) -> Option<&[f64]> {
        None
    }

    /// The number of hidden units `H` (the width of the hidden state of a
    /// recurrent model, the hidden layer of an MLP).
    fn hidden(&self) -> usize;

    /// The recurrent matrix (`h_{t-1}` to the pre-activations, `H × G·H`),
    /// for models that have one, as `f64` (a copy): the spectral-norm
    /// diagnostic reads it.
    fn recurrent_weights(&self) -> Option<Array2<f64>> {
        None
    }

    /// Puts the parameters back in the model's feasible set after an
    /// optimiser step (IndRNN's bound on its recurrent weights); nothing by
    /// default. [`Trainer::step`](crate::Trainer::step) calls it.
    fn constrain(&mut self) {}

    /// The precision the model computes in (its parameters'): inputs,
    /// outputs and losses cross this trait as `f64` either way.
    fn precision(&self) -> Precision {
        self.params().precision()
    }
}

/// Validates one sequence (and its labels) before a model computes on it:
/// not empty, finite inputs, labels of the same length, and the model's fixed
/// length if it has one.
pub fn check_sequence(x: &[f64], labels: Option<&[f64]>, fixed: Option<usize>) -> Result<()> {
    if x.is_empty() {
        return Err(Error::EmptySequence);
    }
    if let Some(expected) = fixed
        && x.len() != expected
    {
        return Err(Error::LengthMismatch {
            expected,
            found: x.len(),
        });
    }
    if let Some(labels) = labels
        && labels.len() != x.len()
    {
        return Err(Error::LabelLength {
            inputs: x.len(),
            labels: labels.len(),
        });
    }
    if let Some((index, &value)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteInput { index, value });
    }
    Ok(())
}

/// Validates a batch `(n, L)` like [`check_sequence`] does one sequence.
pub fn check_batch(xs: ArrayView2<'_, f64>, fixed: Option<usize>) -> Result<()> {
    if xs.ncols() == 0 {
        return Err(Error::EmptySequence);
    }
    if let Some(expected) = fixed
        && xs.ncols() != expected
    {
        return Err(Error::LengthMismatch {
            expected,
            found: xs.ncols(),
        });
    }
    if let Some(((_, index), &value)) = xs.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteInput { index, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_checked() {
        assert_eq!(check_sequence(&[], None, None), Err(Error::EmptySequence));
        assert!(matches!(
            check_sequence(&[0.1, 0.2], None, Some(3)),
            Err(Error::LengthMismatch {
                expected: 3,
                found: 2
            })
        ));
        assert!(matches!(
            check_sequence(&[0.1, 0.2], Some(&[1.0]), None),
            Err(Error::LabelLength { .. })
        ));
        let e = check_sequence(&[0.1, f64::NAN], None, None).unwrap_err();
        assert!(e.to_string().contains("x[1] = NaN"), "{e}");
        assert!(check_sequence(&[0.1, 0.2], Some(&[1.0, 0.0]), Some(2)).is_ok());
    }
}
