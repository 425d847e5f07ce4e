//! Running a study: every job of the plan trained with [`nncore::fit`] on a
//! pool of worker threads, longest first, each finished run written to the
//! report folder at once (so an interrupted study keeps what it finished and
//! `resume` trains only the rest), then gathered into a [`StudyReport`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nncore::{Observer, Outcome, SequenceModel, Trainer, fit};
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

use crate::config::{Study, differences};
use crate::plan::Job;
use crate::report::{RunReport, SCHEMA, StudyReport, Timing, summarise};
use crate::shard::{Shard, build_id};
use crate::{Error, Result, summary};

/// The resolved study in a report folder, written before any run starts.
pub const STUDY_FILE: &str = "study.toml";

/// How to run a study.
pub struct RunOptions<'a> {
    /// Worker threads (results do not depend on it).
    pub threads: usize,
    /// Keep the runs already in the folder's `runs/` that belong to this
    /// study, and train only the missing ones.
    pub resume: bool,
    /// Told the iterations done by every run, as they are done (a progress
    /// bar); called from the worker threads.
    pub progress: &'a (dyn Fn(u64) + Sync),
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            resume: false,
            progress: &|_| {},
        }
    }
}

/// Trains one run: the job's model on a training pool of `pool_size`
/// sequences, every random number from the job's seed (pool, sampling order
/// and initial weights on their own ChaCha8 streams), on `schedule`,
/// evaluated on `heldout`. Returns what happened and the trained model.
/// (A study calls it for every job; `cargo xtask train` for one.)
pub fn train_job(
    job: &Job,
    pool_size: usize,
    schedule: &nncore::Schedule,
    heldout: &Dataset,
    observer: &mut impl Observer,
) -> Result<(Outcome, Box<dyn SequenceModel>)> {
    let task = AlternatingSign::new(job.length)?;
    let pool = task.generate(pool_size, &mut seeded_rng(job.seed, Stream::Pool))?;
    let mut order = seeded_rng(job.seed, Stream::Sampling);
    let v = job.variant;
    let mut model = v.model.build(
        v.hidden,
        job.length,
        &mut seeded_rng(job.seed, Stream::Init),
    )?;
    let mut trainer = Trainer::new(v.optimizer.build()?).with_clip(v.clip);
    let outcome = fit(
        model.as_mut(),
        &mut trainer,
        &pool,
        &mut order,
        heldout,
        schedule,
        observer,
    )?;
    Ok((outcome, model))
}

/// The report of a finished job.
pub fn run_report(job: &Job, outcome: Outcome) -> RunReport {
    RunReport {
        build: build_id(),
        shard: None,
        variant: job.variant.label(),
        settings: job.variant,
        length: job.length,
        seed: job.seed,
        iters: outcome.iters,
        wall_s: outcome.train_s,
        eval_s: outcome.eval_s,
        clipped_updates: outcome.clipped_updates,
        iters_to_90: Outcome::first_reaching(&outcome.curve, 0.90),
        iters_to_95: Outcome::first_reaching(&outcome.curve, 0.95),
        curve: outcome.curve,
        final_metrics: outcome.final_metrics,
        diverged: outcome.diverged_at.is_some(),
        diverged_at: outcome.diverged_at,
        grad_flow: (!outcome.grad_flow.is_empty()).then_some(outcome.grad_flow),
        grad_flow_last: (!outcome.grad_flow_last.is_empty()).then_some(outcome.grad_flow_last),
    }
}

/// Tells a progress callback the iterations a run has done.
struct Progress<'a> {
    report: &'a (dyn Fn(u64) + Sync),
    last: usize,
}

impl Observer for Progress<'_> {
    fn progress(&mut self, iters_done: usize) {
        (self.report)(iters_done.saturating_sub(self.last) as u64);
        self.last = self.last.max(iters_done);
    }
}

