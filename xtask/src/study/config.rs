//! The study's configuration: defaults, flags, validation.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::models::ModelKind;

/// The optimiser of a variant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain SGD (the article's).
    #[default]
    Sgd,
    /// Adam (β1 0.9, β2 0.999, ε 1e-8), with the same learning-rate groups.
    Adam,
}

impl OptimizerKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
        }
    }
}

/// One way of training one model: the model kind, the optimiser, its two
/// learning rates and the clipping norm. A study trains every variant at
/// every length with every seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// The model kind.
    pub model: ModelKind,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Rate of the input/output weights and the output bias.
    pub lr_io: f64,
    /// Rate of the recurrent weights and hidden biases.
    pub lr_rec: f64,
    /// Clipping by global norm, or none.
    pub clip: Option<f64>,
}

impl Variant {
    /// The article's settings for a model kind: SGD at its rates, no clipping.
    pub fn article(model: ModelKind) -> Self {
        let s = model.article_sgd();
        Self {
            model,
            optimizer: OptimizerKind::Sgd,
            lr_io: s.lr_io,
            lr_rec: s.lr_rec,
            clip: None,
        }
    }

    /// The same variant with clipping at `clip`.
    pub fn with_clip(self, clip: Option<f64>) -> Self {
        Self { clip, ..self }
    }

    /// A short name: the model, then whatever differs from the article's
    /// settings (e.g. `rnn`, `rnn clip 1`, `lstm adam lr 0.01/0.01`).
    pub fn label(&self) -> String {
        let a = Self::article(self.model);
        let mut s = self.model.name().to_string();
        if self.optimizer != a.optimizer {
            s.push(' ');
            s.push_str(self.optimizer.name());
        }
        if (self.lr_io, self.lr_rec) != (a.lr_io, a.lr_rec) {
            if self.model == ModelKind::Dnn && self.lr_io == self.lr_rec {
                s.push_str(&format!(" lr {}", short(self.lr_io)));
            } else {
                s.push_str(&format!(" lr {}/{}", short(self.lr_io), short(self.lr_rec)));
            }
        }
        if let Some(c) = self.clip {
            s.push_str(&format!(" clip {}", short(c)));
        }
        s
    }

    /// The optimiser, ready to train with.
    pub fn build_optimizer(&self) -> nncore::Result<Box<dyn nncore::Optimizer>> {
        Ok(match self.optimizer {
            OptimizerKind::Sgd => Box::new(nncore::Sgd::new(self.lr_io, self.lr_rec)?),
            OptimizerKind::Adam => Box::new(nncore::Adam::new(self.lr_io, self.lr_rec)?),
        })
    }

    /// The clipping, ready to train with.
    pub fn build_clip(&self) -> nncore::Result<Option<nncore::ClipNorm>> {
        self.clip.map(nncore::ClipNorm::new).transpose()
    }
}

