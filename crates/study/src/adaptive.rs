//! Adaptive studies: seeds added until a cell's interval is narrow
//! ([`Study::until_ci`]), and the breaking-length search
//! ([`Study::search`]).
//!
//! Both are decided from the finished runs alone: [`next_jobs`] looks at
//! the runs a folder holds and says which runs come next, so an
//! interrupted adaptive study resumes where it stopped, and a probed
//! length is never trained twice. [`run`](crate::run) trains round after
//! round until nothing comes next.
//!
//! # Adding seeds
//!
//! A cell (one variant at one length) first gets the study's seeds. With
//! `until_ci = W` it gets more while the half-width `t(0.975, n − 1) · s /
//! √n` of its mean held-out accuracy is above `W` (and, in a search, while
//! the interval straddles the threshold), up to `max_seeds`. Each round
//! asks for the count the current spread says is needed, `(t · s / W)²`,
//! but at most twice the seeds it has and at least one more. The extra
//! seeds continue after the largest given seed (seeds `0..10`, then `10,
//! 11, …`).
//!
//! # The breaking-length search
//!
//! For each variant the search starts at the study's first length and
//! doubles it while the probe holds (its mean held-out accuracy over the
//! seeds is at or above `threshold`), up to `max_length`. After the first
//! probe that does not hold it bisects between the longest that holds and
//! the shortest that does not, until they are within `resolution` of the
//! one that holds. With `until_ci` each probe is also settled by its 95%
//! interval: seeds are added while the interval straddles the threshold,
//! and a probe still straddling at `max_seeds` is reported *undecided*
//! (the search still goes by its mean: the line is where the mean crosses
//! it, and "undecided" says the seeds cannot tell on which side it is).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{DEFAULT_MAX_SEEDS, Search, Study, Variant};
use crate::plan::Job;
use crate::report::{RunReport, ci95_half_width, mean_std, t975};

/// Whether a study adds seeds or searches lengths (so that its runs are
/// not known before it starts).
pub fn is_adaptive(study: &Study) -> bool {
    study.until_ci.is_some() || study.search.is_some()
}

/// The most seeds a cell of `study` gets.
pub fn max_seeds(study: &Study) -> usize {
    match (study.max_seeds, study.until_ci) {
        (Some(m), _) => m,
        (None, Some(_)) => DEFAULT_MAX_SEEDS.max(study.seeds.len()),
        (None, None) => study.seeds.len(),
    }
}

/// The first `n` seeds of a cell: the study's, then the whole numbers
/// after the largest of them.
pub fn seeds(study: &Study, n: usize) -> Vec<u64> {
    let mut out: Vec<u64> = study.seeds.iter().copied().take(n).collect();
    let mut next = study.seeds.iter().copied().max().map_or(0, |m| m + 1);
    while out.len() < n {
        out.push(next);
        next += 1;
    }
    out
}

/// A probe's decision at the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// At or above the threshold (with `until_ci`: the whole 95%
    /// interval).
    Pass,
    /// Below it (with `until_ci`: the whole interval).
    Fail,
    /// The 95% interval still straddles it at the most seeds allowed.
    Undecided,
}

/// The held-out accuracy of one variant at one length, over its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Sequence length.
    pub length: usize,
    /// Seeds trained (diverged runs included).
    pub seeds: usize,
    /// Mean final held-out accuracy over the runs that did not diverge.
    pub mean: f64,
    /// Half-width of its 95% t-interval (None below two runs).
    pub ci95: Option<f64>,
    /// Runs at or above the threshold.
    pub above: usize,
    /// The decision at the threshold.
    pub decision: Decision,
}

/// One variant's breaking length, as the search found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakingLength {
    /// The variant's label.
    pub variant: String,
    /// The variant.
    pub settings: Variant,
    /// The threshold searched for.
    pub threshold: f64,
    /// Every probe, in the order the search made them.
    pub probes: Vec<Probe>,
    /// The longest probe that holds, its mean at or above the threshold
    /// (None: the first length did not).
    pub passing: Option<Probe>,
    /// The shortest probe longer than that one whose mean is below the
    /// threshold (None: it held at the longest length searched).
    pub failing: Option<Probe>,
    /// Whether the search is over (a partial report's may not be).
    pub finished: bool,
}

