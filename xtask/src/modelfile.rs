//! The model file: a trained model, how it was trained and how well it did,
//! as versioned JSON (`rnnstudy.model/1`), written compact and atomically:
//!
//! ```json
//! {"schema": "rnnstudy.model/1", "model": "rnn", "hidden": 100, "length": 8,
//!  "training": {"seed": 0, "iters": 20000, "optimizer": "sgd", "lr_io": 0.1, "lr_rec": 0.001,
//!               "clip": null, "pool_size": 50000, "heldout": 2000,
//!               "heldout_seed": 20261129, "eval_every": 500},
//!  "params": {"W_in": [[..]], "W": [[..]], "b": [..], "W_out": [[..]], "b_out": [..]},
//!  "metrics": {"heldout_acc": 0.97, "heldout_exact": 0.81, "per_position_acc": [..],
//!              "heldout_loss": 0.03}}
//! ```
//!
//! [`ModelFile::load`] checks everything before a model is built from the
//! file: its size, the schema and its version, the model kind, every
//! training setting, that `hidden` and `length` agree with the parameters'
//! shapes, every parameter value (finite numbers of the right shapes) and the
//! metrics. Errors are one line naming the file and the problem.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use nncore::SequenceModel;
use seqdata::{AlternatingSign, Dataset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::atomic;
use crate::models::ModelKind;
use crate::study::config::{MAX_HELDOUT, MAX_ITERS, MAX_STUDY_LENGTH, OptimizerKind};

/// The schema tag this build writes.
pub const SCHEMA: &str = "rnnstudy.model/1";

/// The schema family: a tag is `rnnstudy.model/<version>`.
const SCHEMA_FAMILY: &str = "rnnstudy.model/";

/// The schema versions this build reads.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

/// The largest model or data file read (512 MiB): a larger file is refused
/// before it is read. The largest model a study builds (an RNN with 4096
/// hidden units) is about 350 MB of JSON.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The largest hidden size a model file may declare (the models' own limit).
pub const MAX_HIDDEN: usize = 4096;

/// How a model was trained: enough to replay the run with `cargo xtask train`
/// and to rebuild its held-out set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Training seed (pool, sampling order and initial weights).
    pub seed: u64,
    /// Training iterations done, one sequence each.
    pub iters: usize,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Learning rate of the input/output weights and the output bias.
    pub lr_io: f64,
    /// Learning rate of the recurrent weights and hidden biases.
    pub lr_rec: f64,
    /// Clipping by global norm, or null.
    pub clip: Option<f64>,
    /// Training-pool size.
    pub pool_size: usize,
    /// Held-out sequences the metrics were measured on.
    pub heldout: usize,
    /// Seed of the held-out set.
    pub heldout_seed: u64,
    /// Held-out evaluation every this many iterations during training.
    pub eval_every: usize,
}

/// Held-out metrics of the model at the end of training (the keys of
/// `study.json`'s `final`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Per-element accuracy.
    pub heldout_acc: f64,
    /// Fraction of sequences with every output right.
    pub heldout_exact: f64,
    /// Accuracy at each position `t` (one entry per position of `length`).
    pub per_position_acc: Vec<f64>,
    /// Mean loss per sequence, `Σ_t ½ (y_t − label_t)²`.
    pub heldout_loss: f64,
}

/// A model file's contents (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always [`SCHEMA`] when written by this build.
    pub schema: String,
    /// The model kind.
    pub model: ModelKind,
    /// Hidden units.
    pub hidden: usize,
    /// The training length: the only length an MLP accepts; recurrent models
    /// take any length.
    pub length: usize,
    /// How the model was trained.
    pub training: Training,
    /// The parameters, in the layout of the model's crate (e.g. `W_in`, `W`,
    /// `b`, `W_out`, `b_out`).
    pub params: Value,
    /// Held-out metrics at the end of training.
    pub metrics: Metrics,
}

