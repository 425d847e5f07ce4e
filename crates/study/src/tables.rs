//! Tidy tables of a study, one observation per row, for pandas, R or a
//! spreadsheet: `curves.csv`, `final.csv`, `per_position.csv`,
//! `grad_flow.csv` and `summary.csv` beside `study.json` (written with the
//! `csv` crate from the report; every number is the report's, printed so
//! that it reads back to the same `f64`).
//!
//! Every table starts with the run's identity: `variant` (the label),
//! `model`, `hidden`, `optimizer`, `lr_io`, `lr_rec`, `clip` (empty when the
//! run did not clip), `precision`, then `length` and `seed`.
//!
//! ```
//! # let dir = tempfile::tempdir()?;
//! # let study = study::Study::from_toml("name = \"t\"\nlengths = [3]\nseeds = 1\niters = 20\neval_every = 10\nheldout = 8\n[[variant]]\nmodel = \"rnn\"\nhidden = 3\n")?;
//! # let report = study::run(&study, &study::ReportDir::new(dir.path()), &Default::default())?;
//! let tables = study::tables::all(&report)?;
//! let (name, curves) = &tables[0];
//! assert_eq!(name, "curves.csv");
//! assert!(curves.starts_with("variant,model,hidden,optimizer,lr_io,lr_rec,clip,precision,length,seed,iter,"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;

use crate::config::Variant;
use crate::report::{RunReport, StudyReport, SummaryRow};
use crate::{Error, Result};

/// The names of the tables [`all`] writes, in order.
pub const NAMES: [&str; 5] = [
    "curves.csv",
    "final.csv",
    "per_position.csv",
    "grad_flow.csv",
    "summary.csv",
];

const ID_COLUMNS: [&str; 9] = [
    "variant",
    "model",
    "hidden",
    "optimizer",
    "lr_io",
    "lr_rec",
    "clip",
    "precision",
    "length",
];

/// The columns that say which run a row is of ([`ID_COLUMNS`]).
#[derive(Clone, Copy)]
struct Id<'a> {
    variant: &'a str,
    model: &'a str,
    hidden: usize,
    optimizer: &'a str,
    lr_io: f64,
    lr_rec: f64,
    clip: Option<f64>,
    precision: &'static str,
    length: usize,
}

