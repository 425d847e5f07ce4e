//! Weights in PyTorch's layout: a model file to a [safetensors] file whose
//! tensors load straight into `nn.RNN` / `nn.GRU` / `nn.LSTM` (+ `nn.Linear`
//! and a sigmoid) or two `nn.Linear` for the MLP, and back.
//!
//! Each kind's mapping is its registry row's [`TorchLayout`]
//! ([`crate::KindInfo::torch`]): PyTorch's tensor names, and for each the
//! parameter block it holds, transposed or not. PyTorch's modules multiply
//! column vectors (`y = W x`), ours row vectors (`y = x W`), so every weight
//! matrix is transposed (`rnn.weight_hh_l0` = `W_hhᵀ`); gate blocks are in
//! PyTorch's order already (GRU r, z, n; LSTM i, f, g, o). The Elman cell
//! has one hidden bias `b` where `nn.RNN` has two: `b` is exported as
//! `rnn.bias_ih_l0` and zeros as `rnn.bias_hh_l0`, and an import adds the
//! two (exact when `bias_hh` is zero, as in every export; a file trained in
//! PyTorch gets their rounded sum).
//!
//! Tensors are written as `F64`, so values are bit-exact; an import reads
//! `F64` or `F32` (widened to f64, exactly). The file's `__metadata__` holds
//! the model file's record (see [`to_safetensors`]), so that an export
//! imports back to the same model file; a file without it (saved by
//! PyTorch) needs its kind and training length from the caller.
//!
//! ```
//! use models::{ModelFile, ModelKind, Training, torch};
//! use nncore::{OptimizerSpec, Schedule, evaluate};
//! use seqdata::{AlternatingSign, Stream, seeded_rng};
//!
//! let kind: ModelKind = "lstm".parse()?;
//! let model = kind.build(4, 6, nncore::Precision::F64, &mut seeded_rng(0, Stream::Init))?;
//! let heldout = AlternatingSign::new(6)?.heldout(50, 1)?;
//! let metrics = evaluate(model.as_ref(), &heldout)?;
//! let schedule = Schedule { iters: 1, eval_every: 1, ..Schedule::default() };
//! let training = Training::new(0, 1, OptimizerSpec::sgd(0.1, 0.001), None, 100, &heldout, 1, &schedule);
//! let file = ModelFile::new(model.as_ref(), kind, 6, training, metrics)?;
//!
//! let bytes = torch::to_safetensors(&file)?;
//! let back = torch::from_safetensors(&bytes, &torch::ImportOptions::new("m.safetensors"))?;
//! assert!(back.restored);
//! assert_eq!(back.file, file);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use std::collections::HashMap;

use nncore::{Metrics, ParamSpec, Precision, SequenceModel};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use seqdata::AlternatingSign;

use crate::file::check_schema_tag;
use crate::{Error, ImportedFrom, MAX_HIDDEN, MAX_LENGTH, ModelFile, ModelKind, Result, Training};

/// How one PyTorch tensor holds one of our parameter blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorchMap {
    /// The same numbers in the same shape (a bias vector).
    Same,
    /// Our `[a, b]` block as PyTorch's `[b, a]`, its transpose.
    Transposed,
    /// A bias PyTorch has and our cell has not (it has one where PyTorch
    /// has two): exported as zeros of the block's shape, and on import
    /// added into the block, which a [`TorchMap::Same`] tensor holds.
    ExtraBias,
}

/// One tensor of a kind's PyTorch layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TorchTensor {
    /// PyTorch's name, as the modules' `state_dict()` has it
    /// (`rnn.weight_ih_l0`, `head.bias`).
    pub name: &'static str,
    /// The name of our parameter block (`W_in`, `b_out`).
    pub param: &'static str,
    /// How the tensor holds the block.
    pub map: TorchMap,
}

/// A kind's parameters as PyTorch modules: a column of the registry.
#[derive(Debug, Clone, Copy)]
pub struct TorchLayout {
    /// The modules and the forward pass, in Python (recorded in the file's
    /// metadata, and the documentation's table).
    pub modules: &'static str,
    /// Every tensor, in `state_dict()` order.
    pub tensors: &'static [TorchTensor],
    /// The tensor and axis whose size is the hidden size `H` (an import
    /// reads it from there).
    pub hidden_from: (&'static str, usize),
}

/// The metadata key of the model-file schema the record follows.
pub const META_SCHEMA: &str = "rnnstudy.schema";
/// The metadata key of the model kind.
pub const META_KIND: &str = "rnnstudy.kind";
/// The metadata key of the hidden size.
pub const META_HIDDEN: &str = "rnnstudy.hidden";
/// The metadata key of the training length.
pub const META_LENGTH: &str = "rnnstudy.length";
/// The metadata key of the PyTorch modules ([`TorchLayout::modules`]).
pub const META_MODULES: &str = "rnnstudy.modules";
/// The metadata key of the model file's `training`, as JSON.
pub const META_TRAINING: &str = "rnnstudy.training";
/// The metadata key of the model file's `metrics`, as JSON.
pub const META_METRICS: &str = "rnnstudy.metrics";

/// The held-out sequences an imported model is measured on by default: the
/// study's and `cargo xtask train`'s default set.
pub const DEFAULT_HELDOUT: usize = 2_000;

/// Our block `[r, c]` (row-major) as its transpose `[c, r]`.
fn transpose(v: &[f64], r: usize, c: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = v[i * c + j];
        }
    }
    out
}

