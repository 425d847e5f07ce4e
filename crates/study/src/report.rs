//! The report types written to `study.json` and `runs/*.json`, and the
//! summary statistics over seeds.

use nncore::{CurvePoint, GradFlow, Metrics};
use serde::{Deserialize, Serialize};

use crate::config::{Study, Variant};
use crate::plan::Job;
use crate::{Error, Result};

/// The schema tag of `study.json` and of every run file (version 3: each
/// run records its inputs and fingerprint; version 2: the study is the
/// resolved study file, and each run names its hidden size).
pub const SCHEMA: &str = "rnnstudy.study/3";

/// One training run: a model, a length, a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The variant's label: the model and what differs from the article's
    /// settings (e.g. `rnn clip 1`).
    pub variant: String,
    /// The variant: model, hidden, optimizer, lr_io, lr_rec, clip.
    #[serde(flatten)]
    pub settings: Variant,
    /// Sequence length.
    pub length: usize,
    /// Training seed.
    pub seed: u64,
    /// The build that trained it: the architecture and vector features
    /// ([`build_id`](crate::build_id)).
    pub build: String,
    /// What the study asked of it beyond its variant, length and seed.
    pub inputs: RunInputs,
    /// A hash of everything that determines the run's numbers
    /// ([`Job::fingerprint`]): resume and merge keep a run file only if it
    /// matches the plan's.
    pub fingerprint: String,
    /// The build of the process that trained it (version, git commit and
    /// dirty flag, rustc, target features), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<provenance::Build>,
    /// The shard that trained it, in its run file (a merged `study.json`
    /// drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::Shard>,
    /// Iterations done (fewer than asked if the run diverged).
    pub iters: usize,
    /// Training time in seconds (evaluation excluded).
    pub wall_s: f64,
    /// Held-out evaluation time in seconds.
    pub eval_s: f64,
    /// Updates whose gradient was clipped.
    pub clipped_updates: usize,
    /// One point every `eval_every` iterations.
    pub curve: Vec<CurvePoint>,
    /// Held-out metrics at the end.
    #[serde(rename = "final")]
    pub final_metrics: Metrics,
    /// First evaluated iteration with held-out accuracy >= 0.90.
    pub iters_to_90: Option<usize>,
    /// First evaluated iteration with held-out accuracy >= 0.95.
    pub iters_to_95: Option<usize>,
    /// Whether a NaN or infinity appeared (the run stopped there).
    pub diverged: bool,
    /// The iteration at which it appeared.
    pub diverged_at: Option<usize>,
    /// Gradient flow `‖∂E/∂h_t‖` of the whole loss at the start, middle and
    /// end of training (null for the dnn). Every step has its own error term,
    /// so this stays roughly flat even when gradients vanish.
    pub grad_flow: Option<Vec<GradFlow>>,
    /// The same for the last step's error alone, `‖∂E_{L−1}/∂h_t‖`: how far
    /// the error signal from the end of the sequence reaches back. Vanishing
    /// shows as geometric decay from `t = L−1` back, exploding as growth.
    pub grad_flow_last: Option<Vec<GradFlow>>,
}

/// What a study asks of each run beyond its variant, length and seed: the
/// schedule, the held-out set, the pool, and the version of the arithmetic
/// ([`ARITHMETIC_VERSION`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInputs {
    /// Iterations asked for.
    pub iters: usize,
    /// Evaluation interval.
    pub eval_every: usize,
    /// Held-out sequences the gradient flow averages over.
    pub grad_flow_batch: usize,
    /// Held-out sequences.
    pub heldout: usize,
    /// Seed of the held-out set.
    pub heldout_seed: u64,
    /// Training-pool size.
    pub pool_size: usize,
    /// [`arithmetic_version`] of the code that trained it, for its
    /// precision.
    pub arithmetic: u32,
}

/// The version of the training arithmetic: raised by every change that
/// alters any run's numbers (the golden check fails on such a change), so
/// that a resume or a merge never mixes runs of two versions.
pub const ARITHMETIC_VERSION: u32 = 1;

