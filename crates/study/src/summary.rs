//! The summary a person reads: the table, and a verdict computed from the
//! numbers (nothing in it is written in advance).

use std::fmt::Write as _;

use nncore::text::number;

use crate::config::Study;
use crate::report::{StudyReport, SummaryRow};

/// Accuracy a model must reach at a length to count as "learning" it, in the
/// verdict.
pub const LEARNS: f64 = 0.90;

fn fmt_iters(v: Option<f64>, reached: usize, seeds: usize) -> String {
    match v {
        Some(m) => format!("{reached} of {seeds} seeds, median {m:.0} (of those {reached})"),
        None => format!("0 of {seeds} seeds"),
    }
}

/// Welch's comparison of two rows' means: the difference `b − a` and its
/// 95% interval (Welch–Satterthwaite degrees of freedom), or None when a
/// row has fewer than two seeds (no spread to judge by).
pub fn welch(a: &SummaryRow, b: &SummaryRow) -> Option<(f64, f64, f64)> {
    let (na, nb) = (kept(a) as f64, kept(b) as f64);
    if na < 2.0 || nb < 2.0 || !a.heldout_acc_mean.is_finite() || !b.heldout_acc_mean.is_finite() {
        return None;
    }
    let diff = b.heldout_acc_mean - a.heldout_acc_mean;
    let (va, vb) = (
        a.heldout_acc_std.powi(2) / na,
        b.heldout_acc_std.powi(2) / nb,
    );
    let se = (va + vb).sqrt();
    if se == 0.0 {
        return Some((diff, diff, diff));
    }
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let h = crate::report::t975(df) * se;
    Some((diff, diff - h, diff + h))
}

/// Seeds of a row that did not diverge (its statistics are over them).
fn kept(r: &SummaryRow) -> usize {
    r.seeds - r.diverged
}

fn rows_of<'a>(summary: &'a [SummaryRow], variant: &str) -> Vec<&'a SummaryRow> {
    let mut rows: Vec<&SummaryRow> = summary.iter().filter(|r| r.variant == variant).collect();
    rows.sort_by_key(|r| r.length);
    rows
}

/// `0.927 [0.902, 0.952]`: the mean and its 95% t-interval (`0.927 (1
/// seed)` without one).
pub fn interval(r: &SummaryRow) -> String {
    if !r.heldout_acc_mean.is_finite() {
        return "none (every seed diverged)".into();
    }
    match r.heldout_acc_ci95 {
        Some(h) => mean_ci(r.heldout_acc_mean, h),
        None => format!("{:.3} (1 seed)", r.heldout_acc_mean),
    }
}

/// `0.912 [0.874, 0.950]`: a mean accuracy and its 95% interval, cut to
/// [0, 1] (an accuracy lies there: so does the interval shown).
fn mean_ci(mean: f64, half_width: f64) -> String {
    format!(
        "{mean:.3} [{:.3}, {:.3}]",
        (mean - half_width).max(0.0),
        (mean + half_width).min(1.0)
    )
}

fn acc(r: &SummaryRow) -> String {
    format!("{} at L = {}", interval(r), r.length)
}

/// Whether a row's mean is above its majority baseline beyond its interval
/// (the model learned something at that length).
pub fn beats_baseline(r: &SummaryRow) -> bool {
    r.heldout_acc_mean.is_finite()
        && r.heldout_acc_mean - r.heldout_acc_ci95.unwrap_or(0.0) > r.majority_baseline
}

/// A difference is beyond the seed-to-seed spread when its 95% Welch
/// interval excludes 0 (and it exceeds 0.005, so that identical seeds do not
/// make a rounding-size change "significant").
fn beyond(w: (f64, f64, f64)) -> bool {
    let (diff, lo, hi) = w;
    diff.abs() > 0.005 && (lo > 0.0 || hi < 0.0)
}

/// The first length (in order) at which a variant's mean held-out accuracy
/// is below [`LEARNS`], if any.
pub fn breaking_length(rows: &[&SummaryRow]) -> Option<usize> {
    rows.iter()
        .find(|r| r.heldout_acc_mean < LEARNS || r.heldout_acc_mean.is_nan())
        .map(|r| r.length)
}

/// `4 of 10 seeds below 0.90` (and the diverged ones).
fn below(r: &SummaryRow) -> String {
    let mut s = format!("{} of {} seeds below {LEARNS:.2}", r.below_90, kept(r));
    if r.diverged > 0 {
        s.push_str(&format!(", {} more diverged", r.diverged));
    }
    s
}