/// The spec of our block `param` in `model`; an error (not a panic) if a
/// registry row names a block its model lacks.
fn spec_of<'a>(
    model: &'a dyn SequenceModel,
    kind: ModelKind,
    param: &str,
) -> Result<&'a ParamSpec> {
    let p = model.params();
    p.index_of(param).map(|i| &p.specs()[i]).ok_or_else(|| {
        Error::Format(format!(
            "the registry's PyTorch layout of {kind} names the parameter `{param}`, which a {kind} \
                 does not have ({})",
            p.names()
        ))
    })
}

/// The PyTorch shape of tensor `t` holding the block `spec`.
fn torch_shape(t: &TorchTensor, spec: &ParamSpec) -> Vec<usize> {
    match t.map {
        TorchMap::Same | TorchMap::ExtraBias => spec.shape.clone(),
        TorchMap::Transposed => {
            let (r, c) = spec.dim2();
            vec![c, r]
        }
    }
}

/// The shape as text: `[1, 100]`.
fn shape_text(shape: &[usize]) -> String {
    format!(
        "[{}]",
        shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// A model file as safetensors bytes in PyTorch's layout: every tensor of
/// the kind's [`TorchLayout`] as `F64`, and the `__metadata__`:
///
/// | key | value |
/// |---|---|
/// | `format` | `pt` (what `safetensors.torch.save_file` writes) |
/// | [`META_SCHEMA`] | the model file's schema (`rnnstudy.model/1`) |
/// | [`META_KIND`], [`META_HIDDEN`], [`META_LENGTH`] | `lstm`, `100`, `8` |
/// | [`META_MODULES`] | the PyTorch modules ([`TorchLayout::modules`]) |
/// | [`META_TRAINING`], [`META_METRICS`] | the file's `training` and `metrics` as JSON |
pub fn to_safetensors(file: &ModelFile) -> Result<Vec<u8>> {
    let kind = file.model;
    let layout = &kind.info().torch;
    let model = kind.load(file.hidden, file.length, file.precision, &file.params)?;
    let values = model.params().values_f64();
    let mut tensors: Vec<(&'static str, Vec<usize>, Vec<u8>)> = Vec::new();
    for t in layout.tensors {
        let spec = spec_of(model.as_ref(), kind, t.param)?;
        let v = &values[spec.range()];
        let data = match t.map {
            TorchMap::Same => v.to_vec(),
            TorchMap::Transposed => {
                let (r, c) = spec.dim2();
                transpose(v, r, c)
            }
            TorchMap::ExtraBias => vec![0.0; v.len()],
        };
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        tensors.push((t.name, torch_shape(t, spec), bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F64, shape.clone(), bytes)
                .map(|v| (*name, v))
                .map_err(|e| Error::Format(format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (META_SCHEMA.to_string(), file.schema.clone()),
        (META_KIND.to_string(), kind.name().to_string()),
        (META_HIDDEN.to_string(), file.hidden.to_string()),
        (META_LENGTH.to_string(), file.length.to_string()),
        (META_MODULES.to_string(), layout.modules.to_string()),
        (META_TRAINING.to_string(), compact(&file.training)),
        (META_METRICS.to_string(), compact(&file.metrics)),
    ]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Format(format!("cannot write the safetensors file: {e}")))
}

/// A record as compact JSON (every number the shortest text that reads
/// back to the same f64).
fn compact<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("a model file's records serialise")
}

/// What [`from_safetensors`] needs beyond the file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The kind, overriding the file's metadata; required for a file
    /// without it (one saved by PyTorch).
    pub kind: Option<ModelKind>,
    /// The training length, overriding the file's metadata; required for a
    /// file without it. (The MLP takes only this length; for a recurrent
    /// model it names the held-out set the metrics are measured on.)
    pub length: Option<usize>,
    /// The file's name, recorded in `training.imported.file`.
    pub source: String,
    /// Held-out sequences an imported model is measured on.
    pub heldout: usize,
    /// Seed of that held-out set.
    pub heldout_seed: u64,
}

impl ImportOptions {
    /// Kind and length from the file's metadata, the default held-out set
    /// ([`DEFAULT_HELDOUT`] sequences of [`seqdata::DEFAULT_HELDOUT_SEED`]).
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            kind: None,
            length: None,
            source: source.into(),
            heldout: DEFAULT_HELDOUT,
            heldout_seed: seqdata::DEFAULT_HELDOUT_SEED,
        }
    }
}

/// An imported model.
pub struct Import {
    /// Its model file, ready to save.
    pub file: ModelFile,
    /// The model, built from the tensors.
    pub model: Box<dyn SequenceModel>,
    /// Whether `file` is the record the export carried (its `training` and
    /// `metrics`, the metrics re-measured and found equal bit for bit);
    /// otherwise it is marked imported (`training.imported`) and its metrics
    /// were measured on the options' held-out set.
    pub restored: bool,
    /// What the import did beyond copying numbers (tensors widened from
    /// F32, a nonzero extra bias summed, metadata overridden or set aside).
    pub notes: Vec<String>,
}

/// The value of metadata `key`, parsed.
fn meta_number(meta: &HashMap<String, String>, key: &str) -> Result<Option<usize>> {
    meta.get(key)
        .map(|v| {
            v.trim().parse::<usize>().map_err(|_| {
                Error::Format(format!(
                    "metadata `{key}` = {v:?} is not a whole number; fix or remove the key"
                ))
            })
        })
        .transpose()
}

/// A tensor's values as f64, checked: its dtype (F64, or F32 widened), its
/// shape and that every value is finite. Returns whether it was widened.
fn read_tensor(
    view: &TensorView<'_>,
    name: &str,
    want: &[usize],
    whose: &str,
) -> Result<(Vec<f64>, bool)> {
    if view.shape() != want {
        return Err(Error::Format(format!(
            "tensor `{name}` has shape {}, {whose} needs {}",
            shape_text(view.shape()),
            shape_text(want)
        )));
    }
    let (values, widened): (Vec<f64>, bool) = match view.dtype() {
        Dtype::F64 => (
            view.data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
            false,
        ),
        Dtype::F32 => (
            view.data()
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
                .collect(),
            true,
        ),
        other => {
            return Err(Error::Format(format!(
                "tensor `{name}` has dtype {other:?}: rnnstudy reads F64 (exactly) or F32 (widened \
                 to f64); save it as float64 (`.double()`) or float32"
            )));
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let at = match want {
            [_, c] => format!("[{}, {}]", i / c, i % c),
            _ => format!("[{i}]"),
        };
        return Err(Error::Format(format!(
            "tensor `{name}` at {at} is {}: parameters must be finite numbers",
            values[i]
        )));
    }
    Ok((values, widened))
}

/// The error for a file without the kind or the length: what to give.
fn needs(what: &str, kinds: bool) -> Error {
    let kinds = if kinds {
        format!(" (one of {})", ModelKind::names())
    } else {
        String::new()
    };
    Error::Format(format!(
        "the file has no rnnstudy metadata for its {what} (a file saved by PyTorch has none): give \
         the model's kind{kinds} and its training length (`cargo xtask import --kind K --length L`)"
    ))
}

/// Reads safetensors bytes in PyTorch's layout as a model file (see the
/// module docs). Kind and length come from `options` or else the file's
/// metadata; the hidden size from the tensors' shapes. Every tensor of the
/// kind's layout must be there with its shape, as F64 or F32, with finite
/// values, and no other tensor; errors name the tensor and the fix. When
/// the metadata carries the exporter's `training` and `metrics` (and the
/// kind and length are its own), the metrics are measured again on that
/// held-out set: equal bit for bit, the record is restored as it was;
/// otherwise the model is recorded as imported ([`Training::imported`]),
/// measured on the options' held-out set. Never panics, whatever the bytes.
pub fn from_safetensors(bytes: &[u8], options: &ImportOptions) -> Result<Import> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::Format(format!("not a safetensors file: {e}")))?;
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::Format(format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let mut notes = Vec::new();
    if let Some(schema) = meta.get(META_SCHEMA) {
        check_schema_tag(schema).map_err(|e| e.context(format!("metadata `{META_SCHEMA}`")))?;
    }
    let meta_kind = meta
        .get(META_KIND)
        .map(|name| {
            name.parse::<ModelKind>()
                .map_err(|e| e.context(format!("metadata `{META_KIND}`")))
        })
        .transpose()?;
    let meta_length = meta_number(&meta, META_LENGTH)?;
    let kind = match (options.kind, meta_kind) {
        (Some(k), m) => {
            if let Some(m) = m.filter(|&m| m != k) {
                notes.push(format!("read as a {k}, although its metadata says {m}"));
            }
            k
        }
        (None, Some(m)) => m,
        (None, None) => return Err(needs("kind", true)),
    };
    let length = match (options.length, meta_length) {
        (Some(l), m) => {
            if let Some(m) = m.filter(|&m| m != l) {
                notes.push(format!(
                    "training length {l}, although its metadata says {m}"
                ));
            }
            l
        }
        (None, Some(m)) => m,
        (None, None) => return Err(needs("training length", false)),
    };
    if length == 0 || length > MAX_LENGTH {
        return Err(Error::Format(format!(
            "training length {length} is out of range: 1 ..= {MAX_LENGTH}"
        )));
    }
    let layout = &kind.info().torch;
    let all_names = || {
        layout
            .tensors
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    // No tensor the layout does not name (another kind's file, more layers).
    let mut names = tensors.names();
    names.sort();
    if let Some(extra) = names
        .iter()
        .find(|n| !layout.tensors.iter().any(|t| t.name == **n))
    {
        return Err(Error::Format(format!(
            "unknown tensor `{extra}`: a {kind} has exactly {} (another kind's file, or a model \
             with more layers?)",
            all_names()
        )));
    }
    let tensor = |name: &str| {
        tensors.tensor(name).map_err(|_| {
            Error::Format(format!(
                "tensor `{name}` is missing: a {kind} has {}",
                all_names()
            ))
        })
    };
    // The hidden size, from its tensor's shape.
    let (from, axis) = layout.hidden_from;
    let view = tensor(from)?;
    let hidden = match view.shape().get(axis) {
        Some(&h) if (1..=MAX_HIDDEN).contains(&h) => h,
        _ => {
            return Err(Error::Format(format!(
                "tensor `{from}` has shape {}: its size along axis {axis} is a {kind}'s hidden \
                 size, 1 ..= {MAX_HIDDEN}",
                shape_text(view.shape()),
            )));
        }
    };
    if let Some(m) = meta_number(&meta, META_HIDDEN)?
        && m != hidden
    {
        return Err(Error::Format(format!(
            "metadata `{META_HIDDEN}` = {m}, but tensor `{from}` has shape {} (hidden {hidden}); \
             fix or remove the key",
            shape_text(view.shape())
        )));
    }
    // Every number takes at least 4 bytes (F32): the file must hold them all
    // before anything is allocated for them.
    let need = (kind.info().param_count)(hidden, length);
    if need.saturating_mul(4) > bytes.len() {
        return Err(Error::Format(format!(
            "a {kind} with hidden {hidden} at length {length} has {need} parameters, more than a \
             file of {} bytes holds (is --length right?)",
            bytes.len()
        )));
    }
    let mut model = (kind.info().zeros)(hidden, length, Precision::F64)?;
    let whose = format!("a {kind} with hidden {hidden} (training length {length})");
    let mut values = model.params().values().to_vec();
    let mut widened = Vec::new();
    // First the tensors that hold a block, then the extra biases added in.
    for extra in [false, true] {
        for t in layout
            .tensors
            .iter()
            .filter(|t| (t.map == TorchMap::ExtraBias) == extra)
        {
            let spec = spec_of(model.as_ref(), kind, t.param)?;
            let (v, w) = read_tensor(&tensor(t.name)?, t.name, &torch_shape(t, spec), &whose)?;
            if w {
                widened.push(t.name);
            }
            let block = &mut values[spec.range()];
            match t.map {
                TorchMap::Same => block.copy_from_slice(&v),
                TorchMap::Transposed => {
                    let (r, c) = spec.dim2();
                    // PyTorch's [c, r] back to our [r, c].
                    block.copy_from_slice(&transpose(&v, c, r));
                }
                TorchMap::ExtraBias => {
                    if v.iter().any(|&x| x != 0.0) {
                        notes.push(format!(
                            "`{}` is not zero: added into `{}` (one bias where PyTorch has two; \
                             the sum is rounded, so predictions may differ from PyTorch's in \
                             the last bits)",
                            t.name, t.param
                        ));
                    }
                    for (b, x) in block.iter_mut().zip(&v) {
                        *b += x;
                    }
                    if let Some(i) = block.iter().position(|b| !b.is_finite()) {
                        return Err(Error::Format(format!(
                            "tensor `{}` at [{i}] added to the other bias overflows: parameters \
                             must be finite numbers",
                            t.name
                        )));
                    }
                }
            }
        }
    }
    if !widened.is_empty() {
        notes.push(format!(
            "widened from F32 to f64 (exactly): {}",
            widened.join(", ")
        ));
    }
    model.params_mut().values_mut().copy_from_slice(&values);

    let task = AlternatingSign::new(length)?;
    let recorded = restore(
        &meta,
        kind,
        meta_kind,
        length,
        meta_length,
        model.as_ref(),
        &task,
    )?;
    let (training, metrics, restored) = match recorded {
        Ok((training, metrics)) => (training, metrics, true),
        Err(why) => {
            if let Some(why) = why {
                notes.push(why);
            }
            task.check_count(options.heldout)?;
            let set = task.heldout(options.heldout, options.heldout_seed)?;
            let metrics = nncore::evaluate_parallel(model.as_ref(), &set)?;
            let from = ImportedFrom {
                format: "safetensors".into(),
                file: options.source.clone(),
            };
            let training = Training::imported(kind, &set, options.heldout_seed, from);
            (training, metrics, false)
        }
    };
    let file = ModelFile::new(model.as_ref(), kind, length, training, metrics)?;
    Ok(Import {
        file,
        model,
        restored,
        notes,
    })
}

/// The record the file's metadata carries, if it is this model's: `Ok`
/// with its training and metrics, or `Err` with why not (`None`: there is
/// none to restore). A damaged record is an error naming its key.
#[allow(clippy::type_complexity)]
fn restore(
    meta: &HashMap<String, String>,
    kind: ModelKind,
    meta_kind: Option<ModelKind>,
    length: usize,
    meta_length: Option<usize>,
    model: &dyn SequenceModel,
    task: &AlternatingSign,
) -> Result<std::result::Result<(Training, Metrics), Option<String>>> {
    let (Some(training), Some(metrics)) = (meta.get(META_TRAINING), meta.get(META_METRICS)) else {
        return Ok(Err(None));
    };
    if meta_kind != Some(kind) || meta_length != Some(length) {
        return Ok(Err(Some(
            "the record in its metadata is of another kind or length: recorded as imported".into(),
        )));
    }
    let training: Training = serde_json::from_str(training).map_err(|e| {
        Error::Format(format!(
            "metadata `{META_TRAINING}` is not a model file's training record ({e}); fix or \
             remove the key"
        ))
    })?;
    training
        .check(length)
        .map_err(|e| e.context(format!("metadata `{META_TRAINING}`")))?;
    let metrics: Metrics = serde_json::from_str(metrics).map_err(|e| {
        Error::Format(format!(
            "metadata `{META_METRICS}` is not a model file's metrics ({e}); fix or remove the key"
        ))
    })?;
    metrics.check(length).map_err(|e| {
        Error::Format(format!(
            "metadata `{META_METRICS}`: {e}; fix or remove the key"
        ))
    })?;
    let set = task.heldout(training.heldout, training.heldout_seed)?;
    if nncore::evaluate_parallel(model, &set)? != metrics {
        return Ok(Err(Some(
            "the metrics in its metadata are not these parameters' (changed after the export?): \
             recorded as imported and measured again"
                .into(),
        )));
    }
    Ok(Ok((training, metrics)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KINDS;
    use nncore::{OptimizerSpec, Schedule};
    use proptest::prelude::*;
    use seqdata::{Stream, seeded_rng};

    /// Fast options: a small held-out set.
    fn options() -> ImportOptions {
        ImportOptions {
            heldout: 20,
            heldout_seed: 3,
            ..ImportOptions::new("m.safetensors")
        }
    }

    /// A model file of `kind` with its metrics measured (so that an import
    /// can restore it), the weights off their initial values (every bias
    /// nonzero).
    fn sample(kind: ModelKind, hidden: usize, length: usize, seed: u64) -> ModelFile {
        let mut model = kind
            .build(
                hidden,
                length,
                Precision::F64,
                &mut seeded_rng(seed, Stream::Init),
            )
            .unwrap();
        for (i, v) in model.params_mut().values_mut().iter_mut().enumerate() {
            *v += 0.01 * ((i % 7) as f64 - 3.0) + 1e-17 * i as f64;
        }
        let heldout = AlternatingSign::new(length)
            .unwrap()
            .heldout(30, 5)
            .unwrap();
        let metrics = nncore::evaluate(model.as_ref(), &heldout).unwrap();
        let schedule = Schedule {
            iters: 10,
            eval_every: 5,
            ..Schedule::default()
        };
        let training = Training::new(
            seed,
            10,
            OptimizerSpec::sgd(0.1, 0.001),
            None,
            100,
            &heldout,
            5,
            &schedule,
        );
        ModelFile::new(model.as_ref(), kind, length, training, metrics).unwrap()
    }

    fn kind(name: &str) -> ModelKind {
        name.parse().unwrap()
    }

    /// The file's tensors by name: `(dtype, shape, values as f64)`.
    fn read_all(bytes: &[u8]) -> HashMap<String, (Dtype, Vec<usize>, Vec<f64>)> {
        let st = SafeTensors::deserialize(bytes).unwrap();
        st.tensors()
            .into_iter()
            .map(|(name, v)| {
                let vals = v
                    .data()
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                (name, (v.dtype(), v.shape().to_vec(), vals))
            })
            .collect()
    }

    /// Safetensors bytes of `tensors` (F64 or F32) and `meta`.
    fn write(
        tensors: &[(&str, Dtype, Vec<usize>, Vec<f64>)],
        meta: Option<HashMap<String, String>>,
    ) -> Vec<u8> {
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, d, _, v)| match d {
                Dtype::F32 => v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect(),
                Dtype::F64 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                // Any other dtype: bytes of its size, zero.
                d => vec![0; v.len() * d.bitsize() / 8],
            })
            .collect();
        let views: Vec<_> = tensors
            .iter()
            .zip(&bytes)
            .map(|((n, d, s, _), b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        safetensors::serialize(views, meta).unwrap()
    }

    /// An export's tensors without its metadata: what PyTorch would save.
    fn as_pytorch(bytes: &[u8]) -> Vec<(String, Dtype, Vec<usize>, Vec<f64>)> {
        let mut t: Vec<_> = read_all(bytes)
            .into_iter()
            .map(|(n, (d, s, v))| (n, d, s, v))
            .collect();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    }

    fn refs(
        t: &[(String, Dtype, Vec<usize>, Vec<f64>)],
    ) -> Vec<(&str, Dtype, Vec<usize>, Vec<f64>)> {
        t.iter()
            .map(|(n, d, s, v)| (n.as_str(), *d, s.clone(), v.clone()))
            .collect()
    }

    fn import_error(bytes: &[u8], options: &ImportOptions) -> String {
        let e = format!(
            "{:#}",
            from_safetensors(bytes, options).err().expect("an error")
        );
        assert!(!e.contains('\n'), "{e:?} is more than one line");
        e
    }

    /// Every registered kind: export → import gives the same model file,
    /// parameters bit for bit, record restored.
    #[test]
    fn every_kind_round_trips_bit_for_bit() {
        for kind in ModelKind::all() {
            let file = sample(kind, 5, 6, 1);
            let bytes = to_safetensors(&file).unwrap();
            let back = from_safetensors(&bytes, &options()).unwrap();
            assert!(back.restored, "{kind}: {:?}", back.notes);
            assert!(back.notes.is_empty(), "{kind}: {:?}", back.notes);
            assert_eq!(back.file, file, "{kind}");
            let (a, b) = (back.model.params().values(), &file.params);
            assert_eq!(back.model.params().to_json(), *b, "{kind}");
            let original = kind.load(5, 6, Precision::F64, b).unwrap();
            assert!(
                a.iter()
                    .zip(original.params().values())
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{kind}"
            );
        }
    }

    /// Names, shapes and values as the registry's layout says: F64, the
    /// weights transposed, an extra bias zero; the metadata names the record.
    #[test]
    fn exports_follow_the_layout() {
        for kind in ModelKind::all() {
            let file = sample(kind, 4, 3, 2);
            let bytes = to_safetensors(&file).unwrap();
            let tensors = read_all(&bytes);
            let layout = &kind.info().torch;
            assert_eq!(tensors.len(), layout.tensors.len(), "{kind}");
            let model = kind.load(4, 3, Precision::F64, &file.params).unwrap();
            for t in layout.tensors {
                let (dtype, shape, values) = &tensors[t.name];
                assert_eq!(*dtype, Dtype::F64);
                let i = model.params().index_of(t.param).unwrap();
                let spec = &model.params().specs()[i];
                let ours = model.params().value(i);
                match t.map {
                    TorchMap::Same => {
                        assert_eq!(shape, &spec.shape);
                        assert_eq!(values.as_slice(), ours);
                    }
                    TorchMap::Transposed => {
                        let (r, c) = spec.dim2();
                        assert_eq!(shape, &vec![c, r], "{kind} {}", t.name);
                        for a in 0..r {
                            for b in 0..c {
                                assert_eq!(values[b * r + a], ours[a * c + b]);
                            }
                        }
                    }
                    TorchMap::ExtraBias => assert!(values.iter().all(|&v| v == 0.0)),
                }
            }
            let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
            let meta = header.metadata().clone().unwrap();
            assert_eq!(meta[META_KIND], kind.name());
            assert_eq!(meta[META_HIDDEN], "4");
            assert_eq!(meta[META_LENGTH], "3");
            assert_eq!(meta[META_SCHEMA], crate::SCHEMA);
            assert_eq!(meta["format"], "pt");
        }
        // PyTorch's shapes, spelled out for one kind of each layout.
        let shapes = |k: &str, h: usize, l: usize| {
            let t = read_all(&to_safetensors(&sample(kind(k), h, l, 3)).unwrap());
            let mut v: Vec<_> = t.into_iter().map(|(n, (_, s, _))| (n, s)).collect();
            v.sort();
            v
        };
        let s = |n: &str, sh: &[usize]| (n.to_string(), sh.to_vec());
        assert_eq!(
            shapes("lstm", 5, 2),
            [
                s("head.bias", &[1]),
                s("head.weight", &[1, 5]),
                s("rnn.bias_hh_l0", &[20]),
                s("rnn.bias_ih_l0", &[20]),
                s("rnn.weight_hh_l0", &[20, 5]),
                s("rnn.weight_ih_l0", &[20, 1]),
            ]
        );
        assert_eq!(shapes("rnn", 5, 2)[5], s("rnn.weight_ih_l0", &[5, 1]));
        assert_eq!(
            shapes("dnn", 5, 3),
            [
                s("head.bias", &[3]),
                s("head.weight", &[3, 5]),
                s("hidden.bias", &[5]),
                s("hidden.weight", &[5, 3]),
            ]
        );
    }

    /// A file PyTorch saved: no metadata, so kind and length are required;
    /// with them, the same parameters, recorded as imported and measured on
    /// the given held-out set.
    #[test]
    fn a_file_without_metadata_needs_kind_and_length() {
        let file = sample(kind("gru"), 4, 5, 4);
        let plain = write(&refs(&as_pytorch(&to_safetensors(&file).unwrap())), None);
        let e = import_error(&plain, &options());
        assert!(
            e.contains("no rnnstudy metadata")
                && e.contains("--kind K --length L")
                && e.contains("rnn, dnn"),
            "{e}"
        );
        let with_kind = ImportOptions {
            kind: Some(kind("gru")),
            ..options()
        };
        let e = import_error(&plain, &with_kind);
        assert!(
            e.contains("training length") && e.contains("--length L"),
            "{e}"
        );
        let both = ImportOptions {
            length: Some(5),
            ..with_kind
        };
        let back = from_safetensors(&plain, &both).unwrap();
        assert!(!back.restored);
        assert_eq!(back.file.params, file.params);
        assert_eq!(back.file.schema, crate::SCHEMA_IMPORTED);
        let t = &back.file.training;
        assert_eq!(t.iters, 0);
        assert_eq!((t.heldout, t.heldout_seed), (20, 3));
        assert_eq!(t.imported.as_ref().unwrap().file, "m.safetensors");
        let set = back.file.heldout_set().unwrap();
        assert_eq!(
            back.file.metrics,
            nncore::evaluate(back.model.as_ref(), &set).unwrap()
        );
        // It saves and loads as any model file, and exports again.
        let dir = tempfile::tempdir().unwrap();
        back.file.save(&dir.path().join("m.json")).unwrap();
        let (again, _) = ModelFile::load(&dir.path().join("m.json")).unwrap();
        assert_eq!(again, back.file);
        assert!(
            again.describe().contains("imported from m.safetensors"),
            "{}",
            again.describe()
        );
        let re = from_safetensors(&to_safetensors(&again).unwrap(), &options()).unwrap();
        assert!(re.restored);
        assert_eq!(re.file, again);
    }

    /// F32 is widened exactly; an Elman file with a nonzero bias_hh gets the
    /// sum, and says so.
    #[test]
    fn f32_is_widened_and_a_second_bias_is_summed() {
        let file = sample(kind("rnn"), 3, 4, 5);
        let mut t = as_pytorch(&to_safetensors(&file).unwrap());
        for (name, d, _, v) in &mut t {
            if name == "rnn.weight_hh_l0" {
                *d = Dtype::F32;
                v.iter_mut().for_each(|x| *x = f64::from(*x as f32));
            }
            if name == "rnn.bias_hh_l0" {
                v.iter_mut().for_each(|x| *x = 0.25);
            }
        }
        let opts = ImportOptions {
            kind: Some(kind("rnn")),
            length: Some(4),
            ..options()
        };
        let back = from_safetensors(&write(&refs(&t), None), &opts).unwrap();
        let notes = back.notes.join("; ");
        assert!(
            notes.contains("widened from F32") && notes.contains("rnn.weight_hh_l0"),
            "{notes}"
        );
        assert!(
            notes.contains("`rnn.bias_hh_l0` is not zero: added into `b`"),
            "{notes}"
        );
        let p = back.model.params();
        let b = p.value(p.index_of("b").unwrap());
        let b_ih = &t.iter().find(|x| x.0 == "rnn.bias_ih_l0").unwrap().3;
        assert!(b.iter().zip(b_ih).all(|(s, x)| *s == x + 0.25));
        let w = p.value(p.index_of("W").unwrap());
        let w_hh = &t.iter().find(|x| x.0 == "rnn.weight_hh_l0").unwrap().3;
        assert_eq!(w, transpose(w_hh, 3, 3).as_slice());
    }

    /// Each bad tensor is named, with the fix.
    #[test]
    fn bad_tensors_are_named() {
        let file = sample(kind("lstm"), 3, 4, 6);
        let good = as_pytorch(&to_safetensors(&file).unwrap());
        let opts = ImportOptions {
            kind: Some(kind("lstm")),
            length: Some(4),
            ..options()
        };
        type Edit = fn(&mut Vec<(String, Dtype, Vec<usize>, Vec<f64>)>);
        let cases: Vec<(Edit, &str)> = vec![
            (
                |t| t.retain(|x| x.0 != "rnn.bias_hh_l0"),
                "tensor `rnn.bias_hh_l0` is missing: a lstm has rnn.weight_ih_l0",
            ),
            (
                |t| t.retain(|x| x.0 != "head.weight"),
                "tensor `head.weight` is missing",
            ),
            (
                |t| t.push(("rnn.weight_ih_l1".into(), Dtype::F64, vec![1], vec![0.0])),
                "unknown tensor `rnn.weight_ih_l1`: a lstm has exactly",
            ),
            (
                |t| {
                    let w = t.iter_mut().find(|x| x.0 == "rnn.weight_hh_l0").unwrap();
                    w.2 = vec![3, 12];
                },
                "tensor `rnn.weight_hh_l0` has shape [3, 12], a lstm with hidden 3 (training length 4) needs [12, 3]",
            ),
            (
                |t| {
                    let w = t.iter_mut().find(|x| x.0 == "rnn.bias_ih_l0").unwrap();
                    w.1 = Dtype::F16;
                },
                "tensor `rnn.bias_ih_l0` has dtype F16: rnnstudy reads F64 (exactly) or F32",
            ),
            (
                |t| {
                    let w = t.iter_mut().find(|x| x.0 == "rnn.weight_hh_l0").unwrap();
                    w.3[4] = f64::NAN;
                },
                "tensor `rnn.weight_hh_l0` at [1, 1] is NaN",
            ),
            (
                |t| {
                    let w = t.iter_mut().find(|x| x.0 == "head.weight").unwrap();
                    w.2 = vec![1, 0];
                    w.3.clear();
                },
                "tensor `head.weight` has shape [1, 0]: its size along axis 1 is a lstm's hidden size",
            ),
        ];
        for (edit, want) in cases {
            let mut t = good.clone();
            edit(&mut t);
            let e = import_error(&write(&refs(&t), None), &opts);
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        // Another kind's file.
        let e = import_error(
            &write(&refs(&good), None),
            &ImportOptions {
                kind: Some(kind("dnn")),
                ..opts.clone()
            },
        );
        assert!(
            e.contains("unknown tensor `rnn.bias_hh_l0`: a dnn has exactly hidden.weight"),
            "{e}"
        );
        // An MLP at the wrong length: the shape names it.
        let dnn = to_safetensors(&sample(kind("dnn"), 3, 4, 7)).unwrap();
        let e = import_error(
            &write(&refs(&as_pytorch(&dnn)), None),
            &ImportOptions {
                kind: Some(kind("dnn")),
                length: Some(5),
                ..options()
            },
        );
        assert!(e.contains("tensor `hidden.weight` has shape [3, 4], a dnn with hidden 3 (training length 5) needs [3, 5]"), "{e}");
        for (bytes, want) in [
            (&b""[..], "not a safetensors file"),
            (
                b"\x08\x00\x00\x00\x00\x00\x00\x00{x}     ",
                "not a safetensors file",
            ),
            (
                b"\x40\x00\x00\x00\x00\x00\x00\x00{}",
                "not a safetensors file",
            ),
            (
                b"\x02\x00\x00\x00\x00\x00\x00\x00{}",
                "no rnnstudy metadata",
            ),
        ] {
            let e = import_error(bytes, &options());
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }

    /// Bad metadata is named; flags override it; a record that is not these
    /// parameters' is not restored.
    #[test]
    fn metadata_is_checked_and_overridden() {
        let file = sample(kind("gru"), 3, 4, 8);
        let bytes = to_safetensors(&file).unwrap();
        let tensors = as_pytorch(&bytes);
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let meta = header.metadata().clone().unwrap();
        let edited = |key: &str, value: &str| {
            let mut m = meta.clone();
            m.insert(key.into(), value.into());
            write(&refs(&tensors), Some(m))
        };
        for (key, value, want) in [
            (
                META_SCHEMA,
                "rnnstudy.model/9",
                "metadata `rnnstudy.schema`: schema version 9",
            ),
            (
                META_KIND,
                "cnn",
                "metadata `rnnstudy.kind`: unknown model kind `cnn`",
            ),
            (
                META_LENGTH,
                "x",
                "metadata `rnnstudy.length` = \"x\" is not a whole number",
            ),
            (
                META_HIDDEN,
                "7",
                "metadata `rnnstudy.hidden` = 7, but tensor `head.weight` has shape [1, 3]",
            ),
            (
                META_TRAINING,
                "{\"seed\": 1}",
                "metadata `rnnstudy.training` is not a model file's training record",
            ),
            (
                META_METRICS,
                "[]",
                "metadata `rnnstudy.metrics` is not a model file's metrics",
            ),
            (META_LENGTH, "0", "training length 0 is out of range"),
        ] {
            let e = import_error(&edited(key, value), &options());
            assert!(e.contains(want), "{key}: {e:?} should contain {want:?}");
        }
        // The parameters changed after the export: imported, measured again.
        let mut changed = tensors.clone();
        changed[0].3[0] += 0.5;
        let back =
            from_safetensors(&write(&refs(&changed), Some(meta.clone())), &options()).unwrap();
        assert!(!back.restored);
        assert!(
            back.notes.join(" ").contains("not these parameters'"),
            "{:?}",
            back.notes
        );
        // A flag overrides the metadata (and the record then is not its own).
        let longer = ImportOptions {
            length: Some(9),
            ..options()
        };
        let back = from_safetensors(&bytes, &longer).unwrap();
        assert_eq!(back.file.length, 9);
        assert!(!back.restored);
        assert!(
            back.notes
                .join(" ")
                .contains("although its metadata says 4"),
            "{:?}",
            back.notes
        );
    }

    /// Huge declared sizes are refused before anything is allocated.
    #[test]
    fn huge_sizes_are_refused_before_allocating() {
        let t = [("hidden.bias", Dtype::F64, vec![4096], vec![0.0; 4096])];
        let opts = ImportOptions {
            kind: Some(kind("dnn")),
            length: Some(4096),
            ..options()
        };
        let e = import_error(&write(&t, None), &opts);
        assert!(e.contains("more than a file of"), "{e}");
    }

    fn any_kind() -> impl Strategy<Value = ModelKind> {
        (0..KINDS.len()).prop_map(|i| ModelKind::all().nth(i).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: an error, never a panic.
        #[test]
        fn arbitrary_bytes_are_an_error_not_a_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..512),
            k in any_kind(),
        ) {
            let opts = ImportOptions { kind: Some(k), length: Some(4), ..options() };
            let _ = from_safetensors(&bytes, &opts);
            let _ = from_safetensors(&bytes, &options());
        }

        /// An export with bytes changed, cut short or extended: imports or
        /// fails cleanly, and whatever imports is a usable, saveable model.
        #[test]
        fn mutated_exports_import_or_fail_cleanly(
            k in any_kind(),
            edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
            how in 0u8..3,
            flags in any::<bool>(),
        ) {
            let mut bytes = to_safetensors(&sample(k, 3, 4, 9)).unwrap();
            for (at, b) in edits {
                let n = bytes.len();
                // Half of the edits in the header, where the structure is.
                let i = if at % 2 == 0 { at % n.min(400) } else { at % n };
                bytes[i] = b;
            }
            match how {
                0 => bytes.truncate(cut % (bytes.len() + 1)),
                1 => bytes.extend(std::iter::repeat_n(0u8, cut % 64)),
                _ => {}
            }
            let opts = if flags {
                ImportOptions { kind: Some(k), length: Some(4), ..options() }
            } else {
                options()
            };
            if let Ok(back) = from_safetensors(&bytes, &opts) {
                let x = ndarray::Array2::from_elem((2, back.file.length), 0.25);
                prop_assert!(back.model.predict_batch(x.view()).is_ok());
                let again = ModelFile::from_slice(&serde_json::to_vec(&back.file).unwrap());
                prop_assert!(again.is_ok(), "{:?}", again.err());
            }
        }
    }
}