impl BreakingLength {
    /// The breaking length in words: `at least 1024`, `below 8`, `between
    /// 96 and 104`, naming a bounding probe whose interval straddles the
    /// threshold (`undecided at 96`).
    pub fn describe(&self) -> String {
        let mut s = match (&self.passing, &self.failing) {
            (Some(p), None) => format!("at least {}", p.length),
            (None, Some(f)) => format!("below {}", f.length),
            (Some(p), Some(f)) => format!("between {} and {}", p.length, f.length),
            (None, None) => "not probed".into(),
        };
        let undecided: Vec<String> = [&self.passing, &self.failing]
            .into_iter()
            .flatten()
            .filter(|p| p.decision == Decision::Undecided)
            .map(|p| p.length.to_string())
            .collect();
        if !undecided.is_empty() {
            s.push_str(&format!(" (undecided at {})", undecided.join(" and ")));
        }
        if !self.finished {
            s.push_str(", search not finished");
        }
        s
    }
}

/// The statistics of one cell's runs.
fn probe(study: &Study, runs: &[&RunReport], threshold: Option<f64>) -> (Probe, usize) {
    let acc: Vec<f64> = runs
        .iter()
        .filter(|r| !r.diverged)
        .map(|r| r.final_metrics.heldout_acc)
        .collect();
    let (mean, sd) = mean_std(&acc);
    let hw = ci95_half_width(sd, acc.len());
    let thr = threshold.unwrap_or(f64::NAN);
    let n = runs.len();
    let cap = max_seeds(study);
    let adaptive = study.until_ci.is_some();
    let straddles = adaptive
        && threshold.is_some()
        && match hw {
            Some(h) => mean - h < thr && mean + h >= thr,
            None => true,
        };
    let too_wide = match (study.until_ci, hw) {
        (Some(w), Some(h)) => h > w,
        (Some(_), None) => true,
        (None, _) => false,
    };
    // The seeds the cell should have.
    let mut want = study.seeds.len();
    if n >= want && n < cap && (too_wide || straddles) {
        let t = if acc.len() >= 2 {
            t975(acc.len() as f64 - 1.0)
        } else {
            f64::NAN
        };
        let width = |w: f64| -> usize {
            let need = (t * sd / w).powi(2).ceil();
            if need.is_finite() {
                need as usize
            } else {
                2 * n
            }
        };
        let mut need = n + 1;
        if too_wide && let Some(w) = study.until_ci {
            need = need.max(width(w));
        }
        if straddles {
            // Narrow enough to clear the threshold at the current mean.
            need = need.max(width((mean - thr).abs()));
        }
        want = need.min(2 * n.max(1)).min(cap).max(n + 1);
    }
    let decision = match threshold {
        None => Decision::Undecided,
        Some(_) if !adaptive => {
            if mean >= thr {
                Decision::Pass
            } else {
                Decision::Fail
            }
        }
        Some(_) => match hw {
            Some(h) if mean - h >= thr => Decision::Pass,
            Some(h) if mean + h < thr => Decision::Fail,
            // Too few non-diverged runs for an interval: below the line.
            None if acc.is_empty() => Decision::Fail,
            _ => Decision::Undecided,
        },
    };
    let p = Probe {
        length: runs.first().map_or(0, |r| r.length),
        seeds: n,
        mean,
        ci95: hw,
        above: acc.iter().filter(|&&a| a >= thr).count(),
        decision,
    };
    (p, want)
}

/// The runs of `variant`, by length.
fn by_length<'a>(variant: &Variant, runs: &'a [RunReport]) -> BTreeMap<usize, Vec<&'a RunReport>> {
    let mut out: BTreeMap<usize, Vec<&RunReport>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.settings == *variant) {
        out.entry(r.length).or_default().push(r);
    }
    out
}

