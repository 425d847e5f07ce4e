//! What a study is: its variants, lengths, seeds, schedule and held-out set
//! ([`Study`]), read from a study file ([`StudyFile`], TOML) with every value
//! checked once, beside its type.

use std::collections::BTreeMap;

use models::ModelKind;
use nncore::{ClipNorm, OptimizerKind, OptimizerSpec, Precision, Schedule, text::number};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The article's hidden size.
pub const DEFAULT_HIDDEN: usize = 100;
/// The longest sequence a study accepts.
pub const MAX_LENGTH: usize = models::MAX_LENGTH;
/// The most held-out sequences a study accepts.
pub const MAX_HELDOUT: usize = models::MAX_HELDOUT;
/// The most seeds a study accepts.
pub const MAX_SEEDS: usize = 10_000;
/// The most variants a study accepts.
pub const MAX_VARIANTS: usize = 1_000;
/// The largest hidden size accepted.
pub const MAX_HIDDEN: usize = models::MAX_HIDDEN;

/// One way of training one model: the kind, its hidden size, the optimiser
/// with its two learning rates, and the clipping. A study trains every
/// variant at every length with every seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// The model kind.
    pub model: ModelKind,
    /// Hidden units (default 100, the article's).
    pub hidden: usize,
    /// The optimiser and its rates.
    #[serde(flatten)]
    pub optimizer: OptimizerSpec,
    /// Clipping by global norm, or none (the article's).
    pub clip: Option<ClipNorm>,
    /// The precision the model computes in (default `f64`, the article's);
    /// written only when it is `f32`, so an `f64` variant is recorded, and
    /// fingerprinted, as before `f32` existed.
    #[serde(default, skip_serializing_if = "Precision::is_f64")]
    pub precision: Precision,
}

impl Variant {
    /// The article's settings for a model kind: hidden 100, its SGD rates,
    /// no clipping.
    pub fn article(model: ModelKind) -> Self {
        Self {
            model,
            hidden: DEFAULT_HIDDEN,
            optimizer: model.info().article,
            clip: None,
            precision: Precision::F64,
        }
    }

    /// Every combination of model × `lr_io` × `lr_rec` with `optimizer`
    /// (each model's article rate where a list is not given; a model
    /// without a recurrent group takes `lr_io` for both and is not repeated
    /// over `lr_rec`), in that order: a learning-rate grid.
    ///
    /// ```
    /// use study::Variant;
    /// let models = ["rnn".parse()?, "dnn".parse()?];
    /// let grid = Variant::grid(&models, Default::default(), Some(&[0.1, 0.3]), Some(&[0.01]));
    /// let labels: Vec<String> = grid.iter().map(Variant::label).collect();
    /// assert_eq!(labels, ["rnn lr 0.1/0.01", "rnn lr 0.3/0.01", "dnn", "dnn lr 0.3"]);
    /// # Ok::<(), models::Error>(())
    /// ```
    pub fn grid(
        models: &[ModelKind],
        optimizer: OptimizerKind,
        lr_io: Option<&[f64]>,
        lr_rec: Option<&[f64]>,
    ) -> Vec<Variant> {
        let mut out = Vec::new();
        for &model in models {
            let a = Variant::article(model);
            let ios = lr_io.map_or_else(|| vec![a.optimizer.lr_io], <[f64]>::to_vec);
            let recs: Vec<Option<f64>> = match (lr_rec, model.info().recurrent) {
                (_, false) => vec![None],
                (Some(r), true) => r.iter().copied().map(Some).collect(),
                (None, true) => vec![Some(a.optimizer.lr_rec)],
            };
            for &lr_io in &ios {
                for rec in &recs {
                    out.push(Variant {
                        optimizer: OptimizerSpec {
                            optimizer,
                            lr_io,
                            lr_rec: rec.unwrap_or(lr_io),
                        },
                        ..a
                    });
                }
            }
        }
        out
    }

