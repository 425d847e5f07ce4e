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
        Some(m) => format!("{reached}/{seeds}, {m:.0}"),
        None => format!("0/{seeds}, -"),
    }
}

/// The standard error of the difference of two row means.
fn se_diff(a: &SummaryRow, b: &SummaryRow) -> f64 {
    (a.heldout_acc_std.powi(2) / a.seeds as f64 + b.heldout_acc_std.powi(2) / b.seeds as f64).sqrt()
}

fn rows_of<'a>(summary: &'a [SummaryRow], variant: &str) -> Vec<&'a SummaryRow> {
    let mut rows: Vec<&SummaryRow> = summary.iter().filter(|r| r.variant == variant).collect();
    rows.sort_by_key(|r| r.length);
    rows
}

fn acc(r: &SummaryRow) -> String {
    format!(
        "{:.3} ± {:.3} at L = {}",
        r.heldout_acc_mean, r.heldout_acc_std, r.length
    )
}

/// How a change between two rows compares with the seed-to-seed spread:
/// beyond it when the difference exceeds two standard errors of the
/// difference (and 0.005, so a spread of zero does not make a rounding-size
/// change "significant").
fn beyond_spread(diff: f64, se: f64) -> bool {
    diff.abs() > 2.0 * se && diff.abs() > 0.005
}

/// The first length (in order) at which a variant's mean held-out accuracy
/// is below [`LEARNS`], if any.
pub fn breaking_length(rows: &[&SummaryRow]) -> Option<usize> {
    rows.iter()
        .find(|r| r.heldout_acc_mean < LEARNS || r.heldout_acc_mean.is_nan())
        .map(|r| r.length)
}

