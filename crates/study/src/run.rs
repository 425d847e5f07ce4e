//! Running a study: every job of the plan trained with [`nncore::fit`] on a
//! pool of worker threads, longest first, each finished run written to the
//! report folder at once (so an interrupted study keeps what it finished and
//! `resume` trains only the rest), then gathered into a [`StudyReport`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use models::{ModelFile, Training};
use nncore::{Observer, Outcome, SequenceModel, Trainer, fit};
use seqdata::{AlternatingSign, Dataset, Stream, seeded_rng};

use crate::config::Study;
use crate::folder::{LockMode, Mismatched, ReportDir};
use crate::plan::Job;
use crate::report::{RunReport, SCHEMA, StudyReport, Timing, summarise};
use crate::shard::{Shard, build_id};
use crate::{Error, Result, summary};

/// How to run a study.
pub struct RunOptions<'a> {
    /// Worker threads (results do not depend on it).
    pub threads: usize,
    /// Require an interrupted study in the folder to finish (without it, a
    /// folder holding this same study is resumed as well, and an empty one
    /// starts it).
    pub resume: bool,
    /// Replace another study held in the folder (its runs, report and
    /// outputs) instead of refusing.
    pub overwrite: bool,
    /// What to do with run files that do not match the plan.
    pub mismatched: Mismatched,
    /// Told the iterations done by every run, as they are done (a progress
    /// bar); called from the worker threads.
    pub progress: &'a (dyn Fn(u64) + Sync),
    /// Told the iterations of the runs an adaptive study adds after its
    /// first round ([`crate::adaptive`]), before they start (the progress
    /// bar grows; the runs the folder already holds count as done), with a
    /// line saying what is still to train (empty when nothing is).
    pub planned: &'a (dyn Fn(u64, &str) + Sync),
    /// Told, one line each, what the folder held that was not kept (run
    /// files retrained and why, an old study replaced).
    pub notice: &'a (dyn Fn(&str) + Sync),
    /// Where the runs and the report come from (the binary's build, the
    /// host, the command line): recorded in every run file, `study.json`,
    /// SUMMARY.md and `study.toml`.
    pub provenance: Option<&'a provenance::Provenance>,
    /// Set (by a signal handler, say) to stop: runs in progress stop at
    /// their next iteration, finished runs stay in `runs/`, and the study
    /// returns [`Error::Interrupted`].
    pub stop: Option<&'a AtomicBool>,
    /// Keep every trained model: a model file (`models::ModelFile`) per run,
    /// `runs/<run>.model.json` beside `runs/<run>.json`, written before it
    /// (a diverged run has none: its parameters are not finite numbers). A
    /// finished run whose model file is missing or does not match it is
    /// trained again (to the same bits) to write one.
    pub save_models: bool,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            resume: false,
            overwrite: false,
            mismatched: Mismatched::default(),
            progress: &|_| {},
            planned: &|_, _| {},
            notice: &|_| {},
            provenance: None,
            stop: None,
            save_models: false,
        }
    }
}

impl RunOptions<'_> {
    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
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
        v.precision,
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