    /// A short name: the model, then whatever differs from the article's
    /// settings (e.g. `rnn`, `rnn clip 1`, `lstm adam lr 0.01/0.01`,
    /// `gru h32`, `rnn f32`).
    pub fn label(&self) -> String {
        let a = Self::article(self.model);
        let mut s = self.model.name().to_string();
        if self.hidden != a.hidden {
            s.push_str(&format!(" h{}", self.hidden));
        }
        let (o, ao) = (self.optimizer, a.optimizer);
        if o.optimizer != ao.optimizer {
            s.push(' ');
            s.push_str(o.optimizer.name());
        }
        if (o.lr_io, o.lr_rec) != (ao.lr_io, ao.lr_rec) {
            if !self.model.info().recurrent {
                s.push_str(&format!(" lr {}", number(o.lr_io)));
            } else {
                s.push_str(&format!(" lr {}/{}", number(o.lr_io), number(o.lr_rec)));
            }
        }
        if let Some(c) = self.clip {
            s.push_str(&format!(" clip {}", number(c.max_norm())));
        }
        if self.precision != Precision::F64 {
            s.push_str(&format!(" {}", self.precision));
        }
        s
    }

    /// Checks the hidden size and the rates; the error names the variant.
    pub fn check(&self) -> Result<()> {
        if self.hidden == 0 || self.hidden > MAX_HIDDEN {
            return Err(Error::invalid(
                format!("variant `{}`: hidden", self.label()),
                self.hidden,
                format!("use 1 ..= {MAX_HIDDEN}"),
            ));
        }
        if !self.model.info().recurrent && self.optimizer.lr_rec != self.optimizer.lr_io {
            return Err(Error::invalid(
                format!("variant `{}`: lr_rec", self.label()),
                self.optimizer.lr_rec,
                format!(
                    "the {} has no recurrent weights: give lr_io only",
                    self.model
                ),
            ));
        }
        self.optimizer.check().map_err(|e| match e {
            nncore::Error::InvalidConfig {
                field,
                value,
                reason,
            } => Error::invalid(
                format!("variant `{}`: {field}", self.label()),
                value,
                reason,
            ),
            other => other.into(),
        })
    }
}

/// Everything that determines a study's results (timing aside), resolved:
/// every default filled in. Recorded in `study.json` and, as TOML, in the
/// report folder's `study.toml`, so that any study can be replayed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// The study's name (`article`, `long`, or the file's).
    pub name: String,
    /// Sequence lengths.
    pub lengths: Vec<usize>,
    /// Training seeds: each seeds the pool, the sampling order and the
    /// initial weights, on separate ChaCha8 streams.
    pub seeds: Vec<u64>,
    /// Iterations, evaluation interval and gradient-flow batch.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// Held-out sequences per length.
    pub heldout: usize,
    /// Seed of the held-out set, the same for every model and seed.
    pub heldout_seed: u64,
    /// Training-pool size (50,000, the article's).
    pub pool_size: usize,
    /// Add seeds to a cell (variant and length) until the 95% t-interval
    /// of its mean held-out accuracy is at most this wide on either side,
    /// or it has [`Study::max_seeds`] ([`crate::adaptive`]); `None`: the
    /// seeds given, no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ci: Option<f64>,
    /// The most seeds a cell gets when [`Study::until_ci`] adds seeds (to
    /// wide cells, and to a search's probes that straddle its threshold)
    /// [default 100]; only with `until_ci`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seeds: Option<usize>,
    /// Every (model, hidden, optimiser, rates, clipping) trained.
    #[serde(rename = "variant")]
    pub variants: Vec<Variant>,
    /// A search over lengths instead of the lengths given: the first of
    /// `lengths` is where it starts ([`Search`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
}

/// The most seeds a cell gets with `until_ci` unless `max_seeds` says.
pub const DEFAULT_MAX_SEEDS: usize = 100;

/// The breaking-length search ([`crate::adaptive`]): for each variant,
/// start at the study's first length and double it while the mean held-out
/// accuracy over the seeds stays at or above `threshold`, then bisect
/// between the last pass and the first fail until they are within
/// `resolution` of the passing length, or stop at `max_length`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// What is searched: `breaking-length`, the only search.
    pub kind: SearchKind,
    /// The pass line for the mean held-out accuracy [default 0.90].
    #[serde(default = "Search::default_threshold")]
    pub threshold: f64,
    /// Stop bisecting when the fail and the pass are at most this fraction
    /// of the passing length apart [default 0.10].
    #[serde(default = "Search::default_resolution")]
    pub resolution: f64,
    /// The longest length probed [default 1,024].
    #[serde(default = "Search::default_max_length")]
    pub max_length: usize,
}

/// The kinds of search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchKind {
    /// Each variant's breaking length.
    BreakingLength,
}