/// The version of the `f32` training arithmetic, raised apart from
/// [`ARITHMETIC_VERSION`] when only `f32` runs change: 2 since `f32` models
/// flush subnormals to zero ([`nncore::subnormal`]).
pub const ARITHMETIC_VERSION_F32: u32 = 2;

/// The arithmetic version of runs in `precision`.
pub fn arithmetic_version(precision: nncore::Precision) -> u32 {
    match precision {
        nncore::Precision::F64 => ARITHMETIC_VERSION,
        nncore::Precision::F32 => ARITHMETIC_VERSION_F32,
    }
}

impl RunReport {
    /// Why this run file cannot stand for `job` of `study` trained by
    /// `build`: every field of its configuration that differs from the
    /// plan's, named, or a fingerprint that does not match its fields, or
    /// results that do not fit its configuration. Empty when the run is
    /// the job's.
    pub fn problems(&self, job: &Job, study: &Study, build: &str) -> Vec<String> {
        let mut diff = Vec::new();
        let want = serde_json::to_value(job.variant).expect("a variant serialises");
        let got = serde_json::to_value(self.settings).expect("a variant serialises");
        if let (Some(w), Some(g)) = (want.as_object(), got.as_object()) {
            for (k, v) in w {
                if g.get(k) != Some(v) {
                    diff.push(format!(
                        "{k}: the study says {v}, the run {}",
                        g.get(k).map_or("nothing".into(), |x| x.to_string())
                    ));
                }
            }
        }
        let mut differs = |what: &str, study: String, run: String| {
            if study != run {
                diff.push(format!("{what}: the study says {study}, the run {run}"));
            }
        };
        differs("length", job.length.to_string(), self.length.to_string());
        differs("seed", job.seed.to_string(), self.seed.to_string());
        let plan = job.inputs(study);
        let i = &self.inputs;
        differs("iters", plan.iters.to_string(), i.iters.to_string());
        differs(
            "eval_every",
            plan.eval_every.to_string(),
            i.eval_every.to_string(),
        );
        differs(
            "grad_flow_batch",
            plan.grad_flow_batch.to_string(),
            i.grad_flow_batch.to_string(),
        );
        differs("heldout", plan.heldout.to_string(), i.heldout.to_string());
        differs(
            "heldout_seed",
            plan.heldout_seed.to_string(),
            i.heldout_seed.to_string(),
        );
        differs(
            "pool_size",
            plan.pool_size.to_string(),
            i.pool_size.to_string(),
        );
        if plan.arithmetic != i.arithmetic {
            diff.push(format!(
                "arithmetic: trained by version {} of the arithmetic, this is version {}",
                i.arithmetic, plan.arithmetic
            ));
        }
        if self.build != build {
            diff.push(format!(
                "build: trained by a build for {}, this one is for {build}",
                self.build
            ));
        }
        if diff.is_empty() && self.fingerprint != job.fingerprint(study, build) {
            diff.push("its fingerprint does not match its configuration (an edited file?)".into());
        }
        let every = i.eval_every.max(1);
        let done_ok = if self.diverged {
            self.iters <= i.iters
        } else {
            self.iters == i.iters
        };
        if diff.is_empty()
            && (!done_ok
                || self.final_metrics.per_position_acc.len() != self.length
                || self.curve.len() > 1 + i.iters / every
                || self
                    .curve
                    .iter()
                    .enumerate()
                    .any(|(k, p)| p.iter != k * every))
        {
            diff.push("its results do not fit its configuration (a damaged file?)".into());
        }
        diff
    }

    /// Reads a run file (`runs/*.json`), at most
    /// [`MAX_FILE_BYTES`](seqdata::io::MAX_FILE_BYTES). The error names the
    /// file and the first field that is wrong.
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let bytes = seqdata::io::read_limited(path, "run file")?;
        Self::from_slice(&bytes).map_err(|e| e.context(path.display().to_string()))
    }

    /// A run from the bytes of a run file. Never panics, whatever the bytes.
    ///
    /// ```
    /// assert!(study::RunReport::from_slice(b"{\"variant\": 1}").is_err());
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Report(format!("not a run file: {e}")))?;
        serde_path_to_error::deserialize(value)
            .map_err(|e| Error::Report(format!("not a run file: at `{}`: {}", e.path(), e.inner())))
    }

    /// The file name of this run's own JSON.
    pub fn file_name(&self) -> String {
        run_file_name(&self.variant, self.length, self.seed)
    }
}