/// The hidden size of a built model, read from its parameter shapes (`W_out`
/// `[H, 1]` of the recurrent models, `b1` `[H]` of the MLP).
pub fn hidden_of(model: &dyn SequenceModel) -> Option<usize> {
    let p = model.params();
    if let Some(i) = p.index_of("W_out") {
        return p.specs()[i].shape.first().copied();
    }
    p.index_of("b1").map(|i| p.specs()[i].len())
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`], refusing a larger one
/// before reading it. `what` names the file in messages (`model file`).
pub fn read_limited(path: &Path, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if meta.is_dir() {
        bail!("{what} {} is a folder, not a file", path.display());
    }
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{what} {} is {} bytes, more than the {MAX_FILE_BYTES} (512 MiB) accepted",
            path.display(),
            meta.len()
        );
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` also bounds special files whose size the metadata does not tell.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "{what} {} is more than the {MAX_FILE_BYTES} bytes (512 MiB) accepted",
            path.display()
        );
    }
    Ok(bytes)
}

/// Reads `obj[key]` as a `T`; `path` names the field in messages
/// (`training.seed`).
fn field<T: DeserializeOwned>(obj: &Map<String, Value>, key: &str, path: &str) -> Result<T> {
    let v = obj
        .get(key)
        .with_context(|| format!("`{path}` is missing"))?;
    T::deserialize(v).with_context(|| format!("`{path}` = {}", short(v)))
}

/// A value as short text for messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let head: String = s.chars().take(37).collect();
        format!("{head}...")
    } else {
        s
    }
}

/// The sub-object `obj[key]`.
fn object<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a Map<String, Value>> {
    obj.get(key)
        .with_context(|| format!("`{key}` is missing"))?
        .as_object()
        .with_context(|| format!("`{key}` must be a JSON object"))
}

