//! `cargo xtask study`: the 8/16/32 study end to end.

mod config;
mod plots;
mod report;
mod runner;
mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use seqdata::{AlternatingSign, Dataset};

pub use config::StudyConfig;
use report::{RunReport, SCHEMA, StudyReport, Timing};
use runner::Job;

use crate::atomic;
use crate::models::ModelKind;

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
SUMMARY.md and SVG plots.\n\nExamples:\n  cargo xtask study\n  cargo xtask study --quick\n  \
cargo xtask study --models rnn --lengths 8,64 --seeds 3 --clip 1 --out clip"
)]
pub struct StudyArgs {
    /// Models to train, comma-separated [default: rnn,dnn]
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
    /// Report name: reports go to reports/NAME/ (a value with a '/' is used as a folder path)
    #[arg(long, value_name = "NAME", default_value = "study")]
    out: String,
    /// Worker threads [default: the number of cores]; results do not depend on it
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// A smoke configuration that finishes in seconds: 2 seeds, 1,000 iterations, evaluation
    /// every 250 on 256 held-out sequences (other flags still override it)
    #[arg(long)]
    quick: bool,
}

impl StudyArgs {
    /// The configuration these arguments ask for (not yet checked).
    pub fn config(&self) -> StudyConfig {
        let mut c = if self.quick {
            StudyConfig::quick()
        } else {
            StudyConfig::article()
        };
        if let Some(m) = &self.models {
            let mut m = m.clone();
            m.dedup();
            c.learning_rates = config::rates_for(&m);
            c.models = m;
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
        c.clip = self.clip.or(c.clip);
        c
    }
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
fn prepare_out_dir(dir: &Path) -> Result<()> {
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
    // Reports of an earlier study with this name would mix with this one's.
    for entry in std::fs::read_dir(&runs)?.flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
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
    let dir = out_dir(&args.out)?;
    prepare_out_dir(&dir)?;

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
    println!("{}", summary::text_table(&report));
    for line in &report.verdict {
        println!("- {line}");
    }
    println!(
        "\n{} runs in {:.1} s on {} threads; reports in {}",
        report.runs.len(),
        total,
        threads,
        dir.display()
    );
    Ok(())
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
    for &model in &config.models {
        for &length in &config.lengths {
            for &seed in &config.seeds {
                jobs.push(Job {
                    model,
                    length,
                    seed,
                });
            }
        }
    }
    // Longest first, so the cores stay busy to the end.
    let mut schedule = jobs.clone();
    schedule.sort_by_key(|j| std::cmp::Reverse(j.cost(config.hidden)));

    let bar = if show_progress {
        ProgressBar::new((jobs.len() * config.iters) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} (eta {eta})",
        )
        .expect("valid template"),
    );
    bar.set_message(format!("{} runs", jobs.len()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let runs_dir = dir.join("runs");
    let results: Vec<Result<RunReport>> = pool.install(|| {
        schedule
            .par_iter()
            // One job per split: runs differ in cost by 100x, so let idle
            // threads steal single runs, not whole chunks of them.
            .with_max_len(1)
            .map(|&job| {
                let progress = |n: u64| bar.inc(n);
                let r = runner::run(job, config, &heldout[&job.length], &progress).with_context(
                    || format!("run {} L={} seed={}", job.model, job.length, job.seed),
                )?;
                atomic::write_json(&runs_dir.join(r.file_name()), &r)?;
                Ok(r)
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut runs = results.into_iter().collect::<Result<Vec<_>>>()?;
    let model_rank = |m: ModelKind| config.models.iter().position(|&x| x == m);
    let length_rank = |l: usize| config.lengths.iter().position(|&x| x == l);
    let seed_rank = |s: u64| config.seeds.iter().position(|&x| x == s);
    runs.sort_by_key(|r| {
        (
            model_rank(r.model),
            length_rank(r.length),
            seed_rank(r.seed),
        )
    });

    let mut summary = Vec::new();
    for &model in &config.models {
        for &length in &config.lengths {
            let rs: Vec<&RunReport> = runs
                .iter()
                .filter(|r| r.model == model && r.length == length)
                .collect();
            let baseline = nncore::majority_baseline(heldout[&length].labels());
            summary.push(report::summarise(model, length, &rs, baseline));
        }
    }
    let verdict = summary::verdict(&summary);
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
            prepare_out_dir(d.path()).unwrap();
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
    fn out_names_and_paths() {
        assert!(out_dir("study").unwrap().ends_with("reports/study"));
        assert_eq!(out_dir("/tmp/x").unwrap(), PathBuf::from("/tmp/x"));
        assert!(out_dir("").is_err());
        assert!(out_dir("..").is_err());
        let e = prepare_out_dir(Path::new("/proc/rnnstudy-cannot-write")).unwrap_err();
        assert!(format!("{e:#}").contains("--out"), "{e:#}");
    }
}
