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
//! Version 2 (`rnnstudy.model/2`, [`SCHEMA_IMPORTED`]) adds
//! `training.imported` for a model imported from another framework
//! ([`crate::torch`]) and `provenance` (the build, host, command line and
//! time that wrote the file, [`ModelFile::with_provenance`]); a file with
//! neither is written as version 1. Version 3 ([`SCHEMA_PRECISION`]) adds
//! `precision` for a model that computes in `f32`; `f64` models' files
//! stay version 1 or 2.
//!
//! [`ModelFile::load`] checks everything before a model is built from the
//! file: its size, the schema and its version, that no field is unknown or
//! missing (serde, the error naming the field's path), every training
//! setting, that the declared sizes fit the file, every parameter value
//! (finite numbers of the right shapes) and the metrics. Errors are one line
//! naming the file and the problem.

use std::collections::BTreeMap;
use std::path::Path;

use nncore::{ClipNorm, Metrics, OptimizerSpec, Precision, Schedule, SequenceModel};
use seqdata::{AlternatingSign, Dataset};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, ModelKind, Result};

/// The schema tag this build writes for a model it trained.
pub const SCHEMA: &str = "rnnstudy.model/1";

/// The schema tag of version 2: it adds `training.imported` (and
/// `training.iters` = 0 with it) and `provenance`. Files with neither are
/// written as [`SCHEMA`], so that builds that read only version 1 read
/// them.
pub const SCHEMA_IMPORTED: &str = "rnnstudy.model/2";

/// The schema tag of version 3: it adds `precision` (`"f32"`; a file
/// without it is `f64`). Files of `f64` models are written as version 1 or
/// 2, as before.
pub const SCHEMA_PRECISION: &str = "rnnstudy.model/3";

/// The schema family: a tag is `rnnstudy.model/<version>`.
const SCHEMA_FAMILY: &str = "rnnstudy.model/";

/// The schema versions this build reads.
pub const SUPPORTED_VERSIONS: &[u32] = &[1, 2, 3];

/// The largest model file read or written (512 MiB, as any data file).
pub const MAX_FILE_BYTES: u64 = seqdata::io::MAX_FILE_BYTES;

/// The largest hidden size a model file may declare: the recurrent cells'
/// limit (the MLP's own is larger; a file of any kind stays within this).
pub const MAX_HIDDEN: usize = rnn::MAX_HIDDEN;

/// The longest training length a model file may declare.
pub const MAX_LENGTH: usize = 4096;

/// The most held-out sequences a model file may name.
pub const MAX_HELDOUT: usize = 1_000_000;

/// How a model was trained: enough to replay the run with `cargo xtask train`
/// and to rebuild its held-out set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Training seed (pool, sampling order and initial weights).
    pub seed: u64,
    /// Training iterations done, one sequence each.
    pub iters: usize,
    /// The optimiser and its rates (`optimizer`, `lr_io`, `lr_rec`).
    #[serde(flatten)]
    pub optimizer: OptimizerSpec,
    /// Clipping by global norm, or null.
    pub clip: Option<ClipNorm>,
    /// Training-pool size.
    pub pool_size: usize,
    /// Held-out sequences the metrics were measured on.
    pub heldout: usize,
    /// Seed of the held-out set.
    pub heldout_seed: u64,
    /// Held-out evaluation every this many iterations during training.
    pub eval_every: usize,
    /// Where an imported model came from (`cargo xtask import`); absent for
    /// a model rnnstudy trained. An imported model's other fields are not a
    /// record of its training: `iters` is 0 and the rest are the kind's
    /// `cargo xtask train` defaults; `heldout` and `heldout_seed` name the
    /// set its metrics were measured on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportedFrom>,
    /// Any other key: refused by [`Training::check`] (serde cannot deny
    /// unknown fields beside a flattened one).
    #[serde(flatten, skip_serializing)]
    pub unknown: BTreeMap<String, Value>,
}

/// Where an imported model came from: `training.imported` of a model file
/// (schema version 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedFrom {
    /// The file format, `safetensors`.
    pub format: String,
    /// The file it was imported from, as named to the importer.
    pub file: String,
}

