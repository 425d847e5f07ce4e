//! One training run: a model kind, a length and a seed, trained and evaluated.

use std::time::Instant;

use anyhow::Result;
use ndarray::{Array2, Axis};
use nncore::{ClipNorm, SequenceModel, Trainer, loss::squared_error, score};
use rand::Rng;
use rayon::prelude::*;
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

use super::config::StudyConfig;
use super::report::{CurvePoint, FinalMetrics, RunReport};
use crate::models::ModelKind;

/// What one run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Model kind.
    pub model: ModelKind,
    /// Sequence length.
    pub length: usize,
    /// Training seed.
    pub seed: u64,
}

impl Job {
    /// A rough cost, to start the longest runs first.
    pub fn cost(&self, hidden: usize) -> usize {
        match self.model {
            ModelKind::Rnn | ModelKind::Irnn => self.length * hidden * hidden,
            ModelKind::Gru => 3 * self.length * hidden * hidden,
            ModelKind::Lstm => 4 * self.length * hidden * hidden,
            ModelKind::Dnn => 2 * self.length * hidden,
        }
    }
}

/// Rows per evaluation chunk. Chunks are fixed (not per thread), so the
/// numbers do not depend on how many threads evaluate them.
const EVAL_CHUNK: usize = 256;

/// Held-out metrics of a model on a data set. The set is evaluated in fixed
/// chunks, in parallel when a core is free (e.g. at the end of a study, when
/// the last long run is alone).
pub fn evaluate(model: &dyn SequenceModel, data: &Dataset) -> Result<FinalMetrics> {
    let inputs = data.inputs();
    let parts: Vec<Array2<f64>> = inputs
        .axis_chunks_iter(Axis(0), EVAL_CHUNK)
        .collect::<Vec<_>>()
        .into_par_iter()
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

/// Trains and evaluates one run. `progress` is told how many iterations
/// were done, every evaluation point.
pub fn run(
    job: Job,
    config: &StudyConfig,
    heldout: &Dataset,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunReport> {
    let task = AlternatingSign::new(job.length)?;
    let pool = task.generate(config.pool_size, &mut seeded_rng(job.seed, Stream::Pool))?;
    let mut order = seeded_rng(job.seed, Stream::Sampling);
    let mut model = job.model.build(
        job.length,
        config.hidden,
        &mut seeded_rng(job.seed, Stream::Init),
    )?;
    let sgd = config.rates(job.model);
    let clip = config.clip.map(ClipNorm::new).transpose()?;
    let mut trainer = Trainer::new(sgd).with_clip(clip);

    let (mut train_s, mut eval_s) = (0.0, 0.0);
    let mut curve = Vec::with_capacity(config.iters / config.eval_every);
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
        if iter % config.eval_every == 0 {
            train_s += t0.elapsed().as_secs_f64();
            let te = Instant::now();
            if !model.params().all_finite() {
                diverged_at = Some(iter);
                break;
            }
            let m = evaluate(model.as_ref(), heldout)?;
            curve.push(CurvePoint {
                iter,
                train_correct: stats.correct,
                heldout_acc: m.heldout_acc,
                heldout_exact: m.heldout_exact,
                loss: m.heldout_loss,
                train_loss: stats.loss,
                grad_norm: stats.grad_norm,
            });
            eval_s += te.elapsed().as_secs_f64();
            progress((iter - last_reported) as u64);
            last_reported = iter;
            t0 = Instant::now();
        }
    }
    if diverged_at.is_none() && done % config.eval_every != 0 {
        train_s += t0.elapsed().as_secs_f64();
    }
    progress((config.iters - last_reported) as u64);

    let te = Instant::now();
    let final_metrics = evaluate(model.as_ref(), heldout)?;
    eval_s += te.elapsed().as_secs_f64();
    Ok(RunReport {
        model: job.model,
        length: job.length,
        seed: job.seed,
        clip: config.clip,
        iters: done,
        wall_s: train_s,
        eval_s,
        lr_io: sgd.lr_io,
        lr_rec: sgd.lr_rec,
        clipped_updates,
        iters_to_90: RunReport::first_reaching(&curve, 0.90),
        iters_to_95: RunReport::first_reaching(&curve, 0.95),
        curve,
        final_metrics,
        diverged: diverged_at.is_some(),
        diverged_at,
    })
}
