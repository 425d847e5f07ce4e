//! `cargo xtask study`: the 8/16/32 study end to end.

pub(crate) mod config;
mod plots;
mod report;
pub(crate) mod runner;
mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use seqdata::{AlternatingSign, Dataset};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use config::{OptimizerKind, StudyConfig, Variant};
use report::{RunReport, SCHEMA, StudyReport, Timing};
use runner::Job;

use crate::atomic;
use crate::models::ModelKind;
use crate::output::emit;

/// Training seeds as given on the command line.
#[derive(Debug, Clone)]
pub struct Seeds(Vec<u64>);

fn parse_seeds(s: &str) -> Result<Seeds, String> {
    config::parse_seeds(s).map(Seeds)
}

/// Arguments of `cargo xtask study`.
#[derive(Args, Debug, Default)]
#[command(
    after_help = "Defaults reproduce the article's study (SPEC §2-3): rnn and dnn at lengths \
8, 16, 32 with the article's hyperparameters, 20,000 iterations, held-out evaluation every 500 \
iterations on 2,000 sequences, 10 seeds. Reports go to reports/<NAME>/: study.json, runs/*.json, \
SUMMARY.md and SVG plots.\n\n--preset long trains rnn, rnn clipped, irnn, gru, lstm and dnn at \
lengths 8..256 over 5 seeds and names each model's breaking length.\n\n--lr-io and --lr-rec take \
comma lists: every model is trained with every combination, and each summary row names its \
settings.\n\nExamples:\n  cargo xtask study\n  cargo xtask study --quick\n  \
cargo xtask study --preset long\n  \
cargo xtask study --models gru --lengths 32 --seeds 3 --lr-io 0.1,0.3 --lr-rec 0.01,0.1 --out search\n  \
cargo xtask study --models rnn --lengths 8,64 --seeds 3 --clip 1 --out clip"
)]
pub struct StudyArgs {
    /// Start from a preset: `article` (the default: the article's study) or `long` (lengths up to
    /// 256, the fixes the article names, 5 seeds)
    #[arg(long, value_enum, default_value_t = Preset::Article)]
    preset: Preset,
    /// Models to train, comma-separated: rnn, dnn, irnn, gru, lstm [default: rnn,dnn]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    models: Option<Vec<ModelKind>>,
    /// Sequence lengths, comma-separated [default: 8,16,32]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    lengths: Option<Vec<usize>>,
    /// Training seeds: a count N (seeds 0..N), a range A..B, or a list A,B,C [default: 10]
    #[arg(long, value_parser = parse_seeds, value_name = "N|A..B|LIST")]
    seeds: Option<Seeds>,
    /// Training iterations per run, one sequence each [default: 20000]
    #[arg(long, value_name = "N")]
    iters: Option<usize>,
    /// Evaluate on the held-out set every N iterations [default: 500]
    #[arg(long, value_name = "N")]
    eval_every: Option<usize>,
    /// Held-out sequences per length [default: 2000]
    #[arg(long, value_name = "N")]
    heldout: Option<usize>,
    /// Seed of the held-out set [default: 20261129]
    #[arg(long, value_name = "SEED")]
    heldout_seed: Option<u64>,
    /// Clip every gradient to this global norm [default: no clipping, as the article]
    #[arg(long, value_name = "C")]
    clip: Option<f64>,
    /// Learning rates of the input/output weights and output bias, comma-separated
    /// [default: 0.1]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    lr_io: Option<Vec<f64>>,
    /// Learning rates of the recurrent weights and hidden biases, comma-separated
    /// [default: 0.001; the dnn has none and uses --lr-io everywhere]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    lr_rec: Option<Vec<f64>>,
    /// Optimiser [default: sgd, the article's]
    #[arg(long, value_enum, value_name = "NAME")]
    optimizer: Option<OptimizerKind>,
    /// Report name: reports go to reports/NAME/ (a value with a '/' is used as a folder path)
    /// [default: study, or long with --preset long]
    #[arg(long, value_name = "NAME")]
    out: Option<String>,
    /// Worker threads [default: the number of cores]; results do not depend on it
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Finish an interrupted study: keep the runs already in reports/NAME/runs/ and train only
    /// the missing ones (the flags must give the same configuration)
    #[arg(long)]
    resume: bool,
    /// A smoke configuration that finishes in seconds: 2 seeds, 1,000 iterations, evaluation
    /// every 250 on 256 held-out sequences (other flags still override it)
    #[arg(long)]
    quick: bool,
}

