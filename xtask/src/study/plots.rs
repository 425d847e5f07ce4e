//! The study's SVG plots (SPEC §3): held-out accuracy against iteration for
//! each length, final accuracy against length, and accuracy at each position
//! at the end of training.
//!
//! Plotters is built without fonts (SVG backend only): text goes out as SVG
//! `<text>` elements that the viewer renders with its own sans-serif font, and
//! plotters only estimates its size for the layout. Sizes given to plotters are
//! 1.24 times the `font-size` written to the SVG.

use std::collections::BTreeMap;
use std::ops::Range;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{RunReport, StudyReport, mean_std};
use crate::models::ModelKind;

/// Canvas size in pixels.
const SIZE: (u32, u32) = (960, 560);
/// Height of the title block above the chart.
const HEADER_H: u32 = 62;
/// The models' colours, by index in the configuration (Tableau 10 without
/// its grey, which the baseline uses).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
/// The majority baseline's colour.
const BASELINE: RGBColor = RGBColor(105, 105, 105);
/// Opacity of the min-max bands.
const BAND_ALPHA: f64 = 0.2;
/// Font: plotters sizes (the SVG gets these / 1.24).
const FONT: &str = "sans-serif";
const TITLE_PT: f64 = 27.0;
const SUBTITLE_PT: f64 = 20.0;
const AXIS_DESC_PT: f64 = 22.0;
const TICK_PT: f64 = 19.0;
const LEGEND_PT: f64 = 20.0;
/// Legend geometry, as plotters lays it out.
const LEGEND_MARGIN: i32 = 10;
const LEGEND_SYMBOL_W: i32 = 34;
/// Per-position plots put markers on the mean line up to this length.
const MARKERS_UP_TO: usize = 64;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Axis2d = Cartesian2d<Ticked, Ticked>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Axis2d>;

/// Every plot of a study as (file name, SVG text): `curve_L{L}.svg` for each
/// length, then `accuracy_vs_length.svg`, then `per_position_L{L}.svg` for
/// each length, lengths in the configuration's order.
pub fn all(report: &StudyReport) -> Result<Vec<(String, String)>> {
    let lengths = lengths(report);
    let mut out = Vec::with_capacity(2 * lengths.len() + 1);
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
    Ok(out)
}

/// Held-out accuracy against training iteration at length `l`: per model the
/// mean over seeds and the min-max band, and the majority baseline.
fn curve(report: &StudyReport, l: usize) -> Result<String> {
    let seeds = seeds_phrase(report);
    let title = format!("Held-out accuracy, L = {l} (mean and min-max over {seeds})");
    let subtitle = format!(
        "on {} held-out sequences, evaluated every {} iterations; runs that diverged count until they stop",
        report.config.heldout, report.config.eval_every
    );
    let bands: Vec<(ModelKind, Band)> = models(report)
        .into_iter()
        .map(|m| {
            let runs = runs_of(report, m, l);
            let samples = runs
                .iter()
                .flat_map(|r| r.curve.iter().map(|p| (p.iter, p.heldout_acc)));
            (m, Band::from_samples(samples))
        })
        .filter(|(_, b)| !b.x.is_empty())
        .collect();
    let baseline = baseline(report, l);

    let max_iter = bands
        .iter()
        .flat_map(|(_, b)| b.x.iter().copied())
        .fold(0.0, f64::max);
    let x_hi = (report.config.iters as f64).max(max_iter).max(1.0);
    let x = AxisSpec {
        range: 0.0..x_hi,
        ticks: nice_ticks(0.0, x_hi, 10, 1.0),
        desc: "training iteration".to_owned(),
        fmt: Box::new(|v| format!("{v:.0}")),
    };
    let lows = bands
        .iter()
        .flat_map(|(_, b)| b.min.iter().copied())
        .chain(baseline);
    let y = accuracy_axis(lows, "held-out accuracy");

    render(&title, &subtitle, |body| {
        let mut chart = build_chart(body, &x, &y)?;
        let mut occupied = Vec::new();
        for (m, b) in &bands {
            draw_band(&mut chart, b, color(report, *m), &mut occupied)?;
        }
        if let Some(base) = baseline {
            draw_baseline(&mut chart, &[(0.0, base), (x_hi, base)], &mut occupied)?;
        }
        for (m, b) in &bands {
            draw_mean(&mut chart, b, color(report, *m), false, &mut occupied)?;
        }
        let mut labels = model_legend(
            &mut chart,
            bands.iter().map(|(m, _)| *m),
            report,
            true,
            false,
        )?;
        if let Some(base) = baseline {
            labels.push(baseline_legend(
                &mut chart,
                format!("majority baseline ({base:.3})"),
            )?);
        }
        draw_legend(&mut chart, body, &labels, &occupied)
    })
}