/// The jobs that take one cell from the runs it has to `want` seeds.
fn cell_jobs(
    study: &Study,
    variant: &Variant,
    length: usize,
    have: &[&RunReport],
    want: usize,
) -> Vec<Job> {
    seeds(study, want)
        .into_iter()
        .filter(|s| !have.iter().any(|r| r.seed == *s))
        .map(|seed| Job {
            variant: *variant,
            length,
            seed,
        })
        .collect()
}

/// Walks one variant's search over its finished runs: the probes made so
/// far, and the jobs of the next probe (empty when the search is over).
fn walk(
    study: &Study,
    search: &Search,
    variant: &Variant,
    runs: &[RunReport],
) -> (BreakingLength, Vec<Job>) {
    let cells = by_length(variant, runs);
    let mut out = BreakingLength {
        variant: variant.label(),
        settings: *variant,
        threshold: search.threshold,
        probes: Vec::new(),
        passing: None,
        failing: None,
        finished: false,
    };
    let mut length = study.lengths[0];
    loop {
        let have = cells.get(&length).map(Vec::as_slice).unwrap_or_default();
        let (p, want) = if have.is_empty() {
            (None, study.seeds.len())
        } else {
            let (p, want) = probe(study, have, Some(search.threshold));
            (Some(p), want)
        };
        if have.len() < want || p.is_none() {
            let jobs = cell_jobs(study, variant, length, have, want);
            return (out, jobs);
        }
        let p = p.expect("probed");
        out.probes.push(p);
        if p.mean >= search.threshold {
            out.passing = Some(p);
        } else {
            out.failing = Some(p);
        }
        let next = match (&out.passing, &out.failing) {
            (Some(pass), None) if pass.length >= search.max_length => None,
            (Some(pass), None) => Some((pass.length * 2).min(search.max_length)),
            (None, Some(_)) => None,
            (Some(pass), Some(fail)) => {
                let gap = fail.length - pass.length;
                let resolution = (search.resolution * pass.length as f64).max(1.0);
                (gap as f64 > resolution).then(|| pass.length + gap / 2)
            }
            (None, None) => unreachable!("a probe was recorded"),
        };
        match next {
            Some(l) => length = l,
            None => {
                out.finished = true;
                return (out, Vec::new());
            }
        }
    }
}

/// Every variant's breaking length, from the runs (empty without a
/// search).
pub fn breaking_lengths(study: &Study, runs: &[RunReport]) -> Vec<BreakingLength> {
    match &study.search {
        None => Vec::new(),
        Some(search) => study
            .variants
            .iter()
            .map(|v| walk(study, search, v, runs).0)
            .collect(),
    }
}

/// The runs that come next, given the finished `runs`: for a plain study
/// its plan's runs not yet finished, for a study that adds seeds the next
/// seeds of every cell whose interval is too wide, for a search each
/// variant's next probe. Empty when the study is complete.
pub fn next_jobs(study: &Study, runs: &[RunReport]) -> Vec<Job> {
    let mut jobs = Vec::new();
    match &study.search {
        Some(search) => {
            for v in &study.variants {
                jobs.extend(walk(study, search, v, runs).1);
            }
        }
        None => {
            for v in &study.variants {
                let cells = by_length(v, runs);
                for &length in &study.lengths {
                    let have = cells.get(&length).map(Vec::as_slice).unwrap_or_default();
                    let want = if have.is_empty() {
                        study.seeds.len()
                    } else {
                        probe(study, have, None).1
                    };
                    jobs.extend(cell_jobs(study, v, length, have, want));
                }
            }
        }
    }
    jobs
}

