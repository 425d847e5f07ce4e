//! `cargo xtask roofline`: how close to the machine's limit the hot paths run.
//!
//! Times each kernel (median of repeated samples, on one core), counts its
//! floating-point work from the model's shapes, and compares the resulting
//! GFLOP/s with a large matrix product through ndarray (the practical f64
//! peak of one core here).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use ndarray::{Array2, linalg::general_mat_mul};
use nncore::{SequenceModel, Sgd, Trainer};

use crate::atomic;
use crate::output::emit;

/// Arguments of `cargo xtask roofline`.
#[derive(Args)]
#[command(
    after_help = "Prints a table: for each kernel the floating-point operations it does \
(counted from the shapes, formula shown), its median time, GFLOP/s and the ratio to the measured \
peak of a 512x512 f64 matrix product on the same run. --write also puts the table into \
crates/bench/README.md. For statistically careful timings use `cargo bench -p bench`."
)]
pub struct RooflineArgs {
    /// Samples per kernel (the median is reported)
    #[arg(long, default_value_t = 15)]
    samples: usize,
    /// Write the table into crates/bench/README.md (between the roofline markers)
    #[arg(long)]
    write: bool,
}

/// One measured kernel.
struct Row {
    name: String,
    formula: &'static str,
    flops: f64,
    seconds: f64,
}

