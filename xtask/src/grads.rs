//! `cargo xtask grads`: loss and gradients for given weights and one sequence.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use models::ModelKind;
use serde_json::{Value, json};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask grads`.
#[derive(Args)]
#[command(
    after_help = "Example:\n  cargo xtask grads --model rnn --params P.json --sample S.json\n\n\
P.json holds the parameters as an object of nested arrays keyed by name, with the keys and \
shapes of the kind (docs/SPEC.md §4; `params` of a model file, or `cargo xtask train` then \
that field); S.json is {\"x\": [..], \
\"labels\": [..]} (labels may be left out: they are then computed by the task's rule). Prints \
{\"loss\", \"y\", \"grad\"} in float64, grad having the parameters' keys and shapes."
)]
pub struct GradsArgs {
    /// Model kind of the parameters
    #[arg(long, value_parser = cli::kind_parser())]
    model: ModelKind,
    /// Parameters as JSON
    #[arg(long, value_name = "P.json")]
    params: PathBuf,
    /// One sequence as JSON: {"x": [..], "labels": [..]}
    #[arg(long, value_name = "S.json")]
    sample: PathBuf,
}

/// Reads a JSON file of at most the data-file size limit.
fn read_json(path: &Path, what: &str) -> Result<Value> {
    let bytes = seqdata::io::read_limited(path, &format!("{what} file"))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{what} file {} is not valid JSON", path.display()))
}

fn number_list(v: &Value, key: &str, path: &Path) -> Result<Vec<f64>> {
    let arr = v
        .get(key)
        .with_context(|| format!("sample file {}: missing key `{key}`", path.display()))?
        .as_array()
        .with_context(|| {
            format!(
                "sample file {}: `{key}` must be an array of numbers",
                path.display()
            )
        })?;
    arr.iter()
        .enumerate()
        .map(|(i, x)| match x.as_f64() {
            Some(f) if f.is_finite() => Ok(f),
            _ => bail!(
                "sample file {}: `{key}[{i}]` = {x} is not a finite number",
                path.display()
            ),
        })
        .collect()
}

/// Computes `{"loss", "y", "grad"}` for a model kind, parameters and sample.
pub fn grads_json(
    kind: ModelKind,
    params: &Value,
    sample: &Value,
    sample_path: &Path,
) -> Result<Value> {
    let mut model = kind.from_json(params).context("parameter file")?;
    let x = number_list(sample, "x", sample_path)?;
    if x.is_empty() {
        bail!("sample file {}: `x` is empty", sample_path.display());
    }
    if x.len() > models::MAX_LENGTH {
        bail!(
            "sample file {}: `x` has {} elements, more than the {} accepted",
            sample_path.display(),
            x.len(),
            models::MAX_LENGTH
        );
    }
    let labels = match sample.get("labels") {
        None | Some(Value::Null) => seqdata::labels(&x).into_iter().map(f64::from).collect(),
        Some(_) => number_list(sample, "labels", sample_path)?,
    };
    let loss = model
        .loss_and_grad(&x, &labels)
        .context("cannot compute the gradient")?;
    Ok(json!({
        "model": kind.name(),
        "loss": loss,
        "y": model.outputs(),
        "labels": labels,
        "grad": model.params().grads_to_json(),
    }))
}

/// Runs `cargo xtask grads`.
pub fn run(args: GradsArgs) -> Result<()> {
    let params = read_json(&args.params, "parameter")?;
    let sample = read_json(&args.sample, "sample")?;
    let out = grads_json(args.model, &params, &sample, &args.sample)?;
    emit(&format!("{out}\n"))
}