/// `runs/<variant>_L<length>_seed<seed>.json`, the variant's label with
/// spaces and slashes as `_` and `-`.
pub fn run_file_name(variant: &str, length: usize, seed: u64) -> String {
    let v: String = variant
        .chars()
        .map(|c| match c {
            ' ' => '_',
            '/' => '-',
            c => c,
        })
        .collect();
    format!("{v}_L{length}_seed{seed}.json")
}

/// Statistics over the seeds of one (model, length).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The variant's label.
    pub variant: String,
    /// The variant: model, hidden, optimizer, lr_io, lr_rec, clip.
    #[serde(flatten)]
    pub settings: Variant,
    /// Sequence length.
    pub length: usize,
    /// Number of seeds (runs), diverged ones included.
    pub seeds: usize,
    /// Mean final held-out accuracy over the seeds that did not diverge
    /// (a diverged run is counted in `diverged`, never averaged in); null
    /// if every seed diverged.
    #[serde(deserialize_with = "nncore::nullable::f64")]
    pub heldout_acc_mean: f64,
    /// Its sample standard deviation (n − 1; 0 for one seed).
    #[serde(deserialize_with = "nncore::nullable::f64")]
    pub heldout_acc_std: f64,
    /// Half-width of the 95% Student-t interval of the mean,
    /// `t(0.975, n − 1) · std / √n` over the `n` seeds that did not
    /// diverge; null below two seeds.
    pub heldout_acc_ci95: Option<f64>,
    /// Lowest final held-out accuracy over the seeds that did not diverge.
    #[serde(deserialize_with = "nncore::nullable::f64")]
    pub heldout_acc_min: f64,
    /// Highest final held-out accuracy over the seeds that did not diverge.
    #[serde(deserialize_with = "nncore::nullable::f64")]
    pub heldout_acc_max: f64,
    /// Seeds that did not diverge whose final held-out accuracy is below
    /// 0.90.
    pub below_90: usize,
    /// Mean final exact-match rate over the seeds that did not diverge.
    #[serde(deserialize_with = "nncore::nullable::f64")]
    pub heldout_exact_mean: f64,
    /// Accuracy of answering each position's most frequent held-out label,
    /// averaged over positions.
    pub majority_baseline: f64,
    /// The same at each position (it zigzags on this task).
    pub majority_per_position: Vec<f64>,
    /// Seeds that reached 0.90 held-out accuracy.
    pub reached_90: usize,
    /// Median of `iters_to_90` over the `reached_90` seeds that reached it
    /// (other seeds than another row's, in general).
    pub iters_to_90_median: Option<f64>,
    /// Seeds that reached 0.95.
    pub reached_95: usize,
    /// Median of `iters_to_95` over the seeds that reached it.
    pub iters_to_95_median: Option<f64>,
    /// Mean training seconds per run.
    pub wall_s_mean: f64,
    /// Runs that diverged.
    pub diverged: usize,
}

/// Timing of the whole study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Wall time of the whole study, seconds.
    pub total_wall_s: f64,
    /// Sum of the runs' training time.
    pub train_s: f64,
    /// Sum of the runs' evaluation time.
    pub eval_s: f64,
    /// Worker threads used.
    pub threads: usize,
}

/// `study.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// [`SCHEMA`].
    pub schema: String,
    /// The study, resolved (what `study.toml` in the folder holds).
    pub config: Study,
    /// Every run, ordered by model, length, seed.
    pub runs: Vec<RunReport>,
    /// One row per (model, length).
    pub summary: Vec<SummaryRow>,
    /// The verdict, computed from the summary.
    pub verdict: Vec<String>,
    /// Where this report comes from: the build, host, command line and
    /// start time of the process that wrote it (not part of the
    /// configuration: two reports of one study from two commits differ here
    /// and in nothing else of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<provenance::Provenance>,
    /// The builds that made the runs, when more than one did (a resume or a
    /// merge of runs from different commits): one line each, with the
    /// number of runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mixed_provenance: Vec<String>,
    /// Jobs a partial merge lacks (`variant L=length seed=seed`); empty for
    /// a whole study.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// A breaking-length search's result, one per variant (empty without
    /// a search).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<crate::adaptive::BreakingLength>,
    /// Timing (machine-dependent; everything else is reproducible).
    pub timing: Timing,
}

