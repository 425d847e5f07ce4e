//! The study's SVG plots (docs/SPEC.md §6): held-out accuracy against iteration
//! for each length, final accuracy against length, accuracy at each position
//! at the end of training, the gradient flow of the last step's error
//! `‖∂E_{L−1}/∂h_t‖` over time steps and the largest singular value of the
//! recurrent matrix over training. Every plot groups and colours the runs by
//! variant (the label of its model and training settings, e.g. `rnn clip 1`),
//! in the configuration's order, and shows every seed (thin lines or dots)
//! beside the mean.
//!
//! Plotters is built without fonts (SVG backend only): text goes out as SVG
//! `<text>` elements that the viewer renders with its own sans-serif font.
//! Layout bounds each text's width by DejaVu Sans's advances (`text_width`),
//! wraps titles and subtitles to the canvas and sizes legends by it. Sizes
//! given to plotters are 1.24 times the `font-size` written to the SVG. The
//! legend is drawn by hand, inside the plotting area where it hides (almost)
//! nothing, else in a column that widens the canvas on the right.
//!
//! ```
//! use study::{ReportDir, RunOptions, Study};
//! let study = Study::from_toml("lengths = [4]\nseeds = 2\niters = 40\neval_every = 20\nheldout = 32\n[[variant]]\nmodel = \"rnn\"\nhidden = 4")?;
//! let dir = tempfile::tempdir()?;
//! let report = study::run(&study, &ReportDir::new(dir.path()), &RunOptions::default())?;
//! let plots = plots::all(&report)?;
//! assert_eq!(plots[0].0, "curve_L4.svg");
//! assert!(plots.iter().all(|(_, svg)| svg.starts_with("<svg")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use study::{RunReport, StudyReport, ci95_half_width, mean_std};

/// A plot that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw a plot: {0}")]
pub struct Error(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Error {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self(e.to_string())
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Canvas size in pixels (a header of more than one title and one subtitle
/// line, or a legend on the right, enlarges it so that the chart keeps its
/// size).
const SIZE: (u32, u32) = (960, 560);
/// Height of the title block above the chart: one title and one subtitle
/// line.
const HEADER_H: u32 = 62;
/// Pixels kept free left and right of the title and subtitle lines.
const HEADER_MARGIN: f64 = 12.0;
/// Line heights in the header, in pixels.
const TITLE_LINE_H: i32 = 28;
const SUBTITLE_LINE_H: i32 = 21;
/// The variants' colours, by index in the configuration (Tableau 10 without
/// its grey, which the baseline uses); they repeat after nine variants.
const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
];
/// The majority baseline's colour.
const BASELINE: RGBColor = RGBColor(105, 105, 105);
/// A search's threshold line.
const THRESHOLD: RGBColor = RGBColor(178, 34, 34);
/// The colour a dashed baseline is drawn in, as one solid polyline that
/// [`dash_baselines`] then dashes with `stroke-dasharray` in [`BASELINE`]'s
/// colour (plotters draws a dashed line as one polyline per dash, which
/// looks ragged and cannot be read back as a line).
const DASHED_BASELINE: RGBColor = RGBColor(105, 105, 106);
/// Opacity of the thin per-seed lines.
const SEED_ALPHA: f64 = 0.4;
/// Font: plotters sizes (the SVG gets these / 1.24).
const FONT: &str = "sans-serif";
const TITLE_PT: f64 = 27.0;
const SUBTITLE_PT: f64 = 20.0;
const AXIS_DESC_PT: f64 = 22.0;
const TICK_PT: f64 = 19.0;
const LEGEND_PT: f64 = 20.0;
/// Legend geometry: inner margin, and width of the symbol column.
const LEGEND_MARGIN: i32 = 10;
const LEGEND_SYMBOL_W: i32 = 34;
/// The gradient flow of the last step's error, `‖∂E_{L−1}/∂h_t‖`, as text
/// (SVG text has no subscripts; `ₜ` is U+209C, and there is no subscript
/// capital L).
const GRAD_FLOW_LAST: &str = "‖∂E(L−1)/∂hₜ‖";
/// Gradient-flow plots show at most this many decades below the highest
/// mean norm.
const GRAD_FLOW_DECADES: f64 = 30.0;
/// Pixels between the plotting area and a legend on its right.
const LEGEND_GAP: i32 = 12;
/// A legend inside the plotting area may hide this many samples of the data
/// (about one every 3 pixels of line); beyond, it goes right of the chart.
const LEGEND_HIDES_AT_MOST: usize = 3;
/// Per-position plots put markers on the mean line up to this length, and
/// above it draw even and odd positions as two lines (from L = 64 one zigzag
/// line per variant tangles with the others, and at 256 fills a solid block).
const MARKERS_UP_TO: usize = 32;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Axis2d = Cartesian2d<Ticked, Ticked>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Axis2d>;

/// Every plot of a study as (file name, SVG text), lengths in the
/// configuration's order: `curve_L{L}.svg` for each length, then
/// `accuracy_vs_length.svg`, then `per_position_L{L}.svg` for each length,
/// then `grad_flow_L{L}.svg` for each length at which some run measured its
/// gradient flow, then `spectral_norm_L{L}.svg` for each length at which
/// some run recorded the spectral norm of its recurrent matrix.
pub fn all(report: &StudyReport) -> Result<Vec<(String, String)>> {
    let lengths = lengths(report);
    let mut out = Vec::with_capacity(4 * lengths.len() + 1);
    for &l in &lengths {
        out.push((format!("curve_L{l}.svg"), curve(report, l)?));
    }
    out.push((
        "accuracy_vs_length.svg".to_owned(),
        accuracy_vs_length(report)?,
    ));
    for &l in &lengths {
        out.push((format!("per_position_L{l}.svg"), per_position(report, l)?));
    }
    let at =
        |l: usize, has: fn(&RunReport) -> bool| report.runs.iter().any(|r| r.length == l && has(r));
    for &l in &lengths {
        if at(l, |r| {
            r.grad_flow_last.as_ref().is_some_and(|f| !f.is_empty())
        }) {
            out.push((format!("grad_flow_L{l}.svg"), grad_flow(report, l)?));
        }
    }
    for &l in &lengths {
        if at(l, |r| r.curve.iter().any(|p| p.spectral_norm.is_some())) {
            out.push((format!("spectral_norm_L{l}.svg"), spectral_norm(report, l)?));
        }
    }
    Ok(out)
}

/// Held-out accuracy against training iteration at length `l`: per variant
/// each seed as a thin line (a run that diverged stops where it stopped,
/// with a cross) and their mean over the seeds still running at each
/// iteration as a thick line, and the majority baseline. Thin lines rather
/// than a min-max band: a band fills the gap between seeds that split into
/// two groups (some learn, some do not), as if accuracies lay there.
fn curve(report: &StudyReport, l: usize) -> Result<String> {
    let series: Vec<SeedLines> = variants(report)
        .into_iter()
        .map(|v| {
            let runs = runs_of(report, &v, l);
            SeedLines::new(v, &runs, |r| {
                r.curve.iter().map(|p| (p.iter, p.heldout_acc)).collect()
            })
        })
        .filter(|s| !s.lines.is_empty())
        .collect();
    let diverged = series.iter().any(|s| !s.stops.is_empty());
    let title = format!(
        "Held-out accuracy during training, L = {l} ({})",
        seeds_phrase(report)
    );
    let subtitle = format!(
        "thin: each seed; {} on {} held-out sequences, evaluated every {} iterations",
        if diverged {
            "thick: mean over the seeds still running (× where a diverged seed stopped);\n"
        } else {
            "thick: their mean;"
        },
        report.config.heldout,
        report.config.schedule.eval_every
    );
    let baseline = baseline(report, l);

    let x = iteration_axis(report, series.iter().flat_map(SeedLines::xs));
    let x_hi = x.range.end;
    let lows = series.iter().flat_map(SeedLines::values).chain(baseline);
    let y = accuracy_axis(lows, "held-out accuracy");

    render(&title, &subtitle, |body, at| {
        let mut chart = build_chart(body, &x, &y, at)?;
        let mut occupied = Vec::new();
        for s in &series {
            draw_seed_lines(&mut chart, s, color(report, &s.variant), &mut occupied)?;
        }
        if let Some(base) = baseline {
            draw_baseline(&mut chart, &[(0.0, base), (x_hi, base)], &mut occupied)?;
        }
        for s in &series {
            draw_mean(
                &mut chart,
                &s.mean,
                color(report, &s.variant),
                false,
                &mut occupied,
            )?;
        }
        let mut legend = Legend::default();
        for s in &series {
            legend.variant(report, &s.variant, s.label("diverged"), false);
        }
        if diverged {
            legend.cross("diverged: the seed stops there");
        }
        if let Some(base) = baseline {
            legend.baseline(format!("majority baseline ({base:.3})"));
        }
        draw_legend(&chart, body, &legend, &occupied, at)
    })
}

/// One variant's seeds as lines, and their mean.
struct SeedLines {
    variant: String,
    /// One line per run that has a finite point: its finite (x, value)
    /// points in order.
    lines: Vec<Vec<(f64, f64)>>,
    /// The last point of each run that diverged.
    stops: Vec<(f64, f64)>,
    /// Runs, and runs that diverged.
    runs: usize,
    diverged: usize,
    /// The mean at each x over the lines present there.
    mean: Band,
}

impl SeedLines {
    /// From each run's (x, value) points.
    fn new(
        variant: String,
        runs: &[&RunReport],
        points: impl Fn(&RunReport) -> Vec<(usize, f64)>,
    ) -> Self {
        let mut lines = Vec::new();
        let mut stops = Vec::new();
        let mut samples = Vec::new();
        for r in runs {
            let line: Vec<(usize, f64)> =
                points(r).into_iter().filter(|p| p.1.is_finite()).collect();
            if line.is_empty() {
                continue;
            }
            samples.extend(line.iter().copied());
            let line: Vec<(f64, f64)> = line.into_iter().map(|(x, v)| (x as f64, v)).collect();
            if r.diverged {
                stops.extend(line.last().copied());
            }
            lines.push(line);
        }
        Self {
            variant,
            lines,
            stops,
            runs: runs.len(),
            diverged: runs.iter().filter(|r| r.diverged).count(),
            mean: Band::from_samples(samples),
        }
    }

    /// The x of every point.
    fn xs(&self) -> impl Iterator<Item = f64> + '_ {
        self.lines.iter().flatten().map(|p| p.0)
    }

    /// The value of every point.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.lines.iter().flatten().map(|p| p.1)
    }

    /// The variant's legend label, noting the seeds that diverged (`what`
    /// says what became of them).
    fn label(&self, what: &str) -> String {
        match self.diverged {
            0 => self.variant.clone(),
            n => format!("{} ({n} of {} seeds {what})", self.variant, self.runs),
        }
    }
}