impl Search {
    /// A breaking-length search with the defaults: threshold 0.90,
    /// resolution 10%, up to L = 1,024.
    pub fn breaking_length() -> Self {
        Self {
            kind: SearchKind::BreakingLength,
            threshold: Self::default_threshold(),
            resolution: Self::default_resolution(),
            max_length: Self::default_max_length(),
        }
    }

    fn default_threshold() -> f64 {
        0.90
    }

    fn default_resolution() -> f64 {
        0.10
    }

    fn default_max_length() -> usize {
        1024
    }

    /// Checks the values; the error names the key.
    pub fn check(&self, start: usize) -> Result<()> {
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(Error::invalid(
                "search threshold",
                self.threshold,
                "use a held-out accuracy between 0 and 1, e.g. 0.9",
            ));
        }
        if !(self.resolution > 0.0 && self.resolution <= 1.0) {
            return Err(Error::invalid(
                "search resolution",
                self.resolution,
                "use a fraction of the length in (0, 1], e.g. 0.1",
            ));
        }
        if self.max_length < start || self.max_length > MAX_LENGTH {
            return Err(Error::invalid(
                "search max_length",
                self.max_length,
                format!("use {start} (the first length) ..= {MAX_LENGTH}"),
            ));
        }
        Ok(())
    }
}

/// The shipped study files, by preset name: `studies/<name>.toml`.
pub const PRESETS: &[(&str, &str)] = &[
    ("article", include_str!("../../../studies/article.toml")),
    ("long", include_str!("../../../studies/long.toml")),
    ("gateless", include_str!("../../../studies/gateless.toml")),
];

impl Study {
    /// The article's study (`studies/article.toml`).
    pub fn article() -> Self {
        Self::preset("article").expect("the shipped article study is valid")
    }