impl StudyReport {
    /// The lengths the report has results at, ascending: the study's, and
    /// for an adaptive study every length it probed.
    pub fn lengths(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self.summary.iter().map(|r| r.length).collect();
        if !crate::adaptive::is_adaptive(&self.config) {
            out.extend(&self.config.lengths);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Mean and sample standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n;
    let std = if v.len() > 1 {
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, std)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    })
}

/// The half-width of the 95% Student-t interval of a mean of `n` values
/// with sample standard deviation `std`: `t(0.975, n − 1) · std / √n`;
/// None below two values.
pub fn ci95_half_width(std: f64, n: usize) -> Option<f64> {
    (n >= 2).then(|| t975(n as f64 - 1.0) * std / (n as f64).sqrt())
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (for
/// 95% two-sided intervals).
pub fn t975(df: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(0.975))
}

/// One summary row from the runs of one (model, length): statistics over
/// the runs that did not diverge (the diverged ones are counted apart).
/// `majority_per_position` is the per-position majority accuracy of the
/// held-out set.
pub fn summarise(
    variant: &Variant,
    length: usize,
    runs: &[&RunReport],
    majority_per_position: Vec<f64>,
) -> SummaryRow {
    let kept: Vec<&&RunReport> = runs.iter().filter(|r| !r.diverged).collect();
    let acc: Vec<f64> = kept.iter().map(|r| r.final_metrics.heldout_acc).collect();
    let (heldout_acc_mean, heldout_acc_std) = mean_std(&acc);
    let exact: Vec<f64> = kept.iter().map(|r| r.final_metrics.heldout_exact).collect();
    let to = |f: fn(&RunReport) -> Option<usize>| -> Vec<f64> {
        runs.iter().filter_map(|r| f(r)).map(|v| v as f64).collect()
    };
    let t90 = to(|r| r.iters_to_90);
    let t95 = to(|r| r.iters_to_95);
    let extreme = |f: fn(f64, f64) -> f64, start: f64| {
        if acc.is_empty() {
            f64::NAN
        } else {
            acc.iter().copied().fold(start, f)
        }
    };
    let majority_baseline =
        majority_per_position.iter().sum::<f64>() / majority_per_position.len().max(1) as f64;
    SummaryRow {
        variant: variant.label(),
        settings: *variant,
        length,
        seeds: runs.len(),
        heldout_acc_mean,
        heldout_acc_std,
        heldout_acc_ci95: ci95_half_width(heldout_acc_std, acc.len()),
        heldout_acc_min: extreme(f64::min, f64::INFINITY),
        heldout_acc_max: extreme(f64::max, f64::NEG_INFINITY),
        below_90: acc.iter().filter(|&&a| a < 0.90).count(),
        heldout_exact_mean: mean_std(&exact).0,
        majority_baseline,
        majority_per_position,
        reached_90: t90.len(),
        iters_to_90_median: median(t90),
        reached_95: t95.len(),
        iters_to_95_median: median(t95),
        wall_s_mean: mean_std(&runs.iter().map(|r| r.wall_s).collect::<Vec<_>>()).0,
        diverged: runs.len() - kept.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(mean_std(&[0.7]), (0.7, 0.0));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    /// The t quantiles of a table (two-sided 95%).
    #[test]
    fn t_intervals_use_the_real_seed_count() {
        for (df, t) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (4.0, 2.776),
            (9.0, 2.262),
            (1e6, 1.960),
        ] {
            assert!((t975(df) - t).abs() < 1e-3, "df {df}: {}", t975(df));
        }
        assert_eq!(ci95_half_width(0.1, 1), None);
        // Two seeds: 12.7 standard errors, not 2.
        let h = ci95_half_width(0.1, 2).unwrap();
        assert!((h - 12.706 * 0.1 / 2f64.sqrt()).abs() < 1e-3, "{h}");
    }
}