/// Whether `name` (a file in `runs/`) can be a run of `study`: one of its
/// planned runs, or for an adaptive study any length and seed of one of
/// its variants.
pub(crate) fn owns_file_name(study: &Study, name: &str) -> bool {
    let stem = name
        .strip_suffix(".model.json")
        .or_else(|| name.strip_suffix(".json"));
    let Some(stem) = stem else { return false };
    study.variants.iter().any(|v| {
        let label = crate::report::run_file_name(&v.label(), 0, 0);
        let prefix = label.strip_suffix("_L0_seed0.json").unwrap_or(&label);
        stem.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix("_L"))
            .and_then(|rest| rest.split_once("_seed"))
            .is_some_and(|(l, s)| {
                !l.is_empty()
                    && !s.is_empty()
                    && l.bytes().all(|b| b.is_ascii_digit())
                    && s.bytes().all(|b| b.is_ascii_digit())
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A study of one variant, `n` seeds, with the search or `until_ci`.
    fn study(search: bool, until_ci: Option<f64>, max_seeds: Option<usize>) -> Study {
        let mut s = Study {
            lengths: vec![8],
            seeds: (0..5).collect(),
            until_ci,
            max_seeds,
            ..Study::article()
        };
        s.variants.truncate(1);
        if search {
            s.search = Some(Search::breaking_length());
        }
        s
    }

    /// A finished run of `study`'s variant with this accuracy.
    fn run(study: &Study, length: usize, seed: u64, acc: f64) -> RunReport {
        let job = Job {
            variant: study.variants[0],
            length,
            seed,
        };
        let outcome = nncore::Outcome {
            curve: Vec::new(),
            final_metrics: nncore::Metrics {
                heldout_acc: acc,
                heldout_exact: 0.0,
                per_position_acc: vec![acc; length],
                heldout_loss: 0.0,
            },
            iters: study.schedule.iters,
            diverged_at: None,
            clipped_updates: 0,
            train_s: 0.0,
            eval_s: 0.0,
            grad_flow: Vec::new(),
            grad_flow_last: Vec::new(),
        };
        crate::run::run_report(&job, study, outcome)
    }

    /// Fills every job with the accuracy `acc(length, seed)` until the
    /// study is complete; returns the runs and the rounds it took.
    fn simulate(study: &Study, acc: impl Fn(usize, u64) -> f64) -> (Vec<RunReport>, usize) {
        let mut runs = Vec::new();
        for round in 0..200 {
            let jobs = next_jobs(study, &runs);
            if jobs.is_empty() {
                return (runs, round);
            }
            for j in jobs {
                assert!(
                    !runs
                        .iter()
                        .any(|r: &RunReport| r.length == j.length && r.seed == j.seed),
                    "a run asked for twice: L = {} seed {}",
                    j.length,
                    j.seed
                );
                runs.push(run(study, j.length, j.seed, acc(j.length, j.seed)));
            }
        }
        panic!("the study did not finish in 200 rounds");
    }

    /// Accuracy 0.99 up to L = 100, 0.5 above: doubling to 128, then
    /// bisecting 64 … 128 until pass and fail are within 10% of the pass
    /// (96 and 104: 8 ≤ 9.6).
    #[test]
    fn the_search_doubles_then_bisects() {
        let s = study(true, None, None);
        let (runs, _) = simulate(&s, |l, _| if l <= 100 { 0.99 } else { 0.5 });
        let b = &breaking_lengths(&s, &runs)[0];
        let probed: Vec<usize> = b.probes.iter().map(|p| p.length).collect();
        assert_eq!(probed, [8, 16, 32, 64, 128, 96, 112, 104]);
        assert_eq!(b.passing.unwrap().length, 96);
        assert_eq!(b.failing.unwrap().length, 104);
        assert!(b.finished);
        assert_eq!(b.describe(), "between 96 and 104");
        // Every run once: 8 probes of 5 seeds.
        assert_eq!(runs.len(), 8 * 5);
    }

    #[test]
    fn the_search_stops_at_the_longest_length_and_below_the_first() {
        let s = study(true, None, None);
        let (runs, _) = simulate(&s, |_, _| 0.99);
        let b = &breaking_lengths(&s, &runs)[0];
        assert_eq!(b.probes.last().unwrap().length, 1024);
        assert_eq!(b.describe(), "at least 1024");
        let (runs, _) = simulate(&s, |_, _| 0.6);
        let b = &breaking_lengths(&s, &runs)[0];
        assert_eq!(b.describe(), "below 8");
        assert_eq!(runs.len(), 5);
    }

    /// With `until_ci`, a cell gets seeds until its half-width is at most
    /// W; the count follows the spread, at most doubling per round.
    #[test]
    fn seeds_are_added_until_the_interval_is_narrow() {
        let s = study(false, Some(0.03), Some(60));
        // Seeds alternate 0.8, 1.0: sd ≈ 0.1, so about (2·0.1/0.03)² ≈ 45 seeds.
        let acc = |_, seed: u64| if seed.is_multiple_of(2) { 0.8 } else { 1.0 };
        let (runs, rounds) = simulate(&s, acc);
        let n = runs.len();
        let accs: Vec<f64> = runs.iter().map(|r| r.final_metrics.heldout_acc).collect();
        let (_, sd) = mean_std(&accs);
        let hw = ci95_half_width(sd, n).unwrap();
        assert!(hw <= 0.03, "{n} seeds, half-width {hw}");
        // One fewer would not have done (or the count doubled past it).
        assert!((40..=60).contains(&n), "{n} seeds in {rounds} rounds");
        assert!(rounds <= 5, "{rounds} rounds");
        // Seeds 0..5, then 5, 6, …: no gaps, no repeats.
        let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        assert_eq!(seeds, (0..n as u64).collect::<Vec<_>>());
        // Identical seeds: the interval is 0 wide, nothing is added.
        let (runs, _) = simulate(&s, |_, _| 0.9);
        assert_eq!(runs.len(), 5);
        // The cap holds.
        let capped = study(false, Some(0.001), Some(12));
        let (runs, _) = simulate(&capped, acc);
        assert_eq!(runs.len(), 12);
    }

    /// In a search with `until_ci`, a probe whose interval straddles the
    /// threshold gets seeds; at the cap it is undecided, and the search goes
    /// on by its mean.
    #[test]
    fn straddling_probes_get_seeds_and_may_stay_undecided() {
        let s = study(true, Some(0.5), Some(10));
        // At L = 8, seeds alternate 0.85 / 0.97: mean 0.91, straddling 0.90
        // at any seed count up to 10.
        let (runs, _) = simulate(&s, |l, seed| {
            if l > 8 {
                0.5
            } else if seed.is_multiple_of(2) {
                0.85
            } else {
                0.97
            }
        });
        let b = &breaking_lengths(&s, &runs)[0];
        let first = b.probes[0];
        assert_eq!((first.length, first.seeds), (8, 10));
        assert_eq!(first.decision, Decision::Undecided);
        // Mean 0.91 holds: on to 16, which fails (0.5), then 12, 10, 9.
        let probed: Vec<usize> = b.probes.iter().map(|p| p.length).collect();
        assert_eq!(probed, [8, 16, 12, 10, 9]);
        assert_eq!(b.describe(), "between 8 and 9 (undecided at 8)");
        // A clear fail (mean 0.5 at L = 16) needed no more seeds.
        assert_eq!(b.probes[1].seeds, 5);
        assert_eq!(b.probes[1].decision, Decision::Fail);
        // A clear pass needs no more seeds.
        let (runs, _) = simulate(&s, |l, _| if l > 8 { 0.5 } else { 0.97 });
        let b = &breaking_lengths(&s, &runs)[0];
        assert_eq!(b.probes[0].seeds, 5);
        assert_eq!(b.passing.unwrap().length, 8);
    }

    #[test]
    fn run_file_names_of_an_adaptive_study() {
        let s = study(true, None, None);
        let label = s.variants[0].label();
        let name = crate::report::run_file_name(&label, 96, 12);
        assert!(owns_file_name(&s, &name));
        assert!(owns_file_name(&s, &name.replace(".json", ".model.json")));
        assert!(!owns_file_name(&s, "rnn_L8_seedx.json"));
        assert!(!owns_file_name(&s, "gru_L8_seed0.json"));
        assert!(!owns_file_name(&s, "notes.txt"));
    }
}
