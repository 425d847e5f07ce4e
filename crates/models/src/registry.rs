//! The registry: one table, [`KINDS`], with a row per model kind. Every list
//! of kinds (command-line values, help texts, benches, the zero-allocation
//! test, the roofline, the model-file tests) is derived from it, so a new
//! kind is covered everywhere by adding its row.

use std::fmt;

use nncore::{OptimizerSpec, Precision, SequenceModel};
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::torch::{TorchLayout, TorchMap, TorchTensor};
use crate::{Error, Result};

/// A freshly initialised model: `(hidden, length, precision, rng) → model`.
pub type BuildFn =
    fn(usize, usize, Precision, &mut dyn RngCore) -> nncore::Result<Box<dyn SequenceModel>>;
/// A model with every parameter zero: `(hidden, length, precision) → model`.
pub type ZerosFn = fn(usize, usize, Precision) -> nncore::Result<Box<dyn SequenceModel>>;
/// A model from bare parameter JSON, its sizes read from the parameters.
pub type FromJsonFn = fn(&serde_json::Value, Precision) -> nncore::Result<Box<dyn SequenceModel>>;
/// A count from `(hidden, length)`.
pub type SizeFn = fn(usize, usize) -> usize;

/// One row of the registry: everything the rest of the workspace needs to
/// know about a model kind.
pub struct KindInfo {
    /// The name used on the command line, in reports and in model files.
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// Whether the kind has a recurrent learning-rate group (`lr_rec`); the
    /// MLP does not and takes `lr_io` everywhere.
    pub recurrent: bool,
    /// The article's optimiser and rates for this kind.
    pub article: OptimizerSpec,
    /// A freshly initialised model.
    pub build: BuildFn,
    /// A model with every parameter zero (to load parameters into).
    pub zeros: ZerosFn,
    /// A model from bare parameter JSON (`cargo xtask grads`).
    pub from_json: FromJsonFn,
    /// How many numbers the parameters hold (checked before anything is
    /// allocated from a file).
    pub param_count: SizeFn,
    /// Multiply-adds of one training iteration (forward and backward), the
    /// cost model that orders and balances a study's runs.
    pub train_macs: SizeFn,
    /// The kind as PyTorch modules: every tensor's name and which of our
    /// parameter blocks it holds, transposed or not ([`crate::torch`]:
    /// `cargo xtask export --format safetensors` and `cargo xtask import`).
    pub torch: TorchLayout,
}

/// The article's SGD rates for the recurrent models: 0.1 (input/output) and
/// 0.001 (recurrent weights and hidden biases).
const ARTICLE_RECURRENT: OptimizerSpec = OptimizerSpec::sgd(0.1, 0.001);

/// Parameters of a gated cell with `g` gate blocks and the sigmoid head.
const fn gated_params(g: usize, h: usize) -> usize {
    g * h + g * h * h + 2 * g * h + h + 1
}

/// A cell that runs in both precisions.
trait AnyCell: rnn::Cell<f64> + rnn::Cell<f32> + 'static {}
impl<C: rnn::Cell<f64> + rnn::Cell<f32> + 'static> AnyCell for C {}

/// `make` with `$S` the type of `precision` (`f64` or `f32`), boxed: the
/// one place a precision picks a model's type.
macro_rules! in_precision {
    ($precision:expr, $S:ident => $make:expr) => {
        match $precision {
            Precision::F64 => {
                type $S = f64;
                Box::new($make) as Box<dyn SequenceModel>
            }
            Precision::F32 => {
                type $S = f32;
                Box::new($make)
            }
        }
    };
}

/// A fresh recurrent model of `cell` in `precision`.
fn recurrent<C: AnyCell>(
    cell: C,
    precision: Precision,
    rng: &mut dyn RngCore,
) -> nncore::Result<Box<dyn SequenceModel>> {
    Ok(in_precision!(precision, S => rnn::Recurrent::<C, S>::new(cell, rng)?))
}

/// A zero recurrent model of `cell` in `precision`.
fn recurrent_zeros<C: AnyCell>(
    cell: C,
    precision: Precision,
) -> nncore::Result<Box<dyn SequenceModel>> {
    Ok(in_precision!(precision, S => rnn::Recurrent::<C, S>::zeros(cell)?))
}

/// A recurrent model from bare parameter JSON in `precision`, its cell made
/// by `cell(H)`.
fn recurrent_json<C: AnyCell>(
    json: &serde_json::Value,
    precision: Precision,
    cell: fn(usize) -> C,
) -> nncore::Result<Box<dyn SequenceModel>> {
    let cell = |h| Ok(cell(h));
    Ok(in_precision!(precision, S => rnn::Recurrent::<C, S>::from_json(json, cell)?))
}