/// The verdict, one sentence per finding, from the summary rows. Intervals
/// are 95% Student-t (Welch for differences) at the real seed counts.
pub fn verdict(config: &Study, summary: &[SummaryRow]) -> Vec<String> {
    let mut out = Vec::new();
    let labels = config.labels();
    for model in &labels {
        let rows = rows_of(summary, model);
        if rows.is_empty() {
            continue;
        }
        let (first, last) = (rows[0], rows[rows.len() - 1]);
        let trend = if rows.len() >= 2 {
            welch(first, last)
        } else {
            None
        };
        if rows.len() >= 2 {
            match trend {
                Some(w) => {
                    let says = if !beyond(w) {
                        "does not change beyond the seed-to-seed spread"
                    } else if w.0 < 0.0 {
                        "falls with length, beyond the seed-to-seed spread"
                    } else {
                        "rises with length, beyond the seed-to-seed spread"
                    };
                    out.push(format!(
                        "{model}: held-out accuracy {says}: {} → {} (difference {:+.3}, 95% \
interval [{:+.3}, {:+.3}]).",
                        acc(first),
                        acc(last),
                        w.0,
                        w.1,
                        w.2
                    ));
                }
                None => out.push(format!(
                    "{model}: {} → {}: with fewer than two seeds there is no spread to judge a \
change by; more seeds (--seeds) would.",
                    acc(first),
                    acc(last)
                )),
            }
        }
        let learned: Vec<usize> = rows
            .iter()
            .filter(|r| r.heldout_acc_mean >= LEARNS)
            .map(|r| r.length)
            .collect();
        let not: Vec<usize> = rows
            .iter()
            .filter(|r| r.heldout_acc_mean < LEARNS || r.heldout_acc_mean.is_nan())
            .map(|r| r.length)
            .collect();
        out.push(match (learned.is_empty(), not.is_empty()) {
            (true, _) => format!(
                "{model}: mean held-out accuracy below {LEARNS:.2} at every length (L = {}).",
                list(&not)
            ),
            (false, true) => format!(
                "{model}: mean held-out accuracy ≥ {LEARNS:.2} at every length (L = {}).",
                list(&learned)
            ),
            (false, false) => format!(
                "{model}: mean held-out accuracy ≥ {LEARNS:.2} at L = {}; below at L = {}.",
                list(&learned),
                list(&not)
            ),
        });
        let never: Vec<usize> = rows
            .iter()
            .filter(|r| !beats_baseline(r))
            .map(|r| r.length)
            .collect();
        if !never.is_empty() {
            out.push(format!(
                "{model}: does not beat the majority baseline (answering each position's most \
frequent label) at L = {}: it learned nothing there.",
                list(&never)
            ));
        }
        let diverged: usize = rows.iter().map(|r| r.diverged).sum();
        if diverged > 0 {
            let (runs, they) = if diverged == 1 {
                ("run", "it is")
            } else {
                ("runs", "they are")
            };
            out.push(format!(
                "{model}: {diverged} {runs} diverged (a NaN or infinity); {they} counted apart \
and not averaged in."
            ));
        }
        // A search states its own breaking lengths (in its section).
        if rows.len() >= 2 && config.search.is_none() {
            out.push(match breaking_length(&rows) {
                Some(l) if !beats_baseline(first) && l == first.length => format!(
                    "{model}: no breaking length: it does not learn the task even at L = {l}, the \
shortest length studied."
                ),
                Some(l) => {
                    let r = rows.iter().find(|r| r.length == l).expect("a row at l");
                    format!(
                        "{model}: breaking length L = {l}, the first length at which mean \
held-out accuracy is below {LEARNS:.2}: {} ({}).",
                        interval(r),
                        below(r)
                    )
                }
                None => format!(
                    "{model}: no breaking length up to L = {} (mean held-out accuracy ≥ {LEARNS:.2} \
at every length; at L = {}: {}, {}).",
                    last.length,
                    last.length,
                    interval(last),
                    below(last)
                ),
            });
        }
        let claim = match model.as_str() {
            "rnn" => Some((
                "the plain RNN learns worse and worse as the sequence grows",
                // It must have learned at the shortest length for a fall to
                // mean anything.
                if !beats_baseline(first) {
                    Err(format!(
                        "the held-out data cannot judge this: at L = {} the rnn ({:.3}) does not \
beat the majority baseline ({:.3})",
                        first.length, first.heldout_acc_mean, first.majority_baseline
                    ))
                } else {
                    Ok(trend.is_some_and(|w| w.0 < 0.0 && beyond(w)))
                },
            )),
            "dnn" => Some((
                "the MLP learns at every length",
                Ok(not.is_empty() && rows.iter().all(|r| beats_baseline(r))),
            )),
            _ => None,
        };
        // A claim about length needs two lengths to be judged.
        if let Some((text, holds)) = claim.filter(|_| rows.len() >= 2) {
            let says = match holds {
                Ok(true) => "the held-out data agree".to_string(),
                Ok(false) => "the held-out data do NOT show this".to_string(),
                Err(why) => why,
            };
            out.push(format!("{model}: the article says {text}: {says}."));
        }
    }
    // The longest length: which variants hold?
    if let Some(longest) = summary.iter().map(|r| r.length).max()
        && labels.len() > 1
    {
        let mut at: Vec<&SummaryRow> = summary
            .iter()
            .filter(|r| r.length == longest && r.heldout_acc_mean.is_finite())
            .collect();
        at.sort_by(|a, b| b.heldout_acc_mean.total_cmp(&a.heldout_acc_mean));
        if let Some(best) = at.first() {
            let holding: Vec<&str> = at
                .iter()
                .filter(|r| r.heldout_acc_mean >= 0.95)
                .map(|r| r.variant.as_str())
                .collect();
            out.push(format!(
                "L = {longest}: the best variant is {} ({} over {} seeds); mean held-out accuracy \
≥ 0.95: {}.",
                best.variant,
                interval(best),
                kept(best),
                if holding.is_empty() {
                    "none".to_string()
                } else {
                    holding.join(", ")
                }
            ));
        }
    }
    // The article's timing claim at the shortest length.
    if summary.iter().any(|r| r.length == 8) {
        let parts: Vec<String> = summary
            .iter()
            .filter(|r| r.length == 8)
            .map(|r| match r.iters_to_90_median {
                Some(m) => format!(
                    "{} reaches 0.90 in {} of {} seeds, those at a median of {m:.0} iterations",
                    r.variant, r.reached_90, r.seeds
                ),
                None => format!("{} never reaches 0.90", r.variant),
            })
            .collect();
        out.push(format!(
            "L = 8: the article saw learning saturate around iteration 3,000–5,000; here {}.",
            parts.join("; ")
        ));
    }
    // Head to head at each length.
    if labels.iter().any(|l| l == "rnn") && labels.iter().any(|l| l == "dnn") {
        let (r, d) = (rows_of(summary, "rnn"), rows_of(summary, "dnn"));
        for (a, b) in r.iter().zip(&d) {
            let which = match welch(b, a) {
                None => "rnn and dnn cannot be compared with fewer than two seeds",
                Some(w) if !beyond(w) => "rnn and dnn do not differ beyond the spread",
                Some(w) if w.0 > 0.0 => "rnn is better than dnn",
                Some(_) => "dnn is better than rnn",
            };
            out.push(format!(
                "L = {}: {which} (rnn {} vs dnn {}).",
                a.length,
                interval(a),
                interval(b)
            ));
        }
    }
    out
}