/// A row type: the [`Id`] columns, then its own (the csv crate writes
/// flat records only, so the columns are spelled out, not flattened).
macro_rules! row {
    ($(#[$m:meta])* struct $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Serialize)]
        struct $name<'a> {
            variant: &'a str,
            model: &'a str,
            hidden: usize,
            optimizer: &'a str,
            lr_io: f64,
            lr_rec: f64,
            clip: Option<f64>,
            precision: &'static str,
            length: usize,
            $($(#[$fm])* $field: $ty),*
        }
    };
}

/// A row of type `$name` for the run `$id` with its own columns.
macro_rules! make {
    ($name:ident, $id:expr, { $($field:ident : $value:expr),* $(,)? }) => {{
        let id: Id<'_> = $id;
        $name {
            variant: id.variant,
            model: id.model,
            hidden: id.hidden,
            optimizer: id.optimizer,
            lr_io: id.lr_io,
            lr_rec: id.lr_rec,
            clip: id.clip,
            precision: id.precision,
            length: id.length,
            $($field: $value),*
        }
    }};
}

fn id<'a>(label: &'a str, v: &'a Variant, length: usize) -> Id<'a> {
    Id {
        variant: label,
        model: v.model.name(),
        hidden: v.hidden,
        optimizer: v.optimizer.optimizer.name(),
        lr_io: v.optimizer.lr_io,
        lr_rec: v.optimizer.lr_rec,
        clip: v.clip.map(|c| c.max_norm()),
        precision: v.precision.name(),
        length,
    }
}

fn run_id(r: &RunReport) -> Id<'_> {
    id(&r.variant, &r.settings, r.length)
}

row! {
    /// One evaluation of one run.
    struct CurveRow {
        seed: u64,
        /// Iterations done (0: before training).
        iter: usize,
        /// Held-out per-element accuracy.
        heldout_acc: f64,
        /// Held-out exact-match rate.
        heldout_exact: f64,
        /// Held-out mean loss per sequence.
        heldout_loss: f64,
        /// The loss of the one training sequence of this iteration, before its
        /// update (empty at iteration 0).
        train_seq_loss: Option<f64>,
        /// The gradient norm of this iteration's one step, before clipping
        /// (empty at iteration 0).
        train_step_grad_norm: Option<f64>,
        /// The recurrent matrix's largest singular value (empty for the MLP).
        spectral_norm: Option<f64>,
    }
}

row! {
    /// The end of one run.
    struct FinalRow {
        seed: u64,
        iters: usize,
        diverged: bool,
        diverged_at: Option<usize>,
        heldout_acc: f64,
        heldout_exact: f64,
        heldout_loss: f64,
        iters_to_90: Option<usize>,
        iters_to_95: Option<usize>,
        clipped_updates: usize,
        wall_s: f64,
        eval_s: f64,
    }
}

row! {
    /// The final accuracy of one run at one position.
    struct PositionRow {
        seed: u64,
        position: usize,
        heldout_acc: f64,
        /// The accuracy of answering this position's most frequent
        /// held-out label (the same for every seed).
        majority: f64,
    }
}

row! {
    /// One gradient-flow norm.
    struct FlowRow {
        seed: u64,
        /// `whole` (‖∂E/∂h_t‖ of the whole loss) or `last` (‖∂E_{L−1}/∂h_t‖ of
        /// the last step's error alone).
        loss: &'static str,
        iter: usize,
        t: usize,
        norm: f64,
    }
}

row! {
    /// One summary row (over seeds).
    struct SummaryCsv {
        seeds: usize,
        diverged: usize,
        heldout_acc_mean: f64,
        heldout_acc_std: f64,
        heldout_acc_ci95: Option<f64>,
        heldout_acc_min: f64,
        heldout_acc_max: f64,
        below_90: usize,
        heldout_exact_mean: f64,
        majority_baseline: f64,
        reached_90: usize,
        iters_to_90_median: Option<f64>,
        reached_95: usize,
        iters_to_95_median: Option<f64>,
        wall_s_mean: f64,
    }
}

/// The rows as CSV with a header; `empty` is the header line of a table
/// without rows (a study of MLPs has no gradient flow).
fn table<T: Serialize>(rows: impl IntoIterator<Item = T>, empty: &[&str]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut any = false;
    for row in rows {
        any = true;
        w.serialize(row)
            .map_err(|e| Error::Report(format!("a table row: {e}")))?;
    }
    if !any {
        w.write_record(ID_COLUMNS.iter().chain(empty))
            .map_err(|e| Error::Report(format!("a table: {e}")))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Report(format!("a table: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Report(format!("a table: {e}")))
}

/// `summary.csv` of summary rows.
fn summary_table(rows: &[SummaryRow]) -> Result<String> {
    let rows = rows.iter().map(|s| {
        make!(SummaryCsv, id(&s.variant, &s.settings, s.length), {
            seeds: s.seeds,
            diverged: s.diverged,
            heldout_acc_mean: s.heldout_acc_mean,
            heldout_acc_std: s.heldout_acc_std,
            heldout_acc_ci95: s.heldout_acc_ci95,
            heldout_acc_min: s.heldout_acc_min,
            heldout_acc_max: s.heldout_acc_max,
            below_90: s.below_90,
            heldout_exact_mean: s.heldout_exact_mean,
            majority_baseline: s.majority_baseline,
            reached_90: s.reached_90,
            iters_to_90_median: s.iters_to_90_median,
            reached_95: s.reached_95,
            iters_to_95_median: s.iters_to_95_median,
            wall_s_mean: s.wall_s_mean,
        })
    });
    table(rows, &["seeds", "heldout_acc_mean"])
}

/// Every table of the report, as `(file name, CSV text)`, in [`NAMES`]
/// order.
pub fn all(report: &StudyReport) -> Result<Vec<(String, String)>> {
    let runs = &report.runs;
    let curves = runs.iter().flat_map(|r| {
        r.curve.iter().map(move |p| {
            make!(CurveRow, run_id(r), {
                seed: r.seed,
                iter: p.iter,
                heldout_acc: p.heldout_acc,
                heldout_exact: p.heldout_exact,
                heldout_loss: p.loss,
                train_seq_loss: p.train_loss,
                train_step_grad_norm: p.grad_norm,
                spectral_norm: p.spectral_norm,
            })
        })
    });
    let curves = table(curves, &["seed", "iter", "heldout_acc"])?;
    let finals = runs.iter().map(|r| {
        make!(FinalRow, run_id(r), {
            seed: r.seed,
            iters: r.iters,
            diverged: r.diverged,
            diverged_at: r.diverged_at,
            heldout_acc: r.final_metrics.heldout_acc,
            heldout_exact: r.final_metrics.heldout_exact,
            heldout_loss: r.final_metrics.heldout_loss,
            iters_to_90: r.iters_to_90,
            iters_to_95: r.iters_to_95,
            clipped_updates: r.clipped_updates,
            wall_s: r.wall_s,
            eval_s: r.eval_s,
        })
    });
    let finals = table(finals, &["seed", "iters", "heldout_acc"])?;
    let majority = |r: &RunReport| {
        report
            .summary
            .iter()
            .find(|s| s.settings == r.settings && s.length == r.length)
            .map(|s| s.majority_per_position.clone())
            .unwrap_or_default()
    };
    let positions = runs.iter().flat_map(|r| {
        let acc = &r.final_metrics.per_position_acc;
        let m = majority(r);
        acc.iter().enumerate().map(move |(t, &a)| {
            make!(PositionRow, run_id(r), {
                seed: r.seed,
                position: t,
                heldout_acc: a,
                majority: m.get(t).copied().unwrap_or(f64::NAN),
            })
        })
    });
    let positions = table(positions, &["seed", "position", "heldout_acc"])?;
    let flows = runs.iter().flat_map(|r| {
        let whole = r.grad_flow.iter().flatten().map(|f| ("whole", f));
        let last = r.grad_flow_last.iter().flatten().map(|f| ("last", f));
        whole.chain(last).flat_map(move |(loss, f)| {
            f.norms.iter().enumerate().map(move |(t, &norm)| {
                make!(FlowRow, run_id(r), {
                    seed: r.seed,
                    loss: loss,
                    iter: f.iter,
                    t: t,
                    norm: norm,
                })
            })
        })
    });
    let flows = table(flows, &["seed", "loss", "iter", "t", "norm"])?;
    let summary = summary_table(&report.summary)?;
    Ok(NAMES
        .iter()
        .map(|n| n.to_string())
        .zip([curves, finals, positions, flows, summary])
        .collect())
}
