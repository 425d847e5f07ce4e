//! `cargo xtask grads`: loss and gradients for given weights and one sequence.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use models::ModelKind;
use nncore::Precision;
use serde_json::{Value, json};

use crate::cli::{self, emit};

/// Arguments of `cargo xtask grads`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  cargo xtask grads --model rnn --params P.json --sample S.json\n  \
cargo xtask grads --params model.json --sample S.json\n\n\
P.json holds the parameters as an object of nested arrays keyed by name, with the keys and \
shapes of the kind (docs/SPEC.md §4; `params` of a model file), or is a whole model file \
(schema rnnstudy.model/…, as `cargo xtask train --save` or `import` writes it: checked as \
`eval --load` checks it, and its kind is the file's, so --model may be left out); S.json is {\"x\": [..], \
\"labels\": [..]} (labels may be left out: they are then computed by the task's rule). Prints \
{\"loss\", \"y\", \"grad\"} in float64, grad having the parameters' keys and shapes."
)]
pub struct GradsArgs {
    /// Model kind of the parameters [required with bare parameters; a model file names its
    /// own]
    #[arg(long, value_parser = cli::kind_parser())]
    model: Option<ModelKind>,
    /// Parameters as JSON: an object keyed by parameter name, or a model file
    #[arg(long, value_name = "P.json")]
    params: PathBuf,
    /// One sequence as JSON: {"x": [..], "labels": [..]}
    #[arg(long, value_name = "S.json")]
    sample: PathBuf,
    /// Precision to compute in (the parameters are rounded to it)
    #[arg(long, value_parser = cli::precision_parser(), value_name = "P", default_value = "f64")]
    precision: Precision,
}

/// Reads a JSON file of at most the data-file size limit.
fn read_json(path: &Path, what: &str) -> Result<Value> {
    let bytes = seqdata::io::read_limited(path, &format!("{what} file"))?;
    parse_json(&bytes, path, what)
}

fn parse_json(bytes: &[u8], path: &Path, what: &str) -> Result<Value> {
    serde_json::from_slice(bytes)
        .with_context(|| format!("{what} file {} is not valid JSON", path.display()))
}

/// Whether `json` is a model file: an object whose `schema` names the model
/// file's family (`rnnstudy.model/…`; bare parameters have no `schema` key).
fn is_model_file(json: &Value) -> bool {
    json.get("schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("rnnstudy.model/"))
}

/// The kind and parameters of `--params`: a model file (checked whole, its
/// kind the file's; `--model`, if given, must agree) or bare parameters
/// (`--model` required).
pub fn kind_and_params(
    model: Option<ModelKind>,
    bytes: &[u8],
    path: &Path,
) -> Result<(ModelKind, Value)> {
    let json = parse_json(bytes, path, "parameter")?;
    if is_model_file(&json) {
        let (file, _) = models::ModelFile::from_slice(bytes)
            .with_context(|| format!("model file {}", path.display()))?;
        if let Some(k) = model
            && k != file.model
        {
            bail!(
                "--model {k}, but the model file {} holds a {}: leave --model out or give {}",
                path.display(),
                file.model,
                file.model
            );
        }
        return Ok((file.model, file.params));
    }
    let Some(kind) = model else {
        bail!(
            "--model is required with bare parameters ({} is not a model file): give the kind, \
             one of {}",
            path.display(),
            ModelKind::names()
        );
    };
    Ok((kind, json))
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
    precision: Precision,
    params: &Value,
    sample: &Value,
    sample_path: &Path,
) -> Result<Value> {
    let mut model = kind
        .from_json(params, precision)
        .context("parameter file")?;
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
    let bytes = seqdata::io::read_limited(&args.params, "parameter file")?;
    let (kind, params) = kind_and_params(args.model, &bytes, &args.params)?;
    let sample = read_json(&args.sample, "sample")?;
    let out = grads_json(kind, args.precision, &params, &sample, &args.sample)?;
    emit(&format!("{out}\n"))
}