    /// A shipped study by name (`article`, `long`).
    pub fn preset(name: &str) -> Result<Self> {
        let (_, text) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            Error::invalid(
                "preset",
                name,
                format!(
                    "use one of {}",
                    PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        Self::from_toml(text)
    }

    /// A study from the text of a study file (TOML): parsed, defaults
    /// filled in, and checked.
    pub fn from_toml(text: &str) -> Result<Self> {
        StudyFile::parse(text)?.resolve()
    }

    /// The study as a study file (TOML) that [`Study::from_toml`] reads back
    /// to the same study.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a study serialises as TOML")
    }

    /// The distinct variant labels, in order.
    pub fn labels(&self) -> Vec<String> {
        self.variants.iter().map(Variant::label).collect()
    }

    /// The distinct model kinds, in the order of the variants.
    pub fn models(&self) -> Vec<ModelKind> {
        let mut out: Vec<ModelKind> = Vec::new();
        for v in &self.variants {
            if !out.contains(&v.model) {
                out.push(v.model);
            }
        }
        out
    }

    /// Drops variants that are exact repeats of an earlier one (after flags
    /// set the clipping of every variant, `rnn` and `rnn clip 1` may become
    /// the same experiment).
    pub fn dedup_variants(&mut self) {
        let mut seen: Vec<Variant> = Vec::new();
        self.variants.retain(|v| {
            let new = !seen.contains(v);
            seen.push(*v);
            new
        });
    }

    /// Checks every value; the error names the key, the value and the fix.
    pub fn check(&self) -> Result<()> {
        let n = self.name.trim();
        if n.is_empty() || n == "." || n == ".." || n.contains(['/', '\\']) || n.len() > 100 {
            return Err(Error::invalid(
                "name",
                format!("{:?}", self.name),
                "a study's name is a word of at most 100 characters, without / (it names the \
                 report folder)",
            ));
        }
        if self.variants.is_empty() {
            return Err(Error::invalid(
                "variant",
                "none",
                format!("give at least one, e.g. a model of {}", ModelKind::names()),
            ));
        }
        if self.variants.len() > MAX_VARIANTS {
            return Err(Error::invalid(
                "variant",
                format!("{} variants", self.variants.len()),
                format!("at most {MAX_VARIANTS}"),
            ));
        }
        for v in &self.variants {
            v.check()?;
        }
        let labels = self.labels();
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(i, l)| labels[..*i].contains(l))
        {
            return Err(Error::invalid(
                "variant",
                format!("`{l}` (number {})", i + 1),
                "it is repeated: list each once",
            ));
        }
        if self.lengths.is_empty() {
            return Err(Error::invalid(
                "lengths",
                "[]",
                "give at least one length, e.g. 8,16,32",
            ));
        }
        if let Some(&l) = self.lengths.iter().find(|&&l| l == 0 || l > MAX_LENGTH) {
            return Err(Error::invalid(
                "lengths",
                l,
                format!("each length must be 1 ..= {MAX_LENGTH}"),
            ));
        }
        if let Some((i, l)) = self
            .lengths
            .iter()
            .enumerate()
            .find(|(i, l)| self.lengths[..*i].contains(l))
        {
            return Err(Error::invalid(
                "lengths",
                l,
                format!("length number {} is repeated: list each once", i + 1),
            ));
        }
        check_seeds(&self.seeds)?;
        if let Some(w) = self.until_ci
            && !(w > 0.0 && w < 1.0)
        {
            return Err(Error::invalid(
                "until_ci",
                w,
                "give the largest 95% half-width wanted, in accuracy (0, 1), e.g. 0.03",
            ));
        }
        if let (Some(m), None) = (self.max_seeds, self.until_ci) {
            return Err(Error::invalid(
                "max_seeds",
                m,
                "it caps the seeds until_ci adds: give until_ci too (e.g. until_ci = 0.03)",
            ));
        }
        if self.until_ci.is_some()
            && let Some(&s) = self.seeds.iter().max()
            && s > u64::MAX - MAX_SEEDS as u64
        {
            return Err(Error::invalid(
                "seeds",
                s,
                format!(
                    "until_ci adds the seeds after the largest: keep seeds below {}",
                    u64::MAX - MAX_SEEDS as u64
                ),
            ));
        }
        if let Some(m) = self.max_seeds
            && (m < self.seeds.len() || m > MAX_SEEDS)
        {
            return Err(Error::invalid(
                "max_seeds",
                m,
                format!("use {} (the seeds given) ..= {MAX_SEEDS}", self.seeds.len()),
            ));
        }
        if let Some(search) = &self.search {
            search.check(self.lengths[0])?;
            if self.lengths.len() > 1 {
                return Err(Error::invalid(
                    "lengths",
                    format!("{:?}", self.lengths),
                    "a search starts at one length: give one, e.g. lengths = [8]",
                ));
            }
        }
        self.schedule.check()?;
        if self.heldout == 0 || self.heldout > MAX_HELDOUT {
            return Err(Error::invalid(
                "heldout",
                self.heldout,
                format!("use 1 ..= {MAX_HELDOUT}"),
            ));
        }
        if self.pool_size == 0 || self.pool_size > seqdata::POOL_SIZE * 20 {
            return Err(Error::invalid(
                "pool_size",
                self.pool_size,
                format!("use 1 ..= {}", seqdata::POOL_SIZE * 20),
            ));
        }
        for &l in &self.lengths {
            let task = seqdata::AlternatingSign::new(l)?;
            task.check_count(self.heldout)
                .map_err(|e| Error::from(e).context("heldout"))?;
            task.check_count(self.pool_size)
                .map_err(|e| Error::from(e).context("pool_size"))?;
        }
        Ok(())
    }
}

fn check_seeds(seeds: &[u64]) -> Result<()> {
    if seeds.is_empty() || seeds.len() > MAX_SEEDS {
        return Err(Error::invalid(
            "seeds",
            format!("{} seeds", seeds.len()),
            format!("give 1 ..= {MAX_SEEDS}"),
        ));
    }
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::invalid("seeds", w[0], "a seed is repeated"));
    }
    Ok(())
}

/// Seeds as a study file or a flag gives them: a count `N` (seeds `0..N`),
/// a list `[3, 7]`, or a range `"A..B"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SeedsDef {
    /// Seeds `0..N`.
    Count(u64),
    /// These seeds.
    List(Vec<u64>),
    /// A count, a range `A..B` or a comma list, as text.
    Text(String),
}

impl SeedsDef {
    /// The seeds, checked.
    pub fn resolve(&self) -> Result<Vec<u64>> {
        let seeds = match self {
            Self::Count(n) => count_seeds(*n)?,
            Self::List(v) => v.clone(),
            Self::Text(s) => parse_seeds(s)?,
        };
        check_seeds(&seeds)?;
        Ok(seeds)
    }
}

