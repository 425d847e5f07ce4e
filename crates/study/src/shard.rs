//! Splitting a study across machines: [`Shard`] `K/N` takes a deterministic,
//! cost-balanced part of the job plan; [`merge`] puts the run files of the
//! shards back together into the study a single process would have written.
//!
//! The engine ships no scheduler: any runner that starts `N` processes with
//! `K = 0 … N−1` (a Slurm job array, GNU parallel, a Kubernetes Indexed Job)
//! runs a study, and one merge gathers it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Study, differences};
use crate::folder::{self, LockMode, ReportDir, STUDY_FILE};
use crate::plan::Job;
use crate::report::{RunReport, StudyReport};
use crate::run::{gather_runs, heldout_sets, model_file_matches};
use crate::{Error, Result};

/// Shard `index` of `count` (0-based: `0/4` … `3/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, `0 ..= count − 1`.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// The most shards a study may be split into.
    pub const MAX_COUNT: usize = 100_000;

    /// A checked shard.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || count > Self::MAX_COUNT {
            return Err(Error::invalid(
                "shard count",
                count,
                format!("use 1 ..= {}", Self::MAX_COUNT),
            ));
        }
        if index >= count {
            return Err(Error::invalid(
                "shard",
                format!("{index}/{count}"),
                format!("the index is 0-based: use 0 ..= {} of {count}", count - 1),
            ));
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = Error;
    /// Parses `K/N`.
    ///
    /// ```
    /// let s: study::Shard = "2/4".parse()?;
    /// assert_eq!((s.index, s.count), (2, 4));
    /// assert!("4/4".parse::<study::Shard>().is_err());
    /// # Ok::<(), study::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("shard", s, "give K/N, e.g. 0/4 (K counts from 0)");
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Self::new(k, n)
    }
}

impl Study {
    /// The jobs of `shard`, in plan order. Jobs are dealt longest first (by
    /// the registry's cost model, ties in plan order) to the shard with the
    /// least work so far (ties to the lowest index), so every shard does
    /// about the same work and the same plan gives the same partition on
    /// every machine.
    pub fn shard_jobs(&self, shard: Shard) -> Vec<Job> {
        let jobs = self.jobs();
        let iters = self.schedule.iters;
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by(|&a, &b| jobs[b].cost(iters).total_cmp(&jobs[a].cost(iters)));
        let mut load = vec![0.0f64; shard.count];
        let mut mine = Vec::new();
        for i in order {
            let (k, _) = load
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .expect("at least one shard");
            load[k] += jobs[i].cost(iters);
            if k == shard.index {
                mine.push(i);
            }
        }
        mine.sort_unstable();
        mine.into_iter().map(|i| jobs[i]).collect()
    }
}

/// The build that trained a run: the architecture, operating system and C
/// library, and the vector features the code was compiled for (e.g.
/// `x86_64-linux-gnu+sse4.1+avx+avx2+fma`). Results depend on them (the
/// vectorised kernels sum in different orders, and `exp` comes from the
/// platform's libm), so a merge refuses runs of different builds, and a run
/// of another build is trained again on resume.
pub fn build_id() -> String {
    let env = if cfg!(target_env = "gnu") {
        "-gnu"
    } else if cfg!(target_env = "musl") {
        "-musl"
    } else if cfg!(target_env = "msvc") {
        "-msvc"
    } else {
        ""
    };
    let mut s = format!("{}-{}{env}", std::env::consts::ARCH, std::env::consts::OS);
    for (on, name) in [
        (cfg!(target_feature = "sse4.1"), "sse4.1"),
        (cfg!(target_feature = "avx"), "avx"),
        (cfg!(target_feature = "avx2"), "avx2"),
        (cfg!(target_feature = "fma"), "fma"),
        (cfg!(target_feature = "avx512f"), "avx512f"),
        (cfg!(target_feature = "neon"), "neon"),
    ] {
        if on {
            s.push('+');
            s.push_str(name);
        }
    }
    s
}