/// Checks the schema tag: a model file of a supported version.
fn check_schema(obj: &Map<String, Value>) -> Result<()> {
    let supported = SUPPORTED_VERSIONS
        .iter()
        .map(|v| format!("{SCHEMA_FAMILY}{v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let schema = match obj.get("schema") {
        None => bail!("no `schema` field: not an rnnstudy model file (expected {SCHEMA})"),
        Some(Value::String(s)) => s.as_str(),
        Some(other) => bail!(
            "`schema` = {} must be a string such as {SCHEMA}",
            short(other)
        ),
    };
    let Some(version) = schema.strip_prefix(SCHEMA_FAMILY) else {
        bail!("schema `{schema}` is not a model file's (expected {SCHEMA})");
    };
    match version.parse::<u32>() {
        Ok(v) if SUPPORTED_VERSIONS.contains(&v) => Ok(()),
        Ok(v) => bail!(
            "schema version {v} (`{schema}`) is not supported: this build reads {supported} \
             (a newer rnnstudy wrote the file?)"
        ),
        Err(_) => bail!("schema `{schema}` has no version number: this build reads {supported}"),
    }
}

/// Reads and checks the `training` section against the training `length`.
fn read_training(obj: &Map<String, Value>, length: usize) -> Result<Training> {
    let t = object(obj, "training")?;
    let f = |key: &str| format!("training.{key}");
    let training = Training {
        seed: field(t, "seed", &f("seed"))?,
        iters: field(t, "iters", &f("iters"))?,
        optimizer: field(t, "optimizer", &f("optimizer"))?,
        lr_io: field(t, "lr_io", &f("lr_io"))?,
        lr_rec: field(t, "lr_rec", &f("lr_rec"))?,
        clip: field(t, "clip", &f("clip"))?,
        pool_size: field(t, "pool_size", &f("pool_size"))?,
        heldout: field(t, "heldout", &f("heldout"))?,
        heldout_seed: field(t, "heldout_seed", &f("heldout_seed"))?,
        eval_every: field(t, "eval_every", &f("eval_every"))?,
    };
    training.check(length)?;
    Ok(training)
}

impl Training {
    /// Checks every setting (`length` is the model file's training length).
    pub fn check(&self, length: usize) -> Result<()> {
        if self.iters == 0 || self.iters > MAX_ITERS {
            bail!(
                "`training.iters` = {} is out of range: 1 ..= {MAX_ITERS}",
                self.iters
            );
        }
        if self.eval_every == 0 {
            bail!("`training.eval_every` = 0 is out of range: it must be >= 1");
        }
        for (key, v) in [("lr_io", self.lr_io), ("lr_rec", self.lr_rec)] {
            if !(v.is_finite() && v >= 0.0) {
                bail!(
                    "`training.{key}` = {v} is out of range: a learning rate is a finite number >= 0"
                );
            }
        }
        if let Some(c) = self.clip
            && !(c.is_finite() && c > 0.0)
        {
            bail!("`training.clip` = {c} is out of range: a finite number > 0, or null");
        }
        if self.pool_size == 0 {
            bail!("`training.pool_size` = 0 is out of range: it must be >= 1");
        }
        if self.heldout == 0 || self.heldout > MAX_HELDOUT {
            bail!(
                "`training.heldout` = {} is out of range: 1 ..= {MAX_HELDOUT}",
                self.heldout
            );
        }
        AlternatingSign::new(length)?
            .check_count(self.heldout)
            .context("`training.heldout`")?;
        Ok(())
    }
}

/// Reads and checks the `metrics` section.
fn read_metrics(obj: &Map<String, Value>, length: usize) -> Result<Metrics> {
    let m = object(obj, "metrics")?;
    let f = |key: &str| format!("metrics.{key}");
    let metrics = Metrics {
        heldout_acc: field(m, "heldout_acc", &f("heldout_acc"))?,
        heldout_exact: field(m, "heldout_exact", &f("heldout_exact"))?,
        per_position_acc: field(m, "per_position_acc", &f("per_position_acc"))?,
        heldout_loss: field(m, "heldout_loss", &f("heldout_loss"))?,
    };
    metrics.check(length)?;
    Ok(metrics)
}

impl Metrics {
    /// Checks that the accuracies are fractions, the loss a finite number
    /// `>= 0` and that there is one per-position accuracy per position.
    pub fn check(&self, length: usize) -> Result<()> {
        let fraction = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        for (key, v) in [
            ("heldout_acc", self.heldout_acc),
            ("heldout_exact", self.heldout_exact),
        ] {
            if !fraction(v) {
                bail!("`metrics.{key}` = {v} is not a fraction in 0 ..= 1");
            }
        }
        if self.per_position_acc.len() != length {
            bail!(
                "`metrics.per_position_acc` has {} entries but `length` is {length}: they must agree",
                self.per_position_acc.len()
            );
        }
        if let Some((t, v)) = self
            .per_position_acc
            .iter()
            .enumerate()
            .find(|(_, v)| !fraction(**v))
        {
            bail!("`metrics.per_position_acc[{t}]` = {v} is not a fraction in 0 ..= 1");
        }
        if !(self.heldout_loss.is_finite() && self.heldout_loss >= 0.0) {
            bail!(
                "`metrics.heldout_loss` = {} is not a finite number >= 0",
                self.heldout_loss
            );
        }
        Ok(())
    }
}

/// The length of the array `params[key]`, if it is one.
fn array_len(params: &Value, key: &str) -> Option<usize> {
    params.get(key).and_then(Value::as_array).map(Vec::len)
}

/// The keys whose lengths decide how much a model of `kind` allocates when
/// built from JSON, with the length each must have for `hidden` and `length`.
fn sizing_keys(
    kind: ModelKind,
    hidden: usize,
    length: usize,
) -> Vec<(&'static str, usize, &'static str)> {
    match kind {
        ModelKind::Rnn | ModelKind::Irnn => vec![("b", hidden, "`hidden`")],
        ModelKind::Gru => vec![("b_hh", 3 * hidden, "3 × `hidden`")],
        ModelKind::Lstm => vec![("b_hh", 4 * hidden, "4 × `hidden`")],
        ModelKind::Dnn => vec![("b1", hidden, "`hidden`"), ("b2", length, "`length`")],
    }
}

/// The most bytes one parameter takes in a model file: the longest
/// shortest-round-trip `f64` text (`-2.2250738585072014e-308`) and a comma.
const MAX_BYTES_PER_NUMBER: usize = 25;

/// Checks, before training, that a model of `kind` with `hidden` units at
/// `length` can be saved: its file must stay under [`MAX_FILE_BYTES`].
pub fn check_saveable(kind: ModelKind, hidden: usize, length: usize) -> Result<()> {
    let n = param_count(kind, hidden, length);
    let worst = n.saturating_mul(MAX_BYTES_PER_NUMBER);
    if worst as u64 > MAX_FILE_BYTES {
        bail!(
            "a {kind} with hidden {hidden} at length {length} has {n} parameters: its model file \
             could exceed the {MAX_FILE_BYTES} bytes (512 MiB) a model file may have; use a smaller --hidden"
        );
    }
    Ok(())
}

/// How many numbers the parameters of `kind` hold.
fn param_count(kind: ModelKind, hidden: usize, length: usize) -> usize {
    let h = hidden;
    let gated = |g: usize| g * h + g * h * h + 2 * g * h + h + 1;
    match kind {
        ModelKind::Rnn | ModelKind::Irnn => h + h * h + h + h + 1,
        ModelKind::Gru => gated(3),
        ModelKind::Lstm => gated(4),
        ModelKind::Dnn => 2 * length * h + h + length,
    }
}

impl ModelFile {
    /// The file of a trained `model` of `kind`, trained at `length`.
    /// Refuses a model with a parameter that is not a finite number (JSON
    /// cannot hold one).
    pub fn new(
        model: &dyn SequenceModel,
        kind: ModelKind,
        length: usize,
        training: Training,
        metrics: Metrics,
    ) -> Result<Self> {
        if !model.params().all_finite() {
            bail!("the model has a parameter that is not a finite number: it cannot be saved");
        }
        let hidden = hidden_of(model).context("the model's hidden size cannot be read")?;
        Ok(Self {
            schema: SCHEMA.to_string(),
            model: kind,
            hidden,
            length,
            training,
            params: model.params().to_json(),
            metrics,
        })
    }

    /// Writes the file atomically (a temporary file, then a rename), as
    /// compact JSON, after checking that it reads back and is not larger
    /// than [`ModelFile::load`] accepts.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_vec(self).context("cannot serialise the model")?;
        text.push(b'\n');
        if text.len() as u64 > MAX_FILE_BYTES {
            bail!(
                "the model file would be {} bytes, more than the {MAX_FILE_BYTES} (512 MiB) a model file may have",
                text.len()
            );
        }
        Self::from_slice(&text).context("the model file to write does not check out")?;
        atomic::write(path, &text)
    }

    /// Reads and checks a model file and builds its model. Errors name the
    /// file and the problem.
    pub fn load(path: &Path) -> Result<(ModelFile, Box<dyn SequenceModel>)> {
        let bytes = read_limited(path, "model file")?;
        Self::from_slice(&bytes).with_context(|| format!("model file {}", path.display()))
    }

    /// Like [`Self::load`], from the file's bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<(ModelFile, Box<dyn SequenceModel>)> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            bail!("the file is empty");
        }
        // The workspace enables serde_json's `float_roundtrip`: every number
        // reads back as the exact f64 that was written.
        let json: Value = serde_json::from_slice(bytes).context("not valid JSON")?;
        let obj = json
            .as_object()
            .with_context(|| format!("expected a JSON object, found {}", short(&json)))?;
        check_schema(obj)?;
        let model: ModelKind = field(obj, "model", "model")?;
        let hidden: usize = field(obj, "hidden", "hidden")?;
        let length: usize = field(obj, "length", "length")?;
        if hidden == 0 || hidden > MAX_HIDDEN {
            bail!("`hidden` = {hidden} is out of range: 1 ..= {MAX_HIDDEN}");
        }
        if length == 0 || length > MAX_STUDY_LENGTH {
            bail!("`length` = {length} is out of range: 1 ..= {MAX_STUDY_LENGTH}");
        }
        let params = obj.get("params").context("`params` is missing")?;
        if !params.is_object() {
            bail!(
                "`params` must be a JSON object of named arrays, found {}",
                short(params)
            );
        }
        // Check the sizes before anything is allocated from them.
        for (key, want, from) in sizing_keys(model, hidden, length) {
            if let Some(n) = array_len(params, key)
                && n != want
            {
                bail!(
                    "`params.{key}` has {n} entries but {from} says {want}: \
                     the parameters do not match `hidden` = {hidden}, `length` = {length}"
                );
            }
        }
        let need = param_count(model, hidden, length);
        if need > bytes.len() / 2 {
            bail!(
                "a {model} with hidden {hidden} and length {length} has {need} parameters, \
                 more than a file of {} bytes can hold",
                bytes.len()
            );
        }
        let training = read_training(obj, length)?;
        let metrics = read_metrics(obj, length)?;
        let built = model.load_json(params).context("`params`")?;
        if hidden_of(built.as_ref()) != Some(hidden) {
            bail!("`hidden` = {hidden} does not match the parameters' shapes");
        }
        if let Some(l) = built.fixed_length()
            && l != length
        {
            bail!("`length` = {length} but the parameters are those of an MLP of length {l}");
        }
        let file = ModelFile {
            schema: SCHEMA.to_string(),
            model,
            hidden,
            length,
            training,
            params: params.clone(),
            metrics,
        };
        Ok((file, built))
    }

    /// The held-out set the metrics were measured on (rebuilt from its
    /// seed: the same sequences, bit for bit).
    pub fn heldout_set(&self) -> Result<Dataset> {
        Ok(AlternatingSign::new(self.length)?
            .heldout(self.training.heldout, self.training.heldout_seed)?)
    }

    /// A one-line description: `rnn (hidden 100) trained at length 8, seed 0, 20000 iterations`.
    pub fn describe(&self) -> String {
        let t = &self.training;
        let mut s = format!(
            "{} (hidden {}) trained at length {}, seed {}, {} iterations of {} lr {}/{}",
            self.model,
            self.hidden,
            self.length,
            t.seed,
            t.iters,
            t.optimizer.name(),
            num(t.lr_io),
            num(t.lr_rec)
        );
        if let Some(c) = t.clip {
            s.push_str(&format!(", clip {}", num(c)));
        }
        s
    }
}