impl StudyArgs {
    /// The configuration these arguments ask for (not yet checked).
    pub fn config(&self) -> StudyConfig {
        let mut c = match (self.preset, self.quick) {
            (Preset::Long, false) => StudyConfig::long(),
            (Preset::Long, true) => {
                let long = StudyConfig::long();
                StudyConfig {
                    preset: "long+quick".into(),
                    lengths: vec![8, 64],
                    variants: long.variants,
                    models: long.models,
                    ..StudyConfig::quick()
                }
            }
            (Preset::Article, false) => StudyConfig::article(),
            (Preset::Article, true) => StudyConfig::quick(),
        };
        if self.models.is_some()
            || self.lr_io.is_some()
            || self.lr_rec.is_some()
            || self.optimizer.is_some()
        {
            let mut models = self.models.clone().unwrap_or_else(|| c.models.clone());
            let mut seen = Vec::new();
            models.retain(|m| {
                let new = !seen.contains(m);
                seen.push(*m);
                new
            });
            c.variants = variants_from_flags(
                &models,
                self.lr_io.as_deref(),
                self.lr_rec.as_deref(),
                self.optimizer.unwrap_or_default(),
            );
            c.models = models;
        }
        if let Some(l) = &self.lengths {
            c.lengths = l.clone();
        }
        if let Some(s) = &self.seeds {
            c.seeds = s.0.clone();
        }
        c.iters = self.iters.unwrap_or(c.iters);
        c.eval_every = self.eval_every.unwrap_or(c.eval_every);
        c.heldout = self.heldout.unwrap_or(c.heldout);
        c.heldout_seed = self.heldout_seed.unwrap_or(c.heldout_seed);
        if let Some(clip) = self.clip {
            c.clip = Some(clip);
            for v in &mut c.variants {
                v.clip = Some(clip);
            }
        }
        c
    }
}

/// The study's starting points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Preset {
    /// The article's study (rnn and dnn at 8, 16, 32 over 10 seeds).
    #[default]
    Article,
    /// The long study (rnn, rnn clipped, irnn, gru, lstm, dnn at 8 … 256 over 5 seeds).
    Long,
}

/// Every combination of model × `lr_io` × `lr_rec` (each model's article
/// rate where a list is not given; the dnn, having no recurrent part, takes
/// `lr_io` for both and is not repeated over `lr_rec`).
fn variants_from_flags(
    models: &[ModelKind],
    lr_io: Option<&[f64]>,
    lr_rec: Option<&[f64]>,
    optimizer: OptimizerKind,
) -> Vec<Variant> {
    let mut out = Vec::new();
    for &model in models {
        let a = Variant::article(model);
        let ios = lr_io.map_or_else(|| vec![a.lr_io], <[f64]>::to_vec);
        let recs = lr_rec.map_or_else(|| vec![a.lr_rec], <[f64]>::to_vec);
        for &io in &ios {
            if model == ModelKind::Dnn {
                out.push(Variant {
                    optimizer,
                    lr_io: io,
                    lr_rec: io,
                    ..a
                });
                continue;
            }
            for &rec in &recs {
                out.push(Variant {
                    optimizer,
                    lr_io: io,
                    lr_rec: rec,
                    ..a
                });
            }
        }
    }
    out
}

/// Where the reports of `--out` go.
fn out_dir(out: &str) -> Result<PathBuf> {
    if out.trim().is_empty() {
        bail!("--out is empty: give a report name such as `study`");
    }
    if out.contains('/') || out.contains(std::path::MAIN_SEPARATOR) {
        Ok(PathBuf::from(out))
    } else if out == "." || out == ".." {
        bail!("--out {out} is not a report name: give a name such as `study`");
    } else {
        Ok(crate::workspace_root().join("reports").join(out))
    }
}