/// Final held-out accuracy against length (log2 axis): per model the mean
/// with ± one standard deviation (clipped to [0, 1]) and each seed as a dot,
/// and the majority baseline of each length.
fn accuracy_vs_length(report: &StudyReport) -> Result<String> {
    let seeds = seeds_phrase(report);
    let title = format!("Final held-out accuracy against length (mean ± std over {seeds})");
    let subtitle = format!(
        "after {} iterations, on {} held-out sequences; small dots: single seeds",
        report.config.iters, report.config.heldout
    );
    let mut lengths = lengths(report);
    lengths.sort_unstable();
    let models = models(report);
    let (lo, hi) = match (lengths.first(), lengths.last()) {
        (Some(&a), Some(&b)) => ((a as f64).log2(), (b as f64).log2()),
        _ => (0.0, 1.0),
    };
    let pad = ((hi - lo) * 0.08).max(0.4);
    // About one pixel in log2 units (the plotting area is ~840 px wide).
    let px = (hi - lo + 2.0 * pad) / 840.0;
    let n_models = models.len().max(1) as f64;
    // Models side by side around each length, so error bars do not overlap;
    // each seed's dot just right of its model's error bar.
    let dodge = |i: usize| (i as f64 - (n_models - 1.0) / 2.0) * 26.0 * px;
    let (cap, seed_shift) = (6.0 * px, 9.0 * px);

    struct Series {
        model: ModelKind,
        /// (log2 L, mean, std) per length.
        mean: Vec<(f64, f64, f64)>,
        /// (log2 L, shifted, final accuracy) per seed.
        seeds: Vec<(f64, f64)>,
    }
    let series: Vec<Series> = models
        .iter()
        .enumerate()
        .map(|(i, &model)| {
            let mut s = Series {
                model,
                mean: Vec::new(),
                seeds: Vec::new(),
            };
            for &l in &lengths {
                let xl = (l as f64).log2() + dodge(i);
                let finals: Vec<f64> = runs_of(report, model, l)
                    .iter()
                    .map(|r| r.final_metrics.heldout_acc)
                    .filter(|a| a.is_finite())
                    .collect();
                s.seeds.extend(finals.iter().map(|&a| (xl + seed_shift, a)));
                let row = report
                    .summary
                    .iter()
                    .find(|r| r.model == model && r.length == l);
                // The summary's figures, unless a NaN made them useless.
                let (mean, std) = match row {
                    Some(r) if r.heldout_acc_mean.is_finite() => {
                        (r.heldout_acc_mean, r.heldout_acc_std)
                    }
                    _ => mean_std(&finals),
                };
                if mean.is_finite() {
                    s.mean
                        .push((xl, mean, if std.is_finite() { std } else { 0.0 }));
                }
            }
            s
        })
        .filter(|s| !s.mean.is_empty() || !s.seeds.is_empty())
        .collect();
    let baselines: Vec<(f64, f64)> = lengths
        .iter()
        .filter_map(|&l| baseline(report, l).map(|b| ((l as f64).log2(), b)))
        .collect();

    let x = AxisSpec {
        range: lo - pad..hi + pad,
        ticks: lengths.iter().map(|&l| (l as f64).log2()).collect(),
        desc: "sequence length L (log2 scale)".to_owned(),
        fmt: Box::new(|v| format!("{:.0}", v.exp2())),
    };
    let lows = series
        .iter()
        .flat_map(|s| {
            s.mean
                .iter()
                .map(|&(_, m, sd)| (m - sd).max(0.0))
                .chain(s.seeds.iter().map(|p| p.1))
        })
        .chain(baselines.iter().map(|p| p.1));
    let y = accuracy_axis(lows, "final held-out accuracy");

    render(&title, &subtitle, |body| {
        let mut chart = build_chart(body, &x, &y)?;
        let mut occupied = Vec::new();
        if !baselines.is_empty() {
            draw_baseline(&mut chart, &baselines, &mut occupied)?;
            chart.draw_series(
                baselines
                    .iter()
                    .map(|&p| Circle::new(p, 3, BASELINE.filled())),
            )?;
        }
        for s in &series {
            let c = color(report, s.model);
            chart.draw_series(
                s.seeds
                    .iter()
                    .map(|&p| Circle::new(p, 3, c.mix(0.45).filled())),
            )?;
            occupied.extend(s.seeds.iter().map(|&p| vec![p]));
            for &(xl, m, sd) in &s.mean {
                let (a, b) = ((m - sd).max(0.0), (m + sd).min(1.0));
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
        let mut labels = model_legend(
            &mut chart,
            series.iter().map(|s| s.model),
            report,
            false,
            true,
        )?;
        if !baselines.is_empty() {
            labels.push(baseline_legend(&mut chart, "majority baseline".to_owned())?);
        }
        draw_legend(&mut chart, body, &labels, &occupied)
    })
}

/// Accuracy at each position `t` at the end of training, length `l`: per
/// model the mean over seeds and the min-max band, and the (overall) majority
/// baseline.
fn per_position(report: &StudyReport, l: usize) -> Result<String> {
    let seeds = seeds_phrase(report);
    let title = format!("Accuracy at each position at the end of training, L = {l}");
    let subtitle = format!(
        "mean and min-max over {seeds}, on {} held-out sequences; dashed: majority baseline over all positions",
        report.config.heldout
    );
    let bands: Vec<(ModelKind, Band)> = models(report)
        .into_iter()
        .map(|m| {
            let runs = runs_of(report, m, l);
            let samples = runs.iter().flat_map(|r| {
                r.final_metrics
                    .per_position_acc
                    .iter()
                    .copied()
                    .enumerate()
                    .take(l)
            });
            (m, Band::from_samples(samples))
        })
        .filter(|(_, b)| !b.x.is_empty())
        .collect();
    let baseline = baseline(report, l);
    let markers = l <= MARKERS_UP_TO;

    let x_hi = l.max(1) as f64 - 0.5;
    let x = AxisSpec {
        range: -0.5..x_hi,
        ticks: nice_ticks(0.0, x_hi - 0.5, 16, 1.0),
        desc: "position t in the sequence".to_owned(),
        fmt: Box::new(|v| format!("{v:.0}")),
    };
    let lows = bands
        .iter()
        .flat_map(|(_, b)| b.min.iter().copied())
        .chain(baseline);
    let y = accuracy_axis(lows, "held-out accuracy at position t");

    render(&title, &subtitle, |body| {
        let mut chart = build_chart(body, &x, &y)?;
        let mut occupied = Vec::new();
        for (m, b) in &bands {
            draw_band(&mut chart, b, color(report, *m), &mut occupied)?;
        }
        if let Some(base) = baseline {
            draw_baseline(&mut chart, &[(-0.5, base), (x_hi, base)], &mut occupied)?;
        }
        for (m, b) in &bands {
            draw_mean(&mut chart, b, color(report, *m), markers, &mut occupied)?;
        }
        let mut labels = model_legend(
            &mut chart,
            bands.iter().map(|(m, _)| *m),
            report,
            true,
            markers,
        )?;
        if let Some(base) = baseline {
            labels.push(baseline_legend(
                &mut chart,
                format!("majority baseline ({base:.3})"),
            )?);
        }
        draw_legend(&mut chart, body, &labels, &occupied)
    })
}

/// Mean, min and max over seeds of the finite values at each x.
#[derive(Debug, Default, PartialEq)]
struct Band {
    x: Vec<f64>,
    mean: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
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
            b.min.push(v.iter().copied().fold(f64::INFINITY, f64::min));
            b.max
                .push(v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
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

/// Draws the title block and hands the rest of the canvas to `draw`.
fn render(title: &str, subtitle: &str, draw: impl FnOnce(&Area) -> Result<()>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(HEADER_H);
        let centre = SIZE.0 as i32 / 2;
        let top = Pos::new(HPos::Center, VPos::Top);
        let title_style = (FONT, TITLE_PT)
            .into_font()
            .style(FontStyle::Bold)
            .color(&BLACK)
            .pos(top);
        header.draw(&Text::new(title, (centre, 8), title_style))?;
        let sub_style = (FONT, SUBTITLE_PT)
            .into_font()
            .color(&RGBColor(80, 80, 80))
            .pos(top);
        header.draw(&Text::new(subtitle, (centre, 40), sub_style))?;
        draw(&body)?;
        root.present()?;
    }
    Ok(svg)
}

/// The chart area with its mesh, axes and labels.
fn build_chart<'a, 'b>(body: &'a Area<'b>, x: &AxisSpec, y: &AxisSpec) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(body)
        .margin_top(6)
        .margin_left(14)
        .margin_right(30)
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

/// The translucent min-max polygon of a band.
fn draw_band(
    chart: &mut Chart,
    b: &Band,
    c: RGBColor,
    occupied: &mut Vec<Vec<(f64, f64)>>,
) -> Result<()> {
    let upper = b.x.iter().copied().zip(b.max.iter().copied());
    let lower = b.x.iter().copied().zip(b.min.iter().copied()).rev();
    let polygon: Vec<(f64, f64)> = upper.chain(lower).collect();
    chart.draw_series(std::iter::once(Polygon::new(
        polygon,
        c.mix(BAND_ALPHA).filled(),
    )))?;
    occupied.push(b.x.iter().copied().zip(b.max.iter().copied()).collect());
    occupied.push(b.x.iter().copied().zip(b.min.iter().copied()).collect());
    for ((&x, &lo), &hi) in b.x.iter().zip(&b.min).zip(&b.max) {
        occupied.push(vec![(x, lo), (x, hi)]);
    }
    Ok(())
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

/// A dashed grey line through `points`.
fn draw_baseline(
    chart: &mut Chart,
    points: &[(f64, f64)],
    occupied: &mut Vec<Vec<(f64, f64)>>,
) -> Result<()> {
    chart.draw_series(DashedLineSeries::new(
        points.iter().copied(),
        10,
        6,
        BASELINE.stroke_width(2),
    ))?;
    occupied.push(points.to_vec());
    Ok(())
}

/// One legend entry per model (band swatch and/or marker behind its line);
/// returns the labels.
fn model_legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    models: impl IntoIterator<Item = ModelKind>,
    report: &StudyReport,
    band: bool,
    marker: bool,
) -> Result<Vec<String>> {
    let mut labels = Vec::new();
    for m in models {
        let c = color(report, m);
        let label = m.to_string();
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(label.clone())
            .legend(move |(x, y)| {
                let w = LEGEND_SYMBOL_W - 8;
                let swatch = if band {
                    c.mix(BAND_ALPHA).filled()
                } else {
                    TRANSPARENT.filled()
                };
                let dot = if marker {
                    c.filled()
                } else {
                    TRANSPARENT.filled()
                };
                EmptyElement::at((x, y))
                    + Rectangle::new([(0, -7), (w, 7)], swatch)
                    + PathElement::new(vec![(0, 0), (w, 0)], c.stroke_width(3))
                    + Circle::new((w / 2, 0), 4, dot)
            });
        labels.push(label);
    }
    Ok(labels)
}

/// The legend entry of the majority baseline; returns its label.
fn baseline_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, label: String) -> Result<String> {
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label(label.clone())
        .legend(|(x, y)| {
            let w = LEGEND_SYMBOL_W - 8;
            DashedPathElement::new(vec![(x, y), (x + w, y)], 7, 4, BASELINE.stroke_width(2))
        });
    Ok(label)
}

/// Draws the legend, white on a grey border, in the corner or side of the
/// plotting area that hides the least of what was drawn (`occupied`:
/// polylines in data coordinates).
fn draw_legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    body: &Area,
    labels: &[String],
    occupied: &[Vec<(f64, f64)>],
) -> Result<()> {
    if labels.is_empty() {
        return Ok(());
    }
    let font = (FONT, LEGEND_PT).into_font();
    let mut text_w = 0;
    for l in labels {
        text_w = text_w.max(body.estimate_text_size(l, &font.clone().into())?.0 as i32);
    }
    // As plotters lays it out (MultiLineText line height 1.25), plus slack
    // for viewer fonts wider than its estimate.
    let w = text_w + text_w / 8 + LEGEND_SYMBOL_W + 2 * LEGEND_MARGIN;
    let h = ((labels.len() as f64 - 1.0) * LEGEND_PT * 1.25 + LEGEND_PT) as i32 + 2 * LEGEND_MARGIN;
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
    use SeriesLabelPosition::*;
    let candidates = [
        LowerRight,
        UpperRight,
        LowerLeft,
        UpperLeft,
        MiddleRight,
        LowerMiddle,
        UpperMiddle,
        MiddleLeft,
    ];
    let origin = |p: &SeriesLabelPosition| -> (i32, i32) {
        let x = match p {
            UpperLeft | MiddleLeft | LowerLeft => 5,
            UpperMiddle | MiddleMiddle | LowerMiddle => (area_w - w) / 2,
            _ => area_w - w - 5,
        };
        let y = match p {
            UpperLeft | UpperMiddle | UpperRight => 5,
            MiddleLeft | MiddleMiddle | MiddleRight => (area_h - h) / 2,
            _ => area_h - h - 5,
        };
        (xr.start + x, yr.start + y)
    };
    let hidden = |p: &SeriesLabelPosition| {
        let (x0, y0) = origin(p);
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
        .unwrap_or(LowerRight);
    chart
        .configure_series_labels()
        .position(best)
        .legend_area_size(LEGEND_SYMBOL_W)
        .margin(LEGEND_MARGIN)
        .label_font(font)
        .background_style(WHITE.filled())
        .border_style(RGBColor(160, 160, 160))
        .draw()?;
    Ok(())
}

/// The configuration's lengths, each once, in its order.
fn lengths(report: &StudyReport) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for &l in &report.config.lengths {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The configuration's models, each once, in its order.
fn models(report: &StudyReport) -> Vec<ModelKind> {
    let mut out: Vec<ModelKind> = Vec::new();
    for &m in &report.config.models {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// A model's colour: by its index in the configuration.
fn color(report: &StudyReport, model: ModelKind) -> RGBColor {
    let i = report
        .config
        .models
        .iter()
        .position(|&m| m == model)
        .unwrap_or(report.config.models.len());
    PALETTE[i % PALETTE.len()]
}

/// The runs of one (model, length).
fn runs_of(report: &StudyReport, model: ModelKind, length: usize) -> Vec<&RunReport> {
    report
        .runs
        .iter()
        .filter(|r| r.model == model && r.length == length)
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
    match report.config.seeds.len() {
        1 => "1 seed".to_owned(),
        n => format!("{n} seeds"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::StudyConfig;
    use super::super::report::{CurvePoint, FinalMetrics, SCHEMA, Timing, summarise};
    use super::*;

    /// A deterministic pseudo-random number in [0, 1).
    fn noise(a: u64, b: u64, c: u64) -> f64 {
        let mut z =
            a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ c;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    /// A report shaped like a real study: the DNN learns every length, the
    /// RNN plateaus lower as L grows; one RNN run diverges.
    fn synthetic(config: StudyConfig) -> StudyReport {
        let mut runs = Vec::new();
        for &model in &config.models {
            for &length in &config.lengths {
                for &seed in &config.seeds {
                    let s = seed + 1;
                    let (plateau, even_acc) = match model {
                        ModelKind::Dnn => (0.97 + 0.02 * noise(s, 1, 0), 0.97),
                        _ => {
                            let hard = (length as f64 / 8.0).log2() * 0.12;
                            let p = (1.0 - hard * (0.5 + noise(s, 2, length as u64))).max(0.55);
                            (p, p)
                        }
                    };
                    let diverged_at =
                        (model == ModelKind::Rnn && length == 32 && seed == 3).then_some(9_000);
                    let mut curve = Vec::new();
                    let mut iter = config.eval_every;
                    while iter <= config.iters && diverged_at.is_none_or(|d| iter < d) {
                        let progress = 1.0 - (-(iter as f64) / 2_500.0).exp();
                        let acc = 0.55
                            + (plateau - 0.55) * progress
                            + 0.01 * (noise(s, iter as u64, 3) - 0.5);
                        curve.push(CurvePoint {
                            iter,
                            train_correct: (acc * length as f64) as usize,
                            heldout_acc: acc,
                            heldout_exact: acc.powi(length as i32),
                            loss: 1.0 - acc,
                            train_loss: 1.0 - acc,
                            grad_norm: 1.0,
                        });
                        iter += config.eval_every;
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
                    runs.push(RunReport {
                        model,
                        length,
                        seed,
                        clip: None,
                        iters: curve.last().map_or(0, |p| p.iter),
                        wall_s: 1.0,
                        eval_s: 0.1,
                        lr_io: 0.1,
                        lr_rec: 0.001,
                        clipped_updates: 0,
                        iters_to_90: RunReport::first_reaching(&curve, 0.9),
                        iters_to_95: RunReport::first_reaching(&curve, 0.95),
                        curve,
                        final_metrics: FinalMetrics {
                            heldout_acc: final_acc,
                            heldout_exact: 0.5,
                            per_position_acc,
                            heldout_loss: 0.5,
                        },
                        diverged: diverged_at.is_some(),
                        diverged_at,
                    });
                }
            }
        }
        let mut summary = Vec::new();
        for &model in &config.models {
            for &length in &config.lengths {
                let these: Vec<&RunReport> = runs
                    .iter()
                    .filter(|r| r.model == model && r.length == length)
                    .collect();
                summary.push(summarise(model, length, &these, 0.75 - 0.1 / length as f64));
            }
        }
        StudyReport {
            schema: SCHEMA.to_owned(),
            config,
            runs,
            summary,
            verdict: Vec::new(),
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

    #[test]
    fn every_plot_is_named_and_has_text() {
        let report = synthetic(StudyConfig::article());
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
            for want in ["rnn", "dnn", "1.0", "0.5"] {
                assert!(
                    texts.contains(&want),
                    "{name} lacks the text {want:?}: {texts:?}"
                );
            }
            assert!(
                texts.iter().any(|t| t.starts_with("majority baseline")),
                "{name}"
            );
            assert!(
                texts.iter().any(|t| t.contains("held-out accuracy")),
                "{name}"
            );
            assert!(!svg.contains("NaN"), "{name} has a NaN");
        }
        let curve32 = texts(&plots[2].1);
        assert!(curve32.contains(&"Held-out accuracy, L = 32 (mean and min-max over 10 seeds)"));
        assert!(curve32.contains(&"training iteration") && curve32.contains(&"20000"));
        assert!(
            curve32.contains(&"majority baseline (0.747)"),
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
        // Same input, same bytes.
        assert_eq!(all(&report).unwrap(), plots);
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
        assert_eq!((b.min[0], b.max[0]), (0.5, 0.7));
        assert_eq!((b.mean[1], b.min[1], b.max[1]), (0.9, 0.9, 0.9));
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
        let mut config = StudyConfig::quick();
        config.models = vec![ModelKind::Dnn];
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

    /// Writes the plots of a synthetic study to `$RNNSTUDY_PLOTS_DIR`, to look
    /// at them; does nothing without it.
    #[test]
    fn write_for_inspection() {
        let Some(dir) = std::env::var_os("RNNSTUDY_PLOTS_DIR") else {
            return;
        };
        std::fs::create_dir_all(&dir).unwrap();
        let long = StudyConfig {
            lengths: vec![8, 64, 1024, 100],
            seeds: vec![0, 1, 2],
            ..StudyConfig::quick()
        };
        let configs = [
            ("", StudyConfig::article()),
            ("quick_", StudyConfig::quick()),
            ("long_", long),
        ];
        for (tag, config) in configs {
            for (name, svg) in all(&synthetic(config)).unwrap() {
                std::fs::write(std::path::Path::new(&dir).join(format!("{tag}{name}")), svg)
                    .unwrap();
            }
        }
    }
}
