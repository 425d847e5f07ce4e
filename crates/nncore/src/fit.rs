//! [`fit`]: the one training loop. It samples the training pool, takes one
//! [`Trainer`] step per iteration, evaluates on a held-out set every
//! [`Schedule::eval_every`] iterations, records the diagnostics, stops at
//! the first NaN or infinity, counts clipped updates and times training and
//! evaluation apart.

use std::time::Instant;

use rand::Rng;
use seqdata::Dataset;
use serde::{Deserialize, Serialize};

use crate::diagnostics::{GradFlow, grad_flow, recurrent_spectral_norm};
use crate::evaluate::{Metrics, evaluate};
use crate::{Error, Optimizer, Result, SequenceModel, Trainer};

/// How long to train and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Training iterations, one sequence each (default 20,000, the article's).
    pub iters: usize,
    /// Held-out evaluation every this many iterations (default 500).
    pub eval_every: usize,
    /// Held-out sequences over which the gradient flow is averaged before
    /// training, at the middle and at the end (default 32; at most the
    /// held-out set's size is used; 0 records none).
    #[serde(default = "Schedule::default_grad_flow_batch")]
    pub grad_flow_batch: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            iters: 20_000,
            eval_every: 500,
            grad_flow_batch: Self::default_grad_flow_batch(),
        }
    }
}

impl Schedule {
    /// The most iterations accepted.
    pub const MAX_ITERS: usize = 100_000_000;

    fn default_grad_flow_batch() -> usize {
        32
    }

    /// Checks the schedule: `1 ..= MAX_ITERS` iterations, and an evaluation
    /// interval of `1 ..= iters`.
    pub fn check(&self) -> Result<()> {
        if self.iters == 0 || self.iters > Self::MAX_ITERS {
            return Err(Error::invalid(
                "iters",
                self.iters,
                format!("use 1 ..= {}", Self::MAX_ITERS),
            ));
        }
        if self.eval_every == 0 || self.eval_every > self.iters {
            return Err(Error::invalid(
                "eval_every",
                self.eval_every,
                format!("use 1 ..= iters ({})", self.iters),
            ));
        }
        Ok(())
    }
}

/// One evaluation point of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Iterations done (0: before training).
    pub iter: usize,
    /// Outputs right on this iteration's training sequence, before its update
    /// (the article's only metric: one sample, noisy); null at iteration 0.
    pub train_correct: Option<usize>,
    /// Held-out per-element accuracy.
    #[serde(deserialize_with = "crate::nullable::f64")]
    pub heldout_acc: f64,
    /// Held-out fraction of sequences with every output right.
    #[serde(deserialize_with = "crate::nullable::f64")]
    pub heldout_exact: f64,
    /// Held-out mean loss per sequence, `Σ_t ½ (y_t − label_t)²`.
    #[serde(deserialize_with = "crate::nullable::f64")]
    pub loss: f64,
    /// The loss of this iteration's one training sequence, before its
    /// update (a single sample, not a mean); null at iteration 0.
    pub train_loss: Option<f64>,
    /// The global norm of this iteration's one gradient, before clipping;
    /// null at iteration 0.
    pub grad_norm: Option<f64>,
    /// Largest singular value of the recurrent matrix, or null for a model
    /// without one.
    pub spectral_norm: Option<f64>,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// One point every `eval_every` iterations.
    pub curve: Vec<CurvePoint>,
    /// Held-out metrics at the end.
    pub final_metrics: Metrics,
    /// Iterations done (fewer than asked if the run diverged).
    pub iters: usize,
    /// The iteration at which a NaN or infinity appeared, if one did (the
    /// run stopped there).
    pub diverged_at: Option<usize>,
    /// Updates whose gradient was clipped.
    pub clipped_updates: usize,
    /// Training time in seconds (evaluation excluded).
    pub train_s: f64,
    /// Held-out evaluation and diagnostics time in seconds.
    pub eval_s: f64,
    /// Gradient flow of the whole loss before training, at the middle and
    /// at the end (empty for a model without a hidden state over time).
    pub grad_flow: Vec<GradFlow>,
    /// The same for the last step's error alone.
    pub grad_flow_last: Vec<GradFlow>,
}