/// Creates the output folders and proves they can be written, before any
/// computation.
fn prepare_out_dir(dir: &Path, keep_runs: bool) -> Result<()> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).with_context(|| {
        format!(
            "--out: cannot create {}: choose a writable location",
            runs.display()
        )
    })?;
    let probe = dir.join(".write-probe");
    atomic::write(&probe, b"ok")
        .with_context(|| format!("--out: {} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    if keep_runs {
        return Ok(());
    }
    // Reports of an earlier study with this name would mix with this one's.
    for entry in std::fs::read_dir(&runs)?.flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// The configuration of the study in a report folder, written before any
/// run starts, so `--resume` can tell whether it is the same study.
const CONFIG_FILE: &str = "config.json";

/// Refuses to resume unless the folder holds a study with exactly this
/// configuration; the error names what differs.
fn check_resume(config_file: &Path, config: &StudyConfig, out: &str) -> Result<()> {
    let text = std::fs::read_to_string(config_file).with_context(|| {
        format!(
            "--resume: no interrupted study to resume ({} is missing); run without --resume",
            config_file.display()
        )
    })?;
    let old: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "--resume: {} is not valid JSON; run without --resume to start again",
            config_file.display()
        )
    })?;
    let new = serde_json::to_value(config)?;
    if old != new {
        let (o, n) = (old.as_object(), new.as_object());
        let differ: Vec<String> = match (o, n) {
            (Some(o), Some(n)) => n
                .iter()
                .filter(|(k, v)| o.get(*k) != Some(*v))
                .map(|(k, v)| {
                    format!(
                        "{k}: was {}, now {v}",
                        o.get(k).map_or("missing".to_string(), |x| x.to_string())
                    )
                })
                .collect(),
            _ => vec!["the whole configuration".into()],
        };
        bail!(
            "--resume: the flags give a different study than the one in reports/{out} ({}); \
give the same flags, or a new --out",
            differ.join("; ")
        );
    }
    Ok(())
}

/// Runs already finished in `runs_dir` that belong to `jobs`, by job.
fn finished_runs(runs_dir: &Path, jobs: &[Job]) -> Vec<Option<RunReport>> {
    jobs.iter()
        .map(|job| {
            let label = job.variant.label();
            let path = runs_dir.join(report::run_file_name(&label, job.length, job.seed));
            let text = std::fs::read_to_string(path).ok()?;
            let r: RunReport = serde_json::from_str(&text).ok()?;
            (r.variant == label && r.length == job.length && r.seed == job.seed).then_some(r)
        })
        .collect()
}