/// A number as a person writes it: `0.001`, `1`, but `1e300` rather than
/// three hundred digits.
fn short(v: f64) -> String {
    if v != 0.0 && !(1e-4..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Everything that determines a study's results (timing aside). Recorded in
/// `study.json` so that any run can be replayed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// The preset the configuration started from (`article`, `long`, `quick`).
    pub preset: String,
    /// The model kinds trained (default `rnn`, `dnn`).
    pub models: Vec<ModelKind>,
    /// Every (model, optimiser, learning rates, clipping) trained.
    pub variants: Vec<Variant>,
    /// Sequence lengths (default 8, 16, 32).
    pub lengths: Vec<usize>,
    /// Training seeds (default 0..10): each seeds the pool, the sampling
    /// order and the initial weights, on separate ChaCha8 streams.
    pub seeds: Vec<u64>,
    /// Training iterations, one sequence each (default 20,000).
    pub iters: usize,
    /// Held-out evaluation every this many iterations (default 500).
    pub eval_every: usize,
    /// Held-out sequences per length (default 2,000).
    pub heldout: usize,
    /// Seed of the held-out set, the same for every model and seed.
    pub heldout_seed: u64,
    /// Training-pool size (50,000, the article's).
    pub pool_size: usize,
    /// Hidden units of every model (100, the article's).
    pub hidden: usize,
    /// The `--clip` flag: clipping applied to every variant (default none).
    pub clip: Option<f64>,
    /// Held-out sequences over which the gradient flow `‖∂E/∂h_t‖` is
    /// averaged at the start, middle and end of training.
    pub grad_flow_batch: usize,
}

/// The longest sequence a study accepts.
pub const MAX_STUDY_LENGTH: usize = 4096;
/// The most iterations a study accepts.
pub const MAX_ITERS: usize = 100_000_000;
/// The most held-out sequences a study accepts.
pub const MAX_HELDOUT: usize = 1_000_000;
/// The most seeds a study accepts.
pub const MAX_SEEDS: usize = 10_000;
/// The most variants (model × rate combinations) a study accepts.
pub const MAX_VARIANTS: usize = 1_000;

impl StudyConfig {
    /// The article's study with our held-out evaluation over 10 seeds.
    pub fn article() -> Self {
        let models = vec![ModelKind::Rnn, ModelKind::Dnn];
        Self {
            preset: "article".into(),
            variants: models.iter().map(|&m| Variant::article(m)).collect(),
            models,
            lengths: vec![8, 16, 32],
            seeds: (0..10).collect(),
            iters: 20_000,
            eval_every: 500,
            heldout: 2_000,
            heldout_seed: seqdata::DEFAULT_HELDOUT_SEED,
            pool_size: seqdata::POOL_SIZE,
            hidden: 100,
            clip: None,
            grad_flow_batch: 32,
        }
    }

    /// A smoke configuration that finishes in seconds (CI uses it).
    pub fn quick() -> Self {
        Self {
            preset: "quick".into(),
            seeds: vec![0, 1],
            iters: 1_000,
            eval_every: 250,
            heldout: 256,
            ..Self::article()
        }
    }

    /// The long study: where does the plain RNN break, and which fix holds?
    /// rnn, rnn clipped, irnn, gru (with and without clipping), lstm and dnn
    /// at lengths 8 … 256 over 5 seeds (see [`long_variants`]).
    pub fn long() -> Self {
        let variants = long_variants();
        let mut models: Vec<ModelKind> = variants.iter().map(|v| v.model).collect();
        models.dedup();
        Self {
            preset: "long".into(),
            models,
            variants,
            lengths: vec![8, 16, 32, 64, 128, 256],
            seeds: (0..5).collect(),
            eval_every: 1_000,
            heldout: 1_000,
            ..Self::article()
        }
    }

    /// The distinct variant labels, in order.
    pub fn labels(&self) -> Vec<String> {
        self.variants.iter().map(Variant::label).collect()
    }

    /// Checks every value; the error names the flag, the value and the fix.
    pub fn check(&self) -> Result<()> {
        if self.models.is_empty() || self.variants.is_empty() {
            bail!("--models is empty: give at least one of rnn, dnn, irnn, gru, lstm");
        }
        if self.variants.len() > MAX_VARIANTS {
            bail!(
                "{} model and learning-rate combinations: at most {MAX_VARIANTS}",
                self.variants.len()
            );
        }
        let labels = self.labels();
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(i, l)| labels[..*i].contains(l))
        {
            bail!(
                "the combination `{l}` (number {}) is repeated: list each once",
                i + 1
            );
        }
        if self.lengths.is_empty() {
            bail!("--lengths is empty: give at least one length, e.g. --lengths 8,16,32");
        }
        if let Some(&l) = self
            .lengths
            .iter()
            .find(|&&l| l == 0 || l > MAX_STUDY_LENGTH)
        {
            bail!("--lengths {l} is out of range: each length must be 1 ..= {MAX_STUDY_LENGTH}");
        }
        if self.seeds.is_empty() || self.seeds.len() > MAX_SEEDS {
            bail!(
                "--seeds gives {} seeds: give 1 ..= {MAX_SEEDS}",
                self.seeds.len()
            );
        }
        if self.iters == 0 || self.iters > MAX_ITERS {
            bail!(
                "--iters {} is out of range: use 1 ..= {MAX_ITERS}",
                self.iters
            );
        }
        if self.eval_every == 0 || self.eval_every > self.iters {
            bail!(
                "--eval-every {} is out of range: use 1 ..= --iters ({})",
                self.eval_every,
                self.iters
            );
        }
        if self.heldout == 0 || self.heldout > MAX_HELDOUT {
            bail!(
                "--heldout {} is out of range: use 1 ..= {MAX_HELDOUT}",
                self.heldout
            );
        }
        if let Some(c) = self.clip
            && !(c.is_finite() && c > 0.0)
        {
            bail!("--clip {c} is out of range: the clipping norm must be a finite number > 0");
        }
        if self.hidden == 0 || self.hidden > 4096 {
            bail!(
                "hidden size {} is out of range: use 1 ..= 4096",
                self.hidden
            );
        }
        for v in &self.variants {
            nncore::Sgd::new(v.lr_io, v.lr_rec)
                .map_err(|e| anyhow::anyhow!("{}: {e}", v.label().replace("lr_io", "--lr-io")))?;
            if let Some(c) = v.clip
                && !(c.is_finite() && c > 0.0)
            {
                bail!("--clip {c} is out of range: the clipping norm must be a finite number > 0");
            }
        }
        if self.grad_flow_batch == 0 || self.grad_flow_batch > self.heldout {
            bail!(
                "gradient-flow batch {} is out of range: use 1 ..= --heldout ({})",
                self.grad_flow_batch,
                self.heldout
            );
        }
        Ok(())
    }
}