/// A report folder: `study.toml`, `runs/`, `study.json` and what the report
/// crates add (SUMMARY.md, plots).
#[derive(Debug, Clone)]
pub struct ReportDir {
    dir: PathBuf,
}

impl ReportDir {
    /// The folder at `dir` (not created yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The folder's `runs/`.
    pub fn runs(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// Writes `bytes` to the file `name` in the folder, atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        seqdata::io::write_atomic(&self.dir.join(name), bytes)?;
        Ok(())
    }

    /// Writes `value` as pretty JSON to `name`, atomically.
    pub fn write_json<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(value).expect("reports serialise");
        text.push(b'\n');
        self.write(name, &text)
    }

    /// Creates the folder and `runs/`, and proves they can be written,
    /// before any computation. Without `resume`, runs of an earlier study in
    /// the folder are removed (they would mix with this one's); with it, the
    /// folder must hold this very study.
    pub fn prepare(&self, study: &Study, resume: bool) -> Result<()> {
        self.create()?;
        if resume {
            self.check_resume(study)?;
        } else {
            self.remove_runs()?;
        }
        self.write(STUDY_FILE, study.to_toml().as_bytes())
    }

    /// Prepares the folder for one shard: a folder that holds no study yet
    /// gets `study.toml`; one that holds a study must hold this one (shards
    /// share a folder or each have their own). Runs already there are kept.
    pub fn prepare_shard(&self, study: &Study) -> Result<()> {
        self.create()?;
        if self.dir.join(STUDY_FILE).exists() {
            return self.check_resume(study);
        }
        self.write(STUDY_FILE, study.to_toml().as_bytes())
    }

    /// Prepares the folder a merge writes: its study file, and no runs of
    /// another study.
    pub(crate) fn prepare_merge(&self, study: &Study) -> Result<()> {
        self.create()?;
        if self.dir.join(STUDY_FILE).exists() && self.check_resume(study).is_err() {
            self.remove_runs()?;
        }
        self.write(STUDY_FILE, study.to_toml().as_bytes())
    }

    /// Writes the report's `SUMMARY.md`.
    pub fn write_summary(&self, report: &StudyReport) -> Result<()> {
        self.write("SUMMARY.md", summary::markdown(report).as_bytes())
    }

    /// Writes `SUMMARY.md` and `study.json`.
    pub(crate) fn write_report(&self, report: &StudyReport) -> Result<()> {
        self.write_summary(report)?;
        self.write_json("study.json", report)
    }

    /// Creates the folder and `runs/` and proves they can be written.
    fn create(&self) -> Result<()> {
        let runs = self.runs();
        std::fs::create_dir_all(&runs).map_err(|e| Error::Folder {
            path: runs.clone(),
            problem: format!("cannot create it ({e}): choose a writable location"),
        })?;
        let probe = self.dir.join(".write-probe");
        seqdata::io::write_atomic(&probe, b"ok").map_err(|e| Error::Folder {
            path: self.dir.clone(),
            problem: format!("is not writable ({e})"),
        })?;
        std::fs::remove_file(&probe).ok();
        Ok(())
    }

    /// Removes the run files of an earlier study (they would mix with this
    /// one's).
    fn remove_runs(&self) -> Result<()> {
        let runs = self.runs();
        let folder_error = |e: std::io::Error| Error::Folder {
            path: runs.clone(),
            problem: e.to_string(),
        };
        for entry in std::fs::read_dir(&runs).map_err(folder_error)? {
            let path = entry.map_err(folder_error)?.path();
            if path.extension().is_some_and(|e| e == "json") {
                std::fs::remove_file(&path).map_err(|e| Error::Folder {
                    path: path.clone(),
                    problem: format!("cannot remove an earlier run ({e})"),
                })?;
            }
        }
        Ok(())
    }

    /// Refuses to resume unless the folder holds a study that resolves to
    /// exactly `study`; the error names what differs.
    fn check_resume(&self, study: &Study) -> Result<()> {
        let path = self.dir.join(STUDY_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Err(Error::Resume(format!(
                "no interrupted study to resume ({} is missing); run without --resume",
                path.display()
            )));
        };
        let old = Study::from_toml(&text).map_err(|e| {
            Error::Resume(format!(
                "{} does not hold a study ({e}); run without --resume to start again",
                path.display()
            ))
        })?;
        if &old != study {
            return Err(Error::Resume(format!(
                "the flags give a different study than the one in {} ({}); give the same flags, \
                 or another --out",
                self.dir.display(),
                differences(&old, study).join("; ")
            )));
        }
        Ok(())
    }

    /// The runs already finished in `runs/` that belong to `jobs`, by job.
    pub fn finished_runs(&self, jobs: &[Job]) -> Vec<Option<RunReport>> {
        jobs.iter()
            .map(|job| {
                let text = std::fs::read_to_string(self.runs().join(job.file_name())).ok()?;
                let r: RunReport = serde_json::from_str(&text).ok()?;
                (r.settings == job.variant && r.length == job.length && r.seed == job.seed)
                    .then_some(r)
            })
            .collect()
    }

    /// Reads the folder's `study.json`.
    pub fn read_report(&self) -> Result<StudyReport> {
        let path = self.dir.join("study.json");
        let bytes = seqdata::io::read_limited(&path, "study report")?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Report(format!("{} is not valid JSON: {e}", path.display())))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            other => {
                return Err(Error::Report(format!(
                    "{} has schema {}, not {SCHEMA}: it was written by another version; rerun \
                     the study",
                    path.display(),
                    other.unwrap_or("(none)")
                )));
            }
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            Error::Report(format!(
                "{}: at `{}`: {}",
                path.display(),
                e.path(),
                e.inner()
            ))
        })
    }
}