/// A tensor of a [`TorchLayout`] (a `const fn` so that the layouts are
/// `static` tables).
const fn tensor(name: &'static str, param: &'static str, map: TorchMap) -> TorchTensor {
    TorchTensor { name, param, map }
}

/// The Elman cell as `nn.RNN` (one bias `b` where PyTorch has two: exported
/// as `bias_ih_l0`, with zeros as `bias_hh_l0`) and the head as
/// `nn.Linear(H, 1)`.
const ELMAN_TORCH: &[TorchTensor] = &[
    tensor("rnn.weight_ih_l0", "W_in", TorchMap::Transposed),
    tensor("rnn.weight_hh_l0", "W", TorchMap::Transposed),
    tensor("rnn.bias_ih_l0", "b", TorchMap::Same),
    tensor("rnn.bias_hh_l0", "b", TorchMap::ExtraBias),
    tensor("head.weight", "W_out", TorchMap::Transposed),
    tensor("head.bias", "b_out", TorchMap::Same),
];

/// A gated cell as `nn.GRU` / `nn.LSTM` (the same gate order, both biases)
/// and the head as `nn.Linear(H, 1)`.
const GATED_TORCH: &[TorchTensor] = &[
    tensor("rnn.weight_ih_l0", "W_ih", TorchMap::Transposed),
    tensor("rnn.weight_hh_l0", "W_hh", TorchMap::Transposed),
    tensor("rnn.bias_ih_l0", "b_ih", TorchMap::Same),
    tensor("rnn.bias_hh_l0", "b_hh", TorchMap::Same),
    tensor("head.weight", "W_out", TorchMap::Transposed),
    tensor("head.bias", "b_out", TorchMap::Same),
];

/// The IndRNN as the module of `tools/gateless_torch.py` (a parameter per
/// block, named as ours) and the head as `nn.Linear(H, 1)`.
const INDRNN_TORCH: &[TorchTensor] = &[
    tensor("indrnn.W_in", "W_in", TorchMap::Same),
    tensor("indrnn.u1", "u1", TorchMap::Same),
    tensor("indrnn.b1", "b1", TorchMap::Same),
    tensor("indrnn.W2", "W2", TorchMap::Same),
    tensor("indrnn.u2", "u2", TorchMap::Same),
    tensor("indrnn.b2", "b2", TorchMap::Same),
    tensor("head.weight", "W_out", TorchMap::Transposed),
    tensor("head.bias", "b_out", TorchMap::Same),
];

/// The length whose bound an IndRNN made from bare parameters (without a
/// model file's length) clips to: only training reads it.
const BARE_INDRNN_LENGTH: usize = 1024;

/// The LRU as the module of `tools/gateless_torch.py` (a parameter per
/// block, named as ours) and the head as `nn.Linear(H, 1)`.
const LRU_TORCH: &[TorchTensor] = &[
    tensor("lru.nu_log", "nu_log", TorchMap::Same),
    tensor("lru.theta_log", "theta_log", TorchMap::Same),
    tensor("lru.gamma_log", "gamma_log", TorchMap::Same),
    tensor("lru.B_re", "B_re", TorchMap::Same),
    tensor("lru.B_im", "B_im", TorchMap::Same),
    tensor("lru.B0_re", "B0_re", TorchMap::Same),
    tensor("lru.B0_im", "B0_im", TorchMap::Same),
    tensor("lru.C_re", "C_re", TorchMap::Same),
    tensor("lru.C_im", "C_im", TorchMap::Same),
    tensor("lru.D", "D", TorchMap::Same),
    tensor("lru.b", "b", TorchMap::Same),
    tensor("head.weight", "W_out", TorchMap::Transposed),
    tensor("head.bias", "b_out", TorchMap::Same),
];

/// A row of an Elman-family kind: the cell `$cell(H)`, laid out as
/// `nn.RNN` with `nonlinearity = $nl` (the kinds differ in activation and
/// initialisation, not in their parameters).
macro_rules! elman_kind {
    ($name:literal, $about:expr, $cell:path, $nl:literal) => {
        KindInfo {
            name: $name,
            about: $about,
            recurrent: true,
            article: ARTICLE_RECURRENT,
            build: |h, _, p, rng| recurrent($cell(h), p, rng),
            zeros: |h, _, p| recurrent_zeros($cell(h), p),
            from_json: |j, p| recurrent_json(j, p, $cell),
            param_count: |h, _| h + h * h + h + h + 1,
            train_macs: |h, l| 3 * l * h * h,
            torch: TorchLayout {
                modules: concat!(
                    "rnn = nn.RNN(1, H, nonlinearity=\"",
                    $nl,
                    "\"); head = nn.Linear(H, 1); y = sigmoid(head(rnn(x)[0]))"
                ),
                tensors: ELMAN_TORCH,
                hidden_from: ("head.weight", 1),
            },
        }
    };
}