/// The long preset's variants: the article's rnn; the rnn with clipping at
/// global norm 1 (the fix the article names); the irnn at the article's
/// rates; the gru with Adam, without and with clipping; the lstm with Adam
/// and clipping; and the dnn. The gated cells take Adam because with SGD
/// their gate biases (in the recurrent group) do not move at the article's
/// 0.001, and at 0.1 the gradient summed over a long sequence throws them
/// into saturation (a search at L = 64 is in the notes of the issue).
pub fn long_variants() -> Vec<Variant> {
    use ModelKind::*;
    let adam = |model, lr_io, lr_rec| Variant {
        model,
        optimizer: OptimizerKind::Adam,
        lr_io,
        lr_rec,
        clip: None,
    };
    vec![
        Variant::article(Rnn),
        Variant::article(Rnn).with_clip(Some(1.0)),
        Variant::article(Irnn),
        adam(Gru, 0.01, 0.003),
        adam(Gru, 0.01, 0.003).with_clip(Some(1.0)),
        adam(Lstm, 0.01, 0.01).with_clip(Some(1.0)),
        Variant::article(Dnn),
    ]
}

/// Parses `--seeds`: a count `N` (seeds 0..N), a range `A..B`, or a comma
/// list `A,B,C` (a single seed: `7,`).
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let s = s.trim();
    let bad = |what: &str| {
        format!(
            "invalid --seeds '{s}': {what}; give a count (10), a range (0..10) or a list (3,7,11)"
        )
    };
    if let Some((a, b)) = s.split_once("..") {
        let a: u64 = a
            .trim()
            .parse()
            .map_err(|_| bad("the range start is not a whole number"))?;
        let b: u64 = b
            .trim()
            .parse()
            .map_err(|_| bad("the range end is not a whole number"))?;
        if b <= a {
            return Err(bad("the range is empty"));
        }
        if b - a > MAX_SEEDS as u64 {
            return Err(bad(&format!("more than {MAX_SEEDS} seeds")));
        }
        return Ok((a..b).collect());
    }
    if s.contains(',') {
        let list: Result<Vec<u64>, _> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect();
        let list = list.map_err(|_| bad("every seed must be a whole number >= 0"))?;
        if list.is_empty() {
            return Err(bad("the list is empty"));
        }
        let mut uniq = list.clone();
        uniq.sort_unstable();
        uniq.dedup();
        if uniq.len() != list.len() {
            return Err(bad("a seed is repeated"));
        }
        return Ok(list);
    }
    let n: usize = s.parse().map_err(|_| bad("not a whole number"))?;
    if n == 0 || n > MAX_SEEDS {
        return Err(bad(&format!("the count must be 1 ..= {MAX_SEEDS}")));
    }
    Ok((0..n as u64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_as_count_range_or_list() {
        assert_eq!(parse_seeds("3").unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_seeds("5..8").unwrap(), vec![5, 6, 7]);
        assert_eq!(parse_seeds("7,").unwrap(), vec![7]);
        assert_eq!(parse_seeds("9, 2,4").unwrap(), vec![9, 2, 4]);
        for bad in ["0", "x", "3..3", "1,1", ",", "-1,2", "99999999"] {
            let e = parse_seeds(bad).unwrap_err();
            assert!(e.contains(bad.trim()), "{e}");
        }
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        StudyConfig::article().check().unwrap();
        StudyConfig::quick().check().unwrap();
        StudyConfig::long().check().unwrap();
        type Edit = fn(&mut StudyConfig);
        let cases: [(Edit, &str); 7] = [
            (|c| c.lengths = vec![8, 0], "--lengths 0"),
            (|c| c.iters = 0, "--iters 0"),
            (|c| c.eval_every = 30_000, "--eval-every 30000"),
            (|c| c.heldout = 0, "--heldout 0"),
            (|c| c.variants[0].clip = Some(-1.0), "--clip -1"),
            (|c| c.variants.clear(), "--models is empty"),
            (
                |c| c.variants.push(c.variants[0]),
                "`rnn` (number 3) is repeated",
            ),
        ];
        for (f, want) in cases {
            let mut c = StudyConfig::article();
            f(&mut c);
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }
}

#[cfg(test)]
mod variant_tests {
    use super::*;

    #[test]
    fn labels_name_what_differs_from_the_article() {
        assert_eq!(Variant::article(ModelKind::Rnn).label(), "rnn");
        assert_eq!(Variant::article(ModelKind::Dnn).label(), "dnn");
        assert_eq!(
            Variant::article(ModelKind::Rnn)
                .with_clip(Some(1.0))
                .label(),
            "rnn clip 1"
        );
        let v = Variant {
            optimizer: OptimizerKind::Adam,
            lr_io: 0.01,
            lr_rec: 0.01,
            ..Variant::article(ModelKind::Lstm)
        };
        assert_eq!(v.label(), "lstm adam lr 0.01/0.01");
        let big = Variant {
            lr_io: 1e300,
            lr_rec: 1e-7,
            ..Variant::article(ModelKind::Rnn)
        };
        assert_eq!(big.label(), "rnn lr 1e300/1e-7");
        let labels = StudyConfig::long().labels();
        assert_eq!(labels.len(), 7);
    }
}
