//! `cargo xtask train`: train one model and save it as a model file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use seqdata::AlternatingSign;

use crate::modelfile::{self, Metrics, ModelFile, Training};
use crate::models::ModelKind;
use crate::output::emit;
use crate::study::config::{MAX_STUDY_LENGTH, OptimizerKind, StudyConfig, Variant};
use crate::study::runner::{self, Job};

/// Arguments of `cargo xtask train`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
cargo xtask train --model rnn --length 8 --save rnn_L8.json\n  \
cargo xtask train --model dnn --length 32 --iters 5000 --seed 3 --save dnn_L32.json\n  \
cargo xtask train --model lstm --length 64 --lr-io 0.1 --lr-rec 0.1 --clip 1 --save lstm.json\n\n\
Defaults are the article's settings for the model (SGD; rnn, irnn, gru, lstm: lr 0.1 for the \
input/output weights and 0.001 for the recurrent ones; dnn: 0.1 everywhere; no clipping; hidden \
100; 20,000 iterations) and the study's held-out set (2,000 sequences of seed 20261129). The \
model file records the settings, the parameters and the final held-out metrics; \
`cargo xtask eval --load FILE` reproduces the metrics and `cargo xtask predict` uses the model.")]
pub struct TrainArgs {
    /// Model kind
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Sequence length L to train at (an MLP then takes only this length)
    #[arg(long, value_name = "L")]
    length: usize,
    /// Where to write the model file (JSON); the folder must exist
    #[arg(long, value_name = "model.json")]
    save: PathBuf,
    /// Training iterations, one sequence each
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    iters: usize,
    /// Training seed (training pool, sampling order and initial weights)
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Clip every gradient to this global norm [default: no clipping]
    #[arg(long, value_name = "C", allow_negative_numbers = true)]
    clip: Option<f64>,
    /// Optimiser [default: sgd, the article's]
    #[arg(long, value_enum, value_name = "NAME")]
    optimizer: Option<OptimizerKind>,
    /// Learning rate of the input/output weights and output bias [default: 0.1]
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    lr_io: Option<f64>,
    /// Learning rate of the recurrent weights and hidden biases [default: 0.001; the dnn has
    /// none]
    #[arg(long, value_name = "Y", allow_negative_numbers = true)]
    lr_rec: Option<f64>,
    /// Hidden units
    #[arg(long, value_name = "H", default_value_t = 100)]
    hidden: usize,
    /// Evaluate on the held-out set every N iterations [default: 500, or --iters if fewer]
    #[arg(long, value_name = "N")]
    eval_every: Option<usize>,
    /// Held-out sequences
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    heldout: usize,
    /// Seed of the held-out set [default: 20261129, the study's]
    #[arg(long, value_name = "SEED")]
    heldout_seed: Option<u64>,
}

impl TrainArgs {
    /// The variant these arguments ask for: the model's article settings,
    /// overridden by the flags.
    fn variant(&self) -> Result<Variant> {
        let mut v = Variant::article(self.model);
        if let Some(o) = self.optimizer {
            v.optimizer = o;
        }
        if let Some(lr) = self.lr_io {
            v.lr_io = lr;
            if self.model == ModelKind::Dnn {
                v.lr_rec = lr;
            }
        }
        if let Some(lr) = self.lr_rec {
            if self.model == ModelKind::Dnn {
                bail!(
                    "--lr-rec does not apply to the dnn (it has no recurrent weights): use --lr-io"
                );
            }
            v.lr_rec = lr;
        }
        v.clip = self.clip;
        Ok(v)
    }

    /// The one-run study configuration these arguments ask for, checked.
    fn config(&self) -> Result<StudyConfig> {
        if self.length == 0 || self.length > MAX_STUDY_LENGTH {
            bail!(
                "--length {} is out of range: use 1 ..= {MAX_STUDY_LENGTH}",
                self.length
            );
        }
        let variant = self.variant()?;
        let config = StudyConfig {
            preset: "train".into(),
            models: vec![self.model],
            variants: vec![variant],
            lengths: vec![self.length],
            seeds: vec![self.seed],
            iters: self.iters,
            eval_every: self.eval_every.unwrap_or(500.min(self.iters.max(1))),
            heldout: self.heldout,
            heldout_seed: self.heldout_seed.unwrap_or(seqdata::DEFAULT_HELDOUT_SEED),
            hidden: self.hidden,
            clip: self.clip,
            grad_flow_batch: 32.min(self.heldout.max(1)),
            ..StudyConfig::article()
        };
        config.check()?;
        modelfile::check_saveable(self.model, self.hidden, self.length)?;
        Ok(config)
    }
}

/// Checks before training that `path` can be written: a file name in an
/// existing, writable folder.
fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "--save {} is a folder: give a file name such as model.json",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A probe in the same folder, where the final write will put its
    // temporary file; removed at once.
    let probe = dir.join(format!(".tmp-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| {
            format!(
                "--save {}: cannot write in {}: choose an existing, writable folder",
                path.display(),
                dir.display()
            )
        })?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// Runs `cargo xtask train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let config = args.config()?;
    check_writable(&args.save)?;
    let variant = config.variants[0];
    let task = AlternatingSign::new(args.length)?;
    let heldout = task.heldout(config.heldout, config.heldout_seed)?;
    let job = Job {
        variant,
        length: args.length,
        seed: args.seed,
    };

    let bar = ProgressBar::new(config.iters as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} (eta {eta})",
        )
        .expect("valid template"),
    );
    bar.set_message(format!(
        "{} L={} seed={}",
        variant.label(),
        args.length,
        args.seed
    ));
    let started = Instant::now();
    let progress = |n: u64| bar.inc(n);
    let result = runner::train(job, &config, &heldout, &progress);
    bar.finish_and_clear();
    let (report, model) = result
        .with_context(|| format!("training {} at length {}", variant.label(), args.length))?;
    if report.diverged {
        bail!(
            "training diverged (a NaN or infinity appeared) at iteration {}: no model saved; \
             try --clip 1 or smaller learning rates",
            report.diverged_at.unwrap_or(report.iters)
        );
    }
    let f = report.final_metrics;
    let metrics = Metrics {
        heldout_acc: f.heldout_acc,
        heldout_exact: f.heldout_exact,
        per_position_acc: f.per_position_acc,
        heldout_loss: f.heldout_loss,
    };
    let training = Training {
        seed: args.seed,
        iters: report.iters,
        optimizer: variant.optimizer,
        lr_io: variant.lr_io,
        lr_rec: variant.lr_rec,
        clip: variant.clip,
        pool_size: config.pool_size,
        heldout: config.heldout,
        heldout_seed: config.heldout_seed,
        eval_every: config.eval_every,
    };
    let file = ModelFile::new(model.as_ref(), args.model, args.length, training, metrics)?;
    file.save(&args.save)?;

    let mut out = String::new();
    writeln!(
        out,
        "{}, in {:.1} s",
        file.describe(),
        started.elapsed().as_secs_f64()
    )?;
    let m = &file.metrics;
    writeln!(
        out,
        "held-out ({} sequences, seed {}): accuracy {:.4}, exact match {:.4}, mean loss {:.6}",
        config.heldout, config.heldout_seed, m.heldout_acc, m.heldout_exact, m.heldout_loss
    )?;
    let pos: Vec<String> = m
        .per_position_acc
        .iter()
        .map(|a| format!("{a:.3}"))
        .collect();
    writeln!(out, "per position: {}", pos.join(" "))?;
    writeln!(out, "saved {}", args.save.display())?;
    emit(&out)
}
