//! `cargo xtask eval`: a saved model's accuracy on a data set.
//!
//! The data is, in order of preference: a file (`--data`: the CSV or `.npy`
//! that `cargo xtask data` writes, or data as numpy, PyTorch or pandas save
//! it: see [`seqdata::io::load_data`]), fresh sequences (`--count`, `--seed`,
//! `--length`), or by default the held-out set named in the model file, so
//! that `train` → `eval` reproduces the recorded metrics exactly.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use models::ModelFile;
use seqdata::{AlternatingSign, Dataset};
use serde_json::json;

use crate::cli::{self, emit};

/// Arguments of `cargo xtask eval`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
cargo xtask eval --load model.json\n  \
cargo xtask eval --load model.json --data data/alternating_L8_n1000_seed0_heldout.csv\n  \
cargo xtask eval --load model.json --data data/alternating_L8_n1000_seed0_heldout_x.npy --json\n  \
cargo xtask eval --load model.json --data mine.npz\n  \
cargo xtask eval --load model.json --count 10000 --seed 5 --length 16\n\n\
Without --data or --count the model is evaluated on the held-out set its file names \
(training.heldout sequences of seed training.heldout_seed), which reproduces the recorded \
metrics exactly.\n\n\
--data reads N sequences of length L, inputs x and 0/1 labels y, from:\n  \
.csv  header x0..x{L-1},y0..y{L-1}, one sequence per line, as `cargo xtask data` writes it; \
or only the x columns. A pandas index column first (df.to_csv(path)) is dropped; labels may be \
0/1, 0.0/1.0 or True/False.\n  \
.npy  inputs of shape (N, L), float32 or float64 (np.save(path, x)), C or Fortran order; \
labels from the _y.npy beside an _x.npy: bool, any integer type, float32 or float64.\n  \
.npz  arrays x and y as np.savez(path, x=inputs, y=labels) or np.savez_compressed writes \
them; y may be left out.\n\
Without labels they come from the task's rule. A file that is refused is named with how to save \
it so that it is read.\n\n\
--count/--seed draw fresh \
sequences from the held-out stream of seed S (what `cargo xtask data --heldout --seed S` writes). \
An MLP takes only its training length; the recurrent models take any length.")]
pub struct EvalArgs {
    /// The model file, as `cargo xtask train --save` writes it
    #[arg(long, value_name = "model.json")]
    load: PathBuf,
    /// Evaluate on this data file (.csv, .npy or .npz: see below) instead of the model's held-out set
    #[arg(long, value_name = "FILE", conflicts_with_all = ["count", "seed", "length"])]
    data: Option<PathBuf>,
    /// Evaluate on N fresh sequences [default: the model file's held-out size]
    #[arg(long, value_name = "N")]
    count: Option<usize>,
    /// Seed of the fresh sequences [default: the model file's held-out seed]
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Length of the fresh sequences [default: the model's training length]
    #[arg(long, value_name = "L")]
    length: Option<usize>,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

/// The data the flags ask for, and its description.
fn data(file: &ModelFile, args: &EvalArgs) -> Result<(Dataset, String)> {
    if let Some(p) = &args.data {
        return Ok((seqdata::io::load_data(p)?, p.display().to_string()));
    }
    if args.count.is_none() && args.seed.is_none() && args.length.is_none() {
        let t = &file.training;
        let source = format!(
            "the model file's held-out set ({} sequences of length {}, seed {})",
            t.heldout, file.length, t.heldout_seed
        );
        return Ok((file.heldout_set()?, source));
    }
    let length = args.length.unwrap_or(file.length);
    let count = args.count.unwrap_or(file.training.heldout);
    let seed = args.seed.unwrap_or(file.training.heldout_seed);
    let task = AlternatingSign::new(length).context("--length")?;
    task.check_count(count).context("--count")?;
    let source =
        format!("{count} fresh sequences of length {length} (held-out stream, seed {seed})");
    Ok((task.heldout(count, seed)?, source))
}

/// Runs `cargo xtask eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let (file, model) = ModelFile::load(&args.load)?;
    if let (Some(l), Some(fixed)) = (args.length, model.fixed_length())
        && l != fixed
    {
        bail!(
            "--length {l}: this {} takes only length {fixed} (its training length)",
            file.model
        );
    }
    let default_set =
        args.data.is_none() && args.count.is_none() && args.seed.is_none() && args.length.is_none();
    let (data, source) = data(&file, &args)?;
    if let Some(l) = model.fixed_length()
        && l != data.length()
    {
        bail!(
            "data {source}: the sequences have length {} but this {} takes only length {l} (its training length)",
            data.length(),
            file.model
        );
    }
    let metrics = nncore::evaluate_parallel(model.as_ref(), &data)?;
    let matches = default_set.then(|| metrics == file.metrics);
    let mut out = String::new();
    if args.json {
        let doc = json!({
            "model": file.model,
            "file": args.load.display().to_string(),
            "data": {"source": source, "count": data.len(), "length": data.length()},
            "heldout_acc": metrics.heldout_acc,
            "heldout_exact": metrics.heldout_exact,
            "per_position_acc": metrics.per_position_acc,
            "heldout_loss": metrics.heldout_loss,
            "matches_recorded": matches,
        });
        writeln!(out, "{doc}")?;
        return emit(&out);
    }
    writeln!(out, "model: {} ({})", file.describe(), args.load.display())?;
    writeln!(out, "data:  {source}")?;
    writeln!(out, "per-element accuracy {:.4}", metrics.heldout_acc)?;
    writeln!(out, "exact match          {:.4}", metrics.heldout_exact)?;
    writeln!(out, "mean loss            {:.6}", metrics.heldout_loss)?;
    writeln!(
        out,
        "per position         {}",
        cli::positions(&metrics.per_position_acc)
    )?;
    match matches {
        Some(true) => writeln!(
            out,
            "matches the metrics recorded in the model file exactly"
        )?,
        Some(false) => writeln!(
            out,
            "DIFFERS from the metrics recorded in the model file (accuracy {:.4}, exact {:.4})",
            file.metrics.heldout_acc, file.metrics.heldout_exact
        )?,
        None => {}
    }
    emit(&out)
}