/// Final held-out accuracy against length (log2 axis): per variant the mean
/// over the seeds that did not diverge with its 95% Student-t interval (the
/// summary's `heldout_acc_ci95`, cut to [0, 1]; none for one seed) and each
/// seed as a dot (a diverged one as a cross, not in the mean), and the
/// majority baseline of each length.
fn accuracy_vs_length(report: &StudyReport) -> Result<String> {
    let title = format!(
        "Final held-out accuracy against length ({})",
        seeds_phrase(report)
    );
    let subtitle = format!(
        "mean over the seeds that did not diverge; bars: its 95% t-interval, cut to [0, 1]\n\
         small dots: single seeds; after {} iterations, on {} held-out sequences",
        report.config.schedule.iters, report.config.heldout
    );
    let mut lengths = lengths(report);
    lengths.sort_unstable();
    let variants = variants(report);
    let (lo, hi) = match (lengths.first(), lengths.last()) {
        (Some(&a), Some(&b)) => ((a as f64).log2(), (b as f64).log2()),
        _ => (0.0, 1.0),
    };
    let pad = ((hi - lo) * 0.08).max(0.4);
    // About one pixel in log2 units.
    let px = (hi - lo + 2.0 * pad) / PLOT_PX;
    let n_variants = variants.len().max(1) as f64;
    // Variants side by side around each length, so error bars do not
    // overlap; each seed's dot just right of its variant's error bar. The
    // step shrinks with many variants so that a group fills at most 80 % of
    // the gap between neighbouring lengths.
    let gap = lengths
        .windows(2)
        .map(|w| (w[1] as f64).log2() - (w[0] as f64).log2())
        .filter(|g| *g > 0.0)
        .fold(f64::INFINITY, f64::min);
    let step = (26.0 * px).min(0.8 * gap / n_variants);
    let dodge = |i: usize| (i as f64 - (n_variants - 1.0) / 2.0) * step;
    let (cap, seed_shift) = ((6.0 * px).min(0.3 * step), (9.0 * px).min(0.4 * step));

    /// Lower and upper end of an error bar.
    type Bar = Option<(f64, f64)>;
    struct Series {
        variant: String,
        /// (log2 L, mean, its 95% interval cut to [0, 1]) per length.
        mean: Vec<(f64, f64, Bar)>,
        /// (log2 L, shifted, final accuracy) per seed that did not diverge.
        seeds: Vec<(f64, f64)>,
        /// The same for the seeds that diverged.
        diverged: Vec<(f64, f64)>,
    }
    let series: Vec<Series> = variants
        .iter()
        .enumerate()
        .map(|(i, variant)| {
            let mut s = Series {
                variant: variant.clone(),
                mean: Vec::new(),
                seeds: Vec::new(),
                diverged: Vec::new(),
            };
            for &l in &lengths {
                let xl = (l as f64).log2() + dodge(i);
                let runs = runs_of(report, variant, l);
                let finals = |diverged: bool| -> Vec<f64> {
                    runs.iter()
                        .filter(|r| r.diverged == diverged)
                        .map(|r| r.final_metrics.heldout_acc)
                        .filter(|a| a.is_finite())
                        .collect()
                };
                let (kept, lost) = (finals(false), finals(true));
                s.seeds.extend(kept.iter().map(|&a| (xl + seed_shift, a)));
                s.diverged
                    .extend(lost.iter().map(|&a| (xl + seed_shift, a)));
                let row = report
                    .summary
                    .iter()
                    .find(|r| r.variant == *variant && r.length == l);
                // The summary's figures, unless a NaN made them useless.
                let (mean, ci) = match row {
                    Some(r) if r.heldout_acc_mean.is_finite() => {
                        (r.heldout_acc_mean, r.heldout_acc_ci95)
                    }
                    _ => {
                        let (mean, std) = mean_std(&kept);
                        (mean, ci95_half_width(std, kept.len()))
                    }
                };
                if mean.is_finite() {
                    let bar = ci
                        .filter(|h| h.is_finite())
                        .map(|h| ((mean - h).max(0.0), (mean + h).min(1.0)));
                    s.mean.push((xl, mean, bar));
                }
            }
            s
        })
        .filter(|s| !s.mean.is_empty() || !s.seeds.is_empty() || !s.diverged.is_empty())
        .collect();
    let baselines: Vec<(f64, f64)> = lengths
        .iter()
        .filter_map(|&l| baseline(report, l).map(|b| ((l as f64).log2(), b)))
        .collect();

    let x = AxisSpec {
        range: lo - pad..hi + pad,
        ticks: spaced_log2_ticks(&lengths, TICK_LABEL_PX * px),
        desc: "sequence length L (log2 scale)".to_owned(),
        fmt: Box::new(|v| format!("{:.0}", v.exp2())),
    };
    let lows = series
        .iter()
        .flat_map(|s| {
            s.mean
                .iter()
                .map(|&(_, m, bar)| bar.map_or(m, |b| b.0))
                .chain(s.seeds.iter().chain(&s.diverged).map(|p| p.1))
        })
        .chain(baselines.iter().map(|p| p.1));
    let y = accuracy_axis(lows, "final held-out accuracy");

    render(&title, &subtitle, |body, at| {
        let mut chart = build_chart(body, &x, &y, at)?;
        let mut occupied = Vec::new();
        if !baselines.is_empty() {
            draw_baseline(&mut chart, &baselines, &mut occupied)?;
            chart.draw_series(
                baselines
                    .iter()
                    .map(|&p| Circle::new(p, 3, BASELINE.filled())),
            )?;
        }
        // A search's pass line.
        if let Some(search) = &report.config.search {
            let (t, x0, x1) = (search.threshold, lo - pad, hi + pad);
            chart.draw_series([DashedPathElement::new(
                vec![(x0, t), (x1, t)],
                6,
                4,
                THRESHOLD.stroke_width(2),
            )])?;
            occupied.push(vec![(x0, t), (x1, t)]);
        }
        for s in &series {
            let c = color(report, &s.variant);
            chart.draw_series(
                s.seeds
                    .iter()
                    .map(|&p| Circle::new(p, 3, c.mix(0.45).filled())),
            )?;
            occupied.extend(s.seeds.iter().map(|&p| vec![p]));
            draw_stops(&mut chart, &s.diverged, c, &mut occupied)?;
            for &(xl, _, bar) in &s.mean {
                let Some((a, b)) = bar else { continue };
                let style = c.stroke_width(2);
                chart.draw_series([
                    PathElement::new(vec![(xl, a), (xl, b)], style),
                    PathElement::new(vec![(xl - cap, a), (xl + cap, a)], style),
                    PathElement::new(vec![(xl - cap, b), (xl + cap, b)], style),
                ])?;
                occupied.push(vec![(xl, a), (xl, b)]);
            }
            let line: Vec<(f64, f64)> = s.mean.iter().map(|&(xl, m, _)| (xl, m)).collect();
            chart.draw_series(LineSeries::new(line.iter().copied(), c.stroke_width(3)))?;
            chart.draw_series(line.iter().map(|&p| Circle::new(p, 6, c.filled())))?;
            occupied.push(line);
        }
        let mut legend = Legend::default();
        legend.variants(report, series.iter().map(|s| s.variant.as_str()), true);
        if series.iter().any(|s| !s.diverged.is_empty()) {
            legend.cross("diverged seed (not in the mean)");
        }
        if !baselines.is_empty() {
            legend.baseline("majority baseline".to_owned());
        }
        if let Some(search) = &report.config.search {
            legend.line(
                format!("holds at or above {}", search.threshold),
                THRESHOLD,
                2,
                Some((6, 4)),
            );
        }
        draw_legend(&chart, body, &legend, &occupied, at)
    })
}

/// About how wide the plotting area of a chart is, in pixels.
const PLOT_PX: f64 = 840.0;
/// The room a length's tick label needs, in pixels.
const TICK_LABEL_PX: f64 = 38.0;

/// The log2 positions of the lengths to label on a log2 axis, at least
/// `gap` apart so no two labels overlap: every power of two first (the
/// doubling steps of a search), then the other lengths, shortest first,
/// where they fit.
fn spaced_log2_ticks(lengths: &[usize], gap: f64) -> Vec<f64> {
    let pow2 = lengths.iter().filter(|l| l.is_power_of_two());
    let rest = lengths.iter().filter(|l| !l.is_power_of_two());
    let mut ticks: Vec<f64> = Vec::new();
    for x in pow2.chain(rest).map(|&l| (l as f64).log2()) {
        if ticks.iter().all(|&t| (t - x).abs() >= gap) {
            ticks.push(x);
        }
    }
    ticks.sort_by(f64::total_cmp);
    ticks
}

/// Accuracy at each position `t` at the end of training, length `l`: per
/// variant each seed that did not diverge as a thin line (a diverged run's
/// final model answers garbage) and their mean as a thick one with markers,
/// and the majority label of each position (the accuracy of always
/// answering the held-out set's most frequent label there) as a dashed grey
/// zigzag. One baseline over all positions would not do: positions differ
/// in how predictable they are (1.00, 0.51, 0.84, 0.51, …), so a model that
/// learned nothing would look well above it at even positions. Above
/// [`MARKERS_UP_TO`] even and odd positions are separate lines (solid and
/// dashed), for the seeds, the means and the majority alike.
fn per_position(report: &StudyReport, l: usize) -> Result<String> {
    let markers = l <= MARKERS_UP_TO;
    let series: Vec<SeedLines> = variants(report)
        .into_iter()
        .map(|v| {
            let runs = runs_of(report, &v, l);
            let kept: Vec<&RunReport> = runs.iter().copied().filter(|r| !r.diverged).collect();
            let mut s = SeedLines::new(v, &kept, |r| {
                let acc = &r.final_metrics.per_position_acc;
                acc.iter().copied().enumerate().take(l).collect()
            });
            // Counted against all the runs, the diverged ones left out.
            s.runs = runs.len();
            s.diverged = runs.len() - kept.len();
            s
        })
        .filter(|s| !s.lines.is_empty())
        .collect();
    let majority = majority_per_position(report, l);
    let left_out = series.iter().map(|s| s.diverged).sum::<usize>();

    let title = format!("Accuracy at each position at the end of training, L = {l}");
    let subtitle = format!(
        "thin: each seed; thick: their mean{}; on {} held-out sequences\n{}",
        match left_out {
            0 => String::new(),
            1 => " (1 diverged seed left out)".to_owned(),
            n => format!(" ({n} diverged seeds left out)"),
        },
        report.config.heldout,
        if markers {
            "dashed grey: accuracy of always answering each position's most frequent held-out label"
        } else {
            "solid: even t, dashed: odd t; grey: always answering each position's most frequent label"
        }
    );

    let x_hi = l.max(1) as f64 - 0.5;
    let x = AxisSpec {
        range: -0.5..x_hi,
        ticks: nice_ticks(0.0, x_hi - 0.5, 16, 1.0),
        desc: "position t in the sequence".to_owned(),
        fmt: Box::new(|v| format!("{v:.0}")),
    };
    let lows = series
        .iter()
        .flat_map(SeedLines::values)
        .chain(majority.iter().map(|p| p.1));
    let y = accuracy_axis(lows, "held-out accuracy at position t");

    render(&title, &subtitle, |body, at| {
        let mut chart = build_chart(body, &x, &y, at)?;
        let mut occupied = Vec::new();
        for s in &series {
            let c = color(report, &s.variant);
            if markers {
                draw_seed_lines(&mut chart, s, c, &mut occupied)?;
                continue;
            }
            let thin = c.mix(SEED_ALPHA).stroke_width(1);
            for line in &s.lines {
                let (even, odd) = (parity(line, false), parity(line, true));
                chart.draw_series(LineSeries::new(even.iter().copied(), thin))?;
                chart.draw_series(DashedLineSeries::new(odd.iter().copied(), 6, 4, thin))?;
                occupied.push(even);
                occupied.push(odd);
            }
        }
        if markers {
            draw_baseline(&mut chart, &majority, &mut occupied)?;
        } else if !majority.is_empty() {
            let (even, odd) = (parity(&majority, false), parity(&majority, true));
            chart.draw_series(LineSeries::new(
                even.iter().copied(),
                BASELINE.stroke_width(2),
            ))?;
            chart.draw_series(DashedLineSeries::new(
                odd.iter().copied(),
                9,
                5,
                BASELINE.stroke_width(2),
            ))?;
            occupied.push(even);
            occupied.push(odd);
        }
        for s in &series {
            let c = color(report, &s.variant);
            if markers {
                draw_mean(&mut chart, &s.mean, c, true, &mut occupied)?;
                continue;
            }
            let mean: Vec<(f64, f64)> = s
                .mean
                .x
                .iter()
                .copied()
                .zip(s.mean.mean.iter().copied())
                .collect();
            let (even, odd) = (parity(&mean, false), parity(&mean, true));
            chart.draw_series(LineSeries::new(even.iter().copied(), c.stroke_width(3)))?;
            chart.draw_series(DashedLineSeries::new(
                odd.iter().copied(),
                9,
                5,
                c.stroke_width(3),
            ))?;
            occupied.push(even);
            occupied.push(odd);
        }
        let mut legend = Legend::default();
        for s in &series {
            let label = s.label("diverged, left out");
            legend.variant(report, &s.variant, label, markers);
        }
        if !markers {
            legend.style("solid: even t", false);
            legend.style("dashed: odd t", true);
        }
        if !majority.is_empty() {
            let label = "majority label of each position".to_owned();
            if markers {
                legend.baseline(label);
            } else {
                legend.line(label, BASELINE, 2, None);
            }
        }
        draw_legend(&chart, body, &legend, &occupied, at)
    })
}

