//! One training run: a model kind, a length and a seed, trained and evaluated.

use std::time::Instant;

use anyhow::Result;
use ndarray::{Array2, Axis};
use nncore::{SequenceModel, Trainer, loss::squared_error, score};
use rand::Rng;
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

use super::config::{StudyConfig, Variant};
use super::report::{CurvePoint, FinalMetrics, GradFlow, RunReport};
use crate::models::ModelKind;

/// What one run is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Model and how it is trained.
    pub variant: Variant,
    /// Sequence length.
    pub length: usize,
    /// Training seed.
    pub seed: u64,
}

impl Job {
    /// A rough cost, to start the longest runs first.
    pub fn cost(&self, hidden: usize) -> usize {
        match self.variant.model {
            ModelKind::Rnn | ModelKind::Irnn => self.length * hidden * hidden,
            ModelKind::Gru => 3 * self.length * hidden * hidden,
            ModelKind::Lstm => 4 * self.length * hidden * hidden,
            ModelKind::Dnn => 2 * self.length * hidden,
        }
    }
}

/// Rows per evaluation chunk.
const EVAL_CHUNK: usize = 256;

/// Held-out metrics of a model on a data set, evaluated in fixed chunks (the
/// chunk's batch products stay in cache). Sequential on purpose: a run is
/// one thread's work, so its `wall_s` and `eval_s` are its own time (nested
/// parallelism let a waiting thread pick up a whole other run and bill it to
/// this one).
pub fn evaluate(model: &dyn SequenceModel, data: &Dataset) -> Result<FinalMetrics> {
    let inputs = data.inputs();
    let parts: Vec<Array2<f64>> = inputs
        .axis_chunks_iter(Axis(0), EVAL_CHUNK)
        .map(|chunk| model.predict_batch(chunk))
        .collect::<nncore::Result<_>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let pred = ndarray::concatenate(Axis(0), &views)?;
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
    Ok(FinalMetrics {
        heldout_acc: s.per_element,
        heldout_exact: s.exact,
        per_position_acc: s.per_position,
        heldout_loss: loss,
    })
}

/// `‖∂E/∂h_t‖` for every `t`, averaged over the first `n` sequences of
/// `batch` (the model's gradients are overwritten; call it between training
/// steps). `None` for a model without a hidden state over time.
///
/// With `last_only`, `E` is the last step's error alone, `E_{L−1}`: then the
/// curve is how far the error signal from the end of the sequence reaches
/// back, and vanishing shows as geometric decay from `t = L−1` back to `t = 0`.
/// (It is computed with the model's own loss by giving every earlier step its
/// own output as label, which makes those steps' error terms exactly zero.)
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

/// The largest singular value of the model's recurrent matrix (`W` or
/// `W_hh`), if it has one.
pub fn recurrent_spectral_norm(model: &dyn SequenceModel) -> Option<f64> {
    let p = model.params();
    let i = p.index_of("W").or_else(|| p.index_of("W_hh"))?;
    let (rows, cols) = p.specs()[i].dim2();
    Some(nncore::linalg::spectral_norm(p.value(i), rows, cols, 100))
}