/// The median of `samples` timings of `reps` calls of `f`, per call.
fn median_time(samples: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let mut t: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Multiply-adds of one training iteration of a recurrent model with `g`
/// gate blocks (1 for Elman): forward `(L−1)·G·H²` recurrent + backward
/// `(L−1)·G·H²` + recurrent-weight gradient `L·G·H²`; the `O(L·H)` terms are
/// left out (they are under 2% at H = 100).
fn recurrent_macs(l: usize, h: usize, g: usize) -> f64 {
    ((3 * l - 2) * g * h * h) as f64
}

fn train_row(
    name: String,
    formula: &'static str,
    macs: f64,
    samples: usize,
    model: &mut dyn SequenceModel,
    len: usize,
    sgd: Sgd,
) -> Row {
    let data = bench::data(len, 64);
    let mut trainer = Trainer::new(sgd);
    let mut i = 0;
    let reps = (200_000 / (len * 100)).max(5);
    let seconds = median_time(samples, reps, || {
        let (x, y) = data.sample(i % data.len());
        i += 1;
        black_box(trainer.step(model, x, y).expect("valid data"));
    });
    Row {
        name,
        formula,
        flops: 2.0 * macs,
        seconds,
    }
}

fn measure(samples: usize) -> (Vec<Row>, f64) {
    let h = 100;
    let mut rows = Vec::new();
    for l in [8, 16, 32] {
        rows.push(train_row(
            format!("Elman train iteration, L = {l}"),
            "(3L−2)·H²",
            recurrent_macs(l, h, 1),
            samples,
            &mut bench::elman(),
            l,
            Sgd::article(),
        ));
    }
    for l in [8, 16, 32] {
        rows.push(train_row(
            format!("MLP train iteration, L = {l}"),
            "5·L·H",
            (5 * l * h) as f64,
            samples,
            &mut bench::mlp(l),
            l,
            Sgd::new(0.1, 0.1).expect("valid rates"),
        ));
    }
    rows.push(train_row(
        "GRU train iteration, L = 32".into(),
        "(3L−2)·3H²",
        recurrent_macs(32, h, 3),
        samples,
        &mut bench::gru(),
        32,
        Sgd::new(0.1, 0.1).expect("valid rates"),
    ));
    rows.push(train_row(
        "LSTM train iteration, L = 32".into(),
        "(3L−2)·4H²",
        recurrent_macs(32, h, 4),
        samples,
        &mut bench::lstm(),
        32,
        Sgd::new(0.1, 0.1).expect("valid rates"),
    ));
    let (n, l) = (2000, 32);
    let data = bench::data(l, n);
    let elman = bench::elman();
    rows.push(Row {
        name: "Elman held-out eval, 2,000 × L = 32".into(),
        formula: "N·(L−1)·H²",
        flops: 2.0 * (n * (l - 1) * h * h) as f64,
        seconds: median_time(samples.min(7), 1, || {
            black_box(elman.predict_batch(data.inputs()).expect("valid data"));
        }),
    });
    let mlp = bench::mlp(l);
    rows.push(Row {
        name: "MLP held-out eval, 2,000 × L = 32".into(),
        formula: "N·2·L·H",
        flops: 2.0 * (n * 2 * l * h) as f64,
        seconds: median_time(samples, 3, || {
            black_box(mlp.predict_batch(data.inputs()).expect("valid data"));
        }),
    });
    let task = seqdata::AlternatingSign::new(32).expect("valid length");
    rows.push(Row {
        name: "Training pool, 50,000 × L = 32".into(),
        formula: "(no FLOPs: random draws)",
        flops: 0.0,
        seconds: median_time(samples.min(7), 1, || {
            black_box(task.training_pool(1).expect("valid pool"));
        }),
    });
    let m = 512;
    let a = Array2::<f64>::from_shape_fn((m, m), |(i, j)| ((i * 7 + j) % 13) as f64 * 0.1);
    let b = a.t().to_owned();
    let mut c = Array2::<f64>::zeros((m, m));
    let peak_s = median_time(samples, 3, || {
        general_mat_mul(1.0, &a, &b, 0.0, &mut c);
        black_box(c[[0, 0]]);
    });
    let peak_flops = 2.0 * (m * m * m) as f64;
    rows.push(Row {
        name: "Reference: 512² × 512² f64 matrix product (ndarray)".into(),
        formula: "2·n³",
        flops: peak_flops,
        seconds: peak_s,
    });
    (rows, peak_flops / peak_s / 1e9)
}

fn fmt_time(s: f64) -> String {
    if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

fn table(rows: &[Row], peak: f64) -> String {
    let mut s = String::from(
        "| kernel | multiply-adds (H = 100) | MFLOP | median time | GFLOP/s | of peak |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let gflops = r.flops / r.seconds / 1e9;
        let (g, p) = if r.flops > 0.0 {
            (
                format!("{gflops:.1}"),
                format!("{:.0}%", 100.0 * gflops / peak),
            )
        } else {
            ("-".into(), "-".into())
        };
        s.push_str(&format!(
            "| {} | {} | {:.2} | {} | {} | {} |\n",
            r.name,
            r.formula,
            r.flops / 1e6,
            fmt_time(r.seconds),
            g,
            p
        ));
    }
    s.push_str(&format!(
        "\nPeak (the matrix product above): {peak:.1} GFLOP/s on one core. Measured by \
`cargo xtask roofline` (median of repeated samples, one thread, f64, `target-cpu=native`).\n"
    ));
    s
}

const START: &str = "<!-- roofline:start -->";
const END: &str = "<!-- roofline:end -->";

/// Runs `cargo xtask roofline`.
pub fn run(args: RooflineArgs) -> Result<()> {
    if args.samples == 0 || args.samples > 1000 {
        bail!("--samples {} is out of range: use 1 ..= 1000", args.samples);
    }
    let (rows, peak) = measure(args.samples);
    let t = table(&rows, peak);
    emit(&format!("{t}\n"))?;
    if args.write {
        let path: PathBuf = crate::workspace_root().join("crates/bench/README.md");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
            bail!("{} has no {START} … {END} markers", path.display());
        };
        let new = format!("{}{START}\n{t}{}", &text[..a], &text[b..]);
        atomic::write(&path, new.as_bytes())?;
        emit(&format!("wrote the table into {}\n", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        // Elman at L = 1: only the recurrent-weight gradient's L·H² (which is
        // zero work in truth, but counted) — (3·1−2)·H².
        assert_eq!(recurrent_macs(1, 10, 1), 100.0);
        assert_eq!(recurrent_macs(32, 100, 1), 940_000.0);
        assert_eq!(recurrent_macs(32, 100, 4), 3_760_000.0);
    }

    #[test]
    fn table_reports_ratios() {
        let rows = [Row {
            name: "k".into(),
            formula: "f",
            flops: 2e9,
            seconds: 0.1,
        }];
        let t = table(&rows, 40.0);
        assert!(
            t.contains("| k | f | 2000.00 | 100.00 ms | 20.0 | 50% |"),
            "{t}"
        );
    }
}
