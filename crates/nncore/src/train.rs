//! The one training step that serves every [`SequenceModel`].

use crate::{ClipNorm, Optimizer, Result, SequenceModel, loss::count_correct};

/// One model-independent training step: loss and gradient on one sequence,
/// optional clipping by global norm, one optimiser update.
pub struct Trainer<O: Optimizer> {
    /// The optimiser.
    pub optimizer: O,
    /// Clipping by global norm, if any.
    pub clip: Option<ClipNorm>,
}

/// What one training step saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The loss on the sequence, before the update.
    pub loss: f64,
    /// The gradient's global norm, before clipping.
    pub grad_norm: f64,
    /// Whether the gradient was clipped.
    pub clipped: bool,
    /// How many of the sequence's outputs were right before the update (the
    /// article's `accuracy` print).
    pub correct: usize,
}

impl<O: Optimizer> Trainer<O> {
    /// A trainer with the given optimiser and no clipping.
    pub fn new(optimizer: O) -> Self {
        Self {
            optimizer,
            clip: None,
        }
    }

    /// The same trainer with clipping at `clip`.
    ///
    /// (A trainer from an [`OptimizerSpec`](crate::OptimizerSpec):
    /// `Trainer::new(spec.build()?).with_clip(clip)`.)
    pub fn with_clip(mut self, clip: Option<ClipNorm>) -> Self {
        self.clip = clip;
        self
    }

    /// One step on `(x, labels)`. Allocation-free when the model's is.
    pub fn step<M: SequenceModel + ?Sized>(
        &mut self,
        model: &mut M,
        x: &[f64],
        labels: &[f64],
    ) -> Result<StepStats> {
        let loss = model.loss_and_grad(x, labels)?;
        let correct = count_correct(model.outputs(), labels);
        let (grad_norm, clipped) = match &self.clip {
            Some(c) => {
                let out = c.apply_params(model.params_mut());
                self.optimizer.step(model.params_mut());
                (out.norm, out.clipped)
            }
            None => (self.optimizer.norm_and_step(model.params_mut()), false),
        };
        model.constrain();
        Ok(StepStats {
            loss,
            grad_norm,
            clipped,
            correct,
        })
    }
}