/// The verdict, one sentence per finding, from the summary rows.
pub fn verdict(config: &Study, summary: &[SummaryRow]) -> Vec<String> {
    let mut out = Vec::new();
    let labels = config.labels();
    for model in &labels {
        let rows = rows_of(summary, model);
        if rows.is_empty() {
            continue;
        }
        let (first, last) = (rows[0], rows[rows.len() - 1]);
        if rows.len() >= 2 {
            let diff = last.heldout_acc_mean - first.heldout_acc_mean;
            let se = se_diff(first, last);
            let trend = if !beyond_spread(diff, se) {
                "does not change beyond the seed-to-seed spread"
            } else if diff < 0.0 {
                "falls with length, beyond the seed-to-seed spread"
            } else {
                "rises with length, beyond the seed-to-seed spread"
            };
            let ratio = diff.abs() / (2.0 * se);
            let margin = if (0.67..1.5).contains(&ratio) {
                format!("; narrow margin ({ratio:.1} × 2 SE): more seeds (--seeds) would settle it")
            } else {
                String::new()
            };
            out.push(format!(
                "{model}: held-out accuracy {trend}: {} → {} (difference {:+.3}, 2 SE = {:.3}{margin}).",
                acc(first),
                acc(last),
                diff,
                2.0 * se
            ));
        }
        let learned: Vec<usize> = rows
            .iter()
            .filter(|r| r.heldout_acc_mean >= LEARNS)
            .map(|r| r.length)
            .collect();
        let not: Vec<usize> = rows
            .iter()
            .filter(|r| r.heldout_acc_mean < LEARNS)
            .map(|r| r.length)
            .collect();
        out.push(format!(
            "{model}: mean held-out accuracy ≥ {LEARNS:.2} at L = {}; below at L = {}.",
            list(&learned),
            list(&not)
        ));
        if rows.len() >= 2 {
            out.push(match breaking_length(&rows) {
                Some(l) => format!(
                    "{model}: breaking length L = {l} (the first length at which mean held-out \
accuracy is below {LEARNS:.2})."
                ),
                None => format!(
                    "{model}: no breaking length up to L = {} (mean held-out accuracy ≥ {LEARNS:.2} \
at every length).",
                    last.length
                ),
            });
        }
        let claim = match model.as_str() {
            "rnn" => Some((
                "the plain RNN learns worse and worse as the sequence grows",
                rows.len() >= 2 && {
                    let diff = last.heldout_acc_mean - first.heldout_acc_mean;
                    diff < 0.0 && beyond_spread(diff, se_diff(first, last))
                },
            )),
            "dnn" => Some((
                "the MLP learns at every length",
                not.is_empty()
                    && rows
                        .iter()
                        .all(|r| r.heldout_acc_mean > r.majority_baseline + 0.05),
            )),
            _ => None,
        };
        // A claim about length needs two lengths to be judged.
        if let Some((text, holds)) = claim.filter(|_| rows.len() >= 2) {
            out.push(format!(
                "{model}: the article says {text}: {}.",
                if holds {
                    "the held-out data agree"
                } else {
                    "the held-out data do NOT show this"
                }
            ));
        }
    }
    // The longest length: which variants hold?
    if let Some(longest) = summary.iter().map(|r| r.length).max()
        && labels.len() > 1
    {
        let mut at: Vec<&SummaryRow> = summary.iter().filter(|r| r.length == longest).collect();
        at.sort_by(|a, b| b.heldout_acc_mean.total_cmp(&a.heldout_acc_mean));
        if let Some(best) = at.first() {
            let holding: Vec<&str> = at
                .iter()
                .filter(|r| r.heldout_acc_mean >= 0.95)
                .map(|r| r.variant.as_str())
                .collect();
            out.push(format!(
                "L = {longest}: the best variant is {} ({:.3} ± {:.3} over {} seeds); mean held-out \
accuracy ≥ 0.95: {}.",
                best.variant,
                best.heldout_acc_mean,
                best.heldout_acc_std,
                best.seeds,
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
                    "{} reaches 0.90 in {}/{} seeds, at a median of {m:.0} iterations",
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
            let diff = a.heldout_acc_mean - b.heldout_acc_mean;
            let which = if !beyond_spread(diff, se_diff(a, b)) {
                "rnn and dnn do not differ beyond the spread"
            } else if diff > 0.0 {
                "rnn is better than dnn"
            } else {
                "dnn is better than rnn"
            };
            out.push(format!(
                "L = {}: {which} (rnn {:.3} vs dnn {:.3}).",
                a.length, a.heldout_acc_mean, b.heldout_acc_mean
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
    "held-out acc (mean ± std)",
    "min – max",
    "exact match",
    "reached 0.90 (median iters)",
    "reached 0.95 (median iters)",
    "majority baseline",
    "train s/run",
];

fn cells(r: &SummaryRow) -> [String; 10] {
    [
        format!(
            "{}{}",
            r.variant,
            if r.diverged > 0 {
                format!(" ({} diverged)", r.diverged)
            } else {
                String::new()
            }
        ),
        r.length.to_string(),
        r.seeds.to_string(),
        format!("{:.3} ± {:.3}", r.heldout_acc_mean, r.heldout_acc_std),
        format!("{:.3} – {:.3}", r.heldout_acc_min, r.heldout_acc_max),
        format!("{:.3}", r.heldout_exact_mean),
        fmt_iters(r.iters_to_90_median, r.reached_90, r.seeds),
        fmt_iters(r.iters_to_95_median, r.reached_95, r.seeds),
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
    let mut s = String::new();
    let _ = writeln!(s, "# rnnstudy: study summary\n");
    let question = if c.name.starts_with("long") {
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
        "Study `{}`: {} variants at lengths {}; {} seeds each ({}); {} iterations of \
batch-size-1 training (one sequence per update); held-out evaluation every {} iterations on {} \
sequences (held-out seed {}, the same set for every model and seed). The resolved study is \
`study.toml` in this folder: `cargo xtask study --config` on it replays it exactly.\n",
        c.name,
        c.variants.len(),
        list(&c.lengths),
        c.seeds.len(),
        seed_text(&c.seeds),
        c.schedule.iters,
        c.schedule.eval_every,
        c.heldout,
        c.heldout_seed,
    );
    let _ = writeln!(
        s,
        "| variant | model | hidden | optimiser | learning rates | clipping |\n|---|---|---|---|---|---|"
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
            "| {} | {} | {} | {} | {rates} | {clip} |",
            v.label(),
            v.model,
            v.hidden,
            o.optimizer
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
        "\n*held-out acc*: fraction of the L outputs right (output ≥ 0.5 counts as 1); \
*exact match*: fraction of sequences with all L outputs right; *reached 0.90*: seeds whose \
held-out accuracy reached 0.90 at some evaluation, and the median first iteration; *majority \
baseline*: answering each position's most frequent label.\n"
    );
    if c.lengths.len() >= 2 {
        let _ = writeln!(s, "## Breaking lengths\n");
        let longest = c.lengths.iter().copied().max().unwrap_or(0);
        let _ = writeln!(
            s,
            "| variant | breaking length (mean acc < {LEARNS:.2}) | mean acc at L = {longest} |\n|---|---|---|"
        );
        for label in c.labels() {
            let rows = rows_of(&report.summary, &label);
            let at_longest = rows
                .iter()
                .find(|r| r.length == longest)
                .map_or("-".to_string(), |r| {
                    format!("{:.3} ± {:.3}", r.heldout_acc_mean, r.heldout_acc_std)
                });
            let b =
                breaking_length(&rows).map_or(format!("none up to {longest}"), |l| l.to_string());
            let _ = writeln!(s, "| {label} | {b} | {at_longest} |");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Verdict (computed from the table)\n");
    for v in &report.verdict {
        let _ = writeln!(s, "- {v}");
    }
    let _ = writeln!(
        s,
        "\nA change counts as beyond the seed-to-seed spread when it exceeds two standard errors \
of the difference of the means (and 0.005). \"Learns\" means mean held-out accuracy ≥ {LEARNS:.2}.\n"
    );
    let _ = writeln!(s, "## Plots\n");
    let _ = writeln!(
        s,
        "Held-out accuracy during training (mean line, min–max band over seeds):\n"
    );
    for l in &c.lengths {
        let _ = writeln!(s, "![held-out accuracy, L = {l}](curve_L{l}.svg)\n");
    }
    let _ = writeln!(s, "Final accuracy against length:\n");
    let _ = writeln!(s, "![accuracy against length](accuracy_vs_length.svg)\n");
    let _ = writeln!(
        s,
        "Accuracy at each position at the end of training (a model can learn some positions \
and answer the majority label at others, which the overall figure hides):\n"
    );
    for l in &c.lengths {
        let _ = writeln!(
            s,
            "![per-position accuracy, L = {l}](per_position_L{l}.svg)\n"
        );
    }
    let t = &report.timing;
    let _ = writeln!(
        s,
        "## Timing\n\n{} runs in {:.1} s wall on {} threads (training {:.1} s, evaluation {:.1} s, \
summed over runs). Every number above except timing is reproducible bit for bit from the \
configuration in `study.json`, whatever the thread count.",
        report.runs.len(),
        t.total_wall_s,
        t.threads,
        t.train_s,
        t.eval_s
    );
    s
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
            heldout_acc_min: mean - std,
            heldout_acc_max: mean + std,
            heldout_exact_mean: 0.5,
            majority_baseline: 0.6,
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
            missing: Vec::new(),
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
        assert!(md.contains("| lstm adam lr 0.01/0.01 clip 1 | lstm | 100 | adam | 0.01 (input/output), 0.01 (recurrent) | global norm 1 |"), "{md}");
        assert!(
            md.contains("| rnn | rnn | 100 | sgd | 0.1 (input/output), 0.001 (recurrent) | none |"),
            "{md}"
        );
        assert!(
            md.contains("| dnn | dnn | 100 | sgd | 0.1 (every parameter) | none |"),
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
        assert!(v.contains("rnn: breaking length L = 64"), "{v}");
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
            v.contains("L = 32: dnn is better than rnn (rnn 0.800 vs dnn 0.960)"),
            "{v}"
        );
        assert!(v.contains("L = 8: the article saw learning saturate around iteration 3,000–5,000; here rnn reaches 0.90 in 5/10 seeds, at a median of 3000 iterations"), "{v}");
        // Within the spread: no claim of a fall.
        let flat = [row("rnn", 8, 0.95, 0.05), row("rnn", 32, 0.93, 0.05)];
        let v = verdict(&Study::article(), &flat).join("\n");
        assert!(
            v.contains("does not change beyond the seed-to-seed spread"),
            "{v}"
        );
        assert!(v.contains("do NOT show this"), "{v}");
        // 2 SE = 0.0447; a drop of 0.05 is beyond it, but narrowly.
        let narrow = [row("rnn", 8, 0.95, 0.05), row("rnn", 32, 0.90, 0.05)];
        let v = verdict(&Study::article(), &narrow).join("\n");
        assert!(
            v.contains("falls with length") && v.contains("narrow margin (1.1 × 2 SE)"),
            "{v}"
        );
    }
}