/// Runs `cargo xtask study`.
pub fn run(args: StudyArgs) -> Result<()> {
    let config = args.config();
    config.check()?;
    let threads = match args.threads {
        Some(0) => bail!("--threads 0 is out of range: use 1 or more"),
        Some(t) if t > 1024 => bail!("--threads {t} is out of range: use 1 ..= 1024"),
        Some(t) => t,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let out = args.out.clone().unwrap_or_else(|| match args.preset {
        Preset::Article => "study".into(),
        Preset::Long => "long".into(),
    });
    let dir = out_dir(&out)?;
    let config_file = dir.join(CONFIG_FILE);
    if args.resume {
        check_resume(&config_file, &config, &out)?;
    }
    prepare_out_dir(&dir, args.resume)?;
    atomic::write_json(&config_file, &config)?;

    let started = Instant::now();
    let report = execute(&config, threads, &dir, true)?;
    let total = started.elapsed().as_secs_f64();
    let report = StudyReport {
        timing: Timing {
            total_wall_s: total,
            ..report.timing
        },
        ..report
    };
    write_outputs(&report, &dir)?;
    let mut text = summary::text_table(&report);
    for line in &report.verdict {
        text.push_str(&format!("- {line}\n"));
    }
    text.push_str(&format!(
        "\n{} runs in {:.1} s on {} threads; reports in {}\n",
        report.runs.len(),
        total,
        threads,
        dir.display()
    ));
    emit(&text)
}

/// Trains every run of `config` on `threads` workers and gathers the report
/// (everything but plots and files). Each finished run is written to
/// `dir/runs/` at once.
pub fn execute(
    config: &StudyConfig,
    threads: usize,
    dir: &Path,
    show_progress: bool,
) -> Result<StudyReport> {
    let mut heldout: BTreeMap<usize, Arc<Dataset>> = BTreeMap::new();
    for &l in &config.lengths {
        let task = AlternatingSign::new(l)?;
        heldout.insert(
            l,
            Arc::new(task.heldout(config.heldout, config.heldout_seed)?),
        );
    }
    let mut jobs: Vec<Job> = Vec::new();
    for &variant in &config.variants {
        for &length in &config.lengths {
            for &seed in &config.seeds {
                jobs.push(Job {
                    variant,
                    length,
                    seed,
                });
            }
        }
    }
    // Longest first, so the cores stay busy to the end.
    // Runs a resumed study already has (none in a fresh study: its runs/
    // folder was emptied).
    let runs_dir = dir.join("runs");
    let done = finished_runs(&runs_dir, &jobs);
    let mut schedule: Vec<Job> = jobs
        .iter()
        .zip(&done)
        .filter(|(_, d)| d.is_none())
        .map(|(j, _)| *j)
        .collect();
    schedule.sort_by_key(|j| std::cmp::Reverse(j.cost(config.hidden)));

    let bar = if show_progress {
        ProgressBar::new((schedule.len() * config.iters) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} (eta {eta})",
        )
        .expect("valid template"),
    );
    bar.set_message(format!(
        "{} runs{}",
        schedule.len(),
        if schedule.len() < jobs.len() {
            format!(" ({} already done)", jobs.len() - schedule.len())
        } else {
            String::new()
        }
    ));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    // A queue, longest run first: each worker takes the next run when it is
    // free, so the cores stay busy to the end (rayon's splitting of a sorted
    // list left one core idle with the long runs queued behind the other).
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<RunReport>>>> =
        schedule.iter().map(|_| Mutex::new(None)).collect();
    pool.broadcast(|_| {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&job) = schedule.get(i) else { break };
            let progress = |n: u64| bar.inc(n);
            let r = runner::run(job, config, &heldout[&job.length], &progress)
                .with_context(|| {
                    format!(
                        "run {} L={} seed={}",
                        job.variant.label(),
                        job.length,
                        job.seed
                    )
                })
                .and_then(|r| {
                    atomic::write_json(&runs_dir.join(r.file_name()), &r)?;
                    Ok(r)
                });
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    });
    let results: Vec<Result<RunReport>> = slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Err(anyhow::anyhow!("a run was not started")))
        })
        .collect();
    bar.finish_and_clear();
    let mut runs = results.into_iter().collect::<Result<Vec<_>>>()?;
    runs.extend(done.into_iter().flatten());
    let labels = config.labels();
    let variant_rank = |v: &str| labels.iter().position(|x| x == v);
    let length_rank = |l: usize| config.lengths.iter().position(|&x| x == l);
    let seed_rank = |s: u64| config.seeds.iter().position(|&x| x == s);
    runs.sort_by_key(|r| {
        (
            variant_rank(&r.variant),
            length_rank(r.length),
            seed_rank(r.seed),
        )
    });

    let mut summary = Vec::new();
    for variant in &config.variants {
        let label = variant.label();
        for &length in &config.lengths {
            let rs: Vec<&RunReport> = runs
                .iter()
                .filter(|r| r.variant == label && r.length == length)
                .collect();
            let baseline = nncore::majority_baseline(heldout[&length].labels());
            summary.push(report::summarise(variant, length, &rs, baseline));
        }
    }
    let verdict = summary::verdict(config, &summary);
    let timing = Timing {
        total_wall_s: 0.0,
        train_s: runs.iter().map(|r| r.wall_s).sum(),
        eval_s: runs.iter().map(|r| r.eval_s).sum(),
        threads,
    };
    Ok(StudyReport {
        schema: SCHEMA.to_string(),
        config: config.clone(),
        runs,
        summary,
        verdict,
        timing,
    })
}