impl Training {
    /// The training record of a run: its seed, the iterations done, the
    /// optimiser, clipping, pool size, the held-out set (its size and
    /// `heldout_seed`) and the schedule's evaluation interval.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        iters: usize,
        optimizer: OptimizerSpec,
        clip: Option<ClipNorm>,
        pool_size: usize,
        heldout: &Dataset,
        heldout_seed: u64,
        schedule: &Schedule,
    ) -> Self {
        Self {
            seed,
            iters,
            optimizer,
            clip,
            pool_size,
            heldout: heldout.len(),
            heldout_seed,
            eval_every: schedule.eval_every,
            imported: None,
            unknown: BTreeMap::new(),
        }
    }

    /// The record of a model of `kind` that rnnstudy did not train, imported
    /// from `from` and measured on `heldout` (of seed `heldout_seed`):
    /// `iters` 0, the seed 0, the kind's article optimiser and rates, no
    /// clipping, the default pool size and evaluation interval (what `cargo
    /// xtask train` would use), and `imported` set.
    pub fn imported(
        kind: ModelKind,
        heldout: &Dataset,
        heldout_seed: u64,
        from: ImportedFrom,
    ) -> Self {
        Self {
            seed: 0,
            iters: 0,
            optimizer: kind.info().article,
            clip: None,
            pool_size: seqdata::POOL_SIZE,
            heldout: heldout.len(),
            heldout_seed,
            eval_every: Schedule::default().eval_every,
            imported: Some(from),
            unknown: BTreeMap::new(),
        }
    }

    /// Checks every setting (`length` is the model file's training length);
    /// the error names the field.
    pub fn check(&self, length: usize) -> Result<()> {
        let bad = |field: &str, v: &dyn std::fmt::Display, fix: &str| {
            Err(Error::Format(format!(
                "`training.{field}` = {v} is out of range: {fix}"
            )))
        };
        if let Some(k) = self.unknown.keys().next() {
            return Err(Error::Format(format!(
                "unknown field `training.{k}`: expected seed, iters, optimizer, lr_io, lr_rec, \
                 clip, pool_size, heldout, heldout_seed, eval_every, imported"
            )));
        }
        if let Some(from) = &self.imported {
            if from.format != "safetensors" {
                return Err(Error::Format(format!(
                    "`training.imported.format` = {:?}: the only format is \"safetensors\"",
                    from.format
                )));
            }
            if self.iters != 0 {
                return bad(
                    "iters",
                    &self.iters,
                    "an imported model (training.imported) has 0: rnnstudy did not train it",
                );
            }
        } else if self.iters == 0 || self.iters > Schedule::MAX_ITERS {
            return bad(
                "iters",
                &self.iters,
                &format!("1 ..= {}", Schedule::MAX_ITERS),
            );
        }
        if self.eval_every == 0 {
            return bad("eval_every", &0, "it must be >= 1");
        }
        self.optimizer
            .check()
            .map_err(|e| field_error("training", e))?;
        if self.pool_size == 0 {
            return bad("pool_size", &0, "it must be >= 1");
        }
        if self.heldout == 0 || self.heldout > MAX_HELDOUT {
            return bad("heldout", &self.heldout, &format!("1 ..= {MAX_HELDOUT}"));
        }
        AlternatingSign::new(length)?
            .check_count(self.heldout)
            .map_err(|e| Error::from(e).context("`training.heldout`"))?;
        Ok(())
    }
}

/// A model file's contents (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// [`SCHEMA`] when written by this build, or [`SCHEMA_IMPORTED`] for an
    /// imported model (`training.imported`).
    pub schema: String,
    /// The model kind.
    pub model: ModelKind,
    /// Hidden units.
    pub hidden: usize,
    /// The training length: the only length an MLP accepts; recurrent models
    /// take any length.
    pub length: usize,
    /// The precision the model computes in; written only when it is `f32`
    /// (version 3), absent meaning `f64`.
    #[serde(default, skip_serializing_if = "Precision::is_f64")]
    pub precision: Precision,
    /// How the model was trained.
    pub training: Training,
    /// The parameters, in the layout of the model's crate (e.g. `W_in`, `W`,
    /// `b`, `W_out`, `b_out`).
    pub params: Value,
    /// Held-out metrics at the end of training.
    pub metrics: Metrics,
    /// Where the file comes from (the build, host, command line and time
    /// of the process that wrote it); version 2 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<provenance::Provenance>,
}

/// The most bytes one parameter takes in a model file: the longest
/// shortest-round-trip `f64` text (`-2.2250738585072014e-308`) and a comma.
const MAX_BYTES_PER_NUMBER: usize = 25;

