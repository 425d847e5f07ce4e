//! `cargo xtask predict`: a saved model's outputs for given sequences.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ndarray::ArrayView2;
use serde_json::json;

use crate::modelfile::{MAX_FILE_BYTES, ModelFile};
use crate::output::emit;

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

/// Parses one sequence: numbers separated by commas and/or whitespace, each
/// a finite number, at most [`seqdata::MAX_LENGTH`] of them. `origin` names
/// the sequence in messages (`--x`, `stdin line 3`).
pub fn parse_sequence(text: &str, origin: &str) -> Result<Vec<f64>> {
    if text.trim().is_empty() {
        bail!("{origin}: no numbers: give a sequence such as 0.3,0.9,0.1");
    }
    let mut out = Vec::new();
    let pieces: Vec<&str> = text.split(',').collect();
    let n_pieces = pieces.len();
    for (k, piece) in pieces.into_iter().enumerate() {
        let piece = piece.trim();
        if piece.is_empty() {
            // A trailing comma is harmless; an empty value inside is a typo.
            if k + 1 == n_pieces && k > 0 {
                continue;
            }
            bail!(
                "{origin}: value {} is empty (two commas in a row?)",
                out.len() + 1
            );
        }
        for word in piece.split_whitespace() {
            let i = out.len() + 1;
            if i > seqdata::MAX_LENGTH {
                bail!(
                    "{origin}: more than {} values: the longest sequence accepted",
                    seqdata::MAX_LENGTH
                );
            }
            let shown: String = word.chars().take(24).collect();
            let v: f64 = word
                .parse()
                .map_err(|_| anyhow::anyhow!("{origin}: value {i} `{shown}` is not a number"))?;
            if !v.is_finite() {
                bail!("{origin}: value {i} `{shown}` is not a finite number");
            }
            out.push(v);
        }
    }
    if out.is_empty() {
        bail!("{origin}: no numbers: give a sequence such as 0.3,0.9,0.1");
    }
    Ok(out)
}

/// Reads the sequences `--x` asks for.
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
        let rule = seqdata::labels(x);
        results.push((x, p, y, rule));
    }
    let mut out = String::new();
    if args.json {
        let preds: Vec<_> = results
            .iter()
            .map(|(x, p, y, rule)| json!({"x": x, "p": p, "y": y, "rule": rule}))
            .collect();
        let doc = json!({"model": file.model, "length": file.length, "predictions": preds});
        writeln!(out, "{}", serde_json::to_string(&doc)?)?;
        return emit(&out);
    }
    let many = results.len() > 1;
    for (k, (x, p, y, rule)) in results.iter().enumerate() {
        if many {
            writeln!(out, "sequence {} (length {})", k + 1, x.len())?;
        }
        let join = |v: Vec<String>| v.join(" ");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_parse_with_commas_or_spaces() {
        assert_eq!(
            parse_sequence("0.3,0.9, 0.1", "--x").unwrap(),
            vec![0.3, 0.9, 0.1]
        );
        assert_eq!(
            parse_sequence(" 0.3  0.9\t0.1 ", "--x").unwrap(),
            vec![0.3, 0.9, 0.1]
        );
        assert_eq!(parse_sequence("0.3,0.9,", "--x").unwrap(), vec![0.3, 0.9]);
        assert_eq!(parse_sequence("-1e-3", "--x").unwrap(), vec![-0.001]);
    }

    #[test]
    fn bad_sequences_are_named() {
        for (text, want) in [
            ("", "no numbers"),
            ("0.1,,0.2", "value 2 is empty"),
            (",0.1", "value 1 is empty"),
            ("0.1,abc", "value 2 `abc` is not a number"),
            ("0.1 nan", "value 2 `nan` is not a finite number"),
            ("inf", "value 1 `inf` is not a finite number"),
            ("1e999", "value 1 `1e999` is not a finite number"),
        ] {
            let e = parse_sequence(text, "stdin line 3")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(e.starts_with("stdin line 3"), "{e}");
        }
    }
}