/// The points at even (or odd) x.
fn parity(points: &[(f64, f64)], odd: bool) -> Vec<(f64, f64)> {
    points
        .iter()
        .copied()
        .filter(|&(x, _)| (x as usize % 2 == 1) == odd)
        .collect()
}

/// The majority per-position accuracy of length `l`'s held-out set, as
/// (t, accuracy) (the same set for every variant); empty without a summary
/// row that has it.
fn majority_per_position(report: &StudyReport, l: usize) -> Vec<(f64, f64)> {
    report
        .summary
        .iter()
        .find(|r| r.length == l && !r.majority_per_position.is_empty())
        .map(|r| {
            r.majority_per_position
                .iter()
                .take(l)
                .enumerate()
                .filter(|(_, m)| m.is_finite())
                .map(|(t, &m)| (t as f64, m))
                .collect()
        })
        .unwrap_or_default()
}

/// `‖∂E_{L−1}/∂h_t‖` against time step `t` at length `l`, on a log10 axis: per
/// variant the geometric mean over seeds of the curve measured at the end of
/// training (solid) and before training (dashed). Norms that are not finite
/// and positive are skipped (the legend counts them); a run that diverged
/// has no end-of-training curve. The axis spans at most
/// [`GRAD_FLOW_DECADES`] decades below the highest mean: lower means are
/// drawn on a dotted floor line.
fn grad_flow(report: &StudyReport, l: usize) -> Result<String> {
    let seeds = seeds_phrase(report);
    let title = format!("Gradient flow {GRAD_FLOW_LAST}, L = {l} ({seeds})");
    let subtitle = format!(
        "E(L−1): the last step's error; geometric mean over seeds, each over {} held-out sequences\n\
         vanishing: decays from t = L−1 back to t = 0; exploding: grows",
        report.config.schedule.grad_flow_batch
    );
    struct Flow {
        variant: String,
        /// log10 of the norms before training.
        start: Band,
        /// log10 of the norms at the end of training.
        end: Band,
        /// Runs with an end-of-training curve, and runs with any curve.
        ends: usize,
        runs: usize,
        /// Norms skipped in those curves: zero (or negative), and not finite.
        zeros: usize,
        non_finite: usize,
    }
    let log_norms = |norms: &[f64]| -> Vec<(usize, f64)> {
        norms
            .iter()
            .take(l)
            .enumerate()
            .filter(|&(_, &v)| v.is_finite() && v > 0.0)
            .map(|(t, &v)| (t, v.log10()))
            .collect()
    };
    let flows: Vec<Flow> = variants(report)
        .into_iter()
        .filter_map(|variant| {
            let runs: Vec<(&RunReport, &[_])> = runs_of(report, &variant, l)
                .into_iter()
                .filter_map(|r| r.grad_flow_last.as_deref().map(|f| (r, f)))
                .filter(|(_, f)| !f.is_empty())
                .collect();
            if runs.is_empty() {
                return None;
            }
            let starts: Vec<_> = runs
                .iter()
                .filter_map(|(_, f)| f.iter().find(|g| g.iter == 0))
                .collect();
            let ends: Vec<_> = runs
                .iter()
                .filter_map(|(r, f)| f.iter().rev().find(|g| g.iter > 0 && g.iter == r.iters))
                .collect();
            let drawn = starts
                .iter()
                .chain(&ends)
                .flat_map(|g| g.norms.iter().take(l));
            let (zeros, non_finite) = drawn.fold((0, 0), |(z, n), &v| {
                if !v.is_finite() {
                    (z, n + 1)
                } else if v <= 0.0 {
                    (z + 1, n)
                } else {
                    (z, n)
                }
            });
            Some(Flow {
                variant,
                start: Band::from_samples(starts.iter().flat_map(|g| log_norms(&g.norms))),
                end: Band::from_samples(ends.iter().flat_map(|g| log_norms(&g.norms))),
                ends: ends.len(),
                runs: runs.len(),
                zeros,
                non_finite,
            })
        })
        .collect();

    let x_hi = l.max(1) as f64 - 0.5;
    let x = AxisSpec {
        range: -0.5..x_hi,
        ticks: nice_ticks(0.0, x_hi - 0.5, 16, 1.0),
        desc: "time step t".to_owned(),
        fmt: Box::new(|v| format!("{v:.0}")),
    };
    let logs = || {
        flows
            .iter()
            .flat_map(|f| f.start.mean.iter().chain(&f.end.mean).copied())
    };
    let highest = logs().fold(f64::NEG_INFINITY, f64::max);
    let floor = (highest - GRAD_FLOW_DECADES).floor();
    let cut = logs().any(|v| v < floor);
    let desc = format!("{GRAD_FLOW_LAST} (log scale)");
    let y = log_axis(logs().map(|v| v.max(floor)), &desc);

    render(&title, &subtitle, |body, at| {
        let mut chart = build_chart(body, &x, &y, at)?;
        let mut occupied = Vec::new();
        let line = |b: &Band| -> Vec<(f64, f64)> {
            b.x.iter()
                .copied()
                .zip(b.mean.iter().map(|&v| v.max(floor)))
                .collect()
        };
        if cut {
            let floor_line = vec![(x.range.start, floor), (x.range.end, floor)];
            chart.draw_series(std::iter::once(DashedPathElement::new(
                floor_line.clone(),
                2,
                4,
                BASELINE.stroke_width(2),
            )))?;
            occupied.push(floor_line);
        }
        for f in &flows {
            let start = line(&f.start);
            chart.draw_series(DashedLineSeries::new(
                start.iter().copied(),
                9,
                6,
                color(report, &f.variant).stroke_width(2),
            ))?;
            occupied.push(start);
        }
        for f in &flows {
            let end = line(&f.end);
            let c = color(report, &f.variant);
            chart.draw_series(LineSeries::new(end.iter().copied(), c.stroke_width(3)))?;
            if end.len() == 1 {
                chart.draw_series(end.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
            }
            occupied.push(end);
        }
        let mut legend = Legend::default();
        for f in &flows {
            let mut notes = Vec::new();
            if f.ends < f.runs {
                notes.push(format!("end: {} of {} seeds", f.ends, f.runs));
            }
            let skipped: Vec<String> = [(f.zeros, "zero"), (f.non_finite, "non-finite")]
                .into_iter()
                .filter(|&(n, _)| n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
            if !skipped.is_empty() {
                notes.push(format!("skipped: {}", skipped.join(", ")));
            }
            let label = if notes.is_empty() {
                f.variant.clone()
            } else {
                format!("{} ({})", f.variant, notes.join("; "))
            };
            legend.variant(report, &f.variant, label, false);
        }
        legend.style("solid: end of training", false);
        legend.style("dashed: before training", true);
        if cut {
            let label = format!("floor {}: lower means drawn on it", (y.fmt)(&floor));
            legend.line(label, BASELINE, 2, Some((2, 4)));
        }
        draw_legend(&chart, body, &legend, &occupied, at)
    })
}

/// The largest singular value of the recurrent matrix against training
/// iteration at length `l`: per variant each seed as a thin line and their
/// mean (on a log10 axis, the geometric mean, when the values span more than
/// a factor of ten) as a thick one, as in [`curve`], and a dashed line at 1.
fn spectral_norm(report: &StudyReport, l: usize) -> Result<String> {
    let points = |r: &RunReport| -> Vec<(usize, f64)> {
        r.curve
            .iter()
            .filter_map(|p| p.spectral_norm.map(|s| (p.iter, s)))
            .filter(|&(_, s)| s.is_finite() && s > 0.0)
            .collect()
    };
    let (lowest, highest) = report
        .runs
        .iter()
        .filter(|r| r.length == l)
        .flat_map(points)
        .fold((1.0f64, 1.0f64), |(a, b), (_, v)| (a.min(v), b.max(v)));
    let log = highest / lowest > 10.0;
    let scale = move |v: f64| if log { v.log10() } else { v };
    let series: Vec<SeedLines> = variants(report)
        .into_iter()
        .map(|v| {
            let runs = runs_of(report, &v, l);
            SeedLines::new(v, &runs, |r| {
                points(r).into_iter().map(|(i, x)| (i, scale(x))).collect()
            })
        })
        .filter(|s| !s.lines.is_empty())
        .collect();
    let diverged = series.iter().any(|s| !s.stops.is_empty());

    let title = format!("Largest singular value of the recurrent matrix, L = {l}");
    let subtitle = format!(
        "thin: each of {}; thick: their {}mean{}\n\
         below 1 (dashed) an Elman RNN's gradients through time must vanish",
        seeds_phrase(report),
        if log { "geometric " } else { "" },
        if diverged {
            " over the seeds still running (× where a diverged seed stopped)"
        } else {
            ""
        },
    );
    let x = iteration_axis(report, series.iter().flat_map(SeedLines::xs));
    let x_hi = x.range.end;
    let y = if log {
        let logs = [lowest.log10(), highest.log10()];
        log_axis(logs, "largest singular value (log scale)")
    } else {
        linear_axis(lowest, highest, "largest singular value of W or Wₕₕ")
    };
    let one = scale(1.0);

    render(&title, &subtitle, |body, at| {
        let mut chart = build_chart(body, &x, &y, at)?;
        let mut occupied = Vec::new();
        for s in &series {
            draw_seed_lines(&mut chart, s, color(report, &s.variant), &mut occupied)?;
        }
        draw_baseline(&mut chart, &[(0.0, one), (x_hi, one)], &mut occupied)?;
        for s in &series {
            draw_mean(
                &mut chart,
                &s.mean,
                color(report, &s.variant),
                false,
                &mut occupied,
            )?;
        }
        let mut legend = Legend::default();
        for s in &series {
            legend.variant(report, &s.variant, s.label("diverged"), false);
        }
        if diverged {
            legend.cross("diverged: the seed stops there");
        }
        legend.baseline("σₘₐₓ = 1".to_owned());
        draw_legend(&chart, body, &legend, &occupied, at)
    })
}

/// The training-iteration x axis of a per-iteration plot: 0 to the
/// configured iterations (or the last point drawn, if later).
fn iteration_axis(report: &StudyReport, xs: impl IntoIterator<Item = f64>) -> AxisSpec {
    let max_iter = xs.into_iter().fold(0.0, f64::max);
    let x_hi = (report.config.schedule.iters as f64).max(max_iter).max(1.0);
    AxisSpec {
        range: 0.0..x_hi,
        ticks: nice_ticks(0.0, x_hi, 10, 1.0),
        desc: "training iteration".to_owned(),
        fmt: Box::new(|v| format!("{v:.0}")),
    }
}

/// The mean over seeds of the finite values at each x.
#[derive(Debug, Default, PartialEq)]
struct Band {
    x: Vec<f64>,
    mean: Vec<f64>,
}

impl Band {
    /// From (x, value) samples: only the samples present at an x count there
    /// (a run that diverged stops contributing); non-finite values are skipped.
    fn from_samples(samples: impl IntoIterator<Item = (usize, f64)>) -> Self {
        let mut by_x: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for (x, v) in samples {
            if v.is_finite() {
                by_x.entry(x).or_default().push(v);
            }
        }
        let mut b = Self::default();
        for (x, v) in by_x {
            b.x.push(x as f64);
            b.mean.push(v.iter().sum::<f64>() / v.len() as f64);
        }
        b
    }
}

/// One axis: range, tick positions, description, tick-label format.
struct AxisSpec {
    range: Range<f64>,
    ticks: Vec<f64>,
    desc: String,
    fmt: Box<dyn Fn(&f64) -> String>,
}

/// A linear `f64` axis with ticks exactly where asked (plotters' own
/// `with_key_points` loses the tick-label formatter of `f64` axes).
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// An accuracy axis from about `min(0.4, lowest value)` to 1.
fn accuracy_axis(values: impl IntoIterator<Item = f64>, desc: &str) -> AxisSpec {
    let lowest = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let lo = (((lowest.min(0.4) - 0.01) / 0.05).floor() * 0.05).max(0.0);
    let step = if 1.0 - lo > 0.35 { 0.1 } else { 0.05 };
    AxisSpec {
        range: lo..1.0 + 0.02 * (1.0 - lo),
        ticks: nice_ticks(lo, 1.0, 20, step),
        desc: desc.to_owned(),
        fmt: Box::new(move |v| {
            if step < 0.1 {
                format!("{v:.2}")
            } else {
                format!("{v:.1}")
            }
        }),
    }
}

/// Ticks at multiples of a round step (1, 2 or 5 × 10^k, at least `min_step`)
/// in `[lo, hi]`, at most about `max_count` of them.
fn nice_ticks(lo: f64, hi: f64, max_count: usize, min_step: f64) -> Vec<f64> {
    let span = (hi - lo).max(0.0);
    let raw = (span / max_count.max(1) as f64).max(min_step);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let step = step.max(min_step);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A linear axis over `[lo, hi]`, padded by 5 %, with round ticks.
fn linear_axis(lo: f64, hi: f64, desc: &str) -> AxisSpec {
    let (lo, hi) = if hi - lo > 1e-9 * hi.abs().max(1.0) {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    };
    let pad = 0.05 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let ticks = nice_ticks(lo, hi, 10, 1e-12);
    let step = match ticks[..] {
        [a, b, ..] => b - a,
        _ => 1.0,
    };
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    AxisSpec {
        range: lo..hi,
        ticks,
        desc: desc.to_owned(),
        fmt: Box::new(move |v| format!("{v:.decimals$}")),
    }
}

/// A log10 axis over values given as their log10 (non-finite ones skipped):
/// the range pads the lowest and highest by 4 % (half a decade at least in
/// all); ticks at whole decades (every 1, 2, 5, … decades) over three decades
/// or more, else at 1, 2, 5 × 10^k, or 1 … 9 × 10^k within about a decade.
/// Labels read as plain numbers when every tick is within 0.001 … 10⁴, else
/// as powers of ten.
fn log_axis(logs: impl IntoIterator<Item = f64>, desc: &str) -> AxisSpec {
    let (mut lo, mut hi) = logs
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo > hi {
        (lo, hi) = (-1.0, 0.0);
    }
    if hi - lo < 0.5 {
        let mid = 0.5 * (lo + hi);
        (lo, hi) = (mid - 0.25, mid + 0.25);
    }
    let pad = 0.04 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let span = hi - lo;
    let ticks: Vec<f64> = if span >= 3.0 {
        nice_ticks(lo, hi, 8, 1.0)
    } else {
        let mantissas: &[f64] = if span > 1.2 {
            &[1.0, 2.0, 5.0]
        } else if span > 0.7 {
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        } else {
            &[1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        };
        (lo.floor() as i32..=hi.ceil() as i32)
            .flat_map(|k| mantissas.iter().map(move |m| m.log10() + f64::from(k)))
            .filter(|t| (lo..=hi).contains(t))
            .collect()
    };
    let plain = ticks.iter().all(|&t| (-3..=4).contains(&decade(t).1));
    AxisSpec {
        range: lo..hi,
        ticks,
        desc: desc.to_owned(),
        fmt: Box::new(move |&t| {
            let (m10, k) = decade(t);
            let (whole, tenth) = (m10 / 10, m10 % 10);
            if plain {
                let exp = if tenth == 0 { k } else { k - 1 };
                let decimals = (-exp).max(0) as usize;
                format!("{:.decimals$}", f64::from(m10) * 10f64.powi(k - 1))
            } else if m10 == 10 {
                format!("10{}", superscript(k))
            } else if tenth == 0 {
                format!("{whole}·10{}", superscript(k))
            } else {
                format!("{whole}.{tenth}·10{}", superscript(k))
            }
        }),
    }
}

/// `10^t` as ten times a mantissa with one decimal, and an exponent:
/// `(m10, k)` with `m10 / 10 · 10^k` nearest to it and `10 <= m10 <= 99`.
fn decade(t: f64) -> (i32, i32) {
    let mut k = (t + 1e-6).floor() as i32;
    let mut m10 = (10f64.powf(t - f64::from(k)) * 10.0).round() as i32;
    if m10 >= 100 {
        m10 /= 10;
        k += 1;
    }
    (m10.max(10), k)
}

/// An integer in Unicode superscript digits.
fn superscript(k: i32) -> String {
    k.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// Where a legend goes: inside the plotting area (in the corner or side
/// that hides the least), or in a column right of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegendAt {
    /// Inside the plotting area.
    Inside,
    /// Right of it, in a column this wide, for a legend this high.
    Right {
        /// The legend's width in pixels.
        width: i32,
        /// Its height in pixels.
        height: i32,
    },
}

/// What a legend drawn inside the plotting area hid: sampled pixels of the
/// data (one every 3 pixels along each line; `usize::MAX` if it does not fit
/// there), and its size.
#[derive(Debug, Clone, Copy, Default)]
struct LegendFit {
    /// Samples of the data under the legend (and a 4-pixel rim).
    hidden: usize,
    /// The legend's width in pixels.
    width: i32,
    /// Its height in pixels.
    height: i32,
}

/// Draws the title block and hands the rest of the canvas to `draw`, with
/// the legend inside the plotting area; if it would hide more than
/// [`LEGEND_HIDES_AT_MOST`] samples of the data there, draws it again on a
/// canvas widened by a column for the legend on the right. Title and
/// subtitle are wrapped to the canvas's width ([`wrap`]).
fn render(
    title: &str,
    subtitle: &str,
    draw: impl Fn(&Area, LegendAt) -> Result<LegendFit>,
) -> Result<String> {
    let (svg, fit) = render_once(title, subtitle, &draw, LegendAt::Inside)?;
    if fit.hidden <= LEGEND_HIDES_AT_MOST {
        return Ok(svg);
    }
    let right = LegendAt::Right {
        width: fit.width,
        height: fit.height,
    };
    let (svg, _) = render_once(title, subtitle, &draw, right)?;
    Ok(svg)
}

/// One drawing of [`render`].
fn render_once(
    title: &str,
    subtitle: &str,
    draw: &impl Fn(&Area, LegendAt) -> Result<LegendFit>,
    at: LegendAt,
) -> Result<(String, LegendFit)> {
    let mut svg = String::new();
    let fit;
    {
        // A legend on the right widens the canvas (and heightens it if it
        // is taller than the chart), so that the chart keeps its size.
        let (extra_w, legend_h) = match at {
            LegendAt::Inside => (0, 0),
            LegendAt::Right { height, .. } => (
                (right_margin(at) - right_margin(LegendAt::Inside)) as u32,
                height,
            ),
        };
        let width = SIZE.0 + extra_w;
        let max_w = f64::from(width) - 2.0 * HEADER_MARGIN;
        let titles = wrap(title, svg_px(TITLE_PT), true, max_w);
        let subtitles = wrap(subtitle, svg_px(SUBTITLE_PT), false, max_w);
        let sub_top = 8 + TITLE_LINE_H * titles.len() as i32 + 4;
        let header_h = (sub_top + SUBTITLE_LINE_H * subtitles.len() as i32 + 1) as u32;
        // The legend starts at the chart's top margin, and needs a few
        // pixels below.
        let body_h = (SIZE.1 - HEADER_H).max(legend_h as u32 + CHART_TOP + 8);
        let size = (width, header_h + body_h);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(header_h);
        let centre = size.0 as i32 / 2;
        let top = Pos::new(HPos::Center, VPos::Top);
        let title_style = (FONT, TITLE_PT)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(top);
        for (i, line) in titles.iter().enumerate() {
            let y = 8 + TITLE_LINE_H * i as i32;
            header.draw(&Text::new(line.as_str(), (centre, y), title_style.clone()))?;
        }
        let sub_style = (FONT, SUBTITLE_PT)
            .into_font()
            .color(&RGBColor(80, 80, 80))
            .pos(top);
        for (i, line) in subtitles.iter().enumerate() {
            let y = sub_top + SUBTITLE_LINE_H * i as i32;
            header.draw(&Text::new(line.as_str(), (centre, y), sub_style.clone()))?;
        }
        fit = draw(&body, at)?;
        root.present()?;
    }
    Ok((dash_baselines(&svg), fit))
}

/// The SVG with every line drawn in [`DASHED_BASELINE`] dashed, in
/// [`BASELINE`]'s colour.
fn dash_baselines(svg: &str) -> String {
    let [r, g, b] = [BASELINE.0, BASELINE.1, BASELINE.2];
    let [r2, g2, b2] = [DASHED_BASELINE.0, DASHED_BASELINE.1, DASHED_BASELINE.2];
    svg.replace(
        &format!("stroke=\"#{r2:02X}{g2:02X}{b2:02X}\""),
        &format!("stroke=\"#{r:02X}{g:02X}{b:02X}\" stroke-dasharray=\"8 5\""),
    )
}

/// The chart's margin above the plotting area.
const CHART_TOP: u32 = 6;

/// The chart's margin on the right: room for the legend if it goes there.
fn right_margin(at: LegendAt) -> i32 {
    match at {
        LegendAt::Inside => 30,
        LegendAt::Right { width, .. } => width + 2 * LEGEND_GAP,
    }
}

/// The chart area with its mesh, axes and labels (and room on the right for
/// the legend, if it goes there).
fn build_chart<'a, 'b>(
    body: &'a Area<'b>,
    x: &AxisSpec,
    y: &AxisSpec,
    at: LegendAt,
) -> Result<Chart<'a, 'b>> {
    let right = right_margin(at);
    let mut chart = ChartBuilder::on(body)
        .margin_top(CHART_TOP)
        .margin_left(14)
        .margin_right(right)
        .margin_bottom(10)
        .x_label_area_size(58)
        .y_label_area_size(78)
        .build_cartesian_2d(
            Ticked::new(x.range.clone(), x.ticks.clone()),
            Ticked::new(y.range.clone(), y.ticks.clone()),
        )?;
    chart
        .configure_mesh()
        .x_desc(x.desc.as_str())
        .y_desc(y.desc.as_str())
        .x_label_formatter(&*x.fmt)
        .y_label_formatter(&*y.fmt)
        .axis_desc_style((FONT, AXIS_DESC_PT))
        .label_style((FONT, TICK_PT))
        .bold_line_style(RGBColor(225, 225, 225))
        .axis_style(RGBColor(90, 90, 90))
        .draw()?;
    Ok(chart)
}

/// The mean line of a band, with markers if asked.
fn draw_mean(
    chart: &mut Chart,
    b: &Band,
    c: RGBColor,
    markers: bool,
    occupied: &mut Vec<Vec<(f64, f64)>>,
) -> Result<()> {
    let line: Vec<(f64, f64)> = b.x.iter().copied().zip(b.mean.iter().copied()).collect();
    chart.draw_series(LineSeries::new(line.iter().copied(), c.stroke_width(3)))?;
    if markers || line.len() == 1 {
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
    }
    occupied.push(line);
    Ok(())
}

/// A dashed grey line through `points` (one polyline, see
/// [`DASHED_BASELINE`]).
fn draw_baseline(
    chart: &mut Chart,
    points: &[(f64, f64)],
    occupied: &mut Vec<Vec<(f64, f64)>>,
) -> Result<()> {
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        DASHED_BASELINE.stroke_width(2),
    ))?;
    if let [p] = points[..] {
        chart.draw_series(std::iter::once(Circle::new(p, 3, BASELINE.filled())))?;
    }
    occupied.push(points.to_vec());
    Ok(())
}

/// Each seed's line, thin and faint in the variant's colour (a single point
/// as a dot), and a cross where a diverged run stopped.
fn draw_seed_lines(
    chart: &mut Chart,
    s: &SeedLines,
    c: RGBColor,
    occupied: &mut Vec<Vec<(f64, f64)>>,
) -> Result<()> {
    let thin = c.mix(SEED_ALPHA).stroke_width(1);
    for line in &s.lines {
        chart.draw_series(LineSeries::new(line.iter().copied(), thin))?;
        if let [p] = line[..] {
            chart.draw_series(std::iter::once(Circle::new(
                p,
                2,
                c.mix(SEED_ALPHA).filled(),
            )))?;
        }
        occupied.push(line.clone());
    }
    draw_stops(chart, &s.stops, c, occupied)
}

/// Crosses where diverged runs stopped.
fn draw_stops(
    chart: &mut Chart,
    stops: &[(f64, f64)],
    c: RGBColor,
    occupied: &mut Vec<Vec<(f64, f64)>>,
) -> Result<()> {
    chart.draw_series(stops.iter().map(|&p| Cross::new(p, 5, c.stroke_width(2))))?;
    occupied.extend(stops.iter().map(|&p| vec![p]));
    Ok(())
}

/// How a legend entry's symbol looks.
#[derive(Debug, Clone, Copy)]
enum Symbol {
    /// A variant's line in its colour, with a marker or not.
    Variant {
        /// The variant's colour.
        color: RGBColor,
        /// Whether a marker goes on the line.
        marker: bool,
    },
    /// A dark grey cross: where a diverged run stopped.
    Cross,
    /// A line: solid, or dashed as (dash, gap) pixels.
    Line {
        /// Its colour.
        color: RGBColor,
        /// Its width in pixels.
        width: u32,
        /// Dash and gap lengths in pixels, or none for a solid line.
        dash: Option<(u32, u32)>,
    },
}

/// A legend's entries, in order. Plotters' own legend is clamped to the
/// plotting area, so the legend is drawn by hand (see [`draw_legend`]).
#[derive(Debug, Default)]
struct Legend(Vec<(String, Symbol)>);

impl Legend {
    /// One entry per variant, labelled with its name.
    fn variants<'v>(
        &mut self,
        report: &StudyReport,
        variants: impl IntoIterator<Item = &'v str>,
        marker: bool,
    ) {
        for v in variants {
            self.variant(report, v, v.to_owned(), marker);
        }
    }

    /// One entry in a variant's colour.
    fn variant(&mut self, report: &StudyReport, v: &str, label: String, marker: bool) {
        let color = color(report, v);
        self.0.push((label, Symbol::Variant { color, marker }));
    }

    /// An entry explaining a line style, in dark grey.
    fn style(&mut self, label: &str, dashed: bool) {
        let dash = dashed.then_some((7, 4));
        self.line(label.to_owned(), RGBColor(50, 50, 50), 3, dash);
    }

    /// The majority baseline's (or another reference line's) entry.
    fn baseline(&mut self, label: String) {
        self.line(label, DASHED_BASELINE, 2, None);
    }

    /// The entry of the crosses where diverged runs stopped.
    fn cross(&mut self, label: &str) {
        self.0.push((label.to_owned(), Symbol::Cross));
    }

    /// An entry with a plain line symbol.
    fn line(&mut self, label: String, color: RGBColor, width: u32, dash: Option<(u32, u32)>) {
        self.0.push((label, Symbol::Line { color, width, dash }));
    }
}

/// Draws the legend, white on a grey border: right of the plotting area,
/// or inside it, in the corner or side that hides the least of what was
/// drawn (`occupied`: polylines in data coordinates). Returns how much that
/// hid and the legend's width.
fn draw_legend(
    chart: &Chart,
    body: &Area,
    legend: &Legend,
    occupied: &[Vec<(f64, f64)>],
    at: LegendAt,
) -> Result<LegendFit> {
    let entries = &legend.0;
    if entries.is_empty() {
        return Ok(LegendFit::default());
    }
    let font = (FONT, LEGEND_PT).into_font();
    let text_w = entries
        .iter()
        .map(|(label, _)| text_width(label, svg_px(LEGEND_PT), false))
        .fold(0.0, f64::max)
        .ceil() as i32;
    let w = text_w + LEGEND_SYMBOL_W + 2 * LEGEND_MARGIN;
    let row_h = (LEGEND_PT * 1.25) as i32;
    let h = (entries.len() as i32 - 1) * row_h + LEGEND_PT as i32 + 2 * LEGEND_MARGIN;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let (area_w, area_h) = (xr.end - xr.start, yr.end - yr.start);

    // Sample every polyline every few pixels.
    let mut pixels = Vec::new();
    for line in occupied {
        let px: Vec<(i32, i32)> = line.iter().map(|p| chart.backend_coord(p)).collect();
        if let [p] = px[..] {
            pixels.push(p);
        }
        for seg in px.windows(2) {
            let (a, b) = (seg[0], seg[1]);
            let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) / 3).max(1);
            for k in 0..=n {
                let t = k as f64 / n as f64;
                let x = a.0 as f64 + t * (b.0 - a.0) as f64;
                let y = a.1 as f64 + t * (b.1 - a.1) as f64;
                pixels.push((x.round() as i32, y.round() as i32));
            }
        }
    }
    // (x, y) of the top-left corner, in canvas pixels: right, bottom,
    // left, top, then the sides' middles.
    let (left, centre, right) = (5, (area_w - w) / 2, area_w - w - 5);
    let (top, middle, bottom) = (5, (area_h - h) / 2, area_h - h - 5);
    let candidates = [
        (right, bottom),
        (right, top),
        (left, bottom),
        (left, top),
        (right, middle),
        (centre, bottom),
        (centre, top),
        (left, middle),
    ]
    .map(|(x, y)| (xr.start + x, yr.start + y));
    let hidden = |&(x0, y0): &(i32, i32)| {
        let pad = 4;
        pixels
            .iter()
            .filter(|&&(x, y)| {
                x >= x0 - pad && x <= x0 + w + pad && y >= y0 - pad && y <= y0 + h + pad
            })
            .count()
    };
    let best = candidates
        .into_iter()
        .min_by_key(hidden)
        .unwrap_or(candidates[0]);
    // Too big for the plotting area: it goes right of it.
    let fits_inside = w + 10 <= area_w && h + 10 <= area_h;
    let fit = LegendFit {
        hidden: if fits_inside {
            hidden(&best)
        } else {
            usize::MAX
        },
        width: w,
        height: h,
    };
    let (x0, y0) = match at {
        LegendAt::Inside => best,
        LegendAt::Right { .. } => (xr.end + LEGEND_GAP, yr.start),
    };

    // The body's own coordinates.
    let (bx, by) = body.get_base_pixel();
    let (x0, y0) = (x0 - bx, y0 - by);
    body.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        WHITE.filled(),
    ))?;
    body.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        RGBColor(160, 160, 160),
    ))?;
    let text_style = font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    let sw = LEGEND_SYMBOL_W - 8;
    for (i, (label, symbol)) in entries.iter().enumerate() {
        let y = y0 + LEGEND_MARGIN + LEGEND_PT as i32 / 2 + i as i32 * row_h;
        let x = x0 + LEGEND_MARGIN;
        match *symbol {
            Symbol::Variant { color, marker } => {
                body.draw(&PathElement::new(
                    vec![(x, y), (x + sw, y)],
                    color.stroke_width(3),
                ))?;
                if marker {
                    body.draw(&Circle::new((x + sw / 2, y), 4, color.filled()))?;
                }
            }
            Symbol::Cross => {
                let style = RGBColor(50, 50, 50).stroke_width(2);
                body.draw(&Cross::new((x + sw / 2, y), 5, style))?;
            }
            Symbol::Line {
                color,
                width,
                dash: None,
            } => {
                body.draw(&PathElement::new(
                    vec![(x, y), (x + sw, y)],
                    color.stroke_width(width),
                ))?;
            }
            Symbol::Line {
                color,
                width,
                dash: Some((d, g)),
            } => {
                body.draw(&DashedPathElement::new(
                    vec![(x, y), (x + sw, y)],
                    d,
                    g,
                    color.stroke_width(width),
                ))?;
            }
        }
        body.draw(&Text::new(
            label.as_str(),
            (x + LEGEND_SYMBOL_W, y),
            text_style.clone(),
        ))?;
    }
    Ok(fit)
}

