//! `cargo xtask grads`: loss and gradients for given weights and one sequence.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::models::ModelKind;
use crate::output::emit;

/// Arguments of `cargo xtask grads`.
#[derive(Args)]
#[command(
    after_help = "Example:\n  cargo xtask grads --model rnn --params P.json --sample S.json\n\n\
P.json holds the parameters as an object of nested arrays (rnn: W_in [1,H], W [H,H], b [H], \
W_out [H,1], b_out [1]; dnn: W1 [L,H], b1 [H], W2 [H,L], b2 [L]); S.json is {\"x\": [..], \
\"labels\": [..]} (labels may be left out: they are then computed by the task's rule). Prints \
{\"loss\", \"y\", \"grad\"} in float64, grad having the parameters' keys and shapes."
)]
pub struct GradsArgs {
    /// Model kind of the parameters
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Parameters as JSON
    #[arg(long, value_name = "P.json")]
    params: PathBuf,
    /// One sequence as JSON: {"x": [..], "labels": [..]}
    #[arg(long, value_name = "S.json")]
    sample: PathBuf,
}

fn read_json(path: &Path, what: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} file {}", path.display()))?;
    serde_json::from_str(&text)
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
    let mut model = kind.load_json(params).context("parameter file")?;
    let x = number_list(sample, "x", sample_path)?;
    if x.is_empty() {
        bail!("sample file {}: `x` is empty", sample_path.display());
    }
    if x.len() > seqdata::MAX_LENGTH {
        bail!(
            "sample file {}: `x` has {} elements, more than the {} accepted",
            sample_path.display(),
            x.len(),
            seqdata::MAX_LENGTH
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
    emit(&format!("{}\n", serde_json::to_string(&out)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncore::SequenceModel;
    use seqdata::{Stream, seeded_rng};

    fn rnn_params(h: usize) -> Value {
        let m =
            rnn::ElmanRnn::new(rnn::Elman::article(h), &mut seeded_rng(1, Stream::Init)).unwrap();
        m.params().to_json()
    }

    #[test]
    fn computes_labels_when_left_out() {
        let out = grads_json(
            ModelKind::Rnn,
            &rnn_params(5),
            &json!({"x": [0.2, 0.7, 0.9]}),
            Path::new("s"),
        )
        .unwrap();
        assert_eq!(out["labels"], json!([1.0, 0.0, 1.0]));
        assert_eq!(out["grad"]["W"].as_array().unwrap().len(), 5);
        assert!(out["loss"].as_f64().unwrap() > 0.0);
    }

    #[test]
    fn bad_input_names_the_problem() {
        let p = rnn_params(3);
        let s = Path::new("s.json");
        let cases = [
            (ModelKind::Rnn, p.clone(), json!({"x": []}), "`x` is empty"),
            (
                ModelKind::Rnn,
                p.clone(),
                json!({"y": [1]}),
                "missing key `x`",
            ),
            (
                ModelKind::Rnn,
                p.clone(),
                json!({"x": [0.1, "a"]}),
                "`x[1]`",
            ),
            (
                ModelKind::Rnn,
                p.clone(),
                json!({"x": [0.1, 0.2], "labels": [1]}),
                "2 inputs but 1 labels",
            ),
            (
                ModelKind::Dnn,
                p.clone(),
                json!({"x": [0.1]}),
                "parameter `b2` is missing",
            ),
        ];
        for (kind, params, sample, want) in cases {
            let e = format!("{:#}", grads_json(kind, &params, &sample, s).unwrap_err());
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        let mlp = dnn::Mlp::new(
            dnn::MlpConfig::for_length(4),
            &mut seeded_rng(1, Stream::Init),
        )
        .unwrap();
        let e = format!(
            "{:#}",
            grads_json(
                ModelKind::Dnn,
                &mlp.params().to_json(),
                &json!({"x": vec![0.1; 5]}),
                s
            )
            .unwrap_err()
        );
        assert!(
            e.contains("length 5") && e.contains("takes length 4"),
            "{e}"
        );
    }
}
