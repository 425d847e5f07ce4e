//! `cargo xtask predict`: a saved model's outputs for given sequences.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use models::{MAX_FILE_BYTES, ModelFile};
use ndarray::ArrayView2;
use seqdata::io::parse_sequence;
use serde_json::json;

use crate::cli::emit;

/// Arguments of `cargo xtask predict`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
cargo xtask predict --load model.json --x 0.3,0.9,0.1,0.5,0.2,0.2,0.7,0.4\n  \
printf '0.3 0.9 0.1\\n0.5,0.5\\n' | cargo xtask predict --load model.json --x -\n\n\
Prints, for each sequence, the output probabilities p(label = 1), the decisions (p >= 0.5) and \
the labels of the task's rule. Numbers are separated by commas or whitespace; with --x - one \
sequence per line is read from stdin (blank lines are skipped). An MLP takes only its training \
length; the recurrent models take any length.")]
pub struct PredictArgs {
    /// The model file, as `cargo xtask train --save` writes it
    #[arg(long, value_name = "model.json")]
    load: PathBuf,
    /// One sequence (comma- or whitespace-separated), or `-` to read one per line from stdin
    #[arg(long, value_name = "X|-", allow_hyphen_values = true)]
    x: String,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

/// Reads the sequences `--x` asks for, each with where it came from.
fn read_sequences(x: &str) -> Result<Vec<(String, Vec<f64>)>> {
    if x.trim() != "-" {
        return Ok(vec![("--x".to_string(), parse_sequence(x, "--x")?)]);
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!("stdin holds more than the {MAX_FILE_BYTES} bytes (512 MiB) accepted");
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| anyhow::anyhow!("stdin is not UTF-8 text (byte {})", e.valid_up_to()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = format!("stdin line {}", i + 1);
        let seq = parse_sequence(line, &origin)?;
        out.push((origin, seq));
    }
    if out.is_empty() {
        bail!("stdin holds no sequence: give one per line, e.g. 0.3,0.9,0.1");
    }
    Ok(out)
}

/// Runs `cargo xtask predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    let (file, model) = ModelFile::load(&args.load)?;
    let seqs = read_sequences(&args.x)?;
    // Check every sequence before printing anything.
    for (origin, x) in &seqs {
        if let Some(l) = model.fixed_length()
            && x.len() != l
        {
            bail!(
                "{origin}: a sequence of length {} but this {} takes only length {l} (its training length)",
                x.len(),
                file.model
            );
        }
    }
    let mut results = Vec::with_capacity(seqs.len());
    for (origin, x) in &seqs {
        let view = ArrayView2::from_shape((1, x.len()), x)?;
        let p = model
            .predict_batch(view)
            .with_context(|| format!("{origin}: cannot run the model"))?;
        let p: Vec<f64> = p.iter().copied().collect();
        let y: Vec<u8> = p.iter().map(|&v| u8::from(v >= 0.5)).collect();
        results.push((x, p, y, seqdata::labels(x)));
    }
    let mut out = String::new();
    if args.json {
        let preds: Vec<_> = results
            .iter()
            .map(|(x, p, y, rule)| json!({"x": x, "p": p, "y": y, "rule": rule}))
            .collect();
        let doc = json!({"model": file.model, "length": file.length, "predictions": preds});
        writeln!(out, "{doc}")?;
        return emit(&out);
    }
    let many = results.len() > 1;
    let join = |v: Vec<String>| v.join(" ");
    for (k, (x, p, y, rule)) in results.iter().enumerate() {
        if many {
            writeln!(out, "sequence {} (length {})", k + 1, x.len())?;
        }
        let right = y.iter().zip(rule).filter(|(a, b)| a == b).count();
        writeln!(
            out,
            "p    {}",
            join(p.iter().map(|v| format!("{v:.4}")).collect())
        )?;
        writeln!(out, "y    {}", join(y.iter().map(u8::to_string).collect()))?;
        writeln!(
            out,
            "rule {}   ({right}/{} as the task's rule)",
            join(rule.iter().map(u8::to_string).collect()),
            x.len()
        )?;
    }
    emit(&out)
}