/// Gathers the run files of one study from `dirs` (the shards' report
/// folders, or one shared folder) into `out`: `study.toml`, `study.json` and
/// `SUMMARY.md`, exactly as a single process would write them.
///
/// Refuses folders that shards are still writing (they hold its lock),
/// folders whose `study.toml` resolves to another study (naming the keys
/// that differ), run files that do not match the plan (naming the run and
/// why: a field of its configuration, its fingerprint, damage), and runs of
/// different builds ([`build_id`]). Unless `allow_partial`, refuses a study
/// with missing runs, naming every one; a partial merge lists them in the
/// report's `missing` and says so in SUMMARY.md. An `out` that holds
/// another study is refused unless `overwrite`. `provenance` (the merging
/// process's) goes into `study.json`; runs made by different builds are
/// listed in its `mixed_provenance`.
pub fn merge(
    dirs: &[PathBuf],
    out: &ReportDir,
    allow_partial: bool,
    overwrite: bool,
    provenance: Option<&provenance::Provenance>,
) -> Result<StudyReport> {
    let Some(first) = dirs.first() else {
        return Err(Error::Merge("give at least one folder to merge".into()));
    };
    let _guard = out.lock(LockMode::Exclusive)?;
    let same = |d: &Path| {
        d.canonicalize()
            .ok()
            .is_some_and(|c| Some(c) == out.path().canonicalize().ok())
    };
    // Held to the end: no shard may start writing a folder being merged.
    // (Each folder once, however it is named.)
    let mut _held = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in dirs.iter().filter(|d| !same(d)) {
        if seen.insert(d.canonicalize().unwrap_or_else(|_| d.to_path_buf()))
            && let Some(file) = folder::lock_existing(d)?
        {
            _held.push(file);
        }
    }
    let study = read_study(first)?;
    crate::run::refuse_adaptive(&study, "merge")?;
    for d in &dirs[1..] {
        let other = read_study(d)?;
        if other != study {
            return Err(Error::Merge(format!(
                "{} holds another study than {} ({})",
                d.display(),
                first.display(),
                differences(&study, &other).join("; ")
            )));
        }
    }
    let jobs = study.jobs();
    // Every run file, read and named by its job.
    let mut read: Vec<(PathBuf, usize, RunReport)> = Vec::new();
    for d in dirs {
        let runs = d.join("runs");
        for path in folder::list(&runs)? {
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            // A run's model file (`--save-models`) goes with its run, below.
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if jobs.iter().any(|j| j.model_file_name() == name) {
                continue;
            }
            let run = RunReport::read(&path).map_err(|e| {
                Error::Merge(format!(
                    "{e}; rerun its shard, or remove it and merge with --allow-partial"
                ))
            })?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let Some(i) = jobs.iter().position(|j| j.file_name() == name) else {
                return Err(Error::Merge(format!(
                    "{}: no job of the study has this name (another study's run?)",
                    path.display()
                )));
            };
            read.push((path, i, run));
        }
    }
    // One build: the first difference is named (before any fingerprint,
    // which covers the build too).
    if let Some((at, _, first)) = read.first()
        && let Some((path, _, run)) = read.iter().find(|(_, _, r)| r.build != first.build)
    {
        return Err(Error::Merge(format!(
            "{} was trained by a build for {}, {} by one for {}: results depend on the CPU \
             features; build every node with the same flags (see README, scale-out)",
            path.display(),
            run.build,
            at.display(),
            first.build
        )));
    }
    let mut found: Vec<Option<RunReport>> = vec![None; jobs.len()];
    // The model file beside each run kept, if there is one.
    let mut models: Vec<Option<PathBuf>> = vec![None; jobs.len()];
    for (path, i, run) in read {
        let problems = run.problems(&jobs[i], &study, &run.build);
        if !problems.is_empty() {
            return Err(Error::Merge(format!(
                "{} does not match the study ({}); rerun its shard into an empty folder, or \
                 remove it and merge with --allow-partial",
                path.display(),
                problems.join("; ")
            )));
        }
        if found[i].is_none() {
            let model = path.with_file_name(jobs[i].model_file_name());
            if model.exists() {
                if !model_file_matches(&model, &run) {
                    return Err(Error::Merge(format!(
                        "{} is not the model of its run file {}; rerun its shard, or remove the \
                         model file",
                        model.display(),
                        path.display()
                    )));
                }
                models[i] = Some(model);
            }
            found[i] = Some(run);
        }
    }
    let missing: Vec<String> = jobs
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(j, _)| format!("{} L={} seed={}", j.variant.label(), j.length, j.seed))
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(Error::Merge(format!(
            "{} of {} runs are missing: {}; rerun their shards, or merge with --allow-partial",
            missing.len(),
            jobs.len(),
            missing.join(", ")
        )));
    }
    let runs: Vec<RunReport> = found.into_iter().flatten().collect();
    if runs.is_empty() {
        return Err(Error::Merge("no run to merge".into()));
    }
    out.prepare_merge(&study, overwrite, provenance)?;
    let report = gather_runs(
        &study,
        runs,
        &heldout_sets(&study)?,
        0,
        &missing,
        provenance,
    );
    for r in &report.runs {
        out.write_json(&format!("runs/{}", r.file_name()), r)?;
    }
    for (job, model) in jobs.iter().zip(&models) {
        let Some(src) = model else { continue };
        let name = job.model_file_name();
        if src.parent().and_then(|p| p.canonicalize().ok()) != out.runs().canonicalize().ok() {
            let bytes = std::fs::read(src).map_err(|e| Error::Folder {
                path: src.clone(),
                problem: format!("cannot read the model file ({e})"),
            })?;
            out.write(&format!("runs/{name}"), &bytes)?;
        }
    }
    out.write_report(&report)?;
    Ok(report)
}

fn read_study(dir: &Path) -> Result<Study> {
    let path = dir.join(STUDY_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::Merge(format!(
            "{}: cannot read it ({e}): not a study's report folder",
            path.display()
        ))
    })?;
    Study::from_toml(&text).map_err(|e| e.context(path.display().to_string()))
}