impl Outcome {
    /// The first evaluated iteration at which held-out accuracy reached `level`.
    pub fn first_reaching(curve: &[CurvePoint], level: f64) -> Option<usize> {
        curve
            .iter()
            .find(|p| p.heldout_acc >= level)
            .map(|p| p.iter)
    }
}

/// Told about a run as it goes (progress bars, live plots). Every method has
/// a default that does nothing; `()` is the observer that watches nothing.
pub trait Observer {
    /// After each evaluation.
    fn evaluated(&mut self, _point: &CurvePoint) {}
    /// Iterations done so far: after each evaluation, and once at the end
    /// with the schedule's full count (also when the run diverged; not
    /// when [`Self::should_stop`] stopped it).
    fn progress(&mut self, _iters_done: usize) {}
    /// Asked before every iteration: `true` stops the run at once with
    /// [`Error::Interrupted`] (a signal, a deadline). The default never stops.
    fn should_stop(&mut self) -> bool {
        false
    }
}

impl Observer for () {}

/// Trains `model` for `schedule.iters` iterations, each on the pool sequence
/// drawn by `order` (uniformly, with replacement), evaluating on `heldout`
/// before training (the curve's iteration 0), every `schedule.eval_every`
/// iterations and at the end.
///
/// Before training, at the middle iteration and at the end it records the
/// gradient flow over the first `schedule.grad_flow_batch` held-out
/// sequences. At each evaluation it records the recurrent matrix's spectral
/// norm. A non-finite loss, gradient norm or parameter stops the run; the
/// outcome says where.
///
/// ```
/// use nncore::{Schedule, Sgd, Trainer, fit};
/// use seqdata::{AlternatingSign, Stream, seeded_rng};
/// # use nncore::{ParamSet, ParamGroup, Result, SequenceModel};
/// # use ndarray::{Array2, ArrayView2};
/// # struct Const(ParamSet, Vec<f64>);
/// # impl SequenceModel for Const {
/// #     fn kind(&self) -> &'static str { "const" }
/// #     fn params(&self) -> &ParamSet { &self.0 }
/// #     fn params_mut(&mut self) -> &mut ParamSet { &mut self.0 }
/// #     fn forward(&mut self, x: &[f64]) -> Result<&[f64]> { let b = self.0.values()[0]; self.1 = vec![1.0 / (1.0 + (-b).exp()); x.len()]; Ok(&self.1) }
/// #     fn loss_and_grad(&mut self, x: &[f64], y: &[f64]) -> Result<f64> {
/// #         self.forward(x)?; let mut g = 0.0; let mut e = 0.0;
/// #         for (p, l) in self.1.iter().zip(y) { e += 0.5 * (p - l) * (p - l); g += (p - l) * p * (1.0 - p); }
/// #         self.0.grads_mut()[0] = g; Ok(e) }
/// #     fn outputs(&self) -> &[f64] { &self.1 }
/// #     fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>> { let b = self.0.values()[0]; Ok(Array2::from_elem(xs.dim(), 1.0 / (1.0 + (-b).exp()))) }
/// #     fn hidden(&self) -> usize { 0 }
/// # }
/// # let mut model = Const(ParamSet::new([("b", vec![1], ParamGroup::InputOutput)]), vec![]);
/// let task = AlternatingSign::new(8)?;
/// let pool = task.training_pool(0)?;
/// let heldout = task.heldout(200, 1)?;
/// let mut trainer = Trainer::new(Sgd::new(0.1, 0.1)?);
/// let schedule = Schedule { iters: 300, eval_every: 100, ..Schedule::default() };
/// let out = fit(&mut model, &mut trainer, &pool, &mut seeded_rng(0, Stream::Sampling),
///               &heldout, &schedule, &mut ())?;
/// assert_eq!(out.curve.len(), 1 + 3);
/// assert_eq!(out.iters, 300);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn fit<O: Optimizer>(
    model: &mut dyn SequenceModel,
    trainer: &mut Trainer<O>,
    pool: &Dataset,
    order: &mut impl Rng,
    heldout: &Dataset,
    schedule: &Schedule,
    observer: &mut impl Observer,
) -> Result<Outcome> {
    schedule.check()?;
    let flow_n = schedule.grad_flow_batch.min(heldout.len());
    let (mut flows, mut flows_last) = (Vec::new(), Vec::new());
    let mut record_flow = |model: &mut dyn SequenceModel, iter: usize| -> Result<()> {
        if flow_n == 0 {
            return Ok(());
        }
        if let Some(norms) = grad_flow(model, heldout, flow_n, false)? {
            flows.push(GradFlow { iter, norms });
        }
        if let Some(norms) = grad_flow(model, heldout, flow_n, true)? {
            flows_last.push(GradFlow { iter, norms });
        }
        Ok(())
    };
    record_flow(model, 0)?;

    let (mut train_s, mut eval_s) = (0.0, 0.0);
    let mut curve = Vec::new();
    // Where training starts from: iteration 0 is on the curve.
    let te = Instant::now();
    let m = evaluate(model, heldout)?;
    let start = CurvePoint {
        iter: 0,
        train_correct: None,
        heldout_acc: m.heldout_acc,
        heldout_exact: m.heldout_exact,
        loss: m.heldout_loss,
        train_loss: None,
        grad_norm: None,
        spectral_norm: recurrent_spectral_norm(model),
    };
    observer.evaluated(&start);
    curve.push(start);
    eval_s += te.elapsed().as_secs_f64();
    let middle = schedule.iters / 2;
    let mut clipped_updates = 0;
    let mut diverged_at = None;
    let mut done = 0;
    let mut t0 = Instant::now();
    for iter in 1..=schedule.iters {
        if observer.should_stop() {
            return Err(Error::Interrupted { iters_done: done });
        }
        let (x, y) = pool.sample(order.random_range(0..pool.len()));
        let stats = trainer.step(model, x, y)?;
        if !stats.loss.is_finite() || !stats.grad_norm.is_finite() {
            train_s += t0.elapsed().as_secs_f64();
            diverged_at = Some(iter);
            break;
        }
        done = iter;
        clipped_updates += usize::from(stats.clipped);
        let evaluate_now = iter % schedule.eval_every == 0;
        if evaluate_now || iter == middle {
            train_s += t0.elapsed().as_secs_f64();
            let te = Instant::now();
            if !model.params().all_finite() {
                diverged_at = Some(iter);
                break;
            }
            if iter == middle && middle > 0 {
                record_flow(model, iter)?;
            }
            if evaluate_now {
                let m = evaluate(model, heldout)?;
                let point = CurvePoint {
                    iter,
                    train_correct: Some(stats.correct),
                    heldout_acc: m.heldout_acc,
                    heldout_exact: m.heldout_exact,
                    loss: m.heldout_loss,
                    train_loss: Some(stats.loss),
                    grad_norm: Some(stats.grad_norm),
                    spectral_norm: recurrent_spectral_norm(model),
                };
                observer.evaluated(&point);
                observer.progress(iter);
                curve.push(point);
            }
            eval_s += te.elapsed().as_secs_f64();
            t0 = Instant::now();
        }
    }
    if diverged_at.is_none() && done % schedule.eval_every != 0 {
        train_s += t0.elapsed().as_secs_f64();
    }
    observer.progress(schedule.iters);

    let te = Instant::now();
    let final_metrics = evaluate(model, heldout)?;
    if diverged_at.is_none() {
        record_flow(model, done)?;
    }
    eval_s += te.elapsed().as_secs_f64();
    Ok(Outcome {
        curve,
        final_metrics,
        iters: done,
        diverged_at,
        clipped_updates,
        train_s,
        eval_s,
        grad_flow: flows,
        grad_flow_last: flows_last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParamGroup, ParamSet, Sgd};
    use ndarray::{Array2, ArrayView2};
    use seqdata::{AlternatingSign, Stream, seeded_rng};

    /// One bias for every output; its loss turns NaN from step `nan_at` on.
    struct Bias {
        params: ParamSet,
        y: Vec<f64>,
        steps: usize,
        nan_at: usize,
    }

    impl SequenceModel for Bias {
        fn kind(&self) -> &'static str {
            "bias"
        }
        fn params(&self) -> &ParamSet {
            &self.params
        }
        fn params_mut(&mut self) -> &mut ParamSet {
            &mut self.params
        }
        fn forward(&mut self, x: &[f64]) -> Result<&[f64]> {
            let p = 1.0 / (1.0 + (-self.params.values()[0]).exp());
            self.y = vec![p; x.len()];
            Ok(&self.y)
        }
        fn loss_and_grad(&mut self, x: &[f64], labels: &[f64]) -> Result<f64> {
            self.steps += 1;
            self.forward(x)?;
            let (mut e, mut g) = (0.0, 0.0);
            for (p, l) in self.y.iter().zip(labels) {
                e += 0.5 * (p - l) * (p - l);
                g += (p - l) * p * (1.0 - p);
            }
            self.params.grads_mut()[0] = g;
            Ok(if self.steps >= self.nan_at {
                f64::NAN
            } else {
                e
            })
        }
        fn outputs(&self) -> &[f64] {
            &self.y
        }
        fn predict_batch(&self, xs: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
            let p = 1.0 / (1.0 + (-self.params.values()[0]).exp());
            Ok(Array2::from_elem(xs.dim(), p))
        }
        fn hidden(&self) -> usize {
            0
        }
    }

    fn bias(nan_at: usize) -> Bias {
        Bias {
            params: ParamSet::new([("b", vec![1], ParamGroup::InputOutput)]),
            y: Vec::new(),
            steps: 0,
            nan_at,
        }
    }

    fn run(model: &mut Bias, schedule: Schedule) -> Result<Outcome> {
        let task = AlternatingSign::new(4).unwrap();
        let pool = task.generate(50, &mut seeded_rng(0, Stream::Pool)).unwrap();
        let heldout = task.heldout(20, 1).unwrap();
        let mut trainer = Trainer::new(Sgd::new(0.1, 0.1).unwrap());
        let mut order = seeded_rng(0, Stream::Sampling);
        fit(
            model,
            &mut trainer,
            &pool,
            &mut order,
            &heldout,
            &schedule,
            &mut (),
        )
    }

    /// The schedule's size reserves nothing up front: a run that may take
    /// 100 million iterations and stops at the first is cheap (the old loop
    /// reserved one curve point per evaluation, gigabytes here).
    #[test]
    fn a_divergence_stops_the_run_and_nothing_is_reserved_for_the_schedule() {
        let schedule = Schedule {
            iters: Schedule::MAX_ITERS,
            eval_every: 1,
            grad_flow_batch: 0,
        };
        let out = run(&mut bias(3), schedule).unwrap();
        assert_eq!(out.diverged_at, Some(3));
        assert_eq!(out.iters, 2);
        assert_eq!(out.curve.len(), 1 + 2);
        assert!(out.curve.capacity() < 1000, "{}", out.curve.capacity());
    }

    #[test]
    fn evaluates_on_schedule_and_checks_it() {
        let s = Schedule {
            iters: 30,
            eval_every: 10,
            grad_flow_batch: 5,
        };
        let out = run(&mut bias(usize::MAX), s).unwrap();
        assert_eq!(
            out.curve.iter().map(|p| p.iter).collect::<Vec<_>>(),
            [0, 10, 20, 30]
        );
        // Iteration 0 has no training step.
        assert_eq!(out.curve[0].train_loss, None);
        assert!(out.curve[1].train_loss.is_some());
        assert_eq!(
            (out.iters, out.diverged_at, out.clipped_updates),
            (30, None, 0)
        );
        // No hidden state over time: no gradient flow, no spectral norm.
        assert!(out.grad_flow.is_empty() && out.curve[0].spectral_norm.is_none());
        let bad = Schedule {
            eval_every: 31,
            ..s
        };
        let e = run(&mut bias(usize::MAX), bad).unwrap_err().to_string();
        assert!(e.contains("eval_every = 31"), "{e}");
    }
}