fn list(v: &[usize]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const HEADER: [&str; 10] = [
    "variant",
    "L",
    "seeds",
    "held-out acc: mean [95% CI]",
    "min – max",
    "below 0.90",
    "exact match",
    "reached 0.90 (median iters of those)",
    "majority baseline",
    "train s/run",
];

fn cells(r: &SummaryRow) -> [String; 10] {
    let range = if r.heldout_acc_min.is_finite() {
        format!("{:.3} – {:.3}", r.heldout_acc_min, r.heldout_acc_max)
    } else {
        "-".into()
    };
    [
        r.variant.clone(),
        r.length.to_string(),
        if r.diverged > 0 {
            format!("{} ({} diverged, not averaged)", r.seeds, r.diverged)
        } else {
            r.seeds.to_string()
        },
        interval(r),
        range,
        format!("{} of {}", r.below_90, kept(r)),
        if r.heldout_exact_mean.is_finite() {
            format!("{:.3}", r.heldout_exact_mean)
        } else {
            "-".into()
        },
        fmt_iters(r.iters_to_90_median, r.reached_90, r.seeds),
        format!("{:.3}", r.majority_baseline),
        format!("{:.2}", r.wall_s_mean),
    ]
}

/// The summary table as aligned plain text (printed at the end of a study).
pub fn text_table(report: &StudyReport) -> String {
    let rows: Vec<[String; 10]> = report.summary.iter().map(cells).collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([HEADER[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: Vec<&str>| {
        c.iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut s = line(HEADER.to_vec());
    s.push('\n');
    for r in &rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
        s.push('\n');
    }
    s
}

/// The table and the verdict as plain text, as a study prints them at its
/// end.
pub fn text_report(report: &StudyReport) -> String {
    let mut text = text_table(report);
    for line in &report.verdict {
        let _ = writeln!(text, "- {line}");
    }
    text
}

/// `SUMMARY.md`.
pub fn markdown(report: &StudyReport) -> String {
    let c = &report.config;
    let lengths = report.lengths();
    let mut s = String::new();
    let _ = writeln!(s, "# rnnstudy: study summary\n");
    let question = if c.search.is_some() {
        "The question: how long a sequence can each model learn? For each variant a search finds \
its *breaking length*, where its mean held-out accuracy over the training seeds falls below the \
threshold: it doubles the length while the variant holds, then bisects between the last length \
that held and the first that did not. Every figure is measured on a fixed held-out set that no \
model trains on."
    } else if c.name.starts_with("long") {
        "The question: at which length does each model stop learning the alternating-sign task \
(its *breaking length*: the first length at which mean held-out accuracy falls below 0.90), \
and do the fixes the article names (gradient clipping, gated cells) hold where the plain RNN \
breaks? Every figure is measured on a fixed held-out set that no model trains on, over several \
training seeds."
    } else {
        "The question: does a plain (gate-less) RNN learn the alternating-sign task worse as the \
sequence grows, while an MLP that sees the whole sequence at once keeps learning it, as the \
original article concluded from one training sample per 500 iterations? Here every figure is \
measured on a fixed held-out set that no model trains on, over several training seeds."
    };
    let _ = writeln!(s, "{question}\n");
    if let Some(p) = &report.provenance {
        let b = &p.build;
        let features = b
            .target_features
            .split(',')
            .filter(|f| !f.is_empty())
            .count();
        let _ = writeln!(
            s,
            "*Made by* {} · {} · {} with {features} target features (listed in study.json) · {} \
· {} · started {} · `{}`{}\n",
            b.short(),
            b.rustc.as_deref().unwrap_or("rustc unknown"),
            b.target,
            p.cpu,
            p.os,
            p.started,
            p.command.join(" ").replace('`', "'"),
            if p.build.git_dirty == Some(true) {
                " **The tree had uncommitted changes**: the commit alone does not reproduce it."
            } else {
                ""
            }
        );
    }
    if !report.mixed_provenance.is_empty() {
        let _ = writeln!(
            s,
            "**Mixed provenance**: the runs of this report were made by more than one build (a \
resume or merge across versions); results can differ in the last bits between builds:\n"
        );
        for line in &report.mixed_provenance {
            let _ = writeln!(s, "- {line}");
        }
        let _ = writeln!(s);
    }
    if !report.missing.is_empty() {
        let _ = writeln!(
            s,
            "**A partial study**: merged with `--allow-partial`, {} runs of the plan are missing \
({}). Every figure below is over the runs that are here.\n",
            report.missing.len(),
            report.missing.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "Study `{}`: {} variants at lengths {}; {} seeds each{} ({}); {} iterations of \
batch-size-1 training (one sequence per update); held-out evaluation every {} iterations on {} \
sequences (held-out seed {}, the same set for every model and seed). The resolved study is \
`study.toml` in this folder: `cargo xtask study --config` on it replays it exactly.\n",
        c.name,
        c.variants.len(),
        list(&lengths),
        c.seeds.len(),
        if c.until_ci.is_some() {
            " to start"
        } else {
            ""
        },
        seed_text(&c.seeds),
        c.schedule.iters,
        c.schedule.eval_every,
        c.heldout,
        c.heldout_seed,
    );
    if let Some(w) = c.until_ci {
        let _ = writeln!(
            s,
            "Seeds were added to every cell (variant and length) whose 95% interval was wider \
than ±{w} (and, in the search, to every probe whose interval straddled the threshold), up to \
{} seeds a cell; the extra seeds continue after the given ones.\n",
            crate::adaptive::max_seeds(c)
        );
    }
    if let Some(search) = &c.search {
        let _ = writeln!(
            s,
            "The search starts at L = {}, doubles up to L = {}, and bisects until the failing \
length is within {:.0}% of the passing one; a probe holds when its mean held-out accuracy is at \
least {:.2}{}. Every length keeps the {} training iterations.\n",
            c.lengths.first().copied().unwrap_or(0),
            search.max_length,
            100.0 * search.resolution,
            search.threshold,
            if c.until_ci.is_some() {
                "; seeds are added while its 95% interval straddles the line, and a probe whose \
interval still straddles it at the most seeds is marked *undecided* (the seeds cannot tell on \
which side of the line it is)"
            } else {
                ""
            },
            c.schedule.iters
        );
    }
    let _ = writeln!(
        s,
        "| variant | model | hidden | optimiser | learning rates | clipping | precision |\n|---|---|---|---|---|---|---|"
    );
    for v in &c.variants {
        let o = v.optimizer;
        let rates = if v.model.info().recurrent {
            format!(
                "{} (input/output), {} (recurrent)",
                number(o.lr_io),
                number(o.lr_rec)
            )
        } else {
            format!("{} (every parameter)", number(o.lr_io))
        };
        let clip = v.clip.map_or("none".to_string(), |c| {
            format!("global norm {}", number(c.max_norm()))
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {rates} | {clip} | {} |",
            v.label(),
            v.model,
            v.hidden,
            o.optimizer,
            v.precision
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Results (held-out, at the end of training)\n");
    let _ = writeln!(s, "| {} |", HEADER.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(HEADER.len()));
    for r in &report.summary {
        let _ = writeln!(s, "| {} |", cells(r).join(" | "));
    }
    let _ = writeln!(
        s,
        "\n*held-out acc*: fraction of the L outputs right (output ≥ 0.5 counts as 1), the mean \
over seeds with its 95% Student-t interval at the real seed count, cut to [0, 1] (diverged \
runs are counted apart, never averaged in); *below 0.90*: seeds whose final accuracy is below 0.90; *exact \
match*: fraction of sequences with all L outputs right; *reached 0.90*: seeds whose held-out \
accuracy reached 0.90 at some evaluation, and the median first iteration of those seeds only \
(different seeds at different lengths: compare the counts first); *majority baseline*: \
answering each position's most frequent label, averaged over positions.\n"
    );
    if let Some(w) = c.until_ci {
        let cap = crate::adaptive::max_seeds(c);
        let wide: Vec<String> = report
            .summary
            .iter()
            .filter(|r| r.heldout_acc_ci95.is_none_or(|h| h > w))
            .map(|r| {
                format!(
                    "{} L = {} (±{}, {} seeds)",
                    r.variant,
                    r.length,
                    r.heldout_acc_ci95.map_or("-".into(), |h| format!("{h:.3}")),
                    r.seeds
                )
            })
            .collect();
        let widest = report
            .summary
            .iter()
            .filter_map(|r| r.heldout_acc_ci95)
            .fold(0.0f64, f64::max);
        let _ = writeln!(s, "## Seeds added until the intervals are narrow\n");
        if wide.is_empty() {
            let _ = writeln!(
                s,
                "Every cell's 95% half-width is at most ±{w} (the widest: ±{widest:.3}); seeds \
per cell: {}.\n",
                seed_counts(report)
            );
        } else {
            let _ = writeln!(
                s,
                "Not every cell reached ±{w}: {} stopped at the cap of {cap} seeds ({}). The \
others are within ±{w}; seeds per cell: {}.\n",
                wide.len(),
                wide.join("; "),
                seed_counts(report)
            );
        }
    }
    if !report.search.is_empty() {
        search_section(&mut s, report);
    }
    if lengths.len() >= 2 && c.search.is_none() {
        let _ = writeln!(s, "## Breaking lengths\n");
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let _ = writeln!(
            s,
            "| variant | breaking length (mean acc < {LEARNS:.2}) | there: mean [95% CI], seeds below | mean acc at L = {longest} [95% CI] |\n|---|---|---|---|"
        );
        for label in c.labels() {
            let rows = rows_of(&report.summary, &label);
            let at_longest = rows
                .iter()
                .find(|r| r.length == longest)
                .map_or("-".to_string(), |r| interval(r));
            let (b, there) = match breaking_length(&rows) {
                Some(l)
                    if rows
                        .first()
                        .is_some_and(|f| f.length == l && !beats_baseline(f)) =>
                {
                    (
                        "none: not learned at any length".to_string(),
                        "-".to_string(),
                    )
                }
                Some(l) => {
                    let r = rows.iter().find(|r| r.length == l).expect("a row at l");
                    (l.to_string(), format!("{}, {}", interval(r), below(r)))
                }
                None => (format!("none up to {longest}"), "-".to_string()),
            };
            let _ = writeln!(s, "| {label} | {b} | {there} | {at_longest} |");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Verdict (computed from the table)\n");
    for v in &report.verdict {
        let _ = writeln!(s, "- {v}");
    }
    let _ = writeln!(
        s,
        "\nA change counts as beyond the seed-to-seed spread when the 95% Welch interval of the \
difference of the means excludes 0 (and it exceeds 0.005); every interval uses the real seed \
count (Student t), so two seeds give wide ones. \"Learns\" means mean held-out accuracy ≥ \
{LEARNS:.2}; a model learned something at a length only if its mean, less its interval, is \
above the majority baseline.\n"
    );
    let _ = writeln!(s, "## Plots\n");
    let _ = writeln!(
        s,
        "Held-out accuracy during training, from iteration 0 (the mean over seeds as a thick \
line, every seed as a thin line, so a bimodal spread shows):\n"
    );
    for l in &lengths {
        let _ = writeln!(s, "![held-out accuracy, L = {l}](curve_L{l}.svg)\n");
    }
    let _ = writeln!(s, "Final accuracy against length:\n");
    let _ = writeln!(s, "![accuracy against length](accuracy_vs_length.svg)\n");
    let _ = writeln!(
        s,
        "Accuracy at each position at the end of training (a model can learn some positions \
and answer the majority label at others, which the overall figure hides):\n"
    );
    for l in &lengths {
        let _ = writeln!(
            s,
            "![per-position accuracy, L = {l}](per_position_L{l}.svg)\n"
        );
    }
    let at = |l: usize, f: fn(&crate::RunReport) -> bool| {
        report.runs.iter().any(|r| r.length == l && f(r))
    };
    let flows: Vec<usize> = lengths
        .iter()
        .copied()
        .filter(|&l| at(l, |r| r.grad_flow_last.is_some()))
        .collect();
    if !flows.is_empty() {
        let _ = writeln!(
            s,
            "Why the plain RNN fails: how far the last step's error reaches back, \
‖∂E(L−1)/∂hₜ‖ on a log scale (vanishing gradients show as a decay from the last step back, \
exploding ones as growth):\n"
        );
        for l in flows {
            let _ = writeln!(s, "![gradient flow, L = {l}](grad_flow_L{l}.svg)\n");
        }
    }
    let spectral: Vec<usize> = lengths
        .iter()
        .copied()
        .filter(|&l| at(l, |r| r.curve.iter().any(|p| p.spectral_norm.is_some())))
        .collect();
    if !spectral.is_empty() {
        let _ = writeln!(
            s,
            "The recurrent matrix's largest singular value during training (below 1 the \
tanh RNN's gradients must vanish over time):\n"
        );
        for l in spectral {
            let _ = writeln!(s, "![spectral norm, L = {l}](spectral_norm_L{l}.svg)\n");
        }
    }
    let t = &report.timing;
    let _ = writeln!(
        s,
        "## Timing\n\n{} runs. The invocation that wrote this report took {:.1} s wall on {} \
threads; runs already in `runs/` (from an interrupted or earlier invocation) were reused, not \
retrained. The runs themselves took {:.1} s of training and {:.1} s of evaluation, summed over \
runs. Every number above except timing is reproducible bit for bit from the configuration in \
`study.json`, whatever the thread count.",
        report.runs.len(),
        t.total_wall_s,
        t.threads,
        t.train_s,
        t.eval_s
    );
    s
}

/// The seed counts of the cells, compressed: `10 (4 cells), 23, 40`.
fn seed_counts(report: &StudyReport) -> String {
    let mut counts: Vec<usize> = report.summary.iter().map(|r| r.seeds).collect();
    counts.sort_unstable();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < counts.len() {
        let n = counts[i..].iter().take_while(|&&c| c == counts[i]).count();
        parts.push(if n > 1 {
            format!("{} ({n} cells)", counts[i])
        } else {
            counts[i].to_string()
        });
        i += n;
    }
    parts.join(", ")
}

/// A probe as `L = 96: 0.912 [0.874, 0.950], 4 of 5 seeds ≥ 0.90`.
fn probe_text(p: &crate::adaptive::Probe, threshold: f64) -> String {
    let ci = match p.ci95 {
        Some(h) => mean_ci(p.mean, h),
        None => format!("{:.3}", p.mean),
    };
    format!(
        "L = {}: {ci}, {} of {} seeds ≥ {threshold:.2}",
        p.length, p.above, p.seeds
    )
}

/// The search's section: each variant's breaking length, and what fixes
/// the gate-less RNN.
fn search_section(s: &mut String, report: &StudyReport) {
    let _ = writeln!(s, "## Breaking lengths (searched)\n");
    let _ = writeln!(
        s,
        "| variant | breaking length | longest that holds: mean [95% CI] | shortest that does \
not | lengths probed |\n|---|---|---|---|---|"
    );
    for b in &report.search {
        let thr = b.threshold;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            b.variant,
            b.describe(),
            b.passing
                .as_ref()
                .map_or("-".into(), |p| probe_text(p, thr)),
            b.failing
                .as_ref()
                .map_or("-".into(), |p| probe_text(p, thr)),
            b.probes
                .iter()
                .map(|p| p.length.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        s,
        "\nThe accuracy of every probe, against length on a log axis:\n\n\
![accuracy against length](accuracy_vs_length.svg)\n"
    );
    let _ = writeln!(s, "## What fixes the gate-less RNN\n");
    let _ = writeln!(
        s,
        "Computed from the runs above. *Gate-less*: every cell without gates (the tanh RNN \
however trained or initialised, the IRNNs, the IndRNN, the LRU); the GRU and LSTM are the gated \
reference. *Gradient reach*: how much of the last step's error gets back to the first step at \
the end of training, ‖∂E(L−1)/∂h₀‖ / ‖∂E(L−1)/∂h_(L−1)‖ (for the LRU, of its state s), the \
median over seeds, at the longest length probed.\n"
    );
    let _ = writeln!(
        s,
        "| variant | gated | breaking length; the longest length that holds | mean acc at L = 256 \
[95% CI] | at L = 1024 | gradient reach (at L) |\n|---|---|---|---|---|---|"
    );
    let gated = |v: &crate::Variant| matches!(v.model.name(), "gru" | "lstm");
    for b in &report.search {
        let at = |l: usize| {
            report
                .summary
                .iter()
                .find(|r| r.variant == b.variant && r.length == l)
                .map_or("not probed".into(), |r| {
                    format!("{} ({} seeds)", interval(r), r.seeds)
                })
        };
        let longest = b.probes.iter().map(|p| p.length).max().unwrap_or(0);
        let reach = gradient_reach(report, &b.variant, longest)
            .map_or("-".into(), |g| format!("{} (L = {longest})", sci(g)));
        let _ = writeln!(
            s,
            "| {} | {} | {}{} | {} | {} | {reach} |",
            b.variant,
            if gated(&b.settings) { "yes" } else { "no" },
            b.describe(),
            b.passing.as_ref().map_or(String::new(), |p| format!(
                "; {}",
                probe_text(p, b.threshold)
            )),
            at(256),
            at(1024)
        );
    }
    let _ = writeln!(s);
    for line in gateless_verdict(report) {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(s);
}

/// `1.2e-5`.
fn sci(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if (0.01..100.0).contains(&v) {
        format!("{v:.2}")
    } else {
        format!("{v:.1e}")
    }
}

/// The median over the seeds of `variant` at `length` of the last-step
/// gradient flow's first entry over its last, at the end of training.
pub fn gradient_reach(report: &StudyReport, variant: &str, length: usize) -> Option<f64> {
    let mut v: Vec<f64> = report
        .runs
        .iter()
        .filter(|r| r.variant == variant && r.length == length)
        .filter_map(|r| r.grad_flow_last.as_ref()?.last())
        .filter_map(|g| {
            let (first, last) = (*g.norms.first()?, *g.norms.last()?);
            (last > 0.0 && first.is_finite()).then(|| first / last)
        })
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// The answers the gate-less table gives, in words.
fn gateless_verdict(report: &StudyReport) -> Vec<String> {
    let mut out = Vec::new();
    let gated =
        |b: &crate::adaptive::BreakingLength| matches!(b.settings.model.name(), "gru" | "lstm");
    let reach = |b: &crate::adaptive::BreakingLength| b.passing.map_or(0, |p| p.length);
    let best = |pick: bool| {
        report
            .search
            .iter()
            .filter(|b| gated(b) == pick)
            .max_by_key(|b| reach(b))
    };
    if let Some(b) = best(false) {
        out.push(format!(
            "The longest-holding gate-less variant is {}: breaking length {}.",
            b.variant,
            b.describe()
        ));
    }
    if let Some(b) = best(true) {
        out.push(format!(
            "The longest-holding gated variant is {}: breaking length {}.",
            b.variant,
            b.describe()
        ));
    }
    let longest = report.lengths().into_iter().max().unwrap_or(0);
    for (l, level) in [(256, 0.95), (1024, 0.95)] {
        if !report.summary.iter().any(|r| r.length == l) {
            out.push(format!(
                "No variant was probed at L = {l}: every search stopped before it (the longest \
probe: L = {longest})."
            ));
            continue;
        }
        let holding: Vec<String> = report
            .summary
            .iter()
            .filter(|r| r.length == l && r.heldout_acc_mean >= level)
            .map(|r| format!("{} ({:.3})", r.variant, r.heldout_acc_mean))
            .collect();
        out.push(if holding.is_empty() {
            format!("At L = {l} no variant's mean held-out accuracy is at or above {level:.2}.")
        } else {
            format!(
                "At L = {l} the variants at or above {level:.2}: {}.",
                holding.join(", ")
            )
        });
    }
    out
}

fn seed_text(seeds: &[u64]) -> String {
    let contiguous = seeds.windows(2).all(|w| w[1] == w[0] + 1);
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if contiguous && seeds.len() > 2 => format!("seeds {a}..={b}"),
        _ => format!(
            "seeds {}",
            seeds
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Variant;

    fn row(model: &str, length: usize, mean: f64, std: f64) -> SummaryRow {
        let v = Variant::article(model.parse().unwrap());
        SummaryRow {
            variant: v.label(),
            settings: v,
            length,
            seeds: 10,
            heldout_acc_mean: mean,
            heldout_acc_std: std,
            heldout_acc_ci95: crate::ci95_half_width(std, 10),
            heldout_acc_min: mean - std,
            heldout_acc_max: mean + std,
            below_90: 3,
            heldout_exact_mean: 0.5,
            majority_baseline: 0.6,
            majority_per_position: vec![1.0, 0.5, 0.84, 0.5],
            reached_90: 5,
            iters_to_90_median: Some(3000.0),
            reached_95: 0,
            iters_to_95_median: None,
            wall_s_mean: 1.0,
            diverged: 0,
        }
    }

    #[test]
    fn one_length_makes_no_claim_about_length() {
        let v = verdict(&Study::article(), &[row("rnn", 16, 0.7, 0.1)]).join("\n");
        assert!(!v.contains("the article says"), "{v}");
    }

    /// SUMMARY.md named "batch-size-1 SGD" and "clipping: none" whatever the
    /// variants were; now each variant's optimiser and clipping is listed.
    #[test]
    fn the_summary_names_each_variants_optimiser_and_clipping() {
        let study = Study::preset("long").unwrap();
        let report = StudyReport {
            schema: crate::SCHEMA.into(),
            summary: Vec::new(),
            runs: Vec::new(),
            verdict: Vec::new(),
            provenance: None,
            mixed_provenance: Vec::new(),
            missing: Vec::new(),
            search: Vec::new(),
            timing: crate::Timing {
                total_wall_s: 0.0,
                train_s: 0.0,
                eval_s: 0.0,
                threads: 1,
            },
            config: study,
        };
        let md = markdown(&report);
        assert!(!md.contains("batch-size-1 SGD"), "{md}");
        assert!(md.contains("| lstm adam lr 0.01/0.01 clip 1 f32 | lstm | 100 | adam | 0.01 (input/output), 0.01 (recurrent) | global norm 1 | f32 |"), "{md}");
        assert!(
            md.contains(
                "| rnn f32 | rnn | 100 | sgd | 0.1 (input/output), 0.001 (recurrent) | none | f32 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| dnn f32 | dnn | 100 | sgd | 0.1 (every parameter) | none | f32 |"),
            "{md}"
        );
    }

    #[test]
    fn breaking_length_is_the_first_length_below_the_bar() {
        let rows = [
            row("rnn", 8, 0.99, 0.0),
            row("rnn", 64, 0.85, 0.0),
            row("rnn", 128, 0.95, 0.0),
        ];
        let refs: Vec<&SummaryRow> = rows.iter().collect();
        assert_eq!(breaking_length(&refs), Some(64));
        assert_eq!(breaking_length(&refs[..1]), None);
        let v = verdict(&Study::article(), &rows).join("\n");
        assert!(
            v.contains("rnn: breaking length L = 64, the first length at which mean held-out accuracy is below 0.90: 0.850 [0.850, 0.850] (3 of 10 seeds below 0.90)"),
            "{v}"
        );
    }

    #[test]
    fn verdict_follows_the_numbers() {
        let falling = [
            row("rnn", 8, 0.99, 0.01),
            row("rnn", 32, 0.80, 0.10),
            row("dnn", 8, 0.97, 0.01),
            row("dnn", 32, 0.96, 0.01),
        ];
        let v = verdict(&Study::article(), &falling).join("\n");
        assert!(
            v.contains("rnn: held-out accuracy falls with length"),
            "{v}"
        );
        assert!(v.contains("rnn: the article says the plain RNN learns worse and worse as the sequence grows: the held-out data agree"), "{v}");
        assert!(
            v.contains(
                "dnn: the article says the MLP learns at every length: the held-out data agree"
            ),
            "{v}"
        );
        assert!(
            v.contains("L = 32: dnn is better than rnn (rnn 0.800 [0.728, 0.872] vs dnn 0.960 [0.953, 0.967])"),
            "{v}"
        );
        assert!(v.contains("L = 8: the article saw learning saturate around iteration 3,000–5,000; here rnn reaches 0.90 in 5 of 10 seeds, those at a median of 3000 iterations"), "{v}");
        // Within the spread: no claim of a fall.
        let flat = [row("rnn", 8, 0.95, 0.05), row("rnn", 32, 0.93, 0.05)];
        let v = verdict(&Study::article(), &flat).join("\n");
        assert!(
            v.contains("does not change beyond the seed-to-seed spread"),
            "{v}"
        );
        assert!(v.contains("do NOT show this"), "{v}");
        // A drop of 0.05 with std 0.05 over 10 seeds each: the Welch
        // interval (t = 2.10 at 18 df, SE 0.0224) is [−0.097, −0.003].
        let drop = [row("rnn", 8, 0.95, 0.05), row("rnn", 32, 0.90, 0.05)];
        let v = verdict(&Study::article(), &drop).join("\n");
        assert!(
            v.contains("falls with length") && v.contains("95% interval [-0.097, -0.003]"),
            "{v}"
        );
    }

    /// With 2 seeds and 500 iterations the verdict said the RNN "falls with
    /// length … the held-out data agree" while it was below the majority
    /// baseline, and called that a breaking length of 8.
    #[test]
    fn a_model_below_the_majority_baseline_proves_nothing() {
        let mut r8 = row("rnn", 8, 0.624, 0.01);
        let mut r32 = row("rnn", 32, 0.55, 0.01);
        for r in [&mut r8, &mut r32] {
            r.seeds = 2;
            r.heldout_acc_ci95 = crate::ci95_half_width(0.01, 2);
            r.majority_baseline = 0.676;
        }
        let v = verdict(&Study::article(), &[r8, r32]).join("\n");
        assert!(v.contains("rnn: does not beat the majority baseline (answering each position's most frequent label) at L = 8, 32"), "{v}");
        assert!(v.contains("the held-out data cannot judge this: at L = 8 the rnn (0.624) does not beat the majority baseline (0.676)"), "{v}");
        assert!(
            v.contains("rnn: no breaking length: it does not learn the task even at L = 8"),
            "{v}"
        );
        assert!(!v.contains("the held-out data agree"), "{v}");
    }

    /// Two seeds give a wide interval (t = 12.7, not 2): a difference that
    /// 2 SE would call real is not.
    #[test]
    fn two_seeds_give_honest_intervals() {
        let mut a = row("rnn", 8, 0.95, 0.02);
        let mut b = row("rnn", 32, 0.90, 0.02);
        for r in [&mut a, &mut b] {
            r.seeds = 2;
            r.heldout_acc_ci95 = crate::ci95_half_width(0.02, 2);
        }
        // 2 SE = 0.04 < 0.05, but the Welch interval at 2 df is ±0.086.
        let v = verdict(&Study::article(), &[a, b]).join("\n");
        assert!(
            v.contains("does not change beyond the seed-to-seed spread"),
            "{v}"
        );
    }

    #[test]
    fn diverged_runs_are_counted_apart() {
        let mut r = row("rnn", 8, 0.9, 0.01);
        r.diverged = 2;
        let c = cells(&r);
        assert_eq!(c[2], "10 (2 diverged, not averaged)");
        assert_eq!(c[5], "3 of 8");
        let v = verdict(&Study::article(), &[r]).join("\n");
        assert!(v.contains("rnn: 2 runs diverged"), "{v}");
    }
}
