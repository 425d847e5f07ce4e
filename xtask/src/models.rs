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
}

impl ModelKind {
    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rnn => "rnn",
            Self::Dnn => "dnn",
        }
    }

    /// The article's optimiser for this kind: RNN 0.1 (input/output) and
    /// 0.001 (recurrent); MLP 0.1 everywhere.
    pub fn article_sgd(self) -> Sgd {
        match self {
            Self::Rnn => Sgd::article(),
            Self::Dnn => Sgd {
                lr_io: 0.1,
                lr_rec: 0.1,
            },
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
            Self::Rnn => Box::new(rnn::ElmanRnn::new(rnn::ElmanConfig { hidden }, rng)?),
            Self::Dnn => Box::new(dnn::Mlp::new(dnn::MlpConfig { length, hidden }, rng)?),
        })
    }

    /// A model from its parameters as JSON.
    pub fn load_json(self, json: &serde_json::Value) -> Result<Box<dyn SequenceModel>> {
        Ok(match self {
            Self::Rnn => Box::new(rnn::ElmanRnn::from_json(json).context("rnn parameters")?),
            Self::Dnn => Box::new(dnn::Mlp::from_json(json).context("dnn parameters")?),
        })
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