/// The report of a finished job of `study`.
pub fn run_report(job: &Job, study: &Study, outcome: Outcome) -> RunReport {
    let build = build_id();
    RunReport {
        inputs: job.inputs(study),
        fingerprint: job.fingerprint(study, &build),
        build,
        made_by: None,
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

/// The model file of a trained `job` of `study`: the run's seed, iterations,
/// optimiser, clipping, pool, held-out set and schedule, and its final
/// metrics, so that `cargo xtask eval --load` reproduces them.
pub fn model_file(
    job: &Job,
    study: &Study,
    heldout: &Dataset,
    outcome: &Outcome,
    model: &dyn SequenceModel,
) -> Result<ModelFile> {
    let v = job.variant;
    let training = Training::new(
        job.seed,
        outcome.iters,
        v.optimizer,
        v.clip,
        study.pool_size,
        heldout,
        study.heldout_seed,
        &study.schedule,
    );
    Ok(ModelFile::new(
        model,
        v.model,
        job.length,
        training,
        outcome.final_metrics.clone(),
    )?)
}

/// Whether the model file at `path` reads back and is `run`'s model: the
/// same kind, hidden size, length, seed, iterations and final metrics.
pub(crate) fn model_file_matches(path: &std::path::Path, run: &RunReport) -> bool {
    ModelFile::load(path).is_ok_and(|(f, _)| {
        f.model == run.settings.model
            && f.hidden == run.settings.hidden
            && f.length == run.length
            && f.training.seed == run.seed
            && f.training.iters == run.iters
            && f.metrics == run.final_metrics
    })
}

/// Tells a progress callback the iterations a run has done, and stops the
/// run when asked to.
struct Progress<'a> {
    report: &'a (dyn Fn(u64) + Sync),
    last: usize,
    stop: Option<&'a AtomicBool>,
}

impl Observer for Progress<'_> {
    fn progress(&mut self, iters_done: usize) {
        (self.report)(iters_done.saturating_sub(self.last) as u64);
        self.last = self.last.max(iters_done);
    }
    fn should_stop(&mut self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

/// Runs `study` into the report folder `dir` under an exclusive lock (the
/// caller's, or one taken here): prepares it ([`ReportDir::prepare`]: a
/// folder of another study is refused unless `overwrite`; this same study
/// is resumed), trains every run not yet in `runs/` (each written as it
/// finishes; run files that do not match the plan are named through
/// `notice` and retrained, or refused), then writes `study.json` and
/// `SUMMARY.md` and returns the report. The plots that SUMMARY.md shows are
/// the `plots` crate's (`plots::all(&report)`), which `cargo xtask study`
/// and `cargo xtask report` write beside it, before
/// [`ReportDir::finish`].
pub fn run(study: &Study, dir: &ReportDir, options: &RunOptions<'_>) -> Result<StudyReport> {
    study.check()?;
    check_threads(options.threads)?;
    let _guard = dir.lock(LockMode::Exclusive)?;
    let removed = dir.prepare(study, options.resume, options.overwrite, options.provenance)?;
    if !removed.is_empty() {
        (options.notice)(&format!(
            "replaced the study that {} held ({} files removed)",
            dir.path().display(),
            removed.len()
        ));
    }
    let started = Instant::now();
    let mut heldout = heldout_sets(study)?;
    let runs = if crate::adaptive::is_adaptive(study) {
        run_adaptive(study, &mut heldout, dir, options)?
    } else {
        execute(study, &study.jobs(), &heldout, dir, options, None)?
    };
    let mut report = gather_runs(
        study,
        runs,
        &heldout,
        options.threads,
        &[],
        options.provenance,
    );
    report.timing.total_wall_s = started.elapsed().as_secs_f64();
    dir.write_report(&report)?;
    Ok(report)
}

/// Trains an adaptive study round by round ([`crate::adaptive::next_jobs`]
/// on the runs so far) until no run comes next; returns every run.
fn run_adaptive(
    study: &Study,
    heldout: &mut BTreeMap<usize, Arc<Dataset>>,
    dir: &ReportDir,
    options: &RunOptions<'_>,
) -> Result<Vec<RunReport>> {
    let mut runs: Vec<RunReport> = Vec::new();
    for round in 1.. {
        let jobs = crate::adaptive::next_jobs(study, &runs);
        if jobs.is_empty() {
            break;
        }
        for job in &jobs {
            if let std::collections::btree_map::Entry::Vacant(e) = heldout.entry(job.length) {
                e.insert(heldout_set(study, job.length)?);
            }
        }
        // Announce the runs still to train (a resumed study finds the rest).
        let to_train: Vec<&Job> = jobs
            .iter()
            .filter(|j| !dir.runs().join(j.file_name()).exists())
            .collect();
        if round > 1 {
            let mut cells: Vec<String> = Vec::new();
            for j in &to_train {
                let cell = format!("{} L={}", j.variant.label(), j.length);
                if !cells.contains(&cell) {
                    cells.push(cell);
                }
            }
            let line = if to_train.is_empty() {
                String::new()
            } else {
                format!(
                    "round {round}: {} more runs ({})",
                    to_train.len(),
                    seqdata::io::abbreviate(&cells.join(", "), 200)
                )
            };
            (options.planned)((jobs.len() * study.schedule.iters) as u64, &line);
        }
        runs.extend(execute(study, &jobs, heldout, dir, options, None)?);
    }
    Ok(runs)
}

/// Runs shard `shard` of `study` into `dir` (its own folder or one the
/// shards share, under a shared lock): trains the shard's runs not yet in
/// `runs/` (run files that do not match the plan as in [`run`]), each
/// written as it finishes, marked with its shard. Returns the shard's runs.
pub fn run_shard(
    study: &Study,
    dir: &ReportDir,
    shard: Shard,
    options: &RunOptions<'_>,
) -> Result<Vec<RunReport>> {
    study.check()?;
    check_threads(options.threads)?;
    refuse_adaptive(study, "shard")?;
    let _guard = dir.lock(LockMode::Shared)?;
    dir.prepare_shard(study, options.provenance)?;
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

/// An adaptive study's runs follow from its results, so it cannot be
/// split into shards planned beforehand.
pub(crate) fn refuse_adaptive(study: &Study, what: &str) -> Result<()> {
    if crate::adaptive::is_adaptive(study) {
        return Err(Error::invalid(
            what,
            format!("study `{}`", study.name),
            "it adds seeds (until_ci) or searches lengths (search), so its runs follow from its \
             results: run it in one process, without --shard",
        ));
    }
    Ok(())
}

fn check_threads(threads: usize) -> Result<()> {
    if threads == 0 || threads > 1024 {
        return Err(Error::invalid("threads", threads, "use 1 ..= 1024"));
    }
    Ok(())
}

/// The held-out set of every length of the study.
pub(crate) fn heldout_sets(study: &Study) -> Result<BTreeMap<usize, Arc<Dataset>>> {
    study
        .lengths
        .iter()
        .map(|&l| Ok((l, heldout_set(study, l)?)))
        .collect()
}

/// The held-out set of `study` at length `l`.
fn heldout_set(study: &Study, l: usize) -> Result<Arc<Dataset>> {
    let task = AlternatingSign::new(l)?;
    Ok(Arc::new(task.heldout(study.heldout, study.heldout_seed)?))
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
    let build = build_id();
    let (mut done, skipped) = dir.finished_runs(study, jobs, &build);
    let (foreign, mismatched): (Vec<_>, Vec<_>) = skipped.into_iter().partition(|s| s.foreign);
    if !mismatched.is_empty() && options.mismatched == Mismatched::Refuse {
        return Err(Error::Mismatched {
            skipped: mismatched,
        });
    }
    for s in &mismatched {
        (options.notice)(&format!("{s}; training it again"));
    }
    for s in &foreign {
        (options.notice)(&s.to_string());
    }
    if options.save_models {
        for (job, d) in jobs.iter().zip(&mut done) {
            let path = dir.runs().join(job.model_file_name());
            if d.as_ref()
                .is_some_and(|r| !r.diverged && !model_file_matches(&path, r))
            {
                (options.notice)(&format!(
                    "{} has no matching model file {}; training it again to save one",
                    dir.runs().join(job.file_name()).display(),
                    path.display()
                ));
                *d = None;
            }
        }
    }
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
    let failed = AtomicBool::new(false);
    let slots: Vec<Mutex<Option<Result<RunReport>>>> =
        schedule.iter().map(|_| Mutex::new(None)).collect();
    pool.broadcast(|_| {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = schedule.get(i) else { break };
            // A signal, or a failed run (a full disk): no new run starts.
            if options.stopped() || failed.load(Ordering::Relaxed) {
                break;
            }
            let mut progress = Progress {
                report: options.progress,
                last: 0,
                stop: options.stop,
            };
            let r = train_job(
                job,
                study.pool_size,
                &study.schedule,
                &heldout[&job.length],
                &mut progress,
            )
            .and_then(|(outcome, model)| {
                // The model first: a run file then means its model file is
                // there too (unless the run diverged).
                if options.save_models && outcome.diverged_at.is_none() {
                    let mut file =
                        model_file(job, study, &heldout[&job.length], &outcome, model.as_ref())?;
                    if let Some(p) = options.provenance {
                        file = file.with_provenance(p);
                    }
                    file.save(&dir.runs().join(job.model_file_name()))?;
                }
                Ok(RunReport {
                    shard,
                    made_by: options.provenance.map(|p| p.build.clone()),
                    ..run_report(job, study, outcome)
                })
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
            if r.as_ref().is_err_and(|e| !e.is_interruption()) {
                failed.store(true, Ordering::Relaxed);
            }
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    });
    let results: Vec<Option<Result<RunReport>>> = slots
        .into_iter()
        .map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    // A real error first (it says what to fix), then an interruption (a
    // signal that came after the last run finished interrupted nothing).
    let mut runs = Vec::with_capacity(results.len());
    let mut interrupted = false;
    for r in results {
        match r {
            Some(Ok(run)) => runs.push(run),
            Some(Err(e)) if e.is_interruption() => interrupted = true,
            Some(Err(e)) => return Err(e),
            None => interrupted = true,
        }
    }
    if interrupted {
        return Err(Error::Interrupted {
            finished: done.iter().flatten().count() + runs.len(),
            total: jobs.len(),
            dir: dir.runs(),
        });
    }
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
    provenance: Option<&provenance::Provenance>,
) -> StudyReport {
    let adaptive = crate::adaptive::is_adaptive(study);
    let jobs = if adaptive { Vec::new() } else { study.jobs() };
    let variant_rank = |r: &RunReport| study.variants.iter().position(|v| *v == r.settings);
    if adaptive {
        runs.sort_by_key(|r| (variant_rank(r), r.length, r.seed));
    } else {
        let rank = |r: &RunReport| {
            jobs.iter()
                .position(|j| j.variant == r.settings && j.length == r.length && j.seed == r.seed)
        };
        runs.sort_by_key(|r| rank(r));
    }
    for r in &mut runs {
        r.shard = None;
    }
    // A search's lengths are the ones it probed.
    let mut lengths = study.lengths.clone();
    if adaptive {
        lengths.extend(runs.iter().map(|r| r.length));
        lengths.sort_unstable();
        lengths.dedup();
    }
    let mut rows = Vec::new();
    for variant in &study.variants {
        for &length in &lengths {
            let rs: Vec<&RunReport> = runs
                .iter()
                .filter(|r| r.settings == *variant && r.length == length)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let majority = nncore::majority_per_position(heldout[&length].labels());
            rows.push(summarise(variant, length, &rs, majority));
        }
    }
    let search = crate::adaptive::breaking_lengths(study, &runs);
    let verdict = summary::verdict(study, &rows);
    let mixed_provenance = mixed(&runs, provenance);
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
        provenance: provenance.cloned(),
        mixed_provenance,
        missing: missing.to_vec(),
        search,
        timing,
    }
}

/// The builds that made `runs`, one line each with their run count, when
/// they are more than one (runs that do not say are not counted), or when
/// they differ from the build writing the report.
fn mixed(runs: &[RunReport], writer: Option<&provenance::Provenance>) -> Vec<String> {
    let mut builds: Vec<(&provenance::Build, usize)> = Vec::new();
    for b in runs.iter().filter_map(|r| r.made_by.as_ref()) {
        match builds.iter_mut().find(|(x, _)| *x == b) {
            Some((_, n)) => *n += 1,
            None => builds.push((b, 1)),
        }
    }
    let same_as_writer = writer.is_none_or(|w| builds.iter().all(|(b, _)| **b == w.build));
    if builds.len() <= 1 && same_as_writer {
        return Vec::new();
    }
    let mut lines: Vec<String> = builds
        .iter()
        .map(|(b, n)| {
            format!(
                "{n} runs by {}; {}; {}",
                b.short(),
                b.rustc.as_deref().unwrap_or("rustc unknown"),
                b.target
            )
        })
        .collect();
    if let Some(w) = writer.filter(|w| !builds.iter().any(|(b, _)| **b == w.build)) {
        lines.push(format!("this report written by {}", w.build.short()));
    }
    lines
}