fn count_seeds(n: u64) -> Result<Vec<u64>> {
    if n == 0 || n > MAX_SEEDS as u64 {
        return Err(Error::invalid(
            "seeds",
            n,
            format!("the count must be 1 ..= {MAX_SEEDS}"),
        ));
    }
    Ok((0..n).collect())
}

/// Parses seeds: a count `N` (seeds 0..N), a range `A..B`, or a comma list
/// `A,B,C` (a single seed: `7,`).
///
/// ```
/// use study::parse_seeds;
/// assert_eq!(parse_seeds("3")?, vec![0, 1, 2]);
/// assert_eq!(parse_seeds("5..8")?, vec![5, 6, 7]);
/// assert_eq!(parse_seeds("9, 2,4")?, vec![9, 2, 4]);
/// assert!(parse_seeds("1,1").is_err());
/// # Ok::<(), study::Error>(())
/// ```
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let s = s.trim();
    let bad = |what: &str| {
        Error::invalid(
            "seeds",
            format!("'{s}'"),
            format!("{what}; give a count (10), a range (0..10) or a list (3,7,11)"),
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
        let list: std::result::Result<Vec<u64>, _> = s
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
    let n: u64 = s.parse().map_err(|_| bad("not a whole number"))?;
    count_seeds(n).map_err(|_| bad(&format!("the count must be 1 ..= {MAX_SEEDS}")))
}

/// A variant as a study file writes it: only `model` is required; the rest
/// default to the model's article settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantDef {
    /// The model kind.
    pub model: ModelKind,
    /// Hidden units [default 100].
    pub hidden: Option<usize>,
    /// The optimiser [default: the model's article optimiser, sgd].
    pub optimizer: Option<OptimizerKind>,
    /// Rate of the input/output group [default: the model's article rate].
    pub lr_io: Option<f64>,
    /// Rate of the recurrent group [default: the model's article rate; a
    /// model without one takes `lr_io`].
    pub lr_rec: Option<f64>,
    /// Clipping by global norm [default: none].
    pub clip: Option<ClipNorm>,
    /// The precision, `f32` or `f64` [default: the file's `precision`, or
    /// `f64`].
    pub precision: Option<Precision>,
}

impl VariantDef {
    /// The variant, defaults filled in (`precision` the file's default
    /// where the variant gives none).
    pub fn resolve(&self, precision: Precision) -> Variant {
        let mut v = Variant::article(self.model);
        if let Some(h) = self.hidden {
            v.hidden = h;
        }
        if let Some(o) = self.optimizer {
            v.optimizer.optimizer = o;
        }
        if let Some(lr) = self.lr_io {
            v.optimizer.lr_io = lr;
            if !self.model.info().recurrent {
                v.optimizer.lr_rec = lr;
            }
        }
        if let Some(lr) = self.lr_rec {
            v.optimizer.lr_rec = lr;
        }
        v.clip = self.clip;
        v.precision = self.precision.unwrap_or(precision);
        v
    }
}

/// A study file as written (TOML): every key optional, unknown keys refused.
/// See `studies/article.toml` for every key and its default.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    /// The study's name [default `study`].
    pub name: Option<String>,
    /// Sequence lengths [default 8, 16, 32].
    pub lengths: Option<Vec<usize>>,
    /// Seeds [default 10: seeds 0..10].
    pub seeds: Option<SeedsDef>,
    /// Training iterations [default 20,000].
    pub iters: Option<usize>,
    /// Evaluation interval [default 500].
    pub eval_every: Option<usize>,
    /// Gradient-flow batch [default 32].
    pub grad_flow_batch: Option<usize>,
    /// Held-out sequences per length [default 2,000].
    pub heldout: Option<usize>,
    /// Held-out seed [default 20261129].
    pub heldout_seed: Option<u64>,
    /// Training-pool size [default 50,000].
    pub pool_size: Option<usize>,
    /// The precision of every variant that does not give its own [default
    /// f64].
    pub precision: Option<Precision>,
    /// Add seeds until every cell's 95% half-width is at most this
    /// [default: no seeds added].
    pub until_ci: Option<f64>,
    /// The most seeds a cell gets [default 100 with `until_ci`].
    pub max_seeds: Option<usize>,
    /// `"breaking-length"`, or a table `{ kind = "breaking-length",
    /// threshold, resolution, max_length }` [default: no search, the
    /// lengths given].
    pub search: Option<SearchDef>,
    /// The search's pass line [default 0.90].
    pub threshold: Option<f64>,
    /// The search's resolution, a fraction of the length [default 0.10].
    pub resolution: Option<f64>,
    /// The search's longest length [default 1,024].
    pub max_length: Option<usize>,
    /// The variants [default: rnn and dnn with the article's settings].
    pub variant: Option<Vec<VariantDef>>,
}