/// The configuration's lengths, each once, in its order.
fn lengths(report: &StudyReport) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for &l in &report.config.lengths {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    // A search's probed lengths, in order after the study's.
    for l in report.lengths() {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The variants' labels, each once: the configuration's in its order, then
/// any that only the runs name.
fn variants(report: &StudyReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let named = report.runs.iter().map(|r| r.variant.clone());
    for v in report.config.labels().into_iter().chain(named) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// A variant's colour: by its index in [`variants`].
fn color(report: &StudyReport, variant: &str) -> RGBColor {
    let all = variants(report);
    let i = all.iter().position(|v| v == variant).unwrap_or(all.len());
    PALETTE[i % PALETTE.len()]
}

/// The runs of one (variant, length).
fn runs_of<'r>(report: &'r StudyReport, variant: &str, length: usize) -> Vec<&'r RunReport> {
    report
        .runs
        .iter()
        .filter(|r| r.variant == variant && r.length == length)
        .collect()
}

/// The majority baseline of a length (the same held-out set for every model).
fn baseline(report: &StudyReport, length: usize) -> Option<f64> {
    report
        .summary
        .iter()
        .filter(|r| r.length == length)
        .map(|r| r.majority_baseline)
        .find(|b| b.is_finite())
}

/// "10 seeds" / "1 seed".
fn seeds_phrase(report: &StudyReport) -> String {
    // A study that adds seeds gives cells of different counts.
    let most = report.summary.iter().map(|r| r.seeds).max().unwrap_or(0);
    match report.config.seeds.len() {
        n if most > n => format!("{n} to {most} seeds"),
        1 => "1 seed".to_owned(),
        n => format!("{n} seeds"),
    }
}

/// The `font-size` in the SVG of a plotters font size.
fn svg_px(plotters_size: f64) -> f64 {
    plotters_size / 1.24
}

/// A bound on the width in pixels of `text` drawn at `px` pixels (the SVG's
/// `font-size`) in the viewer's sans-serif font: per character at least its
/// advance in DejaVu Sans (the widest of the common sans-serif fonts; Arial,
/// Helvetica and Liberation Sans are narrower), bold 12 % wider (at least
/// DejaVu Sans Bold's). Plotters' own estimate counts UTF-8 bytes, 0.56 em
/// each, which is too little for bold text and capitals.
fn text_width(text: &str, px: f64, bold: bool) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | '(' | ')' | '[' | ']' | '/' | '\\'
            | '-' | 'f' | 'i' | 'j' | 'l' | 'r' | 't' | 'I' | 'J' => 0.45,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 1.0,
            'A'..='Z' => 0.8,
            'a'..='z' | '0'..='9' => 0.65,
            'ₘ' => 0.7,
            '‖' | '·' | '–' | '⁰'..='⁹' | '¹' | '²' | '³' | '⁻' | '₀'..='ₜ' => {
                0.55
            }
            '∂' => 0.6,
            'σ' => 0.8,
            c if c.is_ascii() => 0.85,
            _ => 1.0,
        })
        .sum();
    em * px * if bold { 1.12 } else { 1.0 }
}