/// The MLP as two `nn.Linear`: `hidden` (L → H) and `head` (H → L).
const MLP_TORCH: &[TorchTensor] = &[
    tensor("hidden.weight", "W1", TorchMap::Transposed),
    tensor("hidden.bias", "b1", TorchMap::Same),
    tensor("head.weight", "W2", TorchMap::Transposed),
    tensor("head.bias", "b2", TorchMap::Same),
];

/// The MLP's configuration for `hidden` units and `length`.
fn mlp(hidden: usize, length: usize) -> dnn::MlpConfig {
    dnn::MlpConfig { length, hidden }
}

/// Every model kind, in the order the command line lists them.
pub static KINDS: &[KindInfo] = &[
    elman_kind!(
        "rnn",
        "the article's gate-less Elman RNN (tanh, hidden 100, sigmoid output per step)",
        rnn::Elman::article,
        "tanh"
    ),
    KindInfo {
        name: "dnn",
        about: "the article's MLP: input L, hidden 100 ReLU, output L sigmoid",
        recurrent: false,
        article: OptimizerSpec::sgd(0.1, 0.1),
        build: |h, l, p, rng| Ok(in_precision!(p, S => dnn::Mlp::<S>::new(mlp(h, l), rng)?)),
        zeros: |h, l, p| Ok(in_precision!(p, S => dnn::Mlp::<S>::zeros(mlp(h, l))?)),
        from_json: |j, p| Ok(in_precision!(p, S => dnn::Mlp::<S>::from_json(j)?)),
        param_count: |h, l| 2 * l * h + h + l,
        train_macs: |h, l| 6 * l * h,
        torch: TorchLayout {
            modules: "hidden = nn.Linear(L, H); head = nn.Linear(H, L); \
                      y = sigmoid(head(relu(hidden(x))))",
            tensors: MLP_TORCH,
            hidden_from: ("hidden.bias", 0),
        },
    },
    elman_kind!(
        "irnn",
        "the Elman RNN with ReLU units and W = I (the article's W_in ~ N(0, 1), not Le et al.'s)",
        rnn::Elman::irnn,
        "relu"
    ),
    elman_kind!(
        "rnn-orth",
        "the article's tanh RNN with W a random orthogonal matrix (Saxe et al. 2014)",
        rnn::Elman::orthogonal,
        "tanh"
    ),
    elman_kind!(
        "irnn-le",
        "Le et al.'s IRNN: ReLU units, W = I, W_in and W_out ~ N(0, 0.001²)",
        rnn::Elman::irnn_le,
        "relu"
    ),
    KindInfo {
        name: "gru",
        about: "a GRU cell (PyTorch's nn.GRU equations) with the same output head",
        recurrent: true,
        article: ARTICLE_RECURRENT,
        build: |h, _, p, rng| recurrent(rnn::GruCell::new(h), p, rng),
        zeros: |h, _, p| recurrent_zeros(rnn::GruCell::new(h), p),
        from_json: |j, p| recurrent_json(j, p, rnn::GruCell::new),
        param_count: |h, _| gated_params(3, h),
        train_macs: |h, l| 9 * l * h * h,
        torch: TorchLayout {
            modules: "rnn = nn.GRU(1, H); head = nn.Linear(H, 1); y = sigmoid(head(rnn(x)[0]))",
            tensors: GATED_TORCH,
            hidden_from: ("head.weight", 1),
        },
    },
    KindInfo {
        name: "lstm",
        about: "an LSTM cell (PyTorch's nn.LSTM equations, forget bias 1) with the same output head",
        recurrent: true,
        article: ARTICLE_RECURRENT,
        build: |h, _, p, rng| recurrent(rnn::LstmCell::new(h), p, rng),
        zeros: |h, _, p| recurrent_zeros(rnn::LstmCell::new(h), p),
        from_json: |j, p| recurrent_json(j, p, rnn::LstmCell::new),
        param_count: |h, _| gated_params(4, h),
        train_macs: |h, l| 12 * l * h * h,
        torch: TorchLayout {
            modules: "rnn = nn.LSTM(1, H); head = nn.Linear(H, 1); y = sigmoid(head(rnn(x)[0]))",
            tensors: GATED_TORCH,
            hidden_from: ("head.weight", 1),
        },
    },
    KindInfo {
        name: "indrnn",
        about: "a two-layer IndRNN (Li et al. 2018): ReLU units, diagonal recurrence, |u| ≤ 2^(1/L)",
        recurrent: true,
        article: ARTICLE_RECURRENT,
        build: |h, l, p, rng| recurrent(rnn::IndRnn::new(h, l), p, rng),
        zeros: |h, l, p| recurrent_zeros(rnn::IndRnn::new(h, l), p),
        from_json: |j, p| recurrent_json(j, p, |h| rnn::IndRnn::new(h, BARE_INDRNN_LENGTH)),
        param_count: |h, _| 5 * h + h * h + h + 1,
        train_macs: |h, l| 3 * l * h * h,
        torch: TorchLayout {
            modules: "indrnn = IndRNN(H) (tools/gateless_torch.py); head = nn.Linear(H, 1); \
                      y = sigmoid(head(indrnn(x)))",
            tensors: INDRNN_TORCH,
            hidden_from: ("head.weight", 1),
        },
    },
    KindInfo {
        name: "lru",
        about: "a Linear Recurrent Unit (Orvieto et al. 2023): diagonal complex linear recurrence, \
                ReLU readout",
        recurrent: true,
        article: ARTICLE_RECURRENT,
        build: |h, _, p, rng| recurrent(rnn::Lru::new(h), p, rng),
        zeros: |h, _, p| recurrent_zeros(rnn::Lru::new(h), p),
        from_json: |j, p| recurrent_json(j, p, rnn::Lru::new),
        param_count: |h, _| 7 * h + 2 * h * h + 2 * h + h + 1,
        train_macs: |h, l| 6 * l * h * h,
        torch: TorchLayout {
            modules: "lru = LRU(H) (tools/gateless_torch.py); head = nn.Linear(H, 1); \
                      y = sigmoid(head(lru(x)))",
            tensors: LRU_TORCH,
            hidden_from: ("head.weight", 1),
        },
    },
];