/// Runs `study` into the report folder `dir`: prepares it, trains every
/// missing run (each written to `runs/` as it finishes), then writes
/// `study.json` and `SUMMARY.md` and returns the report. The plots that
/// SUMMARY.md shows are the `plots` crate's (`plots::all(&report)`), which
/// `cargo xtask study` and `cargo xtask report` write beside it.
pub fn run(study: &Study, dir: &ReportDir, options: &RunOptions<'_>) -> Result<StudyReport> {
    study.check()?;
    check_threads(options.threads)?;
    dir.prepare(study, options.resume)?;
    let started = Instant::now();
    let heldout = heldout_sets(study)?;
    let runs = execute(study, &study.jobs(), &heldout, dir, options, None)?;
    let mut report = gather_runs(study, runs, &heldout, options.threads, &[]);
    report.timing.total_wall_s = started.elapsed().as_secs_f64();
    dir.write_report(&report)?;
    Ok(report)
}

/// Runs shard `shard` of `study` into `dir` (its own folder or one the
/// shards share): trains the shard's runs not yet in `runs/`, each written
/// as it finishes, marked with its shard. Returns the shard's runs.
pub fn run_shard(
    study: &Study,
    dir: &ReportDir,
    shard: Shard,
    options: &RunOptions<'_>,
) -> Result<Vec<RunReport>> {
    study.check()?;
    check_threads(options.threads)?;
    dir.prepare_shard(study)?;
    let heldout = heldout_sets(study)?;
    execute(
        study,
        &study.shard_jobs(shard),
        &heldout,
        dir,
        options,
        Some(shard),
    )
}

fn check_threads(threads: usize) -> Result<()> {
    if threads == 0 || threads > 1024 {
        return Err(Error::invalid("threads", threads, "use 1 ..= 1024"));
    }
    Ok(())
}

/// The held-out set of every length of the study.
pub(crate) fn heldout_sets(study: &Study) -> Result<BTreeMap<usize, Arc<Dataset>>> {
    let mut heldout = BTreeMap::new();
    for &l in &study.lengths {
        let task = AlternatingSign::new(l)?;
        heldout.insert(
            l,
            Arc::new(task.heldout(study.heldout, study.heldout_seed)?),
        );
    }
    Ok(heldout)
}