/// Trains and evaluates one run. `progress` is told how many iterations
/// were done, every evaluation point.
pub fn run(
    job: Job,
    config: &StudyConfig,
    heldout: &Dataset,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunReport> {
    train(job, config, heldout, progress).map(|(report, _)| report)
}

/// Like [`run`], also returning the trained model.
pub fn train(
    job: Job,
    config: &StudyConfig,
    heldout: &Dataset,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(RunReport, Box<dyn SequenceModel>)> {
    let task = AlternatingSign::new(job.length)?;
    let pool = task.generate(config.pool_size, &mut seeded_rng(job.seed, Stream::Pool))?;
    let mut order = seeded_rng(job.seed, Stream::Sampling);
    let variant = job.variant;
    let mut model = variant.model.build(
        job.length,
        config.hidden,
        &mut seeded_rng(job.seed, Stream::Init),
    )?;
    let mut trainer = Trainer::new(variant.build_optimizer()?).with_clip(variant.build_clip()?);

    let (mut train_s, mut eval_s) = (0.0, 0.0);
    let mut curve = Vec::with_capacity(config.iters / config.eval_every);
    let (mut flows, mut flows_last) = (Vec::new(), Vec::new());
    let mut record_flow = |model: &mut dyn SequenceModel, iter: usize| -> Result<()> {
        if let Some(norms) = grad_flow(model, heldout, config.grad_flow_batch, false)? {
            flows.push(GradFlow { iter, norms });
        }
        if let Some(norms) = grad_flow(model, heldout, config.grad_flow_batch, true)? {
            flows_last.push(GradFlow { iter, norms });
        }
        Ok(())
    };
    record_flow(model.as_mut(), 0)?;
    let middle = config.iters / 2;
    let mut clipped_updates = 0;
    let mut diverged_at = None;
    let mut done = 0;
    let mut last_reported = 0;
    let mut t0 = Instant::now();
    for iter in 1..=config.iters {
        let (x, y) = pool.sample(order.random_range(0..pool.len()));
        let stats = trainer.step(model.as_mut(), x, y)?;
        if !stats.loss.is_finite() || !stats.grad_norm.is_finite() {
            train_s += t0.elapsed().as_secs_f64();
            diverged_at = Some(iter);
            break;
        }
        done = iter;
        clipped_updates += usize::from(stats.clipped);
        let evaluate_now = iter % config.eval_every == 0;
        if evaluate_now || iter == middle {
            train_s += t0.elapsed().as_secs_f64();
            let te = Instant::now();
            if !model.params().all_finite() {
                diverged_at = Some(iter);
                break;
            }
            if iter == middle && middle > 0 {
                record_flow(model.as_mut(), iter)?;
            }
            if evaluate_now {
                let m = evaluate(model.as_ref(), heldout)?;
                curve.push(CurvePoint {
                    iter,
                    train_correct: stats.correct,
                    heldout_acc: m.heldout_acc,
                    heldout_exact: m.heldout_exact,
                    loss: m.heldout_loss,
                    train_loss: stats.loss,
                    grad_norm: stats.grad_norm,
                    spectral_norm: recurrent_spectral_norm(model.as_ref()),
                });
                progress((iter - last_reported) as u64);
                last_reported = iter;
            }
            eval_s += te.elapsed().as_secs_f64();
            t0 = Instant::now();
        }
    }
    if diverged_at.is_none() && done % config.eval_every != 0 {
        train_s += t0.elapsed().as_secs_f64();
    }
    progress((config.iters - last_reported) as u64);

    let te = Instant::now();
    let final_metrics = evaluate(model.as_ref(), heldout)?;
    if diverged_at.is_none() {
        record_flow(model.as_mut(), done)?;
    }
    eval_s += te.elapsed().as_secs_f64();
    let report = RunReport {
        variant: variant.label(),
        model: variant.model,
        optimizer: variant.optimizer,
        length: job.length,
        seed: job.seed,
        clip: variant.clip,
        iters: done,
        wall_s: train_s,
        eval_s,
        lr_io: variant.lr_io,
        lr_rec: variant.lr_rec,
        clipped_updates,
        iters_to_90: RunReport::first_reaching(&curve, 0.90),
        iters_to_95: RunReport::first_reaching(&curve, 0.95),
        curve,
        final_metrics,
        diverged: diverged_at.is_some(),
        diverged_at,
        grad_flow: (!flows.is_empty()).then_some(flows),
        grad_flow_last: (!flows_last.is_empty()).then_some(flows_last),
    };
    Ok((report, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_step_flow_decays_back_from_the_end_when_w_is_small() {
        // A contracting recurrence (‖W‖ well below 1): the last step's error
        // signal must shrink geometrically going back.
        let mut m =
            rnn::ElmanRnn::new(rnn::Elman::article(20), &mut seeded_rng(1, Stream::Init)).unwrap();
        let w = m.params().index_of("W").unwrap();
        m.params_mut()
            .value_mut(w)
            .iter_mut()
            .for_each(|v| *v *= 0.3);
        let data = AlternatingSign::new(16).unwrap().heldout(8, 1).unwrap();
        let last = grad_flow(&mut m, &data, 8, true).unwrap().unwrap();
        assert!(last.windows(2).all(|p| p[0] < p[1]), "{last:?}");
        assert!(last[0] < 1e-3 * last[15], "{last:?}");
        // The full loss has an error term at every step: no such decay.
        let all = grad_flow(&mut m, &data, 8, false).unwrap().unwrap();
        assert!(all[0] > 0.1 * all[15], "{all:?}");
        // The dnn has no hidden state over time.
        let mut d = ModelKind::Dnn
            .build(16, 10, &mut seeded_rng(1, Stream::Init))
            .unwrap();
        assert!(grad_flow(d.as_mut(), &data, 8, true).unwrap().is_none());
    }
}
