//! The study's configuration: defaults, flags, validation.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::models::ModelKind;

/// Everything that determines a study's results (timing aside). Recorded in
/// `study.json` so that any run can be replayed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyConfig {
    /// Models to train (default `rnn`, `dnn`).
    pub models: Vec<ModelKind>,
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
    /// Gradient clipping by global norm, if any (default none, as the article).
    pub clip: Option<f64>,
    /// The learning rates of each model kind (the article's).
    pub learning_rates: Vec<LearningRates>,
}

/// The two SGD rates of one model kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningRates {
    /// The model kind.
    pub model: ModelKind,
    /// Rate of the input/output weights and the output bias.
    pub lr_io: f64,
    /// Rate of the recurrent weights and the hidden bias.
    pub lr_rec: f64,
}

/// The longest sequence a study accepts.
pub const MAX_STUDY_LENGTH: usize = 4096;
/// The most iterations a study accepts.
pub const MAX_ITERS: usize = 100_000_000;
/// The most held-out sequences a study accepts.
pub const MAX_HELDOUT: usize = 1_000_000;
/// The most seeds a study accepts.
pub const MAX_SEEDS: usize = 10_000;

impl StudyConfig {
    /// The article's study with our held-out evaluation over 10 seeds.
    pub fn article() -> Self {
        let models = vec![ModelKind::Rnn, ModelKind::Dnn];
        Self {
            learning_rates: rates_for(&models),
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
        }
    }

    /// A smoke configuration that finishes in seconds (CI uses it).
    pub fn quick() -> Self {
        Self {
            seeds: vec![0, 1],
            iters: 1_000,
            eval_every: 250,
            heldout: 256,
            ..Self::article()
        }
    }

    /// Checks every value; the error names the flag, the value and the fix.
    pub fn check(&self) -> Result<()> {
        if self.models.is_empty() {
            bail!("--models is empty: give at least one of rnn, dnn");
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
        for r in &self.learning_rates {
            nncore::Sgd::new(r.lr_io, r.lr_rec)?;
        }
        Ok(())
    }

    /// The rates of one model kind.
    pub fn rates(&self, model: ModelKind) -> nncore::Sgd {
        self.learning_rates
            .iter()
            .find(|r| r.model == model)
            .map(|r| nncore::Sgd {
                lr_io: r.lr_io,
                lr_rec: r.lr_rec,
            })
            .unwrap_or_else(|| model.article_sgd())
    }
}

/// The article's rates for each model kind.
pub fn rates_for(models: &[ModelKind]) -> Vec<LearningRates> {
    models
        .iter()
        .map(|&m| {
            let s = m.article_sgd();
            LearningRates {
                model: m,
                lr_io: s.lr_io,
                lr_rec: s.lr_rec,
            }
        })
        .collect()
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
        type Edit = fn(&mut StudyConfig);
        let cases: [(Edit, &str); 6] = [
            (|c| c.lengths = vec![8, 0], "--lengths 0"),
            (|c| c.iters = 0, "--iters 0"),
            (|c| c.eval_every = 30_000, "--eval-every 30000"),
            (|c| c.heldout = 0, "--heldout 0"),
            (|c| c.clip = Some(-1.0), "--clip -1"),
            (|c| c.models.clear(), "--models is empty"),
        ];
        for (f, want) in cases {
            let mut c = StudyConfig::article();
            f(&mut c);
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }
}
