//! `cargo xtask study`: a study from a shipped preset or a study file, with
//! flags overriding its values, run by the `study` crate; then the plots.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use models::ModelKind;
use nncore::{ClipNorm, OptimizerKind, Precision};
use study::{LockMode, Mismatched, ReportDir, RunOptions, Study, Variant};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask study`.
#[derive(Args, Debug)]
#[command(
    after_help = "A study is a file: the presets are the shipped studies/article.toml (the \
default) and studies/long.toml, and --config reads any study file (docs/SPEC.md §3 lists its \
keys; studies/article.toml shows every default). Flags override the file's values; \
--print-config prints the resolved study without running it. The report folder keeps the \
resolved study as study.toml, and `--config reports/NAME/study.toml` replays it exactly.\n\n\
--until-ci W adds seeds to each cell until its 95% interval is at most ±W (up to --max-seeds); \
--search breaking-length searches each variant's breaking length from the one length given, \
doubling and then bisecting (docs/SPEC.md §3, \"Adaptive studies\"). Both are decided from the \
finished runs, so an interrupted study resumes where it stopped.\n\n\
Reports go to reports/<NAME>/: study.json, runs/*.json (one per run, written as it finishes), \
SUMMARY.md and SVG plots. --save-models also keeps each run's trained model as a model file, \
runs/<run>.model.json, which `cargo xtask eval --load`, `predict` and `export` read.\n\n\
--models, --lr-io, --lr-rec and --optimizer replace the file's variants by every combination of \
model × lr_io × lr_rec (each model's article rate where a list is not given; the dnn has no \
recurrent group and takes --lr-io everywhere). --hidden, --clip and --precision apply to every \
variant.\n\n\
Examples:\n  cargo xtask study\n  cargo xtask study --quick\n  \
cargo xtask study --preset long\n  \
cargo xtask study --config studies/long.toml --seeds 1 --lengths 8,32 --iters 2000\n  \
cargo xtask study --models gru --lengths 32 --seeds 3 --lr-io 0.1,0.3 --lr-rec 0.01,0.1 --out search\n  \
cargo xtask study --models rnn --lengths 8,64 --seeds 3 --clip 1 --out clip\n  \
cargo xtask study --until-ci 0.03 --out article-ci\n  \
cargo xtask study --models rnn,lru --optimizer adam --lr-io 0.003 --lr-rec 0.003 --clip 1 \
--search breaking-length --max-length 256 --out breaking\n  \
cargo xtask study --quick --save-models --out quick"
)]
pub struct StudyArgs {
    /// A study file (TOML); see studies/*.toml
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    config: Option<std::path::PathBuf>,
    /// A shipped study: `article` (the default), `long` (lengths up to 256, the fixes the
    /// article names, 5 seeds) or `gateless` (each gate-less cell's breaking length, searched up
    /// to L = 1,024)
    #[arg(long, value_name = "NAME", value_parser = study::PRESETS.iter().map(|p| p.0).collect::<Vec<_>>())]
    preset: Option<String>,
    /// Models to train, comma-separated [default: the study's]
    #[arg(long, value_parser = cli::kind_parser(), value_delimiter = ',', value_name = "LIST")]
    models: Option<Vec<ModelKind>>,
    /// Hidden units of every variant [default: the study's, 100]
    #[arg(long, value_name = "H")]
    hidden: Option<usize>,
    /// Sequence lengths, comma-separated [default: the study's, 8,16,32]
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    lengths: Option<Vec<usize>>,
    /// Training seeds: a count N (seeds 0..N), a range A..B, or a list A,B,C [default: 10]
    #[arg(long, value_parser = parse_seeds, value_name = "N|A..B|LIST")]
    seeds: Option<Seeds>,
    /// Training iterations per run, one sequence each [default: 20000]
    #[arg(long, value_name = "N")]
    iters: Option<usize>,
    /// Evaluate on the held-out set every N iterations [default: 500, or --iters if fewer]
    #[arg(long, value_name = "N")]
    eval_every: Option<usize>,
    /// Held-out sequences per length [default: 2000]
    #[arg(long, value_name = "N")]
    heldout: Option<usize>,
    /// Seed of the held-out set [default: 20261129]
    #[arg(long, value_name = "SEED")]
    heldout_seed: Option<u64>,
    /// Clip every variant's gradient to this global norm [default: the study's; the article
    /// does not clip]
    #[arg(long, value_name = "C", allow_negative_numbers = true)]
    clip: Option<ClipNorm>,
    /// Learning rates of the input/output weights and output bias, comma-separated
    /// [default: each model's article rate, 0.1]
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        allow_negative_numbers = true
    )]
    lr_io: Option<Vec<f64>>,
    /// Learning rates of the recurrent weights and hidden biases, comma-separated
    /// [default: each model's article rate, 0.001]
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        allow_negative_numbers = true
    )]
    lr_rec: Option<Vec<f64>>,
    /// Optimiser of every variant [default: sgd, the article's]
    #[arg(long, value_parser = cli::optimizer_parser(), value_name = "NAME")]
    optimizer: Option<OptimizerKind>,
    /// Precision every variant computes in [default: the study's: f64 for the article's, f32 for
    /// --preset long]
    #[arg(long, value_parser = cli::precision_parser(), value_name = "P")]
    precision: Option<Precision>,
    /// Report name: reports go to reports/NAME/ (a value with a '/' is a folder path)
    /// [default: study for the article's study, else the study's name]
    #[arg(long, value_name = "NAME")]
    out: Option<String>,
    /// Worker threads [default: the number of cores]; results do not depend on it
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Finish an interrupted study, and fail if the folder holds none. (The same study into its
    /// own folder always resumes: the runs already in reports/NAME/runs/ that match the plan are
    /// kept, and only the others are trained.)
    #[arg(long)]
    resume: bool,
    /// Replace another study held in the report folder (its runs, report and plots); without
    /// it, such a folder is refused, naming what differs
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// What to do with run files in runs/ that do not match the plan (another configuration,
    /// another build, a damaged file): name them and train them again, or name them and stop
    #[arg(long, value_name = "WHAT", default_value = "retrain", value_parser = cli::mismatched_parser())]
    mismatched: Mismatched,
    /// A smoke run that finishes in seconds: 2 seeds, 1,000 iterations, evaluation every 250
    /// on 256 held-out sequences (lengths 8,64 for a study with lengths above 32; other flags
    /// still override)
    #[arg(long)]
    quick: bool,
    /// Print the resolved study (TOML) and exit without training
    #[arg(long)]
    print_config: bool,
    /// Run only shard K of N (K = 0 … N−1) of the study's job plan, e.g. on a Slurm array
    /// (`--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`); its runs go to the folder's
    /// runs/ and `cargo xtask merge` gathers the shards
    #[arg(long, value_name = "K/N", conflicts_with_all = ["resume", "print_config", "overwrite"])]
    shard: Option<study::Shard>,
    /// Add seeds to every cell (variant × length) until the 95% t-interval of its mean held-out
    /// accuracy is at most ±W, or it has --max-seeds; in a search, also while a probe's interval
    /// straddles the threshold [default: the study's; none: the seeds given]
    #[arg(long, value_name = "W", conflicts_with = "shard")]
    until_ci: Option<f64>,
    /// The most seeds a cell gets when seeds are added [default: the study's, or 100 with
    /// --until-ci]
    #[arg(long, value_name = "N")]
    max_seeds: Option<usize>,
    /// Search each variant's breaking length instead of training the lengths given: start at the
    /// (one) length, double while the mean held-out accuracy holds at --threshold, then bisect
    /// between the last pass and the first fail to --resolution, up to --max-length
    #[arg(long, value_name = "KIND", value_parser = ["breaking-length"], conflicts_with = "shard")]
    search: Option<String>,
    /// The search's pass line for the mean held-out accuracy [default: the study's, 0.90]
    #[arg(long, value_name = "ACC")]
    threshold: Option<f64>,
    /// Stop bisecting when pass and fail are this fraction of the length apart [default: the
    /// study's, 0.10]
    #[arg(long, value_name = "FRACTION")]
    resolution: Option<f64>,
    /// The search's longest length [default: the study's, 1024]
    #[arg(long, value_name = "L")]
    max_length: Option<usize>,
    /// Keep every run's trained model: runs/<run>.model.json beside runs/<run>.json, a model
    /// file that `cargo xtask eval --load` reproduces the run's metrics from (a diverged run has
    /// none). Finished runs without one are trained again (to the same bits) to write it
    #[arg(long)]
    save_models: bool,
}

/// Training seeds as given on the command line.
#[derive(Debug, Clone)]
pub struct Seeds(Vec<u64>);

fn parse_seeds(s: &str) -> Result<Seeds, String> {
    study::parse_seeds(s).map(Seeds).map_err(|e| e.to_string())
}

impl StudyArgs {
    /// The study these arguments ask for: the file or preset, then the
    /// flags; checked.
    pub fn study(&self) -> Result<Study> {
        let mut s = match &self.config {
            Some(path) => {
                let bytes = seqdata::io::read_limited(path, "study file")?;
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("study file {} is not UTF-8", path.display()))?;
                Study::from_toml(&text).with_context(|| format!("--config {}", path.display()))?
            }
            None => Study::preset(self.preset.as_deref().unwrap_or("article"))?,
        };
        if self.quick {
            s.name = format!("{}-quick", s.name);
            s.seeds = vec![0, 1];
            s.max_seeds = s.max_seeds.map(|m| m.min(4));
            s.schedule.iters = 1_000;
            s.schedule.eval_every = 250;
            s.heldout = 256;
            match &mut s.search {
                Some(search) => search.max_length = search.max_length.min(64),
                None if s.lengths.iter().any(|&l| l > 32) => s.lengths = vec![8, 64],
                None => {}
            }
        }
        if self.models.is_some()
            || self.lr_io.is_some()
            || self.lr_rec.is_some()
            || self.optimizer.is_some()
        {
            let models = self.models.clone().unwrap_or_else(|| s.models());
            // The grid keeps the file's precision where all its variants share one.
            let precision = s.variants[0].precision;
            let shared = s.variants.iter().all(|v| v.precision == precision);
            s.variants = Variant::grid(
                &models,
                self.optimizer.unwrap_or_default(),
                self.lr_io.as_deref(),
                self.lr_rec.as_deref(),
            );
            if shared {
                s.variants.iter_mut().for_each(|v| v.precision = precision);
            }
        }
        for v in &mut s.variants {
            if let Some(h) = self.hidden {
                v.hidden = h;
            }
            if let Some(c) = self.clip {
                v.clip = Some(c);
            }
            if let Some(p) = self.precision {
                v.precision = p;
            }
        }
        s.dedup_variants();
        if let Some(l) = &self.lengths {
            s.lengths = l.clone();
        }
        if let Some(seeds) = &self.seeds {
            s.seeds = seeds.0.clone();
        }
        if let Some(iters) = self.iters {
            s.schedule.iters = iters;
            // A shorter run than the file's evaluation interval: evaluate at
            // its end rather than blame an interval the user never gave.
            if self.eval_every.is_none() && s.schedule.eval_every > iters {
                s.schedule.eval_every = iters;
            }
        }
        if let Some(e) = self.eval_every {
            s.schedule.eval_every = e;
        }
        if let Some(h) = self.heldout {
            s.heldout = h;
        }
        if let Some(h) = self.heldout_seed {
            s.heldout_seed = h;
        }
        if let Some(w) = self.until_ci {
            s.until_ci = Some(w);
        }
        if let Some(m) = self.max_seeds {
            s.max_seeds = Some(m);
        }
        if self.search.is_some() && s.search.is_none() {
            s.search = Some(study::Search::breaking_length());
            // The search starts at the study's shortest length unless
            // --lengths gives one.
            if self.lengths.is_none()
                && let Some(&l) = s.lengths.iter().min()
            {
                s.lengths = vec![l];
            }
        }
        let tuning = [
            ("--threshold", self.threshold.is_some()),
            ("--resolution", self.resolution.is_some()),
            ("--max-length", self.max_length.is_some()),
        ];
        match &mut s.search {
            Some(search) => {
                if let Some(t) = self.threshold {
                    search.threshold = t;
                }
                if let Some(r) = self.resolution {
                    search.resolution = r;
                }
                if let Some(l) = self.max_length {
                    search.max_length = l;
                }
            }
            None => {
                if let Some((flag, _)) = tuning.iter().find(|(_, given)| *given) {
                    anyhow::bail!(
                        "{flag} sets the breaking-length search, which this study does not run: \
                         add --search breaking-length"
                    );
                }
            }
        }
        s.check()?;
        Ok(s)
    }
}

/// Runs `cargo xtask study`.
pub fn run(args: StudyArgs) -> Result<()> {
    let study = args.study()?;
    if args.print_config {
        return emit(&study.to_toml());
    }
    let threads = args.threads.unwrap_or(RunOptions::default().threads);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| match study.name.as_str() {
            "article" => "study".into(),
            name => name.into(),
        });
    let dir = ReportDir::new(cli::report_dir(&out)?);
    // Held until the plots are written: no other process writes the folder
    // meanwhile (shards share it).
    let _lock = dir.lock(match args.shard {
        Some(_) => LockMode::Shared,
        None => LockMode::Exclusive,
    })?;
    let jobs = match args.shard {
        Some(shard) => study.shard_jobs(shard).len(),
        None => study.jobs().len(),
    };
    let bar = cli::progress_bar(
        (jobs * study.schedule.iters) as u64,
        format!("{jobs} runs of study `{}`", study.name),
    );
    let progress = |n: u64| bar.inc(n);
    let notice = |line: &str| bar.suspend(|| eprintln!("note: {line}"));
    let planned = |iters: u64, line: &str| {
        bar.inc_length(iters);
        if !line.is_empty() {
            bar.suspend(|| eprintln!("note: {line}"));
        }
    };
    let options = RunOptions {
        threads,
        resume: args.resume,
        overwrite: args.overwrite,
        mismatched: args.mismatched,
        progress: &progress,
        planned: &planned,
        notice: &notice,
        provenance: Some(cli::provenance()),
        stop: Some(cli::stop_flag()),
        save_models: args.save_models,
    };
    let started = Instant::now();
    if let Some(shard) = args.shard {
        let result = study::run_shard(&study, &dir, shard, &options);
        bar.finish_and_clear();
        let runs = result?;
        return emit(&format!(
            "shard {shard}: {} runs of study `{}` in {:.1} s, in {}; gather the shards with \
             `cargo xtask merge FOLDER…`\n",
            runs.len(),
            study.name,
            started.elapsed().as_secs_f64(),
            dir.runs().display()
        ));
    }
    let result = study::run(&study, &dir, &options);
    bar.finish_and_clear();
    let report = result?;
    crate::report::write_plots(&report, &dir)?;
    crate::report::finish(&dir)?;
    emit(&format!(
        "{}\n{} runs in {:.1} s on {threads} threads; reports in {}\n",
        study::summary::text_report(&report),
        report.runs.len(),
        started.elapsed().as_secs_f64(),
        dir.path().display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: StudyArgs,
    }

    fn study(flags: &str) -> Result<Study> {
        let argv = std::iter::once("study").chain(flags.split_whitespace());
        Cli::try_parse_from(argv)?.args.study()
    }

    #[test]
    fn flags_override_the_preset() {
        let s = study("--seeds 3 --lengths 8 --iters 100 --hidden 16").unwrap();
        assert_eq!(s.seeds, [0, 1, 2]);
        assert_eq!(s.lengths, [8]);
        // --iters below the file's interval: evaluated at the end.
        assert_eq!((s.schedule.iters, s.schedule.eval_every), (100, 100));
        assert!(s.variants.iter().all(|v| v.hidden == 16));
        assert_eq!(s.labels(), ["rnn h16", "dnn h16"]);
    }

    #[test]
    fn rate_lists_make_every_combination() {
        let s = study("--models rnn,dnn --lr-io 0.1,0.3 --lr-rec 0.01,0.1").unwrap();
        assert_eq!(
            s.labels(),
            [
                "rnn lr 0.1/0.01",
                "rnn lr 0.1/0.1",
                "rnn lr 0.3/0.01",
                "rnn lr 0.3/0.1",
                "dnn",
                "dnn lr 0.3"
            ]
        );
        let s = study("--optimizer adam --models gru").unwrap();
        assert_eq!(s.labels(), ["gru adam"]);
    }

    /// `--preset long --clip C` made `rnn` and `rnn clip 1` the same label
    /// and failed; now the repeat is one variant.
    #[test]
    fn the_long_preset_is_f32_unless_told() {
        let s = study("--preset long --models rnn,lstm").unwrap();
        assert_eq!(s.labels(), ["rnn f32", "lstm f32"]);
        let s = study("--preset long --precision f64").unwrap();
        assert!(
            s.labels().iter().all(|l| !l.ends_with("f32")),
            "{:?}",
            s.labels()
        );
        let s = study("--precision f32 --iters 100").unwrap();
        assert_eq!(s.labels(), ["rnn f32", "dnn f32"]);
    }

    #[test]
    fn clip_over_the_long_preset_merges_the_variants_it_makes_equal() {
        let s = study("--preset long --clip 2").unwrap();
        assert_eq!(s.variants.len(), 5);
        assert!(s.labels().iter().all(|l| l.ends_with("clip 2 f32")));
    }

    #[test]
    fn bad_flags_name_the_value() {
        let cases = [
            ("--lengths 0", "lengths = 0"),
            ("--iters 0", "iters = 0"),
            ("--iters 10 --eval-every 20", "eval_every = 20"),
            ("--heldout 0", "heldout = 0"),
            ("--clip -1", "the clipping norm must be a finite number > 0"),
            ("--lr-io nan", "lr_io = NaN"),
            ("--models foo", "invalid value 'foo'"),
            ("--seeds 1,1", "a seed is repeated"),
            ("--hidden 0", "hidden = 0"),
        ];
        for (flags, want) in cases {
            let e = format!("{:#}", study(flags).unwrap_err());
            assert!(e.contains(want), "{flags}: {e:?} should contain {want:?}");
        }
        // `--iters 10` alone no longer blames an --eval-every never given.
        study("--iters 10").unwrap();
        // A small held-out set is fine: the gradient flow uses what there is.
        study("--heldout 16").unwrap();
    }

    #[test]
    fn the_resolved_study_replays_itself() {
        let s = study("--preset long --seeds 2 --lengths 8,64").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(&f, s.to_toml()).unwrap();
        let back = study(&format!("--config {}", f.display())).unwrap();
        assert_eq!(back, s);
    }
}