/// A search as a study file gives it: its name, or the whole table (as
/// `study.toml` writes it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SearchDef {
    /// `search = "breaking-length"`.
    Kind(SearchKind),
    /// `[search]` with its keys.
    Table(Search),
}

impl StudyFile {
    /// Parses a study file; an error names the key (its path) and the line.
    pub fn parse(text: &str) -> Result<Self> {
        let de =
            toml::Deserializer::parse(text).map_err(|e| Error::StudyFile(one_line(text, &e)))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = one_line(text, e.inner());
            Error::StudyFile(if path == "." {
                inner
            } else {
                format!("`{path}`: {inner}")
            })
        })
    }

    /// The study, every default filled in, checked.
    pub fn resolve(&self) -> Result<Study> {
        let d = Schedule::default();
        let precision = self.precision.unwrap_or_default();
        let study = Study {
            name: self.name.clone().unwrap_or_else(|| "study".into()),
            lengths: self.lengths.clone().unwrap_or_else(|| vec![8, 16, 32]),
            seeds: match &self.seeds {
                Some(s) => s.resolve()?,
                None => (0..10).collect(),
            },
            schedule: Schedule {
                iters: self.iters.unwrap_or(d.iters),
                eval_every: self.eval_every.unwrap_or(d.eval_every),
                grad_flow_batch: self.grad_flow_batch.unwrap_or(d.grad_flow_batch),
            },
            heldout: self.heldout.unwrap_or(2_000),
            heldout_seed: self.heldout_seed.unwrap_or(seqdata::DEFAULT_HELDOUT_SEED),
            pool_size: self.pool_size.unwrap_or(seqdata::POOL_SIZE),
            until_ci: self.until_ci,
            max_seeds: self.max_seeds,
            search: self.search()?,
            variants: match &self.variant {
                Some(v) => v.iter().map(|d| d.resolve(precision)).collect(),
                None => ["rnn", "dnn"]
                    .iter()
                    .map(|n| Variant {
                        precision,
                        ..Variant::article(n.parse().expect("registered"))
                    })
                    .collect(),
            },
        };
        study.check()?;
        Ok(study)
    }
}

impl StudyFile {
    /// The search: the named one with the file's `threshold`,
    /// `resolution` and `max_length`, or the table.
    fn search(&self) -> Result<Option<Search>> {
        let loose =
            self.threshold.is_some() || self.resolution.is_some() || self.max_length.is_some();
        match &self.search {
            None if loose => Err(Error::invalid(
                "threshold, resolution, max_length",
                "given",
                "they set a search: add search = \"breaking-length\"",
            )),
            None => Ok(None),
            Some(SearchDef::Table(t)) if loose => Err(Error::invalid(
                "search",
                format!("{t:?}"),
                "give threshold, resolution and max_length in the [search] table or beside \
                 search = \"breaking-length\", not both",
            )),
            Some(SearchDef::Table(t)) => Ok(Some(*t)),
            Some(SearchDef::Kind(kind)) => {
                let d = Search::breaking_length();
                Ok(Some(Search {
                    kind: *kind,
                    threshold: self.threshold.unwrap_or(d.threshold),
                    resolution: self.resolution.unwrap_or(d.resolution),
                    max_length: self.max_length.unwrap_or(d.max_length),
                }))
            }
        }
    }
}

/// A TOML error as one line: `line 3: unknown field `itres`, expected …`.
fn one_line(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

/// What two resolved studies differ in, key by key (`iters: was 2000, now
/// 1000`), for messages.
pub fn differences(old: &Study, new: &Study) -> Vec<String> {
    let to_map = |s: &Study| -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(s).expect("a study serialises") {
            serde_json::Value::Object(m) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    };
    let (o, n) = (to_map(old), to_map(new));
    n.iter()
        .filter(|(k, v)| o.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: was {}, now {}",
                o.get(k)
                    .map_or("missing".to_string(), |x| seqdata::io::abbreviate(
                        &x.to_string(),
                        60
                    )),
                seqdata::io::abbreviate(&v.to_string(), 60)
            )
        })
        .collect()
}