/// Checks, before training, that a model of `kind` with `hidden` units at
/// `length` can be saved: its file must stay under [`MAX_FILE_BYTES`].
pub fn check_saveable(kind: ModelKind, hidden: usize, length: usize) -> Result<()> {
    let n = (kind.info().param_count)(hidden, length);
    let worst = n.saturating_mul(MAX_BYTES_PER_NUMBER);
    if worst as u64 > MAX_FILE_BYTES {
        return Err(Error::Format(format!(
            "a {kind} with hidden {hidden} at length {length} has {n} parameters: its model file \
             could exceed the {MAX_FILE_BYTES} bytes (512 MiB) a model file may have; use a smaller --hidden"
        )));
    }
    Ok(())
}

/// Checks the schema tag: a model file of a supported version.
fn check_schema(json: &Value) -> Result<()> {
    let fail = |m: String| Err(Error::Format(m));
    let schema = match json.get("schema") {
        None => {
            return fail(format!(
                "no `schema` field: not an rnnstudy model file (expected {SCHEMA})"
            ));
        }
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return fail(format!(
                "`schema` = {} must be a string such as {SCHEMA}",
                short_json(other)
            ));
        }
    };
    check_schema_tag(schema)
}

/// Checks a schema tag: `rnnstudy.model/<v>` of a version this build reads.
pub(crate) fn check_schema_tag(schema: &str) -> Result<()> {
    let supported = SUPPORTED_VERSIONS
        .iter()
        .map(|v| format!("{SCHEMA_FAMILY}{v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let fail = |m: String| Err(Error::Format(m));
    let Some(version) = schema.strip_prefix(SCHEMA_FAMILY) else {
        return fail(format!(
            "schema `{schema}` is not a model file's (expected {SCHEMA})"
        ));
    };
    match version.parse::<u32>() {
        Ok(v) if SUPPORTED_VERSIONS.contains(&v) => Ok(()),
        Ok(v) => fail(format!(
            "schema version {v} (`{schema}`) is not supported: this build reads {supported} \
             (a newer rnnstudy wrote the file?)"
        )),
        Err(_) => fail(format!(
            "schema `{schema}` has no version number: this build reads {supported}"
        )),
    }
}

/// A configuration error of nncore as a model-file error naming the field's
/// path (`` `training.lr_io` = -1: … ``).
fn field_error(section: &str, e: nncore::Error) -> Error {
    match e {
        nncore::Error::InvalidConfig {
            field,
            value,
            reason,
        } => Error::Format(format!("`{section}.{field}` = {value}: {reason}")),
        other => Error::Format(format!("`{section}`: {other}")),
    }
}

/// A JSON value as short text for messages.
fn short_json(v: &Value) -> String {
    seqdata::io::abbreviate(&v.to_string(), 40)
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
            return Err(Error::Format(
                "the model has a parameter that is not a finite number: it cannot be saved".into(),
            ));
        }
        let precision = model.precision();
        let schema = match (precision, &training.imported) {
            (Precision::F32, _) => SCHEMA_PRECISION,
            (Precision::F64, Some(_)) => SCHEMA_IMPORTED,
            (Precision::F64, None) => SCHEMA,
        };
        Ok(Self {
            schema: schema.to_string(),
            model: kind,
            hidden: model.hidden(),
            length,
            precision,
            training,
            params: model.params().to_json(),
            metrics,
            provenance: None,
        })
    }

    /// The file with `provenance` recorded (written as version 2, which
    /// adds it).
    pub fn with_provenance(mut self, provenance: &provenance::Provenance) -> Self {
        self.provenance = Some(provenance.clone());
        if self.schema == SCHEMA {
            self.schema = SCHEMA_IMPORTED.to_string();
        }
        self
    }

    /// Writes the file atomically (a temporary file, then a rename), as
    /// compact JSON, after checking that it reads back and is not larger
    /// than [`ModelFile::load`] accepts.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_vec(self).expect("a model file serialises");
        text.push(b'\n');
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(Error::Format(format!(
                "the model file would be {} bytes, more than the {MAX_FILE_BYTES} (512 MiB) a model file may have",
                text.len()
            )));
        }
        Self::from_slice(&text)
            .map_err(|e| e.context("the model file to write does not check out"))?;
        seqdata::io::write_atomic(path, &text)?;
        Ok(())
    }

    /// Reads and checks a model file and builds its model. Errors name the
    /// file and the problem.
    pub fn load(path: &Path) -> Result<(ModelFile, Box<dyn SequenceModel>)> {
        let bytes = seqdata::io::read_limited(path, "model file")?;
        Self::from_slice(&bytes).map_err(|e| e.context(format!("model file {}", path.display())))
    }

    /// Like [`Self::load`], from the file's bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<(ModelFile, Box<dyn SequenceModel>)> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::Format("the file is empty".into()));
        }
        // The workspace enables serde_json's `float_roundtrip`: every number
        // reads back as the exact f64 that was written.
        let json: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Format(format!("not valid JSON: {e}")))?;
        if !json.is_object() {
            return Err(Error::Format(format!(
                "expected a JSON object, found {}",
                short_json(&json)
            )));
        }
        check_schema(&json)?;
        let file: ModelFile = serde_path_to_error::deserialize(json).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                Error::Format(inner.to_string())
            } else {
                Error::Format(format!("`{path}`: {inner}"))
            }
        })?;
        let model = file.check(bytes.len())?;
        Ok((file, model))
    }

    /// Checks the sizes, the training settings and the metrics, then builds
    /// the model from the parameters. `file_bytes` bounds what the declared
    /// sizes may ask to allocate.
    fn check(&self, file_bytes: usize) -> Result<Box<dyn SequenceModel>> {
        let (hidden, length) = (self.hidden, self.length);
        if hidden == 0 || hidden > MAX_HIDDEN {
            return Err(Error::Format(format!(
                "`hidden` = {hidden} is out of range: 1 ..= {MAX_HIDDEN}"
            )));
        }
        if length == 0 || length > MAX_LENGTH {
            return Err(Error::Format(format!(
                "`length` = {length} is out of range: 1 ..= {MAX_LENGTH}"
            )));
        }
        if !self.params.is_object() {
            return Err(Error::Format(format!(
                "`params` must be a JSON object of named arrays, found {}",
                short_json(&self.params)
            )));
        }
        // Every number takes at least two bytes (a digit and a comma): a
        // file cannot hold more than half its size in parameters.
        let need = (self.model.info().param_count)(hidden, length);
        if need > file_bytes / 2 {
            return Err(Error::Format(format!(
                "a {} with hidden {hidden} and length {length} has {need} parameters, \
                 more than a file of {file_bytes} bytes can hold",
                self.model
            )));
        }
        if self.precision == Precision::F32 && self.schema != SCHEMA_PRECISION {
            return Err(Error::Format(format!(
                "`precision` is not part of {}: an f32 model's file has schema {SCHEMA_PRECISION}",
                self.schema
            )));
        }
        let model = self
            .model
            .load(hidden, length, self.precision, &self.params)
            .map_err(|e| {
                e.context(format!(
                    "`params` (of a {} with hidden {hidden})",
                    self.model
                ))
            })?;
        if self.training.imported.is_some() && self.schema == SCHEMA {
            return Err(Error::Format(format!(
                "`training.imported` is not part of {SCHEMA}: an imported model's file has schema \
                 {SCHEMA_IMPORTED}"
            )));
        }
        self.training.check(length)?;
        self.metrics
            .check(length)
            .map_err(|e| field_error("metrics", e))?;
        Ok(model)
    }

    /// The held-out set the metrics were measured on (rebuilt from its
    /// seed: the same sequences, bit for bit).
    pub fn heldout_set(&self) -> Result<Dataset> {
        Ok(AlternatingSign::new(self.length)?
            .heldout(self.training.heldout, self.training.heldout_seed)?)
    }

    /// A one-line description: `rnn (hidden 100) trained at length 8, seed 0, 20000 iterations …`.
    pub fn describe(&self) -> String {
        let t = &self.training;
        let num = nncore::text::number;
        if let Some(from) = &t.imported {
            return format!(
                "{} (hidden {}) imported from {} ({}), training length {}",
                self.model, self.hidden, from.file, from.format, self.length
            );
        }
        let mut s = format!(
            "{} (hidden {}) trained at length {}, seed {}, {} iterations of {} lr {}/{}",
            self.model,
            self.hidden,
            self.length,
            t.seed,
            t.iters,
            t.optimizer.optimizer,
            num(t.optimizer.lr_io),
            num(t.optimizer.lr_rec)
        );
        if let Some(c) = t.clip {
            s.push_str(&format!(", clip {}", num(c.max_norm())));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KINDS;
    use proptest::prelude::*;
    use seqdata::{Stream, seeded_rng};

    /// A small valid model file of `kind` (untrained weights).
    pub(crate) fn sample_file(kind: ModelKind, hidden: usize, length: usize) -> ModelFile {
        let model = kind
            .build(
                hidden,
                length,
                Precision::F64,
                &mut seeded_rng(7, Stream::Init),
            )
            .unwrap();
        let training = Training {
            seed: 7,
            iters: 10,
            optimizer: OptimizerSpec::sgd(0.1, 0.001),
            clip: None,
            pool_size: 100,
            heldout: 20,
            heldout_seed: 3,
            eval_every: 5,
            imported: None,
            unknown: BTreeMap::new(),
        };
        let metrics = Metrics {
            heldout_acc: 0.5,
            heldout_exact: 0.1,
            per_position_acc: vec![0.5; length],
            heldout_loss: 1.0,
        };
        ModelFile::new(model.as_ref(), kind, length, training, metrics).unwrap()
    }

    fn kind(name: &str) -> ModelKind {
        name.parse().unwrap()
    }

    fn json_of(f: &ModelFile) -> Value {
        serde_json::to_value(f).unwrap()
    }

    fn load_value(v: &Value) -> Result<(ModelFile, Box<dyn SequenceModel>)> {
        ModelFile::from_slice(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn every_kind_round_trips_exactly() {
        for kind in ModelKind::all() {
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
        let good = json_of(&sample_file(kind("rnn"), 4, 5));
        let dnn = json_of(&sample_file(kind("dnn"), 4, 5));
        type Edit = fn(&mut Value);
        let cases: Vec<(Value, Edit, &str)> = vec![
            (
                good.clone(),
                |v| v["schema"] = "rnnstudy.model/9".into(),
                "version 9",
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
                "unknown model kind `cnn`",
            ),
            (
                good.clone(),
                |v| v["hidden"] = 5.into(),
                "(of a rnn with hidden 5): parameter `W_in` has shape",
            ),
            (good.clone(), |v| v["hidden"] = 0.into(), "`hidden` = 0"),
            (
                good.clone(),
                |v| v["hidden"] = (-3).into(),
                "`hidden`: invalid value: integer `-3`",
            ),
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
                "the clipping norm must be a finite number > 0",
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
                "missing field `iters`",
            ),
            (
                good.clone(),
                |v| v["training"] = 3.into(),
                "`training`: invalid type: integer `3`, expected",
            ),
            (
                good.clone(),
                |v| v["training"]["iters"] = 0.into(),
                "`training.iters` = 0 is out of range",
            ),
            (
                good.clone(),
                |v| {
                    v["training"]["imported"] =
                        serde_json::json!({"format": "safetensors", "file": "m.safetensors"})
                },
                "`training.imported` is not part of rnnstudy.model/1",
            ),
            (
                good.clone(),
                |v| {
                    v["schema"] = "rnnstudy.model/2".into();
                    v["training"]["imported"] =
                        serde_json::json!({"format": "safetensors", "file": "m.safetensors"})
                },
                "an imported model (training.imported) has 0",
            ),
            (
                good.clone(),
                |v| {
                    v["schema"] = "rnnstudy.model/2".into();
                    v["training"]["iters"] = 0.into();
                    v["training"]["imported"] = serde_json::json!({"format": "onnx", "file": "m"})
                },
                "`training.imported.format` = \"onnx\"",
            ),
            (
                good.clone(),
                |v| v["extra"] = 1.into(),
                "unknown field `extra`",
            ),
            (
                good.clone(),
                |v| v["training"]["lr"] = 1.into(),
                "unknown field `training.lr`",
            ),
            (
                good.clone(),
                |v| v["metrics"]["acc"] = 1.into(),
                "unknown field `acc`",
            ),
            (
                good.clone(),
                |v| v["metrics"]["heldout_acc"] = 1.5.into(),
                "`metrics.heldout_acc` = 1.5",
            ),
            (
                good.clone(),
                |v| v["metrics"]["per_position_acc"] = serde_json::json!([0.5]),
                "`metrics.per_position_acc` = 1 entries",
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
                |v| {
                    v["length"] = 6.into();
                    v["metrics"]["per_position_acc"] = serde_json::json!(vec![0.5; 6]);
                },
                "(of a dnn with hidden 4): parameter `W1` has shape",
            ),
            (
                dnn.clone(),
                |v| v["model"] = "rnn".into(),
                "unknown parameter `W1`",
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
        let mut f = sample_file(kind("rnn"), 3, 4);
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
        let mut v = json_of(&sample_file(kind("dnn"), 4, 5));
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
            kind in (0..KINDS.len()).prop_map(|i| ModelKind::all().nth(i).unwrap()),
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