/// Writes `study.json`, `SUMMARY.md` and the plots.
fn write_outputs(report: &StudyReport, dir: &Path) -> Result<()> {
    for (name, svg) in plots::all(report)? {
        atomic::write(&dir.join(name), svg.as_bytes())?;
    }
    atomic::write(
        &dir.join("SUMMARY.md"),
        summary::markdown(report).as_bytes(),
    )?;
    atomic::write_json(&dir.join("study.json"), report)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> StudyConfig {
        StudyConfig {
            lengths: vec![4, 6],
            seeds: vec![3, 4],
            iters: 60,
            eval_every: 20,
            heldout: 50,
            hidden: 8,
            ..StudyConfig::article()
        }
    }

    fn strip_timing(mut r: StudyReport) -> StudyReport {
        for run in &mut r.runs {
            run.wall_s = 0.0;
            run.eval_s = 0.0;
        }
        for s in &mut r.summary {
            s.wall_s_mean = 0.0;
        }
        r.timing = Timing {
            total_wall_s: 0.0,
            train_s: 0.0,
            eval_s: 0.0,
            threads: 0,
        };
        r
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        for d in [&d1, &d2] {
            prepare_out_dir(d.path(), false).unwrap();
        }
        let a = execute(&tiny(), 1, d1.path(), false).unwrap();
        let b = execute(&tiny(), 2, d2.path(), false).unwrap();
        assert_eq!(strip_timing(a.clone()), strip_timing(b));
        // Shape of the report: SPEC §3.
        assert_eq!(a.runs.len(), 2 * 2 * 2);
        assert!(a.runs.iter().all(|r| r.curve.len() == 3));
        assert!(
            a.runs
                .iter()
                .all(|r| r.final_metrics.per_position_acc.len() == r.length)
        );
        assert_eq!(a.summary.len(), 4);
        assert_eq!(
            std::fs::read_dir(d1.path().join("runs")).unwrap().count(),
            8
        );
    }

    #[test]
    fn a_resumed_study_equals_an_uninterrupted_one() {
        let d = tempfile::tempdir().unwrap();
        prepare_out_dir(d.path(), false).unwrap();
        let full = execute(&tiny(), 2, d.path(), false).unwrap();
        // Interrupt: half the runs never finished.
        let runs = d.path().join("runs");
        let mut files: Vec<_> = std::fs::read_dir(&runs)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files.iter().step_by(2) {
            std::fs::remove_file(f).unwrap();
        }
        // A half-written temporary file from the crash is ignored.
        std::fs::write(runs.join(".tmp-crash"), b"{\"trunc").unwrap();
        prepare_out_dir(d.path(), true).unwrap();
        let resumed = execute(&tiny(), 1, d.path(), false).unwrap();
        assert_eq!(strip_timing(full), strip_timing(resumed));
    }

    #[test]
    fn resume_refuses_another_configuration() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(CONFIG_FILE);
        let e = check_resume(&f, &tiny(), "x").unwrap_err().to_string();
        assert!(e.contains("no interrupted study"), "{e}");
        atomic::write_json(&f, &tiny()).unwrap();
        check_resume(&f, &tiny(), "x").unwrap();
        let other = StudyConfig {
            iters: 80,
            ..tiny()
        };
        let e = check_resume(&f, &other, "x").unwrap_err().to_string();
        assert!(e.contains("iters: was 60, now 80"), "{e}");
    }

    #[test]
    fn out_names_and_paths() {
        assert!(out_dir("study").unwrap().ends_with("reports/study"));
        assert_eq!(out_dir("/tmp/x").unwrap(), PathBuf::from("/tmp/x"));
        assert!(out_dir("").is_err());
        assert!(out_dir("..").is_err());
        let e = prepare_out_dir(Path::new("/proc/rnnstudy-cannot-write"), false).unwrap_err();
        assert!(format!("{e:#}").contains("--out"), "{e:#}");
    }
}
