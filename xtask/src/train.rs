//! `cargo xtask train`: train one model and save it as a model file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use models::{ModelFile, ModelKind, Training};
use nncore::{ClipNorm, Observer, OptimizerKind, Precision, Schedule};
use seqdata::AlternatingSign;
use study::{Job, VariantDef};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask train`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
cargo xtask train --model rnn --length 8 --save rnn_L8.json\n  \
cargo xtask train --model dnn --length 32 --iters 5000 --seed 3 --save dnn_L32.json\n  \
cargo xtask train --model lstm --length 64 --optimizer adam --lr-io 0.01 --lr-rec 0.01 --clip 1 --save lstm.json\n\n\
Defaults are the kind's article settings (SGD at the kind's rates, docs/SPEC.md §2 and §4: \
0.1 for the input/output weights and 0.001 for the recurrent ones, or 0.1 everywhere for a kind \
without a recurrent group; no clipping; hidden 100; 20,000 iterations) and the study's held-out set (2,000 sequences of seed 20261129). The \
model file (docs/SPEC.md §5) records the settings, the parameters and the final held-out \
metrics; `cargo xtask eval --load FILE` reproduces the metrics and `cargo xtask predict` uses \
the model. A run trained here equals the study's run of the same variant, length and seed.")]
pub struct TrainArgs {
    /// Model kind
    #[arg(long, value_parser = cli::kind_parser())]
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
    clip: Option<ClipNorm>,
    /// Optimiser [default: sgd, the article's]
    #[arg(long, value_parser = cli::optimizer_parser(), value_name = "NAME")]
    optimizer: Option<OptimizerKind>,
    /// Learning rate of the input/output weights and output bias [default: 0.1]
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    lr_io: Option<f64>,
    /// Learning rate of the recurrent weights and hidden biases [default: 0.001; the dnn has
    /// none]
    #[arg(long, value_name = "Y", allow_negative_numbers = true)]
    lr_rec: Option<f64>,
    /// Hidden units [default: 100]
    #[arg(long, value_name = "H")]
    hidden: Option<usize>,
    /// Precision the model computes in (recorded in the model file)
    #[arg(long, value_parser = cli::precision_parser(), value_name = "P", default_value = "f64")]
    precision: Precision,
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

/// Tells a progress bar the iterations done.
struct Bar<'a>(&'a indicatif::ProgressBar);

impl Observer for Bar<'_> {
    fn progress(&mut self, iters_done: usize) {
        self.0.set_position(iters_done as u64);
    }
}

/// Runs `cargo xtask train`.
pub fn run(args: TrainArgs) -> Result<()> {
    if args.lr_rec.is_some() && !args.model.info().recurrent {
        bail!(
            "--lr-rec does not apply to the {} (it has no recurrent weights): use --lr-io",
            args.model
        );
    }
    let variant = VariantDef {
        model: args.model,
        hidden: args.hidden,
        optimizer: args.optimizer,
        lr_io: args.lr_io,
        lr_rec: args.lr_rec,
        clip: args.clip,
        precision: Some(args.precision),
    }
    .resolve(args.precision);
    variant.check()?;
    let schedule = Schedule {
        iters: args.iters,
        eval_every: args.eval_every.unwrap_or(500.min(args.iters.max(1))),
        ..Schedule::default()
    };
    schedule.check()?;
    if args.length == 0 || args.length > study::MAX_LENGTH {
        bail!(
            "--length {} is out of range: use 1 ..= {}",
            args.length,
            study::MAX_LENGTH
        );
    }
    if args.heldout == 0 || args.heldout > study::MAX_HELDOUT {
        bail!(
            "--heldout {} is out of range: use 1 ..= {}",
            args.heldout,
            study::MAX_HELDOUT
        );
    }
    models::check_saveable(args.model, variant.hidden, args.length)?;
    seqdata::io::check_writable(&args.save).map_err(|e| anyhow::anyhow!("--save {e}"))?;
    let heldout_seed = args.heldout_seed.unwrap_or(seqdata::DEFAULT_HELDOUT_SEED);
    let heldout = AlternatingSign::new(args.length)?.heldout(args.heldout, heldout_seed)?;
    let job = Job {
        variant,
        length: args.length,
        seed: args.seed,
    };

    let bar = cli::progress_bar(
        schedule.iters as u64,
        format!("{} L={} seed={}", variant.label(), args.length, args.seed),
    );
    let started = Instant::now();
    let result = study::train_job(
        &job,
        seqdata::POOL_SIZE,
        &schedule,
        &heldout,
        &mut Bar(&bar),
    );
    bar.finish_and_clear();
    let (outcome, model) = result
        .with_context(|| format!("training {} at length {}", variant.label(), args.length))?;
    if let Some(at) = outcome.diverged_at {
        bail!(
            "training diverged (a NaN or infinity appeared) at iteration {at}: no model saved; \
             try --clip 1 or smaller learning rates"
        );
    }
    let training = Training::new(
        args.seed,
        outcome.iters,
        variant.optimizer,
        variant.clip,
        seqdata::POOL_SIZE,
        &heldout,
        heldout_seed,
        &schedule,
    );
    let file = ModelFile::new(
        model.as_ref(),
        args.model,
        args.length,
        training,
        outcome.final_metrics,
    )?
    .with_provenance(cli::provenance());
    file.save(&args.save)?;

    let mut out = String::new();
    let m = &file.metrics;
    writeln!(
        out,
        "{}, in {:.1} s",
        file.describe(),
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "held-out ({} sequences, seed {heldout_seed}): accuracy {:.4}, exact match {:.4}, mean loss {:.6}",
        args.heldout, m.heldout_acc, m.heldout_exact, m.heldout_loss
    )?;
    writeln!(out, "per position: {}", cli::positions(&m.per_position_acc))?;
    writeln!(out, "saved {}", args.save.display())?;
    emit(&out)
}
