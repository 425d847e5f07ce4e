//! How close to the machine's limit the hot paths run: each kernel timed
//! (median of repeated samples, on one core), its floating-point work
//! counted from the registry's cost model, and the resulting GFLOP/s
//! compared with a large matrix product through ndarray (the practical f64
//! peak of one core here).

use std::hint::black_box;
use std::time::Instant;

use models::ModelKind;
use ndarray::{Array2, linalg::general_mat_mul};

/// One measured kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was timed.
    pub name: String,
    /// Floating-point operations of one call.
    pub flops: f64,
    /// Median seconds of one call.
    pub seconds: f64,
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

/// A training iteration of every registered kind at L = 8, 16 and 32,
/// held-out evaluation of 2,000 sequences at L = 32 for every kind, the
/// training pool, and the reference matrix product. Returns the rows and the
/// peak in GFLOP/s.
pub fn measure(samples: usize) -> (Vec<Row>, f64) {
    let h = crate::HIDDEN;
    let mut rows = Vec::new();
    for kind in ModelKind::all() {
        for l in [8, 16, 32] {
            let data = crate::data(l, 64);
            let mut model = crate::model(kind, l);
            let mut trainer = crate::trainer(kind);
            let mut i = 0;
            let reps = (200_000 / (l * 100)).max(5);
            let seconds = median_time(samples, reps, || {
                let (x, y) = data.sample(i % data.len());
                i += 1;
                black_box(trainer.step(model.as_mut(), x, y).expect("valid data"));
            });
            rows.push(Row {
                name: format!("{kind} train iteration, L = {l}"),
                flops: 2.0 * (kind.info().train_macs)(h, l) as f64,
                seconds,
            });
        }
    }
    let (n, l) = (2000, 32);
    let data = crate::data(l, n);
    for kind in ModelKind::all() {
        let model = crate::model(kind, l);
        rows.push(Row {
            name: format!("{kind} held-out eval, 2,000 × L = 32"),
            // The forward pass is about a third of a training iteration.
            flops: 2.0 * n as f64 * (kind.info().train_macs)(h, l) as f64 / 3.0,
            seconds: median_time(samples.min(7), 1, || {
                black_box(model.predict_batch(data.inputs()).expect("valid data"));
            }),
        });
    }
    let task = seqdata::AlternatingSign::new(32).expect("valid length");
    rows.push(Row {
        name: "Training pool, 50,000 × L = 32 (no FLOPs: random draws)".into(),
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

/// The rows as a Markdown table with each kernel's GFLOP/s and its ratio to
/// `peak`.
///
/// ```
/// let rows = [bench::roofline::Row { name: "k".into(), flops: 2e9, seconds: 0.1 }];
/// let t = bench::roofline::table(&rows, 40.0);
/// assert!(t.contains("| k | 2000.00 | 100.00 ms | 20.0 | 50% |"), "{t}");
/// ```
pub fn table(rows: &[Row], peak: f64) -> String {
    let mut s = String::from(
        "| kernel (H = 100) | MFLOP | median time | GFLOP/s | of peak |\n|---|---|---|---|---|\n",
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
            "| {} | {:.2} | {} | {} | {} |\n",
            r.name,
            r.flops / 1e6,
            fmt_time(r.seconds),
            g,
            p
        ));
    }
    s.push_str(&format!(
        "\nFLOPs are twice the registry's multiply-add count of one training iteration \
(`train_macs`: 3·L·G·H² for a recurrent cell of G gate blocks, 6·L·H for the MLP), and a third \
of it per sequence for evaluation. Peak (the matrix product above): {peak:.1} GFLOP/s on one \
core. Measured by `cargo xtask roofline` (median of repeated samples, one thread, f64, \
`target-cpu=native`).\n"
    ));
    s
}

/// Markers around the table in `crates/bench/README.md`.
pub const MARKERS: (&str, &str) = ("<!-- roofline:start -->", "<!-- roofline:end -->");

/// `text` with the part between [`MARKERS`] replaced by `table`, or `None`
/// if the markers are missing.
pub fn replace_table(text: &str, table: &str) -> Option<String> {
    let (start, end) = MARKERS;
    let (a, b) = (text.find(start)?, text.find(end)?);
    (a < b).then(|| format!("{}{start}\n{table}{}", &text[..a], &text[b..]))
}
