//! The model kinds the commands know, and how to build or load each.

use anyhow::{Context, Result};
use clap::ValueEnum;
use nncore::{SequenceModel, Sgd};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A model kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The gate-less Elman RNN (hidden tanh, sigmoid output per step).
    Rnn,
    /// The one-hidden-layer MLP over the whole sequence ("DNN").
    Dnn,
    /// The Elman RNN with ReLU units and W initialised to the identity.
    Irnn,
    /// A GRU cell (PyTorch's equations) with the same output head.
    Gru,
    /// An LSTM cell (PyTorch's equations, forget bias 1) with the same output head.
    Lstm,
}

impl ModelKind {
    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rnn => "rnn",
            Self::Dnn => "dnn",
            Self::Irnn => "irnn",
            Self::Gru => "gru",
            Self::Lstm => "lstm",
        }
    }

    /// The article's optimiser for this kind: recurrent models 0.1
    /// (input/output) and 0.001 (recurrent weights and hidden biases); the
    /// MLP 0.1 everywhere.
    pub fn article_sgd(self) -> Sgd {
        match self {
            Self::Dnn => Sgd {
                lr_io: 0.1,
                lr_rec: 0.1,
            },
            Self::Rnn | Self::Irnn | Self::Gru | Self::Lstm => Sgd::article(),
        }
    }

    /// A freshly initialised model for sequences of `length`.
    pub fn build<R: Rng + ?Sized>(
        self,
        length: usize,
        hidden: usize,
        rng: &mut R,
    ) -> nncore::Result<Box<dyn SequenceModel>> {
        Ok(match self {
            Self::Rnn => Box::new(rnn::ElmanRnn::new(rnn::Elman::article(hidden), rng)?),
            Self::Irnn => Box::new(rnn::ElmanRnn::new(rnn::Elman::irnn(hidden), rng)?),
            Self::Gru => Box::new(rnn::Gru::new(rnn::GruCell::new(hidden), rng)?),
            Self::Lstm => Box::new(rnn::Lstm::new(rnn::LstmCell::new(hidden), rng)?),
            Self::Dnn => Box::new(dnn::Mlp::new(dnn::MlpConfig { length, hidden }, rng)?),
        })
    }

    /// A model from its parameters as JSON.
    pub fn load_json(self, json: &serde_json::Value) -> Result<Box<dyn SequenceModel>> {
        Ok(match self {
            Self::Rnn => Box::new(
                rnn::ElmanRnn::from_json(json, |h| Ok(rnn::Elman::article(h)))
                    .context("rnn parameters")?,
            ),
            Self::Irnn => Box::new(
                rnn::ElmanRnn::from_json(json, |h| Ok(rnn::Elman::irnn(h)))
                    .context("irnn parameters")?,
            ),
            Self::Gru => Box::new(
                rnn::Gru::from_json(json, |h| Ok(rnn::GruCell::new(h)))
                    .context("gru parameters")?,
            ),
            Self::Lstm => Box::new(
                rnn::Lstm::from_json(json, |h| Ok(rnn::LstmCell::new(h)))
                    .context("lstm parameters")?,
            ),
            Self::Dnn => Box::new(dnn::Mlp::from_json(json).context("dnn parameters")?),
        })
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