/// A model kind: a handle on its row of [`KINDS`]. Serialised as its name.
///
/// ```
/// use models::ModelKind;
/// let gru: ModelKind = "gru".parse()?;
/// assert_eq!(gru.name(), "gru");
/// assert!(ModelKind::all().any(|k| k == gru));
/// let e = "cnn".parse::<ModelKind>().unwrap_err().to_string();
/// assert!(e.contains("unknown model kind `cnn`") && e.contains(&ModelKind::names()), "{e}");
/// # Ok::<(), models::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct ModelKind(&'static KindInfo);

impl ModelKind {
    /// Every registered kind, in registry order.
    pub fn all() -> impl Iterator<Item = ModelKind> {
        KINDS.iter().map(ModelKind)
    }

    /// The kind called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ModelKind> {
        KINDS.iter().find(|k| k.name == name).map(ModelKind)
    }

    /// Every kind's name, comma-separated (for messages and `--help`).
    pub fn names() -> String {
        KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
    }

    /// The kind's row.
    pub fn info(self) -> &'static KindInfo {
        self.0
    }

    /// The kind's name.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The position of the kind's row in [`KINDS`].
    pub fn index(self) -> usize {
        KINDS
            .iter()
            .position(|k| std::ptr::eq(k, self.0))
            .expect("a ModelKind points into KINDS")
    }

    /// A freshly initialised model of this kind for sequences of `length`
    /// (used by the MLP; recurrent models take any length), computing in
    /// `precision`. The draws are the same in both precisions (made in
    /// `f64`, then rounded), so an `f32` model starts from its `f64` twin's
    /// weights.
    pub fn build(
        self,
        hidden: usize,
        length: usize,
        precision: Precision,
        rng: &mut dyn RngCore,
    ) -> Result<Box<dyn SequenceModel>> {
        Ok((self.0.build)(hidden, length, precision, rng)?)
    }

    /// A model of this kind with the given sizes and parameters (JSON keyed
    /// by name), in `precision`; shapes and values are checked, the error
    /// names the key.
    pub fn load(
        self,
        hidden: usize,
        length: usize,
        precision: Precision,
        params: &serde_json::Value,
    ) -> Result<Box<dyn SequenceModel>> {
        let mut model = (self.0.zeros)(hidden, length, precision)?;
        model.params_mut().load_json(params)?;
        Ok(model)
    }

    /// A model of this kind from bare parameter JSON, its sizes read from the
    /// parameters' shapes, in `precision`.
    pub fn from_json(
        self,
        params: &serde_json::Value,
        precision: Precision,
    ) -> Result<Box<dyn SequenceModel>> {
        Ok((self.0.from_json)(params, precision)?)
    }
}

impl PartialEq for ModelKind {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for ModelKind {}

impl std::hash::Hash for ModelKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl PartialOrd for ModelKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ModelKind {
    /// Registry order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
    }
}

impl fmt::Debug for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s.trim()).ok_or_else(|| Error::UnknownKind {
            name: s.to_string(),
            known: Self::names(),
        })
    }
}

impl Serialize for ModelKind {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ModelKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