/// A number as short text: `0.001`, `1e300`.
fn num(v: f64) -> String {
    if v != 0.0 && !(1e-4..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use seqdata::{Stream, seeded_rng};

    /// A small valid model file of `kind` (untrained weights).
    pub(crate) fn sample_file(kind: ModelKind, hidden: usize, length: usize) -> ModelFile {
        let model = kind
            .build(length, hidden, &mut seeded_rng(7, Stream::Init))
            .unwrap();
        let training = Training {
            seed: 7,
            iters: 10,
            optimizer: OptimizerKind::Sgd,
            lr_io: 0.1,
            lr_rec: 0.001,
            clip: None,
            pool_size: 100,
            heldout: 20,
            heldout_seed: 3,
            eval_every: 5,
        };
        let metrics = Metrics {
            heldout_acc: 0.5,
            heldout_exact: 0.1,
            per_position_acc: vec![0.5; length],
            heldout_loss: 1.0,
        };
        ModelFile::new(model.as_ref(), kind, length, training, metrics).unwrap()
    }

    fn json_of(f: &ModelFile) -> Value {
        serde_json::to_value(f).unwrap()
    }

    fn load_value(v: &Value) -> Result<(ModelFile, Box<dyn SequenceModel>)> {
        ModelFile::from_slice(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn every_kind_round_trips_exactly() {
        for kind in [
            ModelKind::Rnn,
            ModelKind::Irnn,
            ModelKind::Gru,
            ModelKind::Lstm,
            ModelKind::Dnn,
        ] {
            let f = sample_file(kind, 5, 6);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.json");
            f.save(&path).unwrap();
            let (back, model) = ModelFile::load(&path).unwrap();
            assert_eq!(back, f, "{kind}");
            assert_eq!(model.kind(), kind.name());
            assert_eq!(model.params().to_json(), f.params);
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }

    #[test]
    fn bad_files_are_named() {
        let good = json_of(&sample_file(ModelKind::Rnn, 4, 5));
        let dnn = json_of(&sample_file(ModelKind::Dnn, 4, 5));
        type Edit = fn(&mut Value);
        let cases: Vec<(Value, Edit, &str)> = vec![
            (
                good.clone(),
                |v| v["schema"] = "rnnstudy.model/2".into(),
                "version 2",
            ),
            (
                good.clone(),
                |v| v["schema"] = "rnnstudy.study/1".into(),
                "not a model file",
            ),
            (good.clone(), |v| v["schema"] = 1.into(), "must be a string"),
            (
                good.clone(),
                |v| v["schema"] = "rnnstudy.model/x".into(),
                "no version number",
            ),
            (
                good.clone(),
                |v| {
                    v.as_object_mut().unwrap().remove("schema");
                },
                "no `schema`",
            ),
            (
                good.clone(),
                |v| v["model"] = "cnn".into(),
                "unknown variant `cnn`",
            ),
            (
                good.clone(),
                |v| v["hidden"] = 5.into(),
                "`params.b` has 4 entries",
            ),
            (good.clone(), |v| v["hidden"] = 0.into(), "`hidden` = 0"),
            (good.clone(), |v| v["hidden"] = (-3).into(), "`hidden` = -3"),
            (
                good.clone(),
                |v| v["length"] = 100_000.into(),
                "`length` = 100000",
            ),
            (
                good.clone(),
                |v| v["training"]["seed"] = "x".into(),
                "`training.seed`",
            ),
            (
                good.clone(),
                |v| v["training"]["optimizer"] = "rmsprop".into(),
                "rmsprop",
            ),
            (
                good.clone(),
                |v| v["training"]["lr_io"] = (-1.0).into(),
                "`training.lr_io` = -1",
            ),
            (
                good.clone(),
                |v| v["training"]["clip"] = 0.into(),
                "`training.clip` = 0",
            ),
            (
                good.clone(),
                |v| v["training"]["heldout"] = 0.into(),
                "`training.heldout` = 0",
            ),
            (
                good.clone(),
                |v| {
                    v["training"].as_object_mut().unwrap().remove("iters");
                },
                "`training.iters` is missing",
            ),
            (
                good.clone(),
                |v| v["training"] = 3.into(),
                "`training` must be a JSON object",
            ),
            (
                good.clone(),
                |v| v["metrics"]["heldout_acc"] = 1.5.into(),
                "`metrics.heldout_acc` = 1.5",
            ),
            (
                good.clone(),
                |v| v["metrics"]["per_position_acc"] = serde_json::json!([0.5]),
                "has 1 entries",
            ),
            (
                good.clone(),
                |v| v["params"]["W"][1][2] = "NaN".into(),
                "parameter `W` at [1][2]",
            ),
            (
                good.clone(),
                |v| v["params"]["W"][1][2] = Value::Null,
                "parameter `W` at [1][2]",
            ),
            (
                good.clone(),
                |v| v["params"]["W"] = serde_json::json!([[1.0]]),
                "parameter `W` has shape",
            ),
            (
                good.clone(),
                |v| {
                    v["params"].as_object_mut().unwrap().remove("W_out");
                },
                "`W_out` is missing",
            ),
            (
                good.clone(),
                |v| v["params"] = serde_json::json!([1]),
                "`params` must be a JSON object",
            ),
            (
                dnn.clone(),
                |v| v["length"] = 6.into(),
                "`params.b2` has 5 entries",
            ),
            (
                dnn.clone(),
                |v| v["model"] = "rnn".into(),
                "parameter `W_out` is missing",
            ),
        ];
        for (mut v, edit, want) in cases {
            edit(&mut v);
            let e = format!("{:#}", load_value(&v).err().expect(want));
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(!e.contains('\n'), "{e:?} is more than one line");
        }
    }

    #[test]
    fn numbers_are_read_back_exactly() {
        // Without serde_json's `float_roundtrip` this one reads a unit in the
        // last place off, and a reloaded model would not be the saved one.
        let mut f = sample_file(ModelKind::Rnn, 3, 4);
        let x = -0.201_649_125_526_841_44_f64;
        f.params["W"][1][2] = x.into();
        let (back, model) = ModelFile::from_slice(&serde_json::to_vec(&f).unwrap()).unwrap();
        assert_eq!(
            back.params["W"][1][2].as_f64().unwrap().to_bits(),
            x.to_bits()
        );
        assert_eq!(model.params().to_json(), f.params);
    }

    #[test]
    fn huge_declared_sizes_are_refused_before_allocating() {
        // An MLP of length 4096 and hidden 4096 would take 512 MiB per copy;
        // the file cannot hold its parameters.
        let mut v = json_of(&sample_file(ModelKind::Dnn, 4, 5));
        v["hidden"] = 4096.into();
        v["length"] = 4096.into();
        v["metrics"]["per_position_acc"] = serde_json::json!(vec![0.5; 4096]);
        v["params"]["b1"] = serde_json::json!(vec![0.0; 4096]);
        v["params"]["b2"] = serde_json::json!(vec![0.0; 4096]);
        let e = format!("{:#}", load_value(&v).err().unwrap());
        assert!(e.contains("more than a file of"), "{e}");
    }

    #[test]
    fn non_json_and_empty_files_are_named() {
        for (bytes, want) in [
            (&b""[..], "empty"),
            (b"  \n", "empty"),
            (b"{\"schema\": \"rnnstudy.model/1\", \"mo", "not valid JSON"),
            (b"[1, 2]", "expected a JSON object"),
            (b"{\"x\": 1e999}", "not valid JSON: number out of range"),
        ] {
            let e = format!("{:#}", ModelFile::from_slice(bytes).err().unwrap());
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        let e = format!(
            "{:#}",
            ModelFile::load(Path::new("/nonexistent/m.json"))
                .err()
                .unwrap()
        );
        assert!(
            e.contains("cannot read model file /nonexistent/m.json"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = format!("{:#}", ModelFile::load(dir.path()).err().unwrap());
        assert!(e.contains("is a folder"), "{e}");
    }

    /// Pieces of JSON that a model file is made of, to assemble into
    /// near-miss files.
    fn json_token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\"schema\"".to_string()),
            Just("\"rnnstudy.model/1\"".to_string()),
            Just("\"model\"".to_string()),
            Just("\"rnn\"".to_string()),
            Just("\"dnn\"".to_string()),
            Just("\"hidden\"".to_string()),
            Just("\"length\"".to_string()),
            Just("\"params\"".to_string()),
            Just("\"training\"".to_string()),
            Just("\"metrics\"".to_string()),
            Just("\"b\"".to_string()),
            Just("\"W\"".to_string()),
            Just("null".to_string()),
            Just("1e999".to_string()),
            Just("-0".to_string()),
            any::<i64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| v.to_string()),
            "[a-z\"\\\\]{0,4}",
        ]
    }

    /// Replaces the leaf at `path` (indices into objects' and arrays'
    /// entries, taken modulo their sizes) with `new`.
    fn mutate(v: &mut Value, path: &[usize], new: Value) {
        let Some((&i, rest)) = path.split_first() else {
            *v = new;
            return;
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                let key = m.keys().nth(i % m.len()).unwrap().clone();
                mutate(m.get_mut(&key).unwrap(), rest, new);
            }
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                mutate(&mut a[i % n], rest, new);
            }
            other => *other = new,
        }
    }

    fn any_json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
            Just(serde_json::json!([])),
            Just(serde_json::json!({})),
            Just(serde_json::json!([[1.0, 2.0]])),
            (0usize..5000).prop_map(Value::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_are_an_error_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            prop_assert!(ModelFile::from_slice(&bytes).is_err());
        }

        #[test]
        fn json_ish_text_is_an_error_not_a_panic(tokens in prop::collection::vec(json_token(), 0..64)) {
            let text = tokens.concat();
            // Ok is possible in principle, never a panic.
            let _ = ModelFile::from_slice(text.as_bytes());
        }

        #[test]
        fn mutated_files_load_or_fail_cleanly(
            kind in prop_oneof![Just(ModelKind::Rnn), Just(ModelKind::Gru), Just(ModelKind::Lstm), Just(ModelKind::Dnn)],
            path in prop::collection::vec(any::<usize>(), 0..5),
            leaf in any_json_leaf(),
        ) {
            let mut v = json_of(&sample_file(kind, 3, 4));
            mutate(&mut v, &path, leaf);
            if let Ok((file, model)) = load_value(&v) {
                // Whatever loads is usable.
                let x = ndarray::Array2::from_elem((2, file.length), 0.25);
                prop_assert!(model.predict_batch(x.view()).is_ok());
            }
        }
    }
}