/// `text` in lines no wider than `max_w` pixels ([`text_width`]): a new
/// line at each `\n`, and within a line a break after a "; " if one fits,
/// else after a ", ", else at a space; a word wider than `max_w` stays whole
/// on its line.
fn wrap(text: &str, px: f64, bold: bool, max_w: f64) -> Vec<String> {
    text.lines()
        .flat_map(|line| wrap_line(line, px, bold, max_w))
        .collect()
}

/// One line of [`wrap`].
fn wrap_line(text: &str, px: f64, bold: bool, max_w: f64) -> Vec<String> {
    let fits = |t: &str| text_width(t, px, bold) <= max_w;
    let mut lines = Vec::new();
    let mut rest = text.trim();
    'lines: while !fits(rest) {
        for sep in ["; ", ", ", " "] {
            let keep = sep.trim_end().len();
            let cut = rest
                .match_indices(sep)
                .map(|(i, _)| i)
                .filter(|&i| i > 0 && fits(&rest[..i + keep]))
                .last();
            if let Some(i) = cut {
                lines.push(rest[..i + keep].to_owned());
                rest = rest[i + sep.len()..].trim_start();
                continue 'lines;
            }
        }
        // No break fits: break at the first space, or give up.
        match rest.split_once(' ') {
            Some((word, tail)) => {
                lines.push(word.to_owned());
                rest = tail.trim_start();
            }
            None => break,
        }
    }
    lines.push(rest.to_owned());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncore::{CurvePoint, GradFlow, Metrics, Outcome, Schedule};
    use study::{SCHEMA, Study, Timing, Variant};

    /// The smoke study: 2 seeds, 1,000 iterations, evaluation every 250.
    fn quick() -> Study {
        Study {
            seeds: vec![0, 1],
            schedule: Schedule {
                iters: 1_000,
                eval_every: 250,
                ..Schedule::default()
            },
            heldout: 256,
            ..Study::article()
        }
    }

    fn long() -> Study {
        Study::preset("long").unwrap()
    }

    /// A deterministic pseudo-random number in [0, 1).
    fn noise(a: u64, b: u64, c: u64) -> f64 {
        let mut z =
            a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ c;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    /// A report shaped like a real study: the DNN learns every length, the
    /// recurrent variants plateau lower as L grows; one RNN run diverges.
    /// Gradient flow: the plain RNN's vanishes (faster before training), the
    /// IRNN's explodes, the gated cells' stay flat; one RNN norm is zero and
    /// one NaN.
    fn synthetic(config: Study) -> StudyReport {
        let mut runs = Vec::new();
        for (vi, variant) in config.variants.iter().enumerate() {
            let model = variant.model.name();
            for &length in &config.lengths {
                for &seed in &config.seeds {
                    let s = seed + 1;
                    let (plateau, even_acc) = match model {
                        "dnn" => (0.97 + 0.02 * noise(s, 1, 0), 0.97),
                        _ => {
                            let hard = (length as f64 / 8.0).log2() * 0.12 / (1.0 + vi as f64);
                            let p = (1.0 - hard * (0.5 + noise(s, 2, length as u64))).max(0.55);
                            (p, p)
                        }
                    };
                    let diverged_at =
                        (vi == 0 && model == "rnn" && length == 32 && seed == 3).then_some(9_000);
                    let mut curve = Vec::new();
                    let mut iter = 0;
                    while iter <= config.schedule.iters && diverged_at.is_none_or(|d| iter < d) {
                        let progress = 1.0 - (-(iter as f64) / 2_500.0).exp();
                        let acc = 0.55
                            + (plateau - 0.55) * progress
                            + 0.01 * (noise(s, iter as u64, 3) - 0.5);
                        let spectral_norm = match model {
                            "dnn" => None,
                            "irnn" => Some(1.0 + 0.2 * progress),
                            _ => Some(2.0 + (0.5 + vi as f64) * progress + 0.1 * noise(s, 4, 0)),
                        };
                        curve.push(CurvePoint {
                            iter,
                            train_correct: (iter > 0).then_some((acc * length as f64) as usize),
                            heldout_acc: acc,
                            heldout_exact: acc.powi(length as i32),
                            loss: 1.0 - acc,
                            train_loss: (iter > 0).then_some(1.0 - acc),
                            grad_norm: (iter > 0).then_some(1.0),
                            spectral_norm,
                        });
                        iter += config.schedule.eval_every;
                    }
                    let per_position_acc: Vec<f64> = (0..length)
                        .map(|t| match t {
                            0 => 1.0,
                            t if t % 2 == 1 => (0.99 - 0.002 * t as f64).max(0.5),
                            _ => (even_acc - 0.003 * t as f64).max(0.5),
                        })
                        .collect();
                    // A diverged model answers garbage (NaN outputs read as 0).
                    let final_acc = if diverged_at.is_some() {
                        0.45
                    } else {
                        curve.last().unwrap().heldout_acc
                    };
                    let iters = curve.last().map_or(0, |p| p.iter);
                    let flow = |iter: usize, rate: f64| GradFlow {
                        iter,
                        norms: (0..length)
                            .map(|t| {
                                let back = (length - 1 - t) as f64;
                                0.3 * (1.0 + 0.2 * noise(s, t as u64, iter as u64))
                                    * rate.powf(back)
                            })
                            .collect(),
                    };
                    let grad_flow = match model {
                        "dnn" => None,
                        _ => {
                            let (r0, r1) = match model {
                                "rnn" => (0.5, 0.8 + 0.05 * vi as f64),
                                "irnn" => (1.0, 1.03),
                                _ => (0.98, 0.995),
                            };
                            let mut f = vec![
                                flow(0, r0),
                                flow(config.schedule.iters / 2, (r0 + r1) / 2.0),
                            ];
                            if diverged_at.is_none() {
                                f.push(flow(iters, r1));
                            }
                            if model == "rnn" && seed == config.seeds[0] {
                                f[0].norms[0] = 0.0;
                                *f.last_mut().unwrap().norms.last_mut().unwrap() = f64::NAN;
                            }
                            Some(f)
                        }
                    };
                    let job = study::Job {
                        variant: *variant,
                        length,
                        seed,
                    };
                    runs.push(RunReport {
                        variant: variant.label(),
                        settings: *variant,
                        inputs: job.inputs(&config),
                        fingerprint: job.fingerprint(&config, &study::build_id()),
                        build: study::build_id(),
                        made_by: None,
                        shard: None,
                        length,
                        seed,
                        iters,
                        wall_s: 1.0,
                        eval_s: 0.1,
                        clipped_updates: 0,
                        iters_to_90: Outcome::first_reaching(&curve, 0.9),
                        iters_to_95: Outcome::first_reaching(&curve, 0.95),
                        curve,
                        final_metrics: Metrics {
                            heldout_acc: final_acc,
                            heldout_exact: 0.5,
                            per_position_acc,
                            heldout_loss: 0.5,
                        },
                        diverged: diverged_at.is_some(),
                        diverged_at,
                        grad_flow_last: grad_flow.clone(),
                        grad_flow,
                    });
                }
            }
        }
        let mut summary = Vec::new();
        for variant in &config.variants {
            for &length in &config.lengths {
                let these: Vec<&RunReport> = runs
                    .iter()
                    .filter(|r| r.variant == variant.label() && r.length == length)
                    .collect();
                summary.push(study::summarise(
                    variant,
                    length,
                    &these,
                    // The task's zigzag: position 0 is always right.
                    (0..length)
                        .map(|t| {
                            if t == 0 {
                                1.0
                            } else if t % 2 == 1 {
                                0.51
                            } else {
                                0.84 - 0.1 / length as f64
                            }
                        })
                        .collect(),
                ));
            }
        }
        StudyReport {
            schema: SCHEMA.to_owned(),
            config,
            runs,
            summary,
            verdict: Vec::new(),
            provenance: None,
            mixed_provenance: Vec::new(),
            missing: Vec::new(),
            search: Vec::new(),
            timing: Timing {
                total_wall_s: 1.0,
                train_s: 1.0,
                eval_s: 0.1,
                threads: 1,
            },
        }
    }

    /// The contents of an SVG's `<text>` elements, trimmed.
    fn texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                t.split_once('>')
                    .and_then(|(_, rest)| rest.split_once("</text>"))
            })
            .map(|(text, _)| text.trim())
            .collect()
    }

    /// A `<text>` element: where, how and what.
    #[derive(Debug)]
    struct SvgText {
        x: f64,
        y: f64,
        anchor: String,
        size: f64,
        bold: bool,
        rotated: bool,
        text: String,
    }

    /// The value of attribute `name` in a tag's text.
    fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        tag[at..].split_once('"').map(|(v, _)| v)
    }

    /// The SVG's width and height.
    fn canvas(svg: &str) -> (f64, f64) {
        let tag = svg.split_once('>').unwrap().0;
        let num = |n| attr(tag, n).unwrap().parse().unwrap();
        (num("width"), num("height"))
    }

    /// Every `<text>` element, its content unescaped.
    fn svg_texts(svg: &str) -> Vec<SvgText> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let (tag, rest) = t.split_once('>').unwrap();
                let text = rest.split_once("</text>").unwrap().0.trim();
                let num = |n| attr(tag, n).unwrap().parse().unwrap();
                SvgText {
                    x: num("x"),
                    y: num("y"),
                    anchor: attr(tag, "text-anchor").unwrap_or("start").to_owned(),
                    size: num("font-size"),
                    bold: attr(tag, "font-weight") == Some("bold"),
                    rotated: attr(tag, "transform").is_some(),
                    text: text
                        .replace("&apos;", "'")
                        .replace("&quot;", "\"")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&amp;", "&"),
                }
            })
            .collect()
    }

    /// A `<polyline>`: stroke colour, width, opacity, whether dashed, and
    /// its points in pixels.
    #[derive(Debug)]
    struct Polyline {
        stroke: String,
        width: String,
        opacity: String,
        dashed: bool,
        points: Vec<(f64, f64)>,
    }

    fn polylines(svg: &str) -> Vec<Polyline> {
        svg.split("<polyline")
            .skip(1)
            .map(|t| {
                let tag = t.split_once("/>").unwrap().0;
                let get = |n| attr(tag, n).unwrap_or_default().to_owned();
                let points = get("points")
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect();
                Polyline {
                    stroke: get("stroke"),
                    width: get("stroke-width"),
                    opacity: get("opacity"),
                    dashed: attr(tag, "stroke-dasharray").is_some(),
                    points,
                }
            })
            .collect()
    }

    /// A colour as the SVG writes it.
    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    /// The thin per-seed lines of a variant's colour.
    fn seed_lines(svg: &str, c: RGBColor) -> Vec<Polyline> {
        polylines(svg)
            .into_iter()
            .filter(|p| p.stroke == hex(c) && p.width == "1" && p.opacity == SEED_ALPHA.to_string())
            .collect()
    }

    /// The x pixel of the tick labelled `label`.
    fn tick_x(svg: &str, label: &str) -> f64 {
        svg_texts(svg)
            .into_iter()
            .find(|t| t.text == label && t.anchor == "middle")
            .unwrap_or_else(|| panic!("no tick {label}"))
            .x
    }

    #[test]
    fn curves_show_every_seed_from_iteration_0() {
        let report = synthetic(Study::article());
        let svg = curve(&report, 32).unwrap();
        let zero = tick_x(&svg, "0");
        let last = tick_x(&svg, "20000");
        for v in ["rnn", "dnn"] {
            let lines = seed_lines(&svg, color(&report, v));
            assert_eq!(lines.len(), 10, "{v}: one thin line per seed");
            for l in &lines {
                assert!(
                    (l.points[0].0 - zero).abs() <= 1.0,
                    "{v} starts at 0: {l:?}"
                );
            }
            // The diverged run's line stops (at 8,500 of 20,000), the others
            // run to the end.
            let ends: Vec<f64> = lines.iter().map(|l| l.points.last().unwrap().0).collect();
            let stopped = ends.iter().filter(|&&x| x < last - 1.0).count();
            assert_eq!(stopped, usize::from(v == "rnn"), "{v}: {ends:?}");
        }
        // The mean is thick, over the seeds still running.
        let means: Vec<Polyline> = polylines(&svg)
            .into_iter()
            .filter(|p| p.width == "3" && p.points.len() > 2)
            .collect();
        assert_eq!(means.len(), 2, "{means:?}");
        let shown = texts(&svg);
        assert!(
            shown
                .iter()
                .any(|t| t.contains("thick: mean over the seeds still running")),
            "{shown:?}"
        );
        // The majority baseline: one dashed grey line across the chart (and
        // its legend symbol).
        let grey: Vec<Polyline> = polylines(&svg)
            .into_iter()
            .filter(|p| p.stroke == hex(BASELINE) && p.dashed)
            .collect();
        assert_eq!(grey.len(), 2, "{grey:?}");
        assert!(
            grey.iter()
                .any(|p| p.points[0].0 == zero && p.points[1].0 == last)
        );
        // Without a diverged run, no cross and a plain mean.
        let shown = texts(&curve(&report, 8).unwrap()).join("\n");
        assert!(!shown.contains("diverged"), "{shown}");
        assert!(shown.contains("thin: each seed; thick: their mean;"));
    }

    /// `ys` as an affine function of `values` (fitted through the first
    /// value and the one farthest from it), to within a pixel.
    fn assert_affine(what: &str, values: &[f64], ys: &[f64]) {
        assert_eq!(values.len(), ys.len(), "{what}");
        let far = |i: &usize| ((values[*i] - values[0]).abs() * 1e6) as u64;
        let j = (0..values.len()).max_by_key(far).unwrap();
        let slope = (ys[j] - ys[0]) / (values[j] - values[0]);
        for (v, y) in values.iter().zip(ys) {
            let want = ys[0] + slope * (v - values[0]);
            assert!((y - want).abs() <= 1.0, "{what}: {v} at {y}, not {want}");
        }
    }

    #[test]
    fn per_position_plots_draw_the_majority_of_each_position() {
        let report = synthetic(Study::article());
        for l in [8, 16, 32] {
            let svg = per_position(&report, l).unwrap();
            let majority = &report.summary.iter().find(|r| r.length == l).unwrap();
            let want = &majority.majority_per_position;
            let zigzag: Vec<Polyline> = polylines(&svg)
                .into_iter()
                .filter(|p| p.stroke == hex(BASELINE) && p.dashed && p.points.len() == l)
                .collect();
            assert_eq!(
                zigzag.len(),
                1,
                "L = {l}: one dashed line through every position"
            );
            let (xs, ys): (Vec<f64>, Vec<f64>) = zigzag[0].points.iter().copied().unzip();
            let ts: Vec<f64> = (0..l).map(|t| t as f64).collect();
            assert_affine("x", &ts, &xs);
            assert_affine("y", want, &ys);
            // Higher on screen (smaller y) where the majority is right more.
            assert!(ys[2] < ys[1], "{ys:?}");
            let shown = texts(&svg);
            assert!(
                shown.contains(&"majority label of each position"),
                "{shown:?}"
            );
            assert!(!shown.iter().any(|t| t.contains("over all positions")));
            // Thin lines: every seed that did not diverge (one rnn run
            // diverged at L = 32; it is left out, and the legend says so).
            let diverged = usize::from(l == 32);
            assert_eq!(seed_lines(&svg, color(&report, "rnn")).len(), 10 - diverged);
            assert_eq!(seed_lines(&svg, color(&report, "dnn")).len(), 10);
            assert_eq!(
                shown.contains(&"rnn (1 of 10 seeds diverged, left out)"),
                l == 32,
                "{shown:?}"
            );
            for line in seed_lines(&svg, color(&report, "dnn")) {
                assert_eq!(line.points.len(), l);
            }
        }
        // Long sequences: the majority at even and at odd positions.
        let mut config = long();
        config.lengths = vec![128];
        config.seeds = vec![0, 1];
        let report = synthetic(config);
        let svg = per_position(&report, 128).unwrap();
        let even = polylines(&svg)
            .into_iter()
            .filter(|p| p.stroke == hex(BASELINE) && p.width == "2" && p.points.len() == 64)
            .count();
        assert_eq!(even, 1);
        assert!(texts(&svg).contains(&"majority label of each position"));
    }

    /// The y pixel of accuracy `v`, from the y tick labels 0.5 and 1.0.
    fn accuracy_y(svg: &str) -> impl Fn(f64) -> f64 {
        let tick = |label: &str| {
            svg_texts(svg)
                .into_iter()
                .find(|t| t.text == label && t.anchor == "end")
                .unwrap()
                .y
        };
        let (y05, y10) = (tick("0.5"), tick("1.0"));
        move |v| y05 + (v - 0.5) / 0.5 * (y10 - y05)
    }

    /// The centres of the circles of radius `r` in colour `c`.
    fn circles(svg: &str, c: RGBColor, r: &str) -> Vec<(f64, f64)> {
        svg.split("<circle")
            .skip(1)
            .map(|t| t.split_once("/>").unwrap().0)
            .filter(|t| attr(t, "r") == Some(r) && attr(t, "fill") == Some(&hex(c)))
            .map(|t| {
                let num = |n| attr(t, n).unwrap().parse::<f64>().unwrap();
                (num("cx"), num("cy"))
            })
            .collect()
    }

    /// A search's probes crowd together (128, 136, …, 192): only labels
    /// that do not overlap are kept, every power of two among them.
    #[test]
    fn crowded_lengths_keep_spaced_labels_and_the_powers_of_two() {
        let lengths = [
            8, 16, 32, 64, 128, 136, 144, 152, 160, 176, 192, 256, 272, 288, 512,
        ];
        let gap = 0.3;
        let ticks = spaced_log2_ticks(&lengths, gap);
        for w in ticks.windows(2) {
            assert!(w[1] - w[0] >= gap, "{ticks:?}");
        }
        for l in [8, 16, 32, 64, 128, 256, 512] {
            assert!(ticks.contains(&f64::from(l).log2()), "{l}: {ticks:?}");
        }
        // The shortest length far enough from 128 is labelled (160), and
        // the lengths too near it are not.
        assert!(ticks.contains(&160f64.log2()), "{ticks:?}");
        for l in [136, 144, 152, 176] {
            assert!(!ticks.contains(&f64::from(l).log2()), "{l}: {ticks:?}");
        }
        // Lengths far apart are all labelled.
        assert_eq!(spaced_log2_ticks(&[8, 12, 24], gap).len(), 3);
    }

    #[test]
    fn accuracy_against_length_has_95_percent_intervals() {
        let mut report = synthetic(Study::article());
        let rnn = color(&report, "rnn");
        let svg = accuracy_vs_length(&report).unwrap();
        let y = accuracy_y(&svg);
        // Error bars: vertical rnn lines, from mean − h to mean + h.
        let bars = |svg: &str| -> Vec<(f64, f64)> {
            let mut b: Vec<(f64, f64)> = polylines(svg)
                .into_iter()
                .filter(|p| p.stroke == hex(rnn) && p.width == "2" && p.points.len() == 2)
                .filter(|p| p.points[0].0 == p.points[1].0)
                .map(|p| (p.points[0].1, p.points[1].1))
                .collect();
            b.sort_by(|a, b| a.0.total_cmp(&b.0));
            b
        };
        let rows: Vec<&study::SummaryRow> = report
            .summary
            .iter()
            .filter(|r| r.variant == "rnn")
            .collect();
        let mut want: Vec<(f64, f64)> = rows
            .iter()
            .map(|r| {
                let h = r.heldout_acc_ci95.unwrap();
                let m = r.heldout_acc_mean;
                (y((m - h).max(0.0)), y((m + h).min(1.0)))
            })
            .collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0));
        let got = bars(&svg);
        assert_eq!(got.len(), 3, "{got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.0 - w.0).abs() <= 1.5 && (g.1 - w.1).abs() <= 1.5,
                "{got:?} {want:?}"
            );
        }
        // The diverged run (final accuracy 0.45) is a cross, not a dot, and
        // not in the mean.
        let shown = texts(&svg);
        assert!(
            shown.contains(&"diverged seed (not in the mean)"),
            "{shown:?}"
        );
        assert!(shown.iter().any(|t| t.contains("95% t-interval")));
        // Without summary rows the mean is computed here, over the seeds
        // that did not diverge.
        let kept: Vec<f64> = report
            .runs
            .iter()
            .filter(|r| r.variant == "rnn" && r.length == 32 && !r.diverged)
            .map(|r| r.final_metrics.heldout_acc)
            .collect();
        let mean32 = kept.iter().sum::<f64>() / kept.len() as f64;
        // A huge interval is cut to [0, 1].
        report.summary.iter_mut().for_each(|r| {
            if r.length == 8 {
                r.heldout_acc_ci95 = Some(5.0);
            }
        });
        report.summary.retain(|r| r.length != 32);
        let svg = accuracy_vs_length(&report).unwrap();
        let y = accuracy_y(&svg);
        let means = circles(&svg, rnn, "6");
        assert_eq!(means.len(), 3);
        assert!(
            means.iter().any(|p| (p.1 - y(mean32)).abs() <= 1.0),
            "{means:?}, want {}",
            y(mean32)
        );
        let cut = |b: &(f64, f64)| (b.0 - y(0.0)).abs() <= 1.0 && (b.1 - y(1.0)).abs() <= 1.0;
        assert!(bars(&svg).iter().any(cut), "{:?}", bars(&svg));
    }

    /// Every text element lies inside the canvas, by [`text_width`]'s
    /// bound: horizontal ones from their anchor, the rotated axis label
    /// about its centre.
    fn assert_texts_fit(name: &str, svg: &str) {
        let (w, h) = canvas(svg);
        for t in svg_texts(svg) {
            let len = text_width(&t.text, t.size, t.bold);
            let (along, extent) = if t.rotated { (t.y, h) } else { (t.x, w) };
            let start = match t.anchor.as_str() {
                "middle" => along - len / 2.0,
                "end" => along - len,
                _ => along,
            };
            assert!(
                start >= 0.0 && start + len <= extent,
                "{name}: {t:?} ({len:.0} px) overflows [0, {extent}]"
            );
            assert!(
                (0.0..=w).contains(&t.x) && (0.0..=h).contains(&t.y),
                "{name}: {t:?} is off the canvas"
            );
        }
    }

    #[test]
    fn every_text_fits_the_canvas() {
        let mut long_names = long();
        long_names.lengths = vec![8, 256];
        long_names.seeds = (0..100).collect();
        for v in &mut long_names.variants {
            v.clip = Some(nncore::ClipNorm::new(12.5).unwrap());
        }
        let mut one = quick();
        one.seeds = vec![7];
        for config in [Study::article(), long(), long_names, one] {
            let report = synthetic(config);
            for (name, svg) in all(&report).unwrap() {
                assert_texts_fit(&name, &svg);
                // Math reads as text: no TeX-style subscripts.
                for t in texts(&svg) {
                    assert!(!t.contains('_'), "{name}: {t:?}");
                }
            }
        }
    }

    /// Writes the synthetic studies' plots to `$PLOTS_OUT` (default
    /// `/tmp/plots-synthetic`), to look at them:
    /// `cargo test -p plots -- --ignored write_synthetic_plots`.
    #[test]
    #[ignore = "writes files, for looking at the plots"]
    fn write_synthetic_plots() {
        let out = std::env::var("PLOTS_OUT").unwrap_or_else(|_| "/tmp/plots-synthetic".into());
        let mut odd = quick();
        odd.lengths = vec![1, 1024];
        let mut log_spectral = synthetic(quick());
        for r in log_spectral.runs.iter_mut().filter(|r| r.seed == 0) {
            for p in &mut r.curve {
                p.spectral_norm = p.spectral_norm.map(|s| s * 100.0);
            }
        }
        for (dir, report) in [
            ("article", synthetic(Study::article())),
            ("long", synthetic(long())),
            ("odd", synthetic(odd)),
            ("log_spectral", log_spectral),
        ] {
            let dir = std::path::Path::new(&out).join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, svg) in all(&report).unwrap() {
                std::fs::write(dir.join(name), svg).unwrap();
            }
        }
    }

    /// [`text_width`] bounds DejaVu Sans (measured with fontTools: the sum
    /// of the advance widths, in em).
    #[test]
    fn text_widths_bound_dejavu_sans() {
        for (text, bold, dejavu_em) in [
            (
                "Held-out accuracy, L = 32 (mean over 10 seeds)",
                true,
                27.07,
            ),
            ("the last step's error, traced back", false, 16.36),
            ("WWW MMM mmm www", false, 11.88),
            ("WWW MMM mmm www", true, 13.24),
            ("‖∂E(L−1)/∂hₜ‖ (log scale)", false, 12.26),
            ("1.5·10⁻⁷ 0123456789", false, 10.79),
        ] {
            let est = text_width(text, 1.0, bold);
            assert!(est >= dejavu_em, "{text:?}: {est} < {dejavu_em}");
            assert!(est <= 1.35 * dejavu_em, "{text:?}: {est} ≫ {dejavu_em}");
        }
        let lines = wrap("aaaa; bbbb, cccc dddd", 10.0, false, 100.0);
        assert_eq!(lines, ["aaaa;", "bbbb, cccc dddd"]);
        let lines = wrap("bbbb, cccc dddd eeee", 10.0, false, 100.0);
        assert_eq!(lines, ["bbbb,", "cccc dddd eeee"]);
        assert_eq!(wrap("aaaa bbbb", 10.0, false, 10.0), ["aaaa", "bbbb"]);
        assert_eq!(wrap("short", 10.0, false, 1000.0), ["short"]);
    }

    #[test]
    fn every_plot_is_named_and_has_text() {
        let report = synthetic(Study::article());
        let plots = all(&report).unwrap();
        let names: Vec<&str> = plots.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "curve_L8.svg",
                "curve_L16.svg",
                "curve_L32.svg",
                "accuracy_vs_length.svg",
                "per_position_L8.svg",
                "per_position_L16.svg",
                "per_position_L32.svg",
                "grad_flow_L8.svg",
                "grad_flow_L16.svg",
                "grad_flow_L32.svg",
                "spectral_norm_L8.svg",
                "spectral_norm_L16.svg",
                "spectral_norm_L32.svg",
            ]
        );
        for (name, svg) in &plots {
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{name}"
            );
            let texts = texts(svg);
            assert!(
                texts.len() > 15,
                "{name}: only {} text elements",
                texts.len()
            );
            assert!(
                texts.iter().any(|t| t.starts_with("rnn")),
                "{name} lacks rnn: {texts:?}"
            );
            assert!(!svg.contains("NaN"), "{name} has a NaN");
        }
        for (name, svg) in &plots[..7] {
            let texts = texts(svg);
            for want in ["dnn", "1.0", "0.5"] {
                assert!(
                    texts.contains(&want),
                    "{name} lacks the text {want:?}: {texts:?}"
                );
            }
            assert!(
                texts.iter().any(|t| t.starts_with("majority baseline")
                    || *t == "majority label of each position"),
                "{name}"
            );
            assert!(
                texts.iter().any(|t| t.contains("held-out accuracy")),
                "{name}"
            );
        }
        let curve32 = texts(&plots[2].1);
        assert!(curve32.contains(&"Held-out accuracy during training, L = 32 (10 seeds)"));
        assert!(
            curve32.contains(&"rnn (1 of 10 seeds diverged)")
                && curve32.contains(&"diverged: the seed stops there"),
            "{curve32:?}"
        );
        assert!(curve32.contains(&"training iteration") && curve32.contains(&"20000"));
        assert!(
            curve32.contains(&"majority baseline (0.679)"),
            "{curve32:?}"
        );
        let per32 = texts(&plots[6].1);
        assert!(per32.contains(&"Accuracy at each position at the end of training, L = 32"));
        assert!(per32.contains(&"0") && per32.contains(&"30"), "{per32:?}");
        // The log2 length axis is labelled with the lengths themselves.
        let by_length = texts(&plots[3].1);
        for l in ["8", "16", "32"] {
            assert!(
                by_length.contains(&l),
                "accuracy_vs_length lacks the tick {l}: {by_length:?}"
            );
        }
        // Gradient flow: no dnn (it has none), both line styles explained,
        // a log axis labelled in powers of ten (the rnn's start vanishes to
        // 0.5^31 ≈ 5e-10 at t = 1; the zero at t = 0 is skipped).
        let flow32 = texts(&plots[9].1);
        assert!(
            flow32.contains(&"Gradient flow ‖∂E(L−1)/∂hₜ‖, L = 32 (10 seeds)"),
            "{flow32:?}"
        );
        assert!(!flow32.contains(&"dnn"));
        for want in [
            "rnn (end: 9 of 10 seeds; skipped: 1 zero, 1 non-finite)",
            "solid: end of training",
            "dashed: before training",
            "time step t",
            "10⁻¹⁰",
        ] {
            assert!(
                flow32.contains(&want),
                "grad_flow_L32 lacks {want:?}: {flow32:?}"
            );
        }
        let spectral8 = texts(&plots[10].1);
        assert!(
            spectral8
                .iter()
                .any(|t| t.starts_with("Largest singular value"))
        );
        assert!(spectral8.contains(&"largest singular value of W or Wₕₕ"));
        assert!(!spectral8.contains(&"dnn"));
        assert!(
            spectral8.contains(&"1.0") && spectral8.contains(&"2.0"),
            "{spectral8:?}"
        );
        // Same input, same bytes.
        assert_eq!(all(&report).unwrap(), plots);
    }

    #[test]
    fn variants_sharing_a_model_are_told_apart() {
        let mut config = long();
        config.lengths = vec![8, 128];
        config.seeds = vec![0, 1];
        let report = synthetic(config);
        let plots: BTreeMap<String, String> = all(&report).unwrap().into_iter().collect();
        assert_eq!(plots.len(), 2 + 1 + 2 + 2 + 2);
        let labels = report.config.labels();
        let colors: Vec<RGBColor> = labels.iter().map(|v| color(&report, v)).collect();
        for (i, c) in colors.iter().enumerate() {
            assert!(!colors[..i].contains(c), "{} shares a colour", labels[i]);
        }
        for (name, svg) in &plots {
            let texts = texts(svg);
            let recurrent = [
                "rnn f32",
                "rnn clip 1 f32",
                "irnn f32",
                "gru adam lr 0.01/0.003 f32",
            ];
            for want in recurrent {
                let noted = format!("{want} (");
                assert!(
                    texts.iter().any(|t| *t == want || t.starts_with(&noted)),
                    "{name} lacks {want:?}: {texts:?}"
                );
            }
            let dnn = texts.contains(&"dnn f32");
            assert_eq!(
                dnn,
                !name.starts_with("grad_flow") && !name.starts_with("spectral")
            );
            assert!(!svg.contains("NaN"), "{name} has a NaN");
        }
        // Above 64 positions, even and odd positions are separate lines.
        let per128 = texts(&plots["per_position_L128.svg"]);
        assert!(per128.contains(&"solid: even t") && per128.contains(&"dashed: odd t"));
        assert!(!texts(&plots["per_position_L8.svg"]).contains(&"solid: even t"));
    }

    #[test]
    fn spectral_norms_spanning_decades_go_on_a_log_axis() {
        let mut report = synthetic(quick());
        for r in report.runs.iter_mut().filter(|r| r.seed == 0) {
            for p in &mut r.curve {
                p.spectral_norm = p.spectral_norm.map(|s| s * 100.0);
            }
            r.curve[0].spectral_norm = Some(f64::NAN);
        }
        let texts_of = |report: &StudyReport| -> Vec<String> {
            let svg = spectral_norm(report, 8).unwrap();
            assert!(!svg.contains("NaN"));
            texts(&svg).into_iter().map(str::to_owned).collect()
        };
        let log = texts_of(&report);
        assert!(log.contains(&"largest singular value (log scale)".to_owned()));
        assert!(
            log.iter()
                .any(|t| *t == "thin: each of 2 seeds; thick: their geometric mean")
        );
        assert!(log.contains(&"100".to_owned()), "{log:?}");
        let linear = texts_of(&synthetic(quick()));
        assert!(
            linear
                .iter()
                .any(|t| *t == "thin: each of 2 seeds; thick: their mean")
        );
    }

    #[test]
    fn log_axes_have_round_labels() {
        let label = |y: &AxisSpec| -> Vec<String> { y.ticks.iter().map(|t| (y.fmt)(t)).collect() };
        // Thirty decades: ticks every 5, in powers of ten.
        let y = log_axis([-30.0, 0.3, f64::NEG_INFINITY, f64::NAN], "g");
        assert_eq!(
            label(&y),
            ["10⁻³⁰", "10⁻²⁵", "10⁻²⁰", "10⁻¹⁵", "10⁻¹⁰", "10⁻⁵", "10⁰"]
        );
        // Two decades: 1, 2, 5 × 10^k, as plain numbers.
        let y = log_axis([0.01f64.log10(), 0.9f64.log10()], "g");
        assert_eq!(
            label(&y),
            ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"]
        );
        // Within a decade: every mantissa.
        let y = log_axis([2e-6f64.log10(), 9e-6f64.log10()], "g");
        assert_eq!(label(&y)[0], "2·10⁻⁶");
        assert_eq!(label(&y).len(), 8);
        // Nothing to show: a decade-ish default, no panic.
        assert!(!log_axis([f64::NAN], "g").ticks.is_empty());
        assert_eq!(decade(3.0 - 1e-12), (10, 3));
        assert_eq!(decade(0.5f64.log10()), (50, -1));
        assert_eq!(decade(1.5e-6f64.log10()), (15, -6));
        // Half a decade: finer mantissas.
        let y = log_axis([0.11f64.log10(), 0.42f64.log10()], "g");
        assert_eq!(label(&y), ["0.12", "0.15", "0.2", "0.25", "0.3", "0.4"]);
        let y = log_axis([1.1e-7f64.log10(), 4.2e-7f64.log10()], "g");
        assert_eq!(label(&y)[..2], ["1.2·10⁻⁷", "1.5·10⁻⁷"]);
        let y = linear_axis(1.0, 2.6, "s");
        assert_eq!(
            label(&y),
            [
                "1.0", "1.2", "1.4", "1.6", "1.8", "2.0", "2.2", "2.4", "2.6"
            ]
        );
    }

    #[test]
    fn bands_skip_missing_and_non_finite_points() {
        let b = Band::from_samples([
            (1, 0.5),
            (1, 0.7),
            (2, 0.9),
            (1, f64::NAN),
            (2, f64::INFINITY),
        ]);
        assert_eq!(b.x, [1.0, 2.0]);
        assert!((b.mean[0] - 0.6).abs() < 1e-12);
        assert_eq!(b.mean[1], 0.9);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 20_000.0, 10, 1.0),
            (0..=10).map(|k| k as f64 * 2_000.0).collect::<Vec<_>>()
        );
        assert_eq!(
            nice_ticks(0.0, 7.0, 16, 1.0),
            (0..=7).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(nice_ticks(0.0, 0.0, 16, 1.0), [0.0]);
        let y = accuracy_axis([0.55, 0.9], "acc");
        assert!(y.range.start <= 0.4 && y.range.end > 1.0);
        assert_eq!(y.ticks.len(), 7);
        assert!((y.ticks[0] - 0.4).abs() < 1e-9 && (y.ticks[6] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn odd_configurations_and_nans_still_plot() {
        let mut config = quick();
        config.variants = vec![Variant::article("dnn".parse().unwrap())];
        config.lengths = vec![1, 1024, 64];
        config.seeds = vec![5, 6];
        let mut report = synthetic(config);
        for r in report.runs.iter_mut().filter(|r| r.seed == 5) {
            r.final_metrics.heldout_acc = f64::NAN;
            r.final_metrics.per_position_acc[0] = f64::NAN;
            r.curve[1].heldout_acc = f64::NAN;
        }
        for row in &mut report.summary {
            row.heldout_acc_mean = f64::NAN;
        }
        report.summary.retain(|r| r.length != 64);
        let plots = all(&report).unwrap();
        let names: Vec<&str> = plots.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "curve_L1.svg",
                "curve_L1024.svg",
                "curve_L64.svg",
                "accuracy_vs_length.svg",
                "per_position_L1.svg",
                "per_position_L1024.svg",
                "per_position_L64.svg",
            ]
        );
        for (name, svg) in &plots {
            let texts = texts(svg);
            assert!(texts.contains(&"dnn") && !texts.contains(&"rnn"), "{name}");
            assert!(!svg.contains("NaN"), "{name} has a NaN");
        }
        // No summary row at L = 64: no baseline there.
        assert!(!texts(&plots[2].1).iter().any(|t| t.starts_with("majority")));
        assert!(texts(&plots[3].1).contains(&"1024"));
    }
}