/// Trains every job of `jobs` not yet in the folder (marking each run with
/// `shard`, if a shard trains it); returns all their runs.
fn execute(
    study: &Study,
    jobs: &[Job],
    heldout: &BTreeMap<usize, Arc<Dataset>>,
    dir: &ReportDir,
    options: &RunOptions<'_>,
    shard: Option<Shard>,
) -> Result<Vec<RunReport>> {
    let done = dir.finished_runs(jobs);
    for _ in done.iter().flatten() {
        (options.progress)(study.schedule.iters as u64);
    }
    let mut schedule: Vec<Job> = jobs
        .iter()
        .zip(&done)
        .filter(|(_, d)| d.is_none())
        .map(|(j, _)| *j)
        .collect();
    // Longest first, so the cores stay busy to the end.
    let iters = study.schedule.iters;
    schedule.sort_by(|a, b| b.cost(iters).total_cmp(&a.cost(iters)));

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| Error::invalid("threads", options.threads, e.to_string()))?;
    // A queue: each worker takes the next run when it is free (rayon's
    // splitting of a sorted list left one core idle with the long runs
    // queued behind the other).
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<RunReport>>>> =
        schedule.iter().map(|_| Mutex::new(None)).collect();
    pool.broadcast(|_| {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = schedule.get(i) else { break };
            let mut progress = Progress {
                report: options.progress,
                last: 0,
            };
            let r = train_job(
                job,
                study.pool_size,
                &study.schedule,
                &heldout[&job.length],
                &mut progress,
            )
            .map(|(outcome, _)| RunReport {
                shard,
                ..run_report(job, outcome)
            })
            .map_err(|e| {
                e.context(format!(
                    "run {} L={} seed={}",
                    job.variant.label(),
                    job.length,
                    job.seed
                ))
            })
            .and_then(|r| {
                dir.write_json(&format!("runs/{}", job.file_name()), &r)?;
                Ok(r)
            });
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    });
    let mut runs = slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every scheduled run was taken by a worker")
        })
        .collect::<Result<Vec<_>>>()?;
    runs.extend(done.into_iter().flatten());
    Ok(runs)
}

/// The report from the runs: ordered by the plan, the build and shard marks
/// of the run files dropped (study.json is the same whoever trained it),
/// summarised over seeds (a variant and length without runs, in a partial
/// merge, has no row), with the verdict. `missing` lists the jobs a partial
/// merge lacks.
pub(crate) fn gather_runs(
    study: &Study,
    mut runs: Vec<RunReport>,
    heldout: &BTreeMap<usize, Arc<Dataset>>,
    threads: usize,
    missing: &[String],
) -> StudyReport {
    let jobs = study.jobs();
    let rank = |r: &RunReport| {
        jobs.iter()
            .position(|j| j.variant == r.settings && j.length == r.length && j.seed == r.seed)
    };
    runs.sort_by_key(|r| rank(r));
    for r in &mut runs {
        r.shard = None;
    }
    let mut rows = Vec::new();
    for variant in &study.variants {
        for &length in &study.lengths {
            let rs: Vec<&RunReport> = runs
                .iter()
                .filter(|r| r.settings == *variant && r.length == length)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let baseline = nncore::majority_baseline(heldout[&length].labels());
            rows.push(summarise(variant, length, &rs, baseline));
        }
    }
    let verdict = summary::verdict(study, &rows);
    let timing = Timing {
        total_wall_s: 0.0,
        train_s: runs.iter().map(|r| r.wall_s).sum(),
        eval_s: runs.iter().map(|r| r.eval_s).sum(),
        threads,
    };
    StudyReport {
        schema: SCHEMA.to_string(),
        config: study.clone(),
        runs,
        summary: rows,
        verdict,
        missing: missing.to_vec(),
        timing,
    }
}
