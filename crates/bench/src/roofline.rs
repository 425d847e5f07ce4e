//! How close to the machine's limit the hot paths run: each kernel timed
//! (median of repeated samples, on one core), its floating-point work
//! counted from the registry's cost model, and the resulting GFLOP/s
//! compared with a large matrix product through ndarray (the practical
//! peak of one core here, in f64 and in f32), and the recurrent iterations'
//! time compared with their memory-bound floor: the recurrent matrix
//! streamed from cache twice per step. A second floor adds the weight
//! gradient's product (`L·G·H²` multiply–adds a sequence) at the
//! multiply–add peak of the kernels' own arithmetic: what an iteration
//! costs if the passes and the product each ran at the hardware's limit
//! one after the other, with nothing else to do.

use std::hint::black_box;
use std::time::Instant;

use models::ModelKind;
use ndarray::{Array2, linalg::general_mat_mul};
use nncore::Precision;

/// One measured kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was timed.
    pub name: String,
    /// The precision it computes in.
    pub precision: Precision,
    /// Floating-point operations of one call.
    pub flops: f64,
    /// Bytes of recurrent weights one call must stream from cache (each
    /// step reads the recurrent matrix twice: forward, and backward for the
    /// carry), or 0 where that is not the bound.
    pub weight_bytes: f64,
    /// Bytes of that recurrent matrix (whose size sets the cache level it
    /// streams from).
    pub matrix_bytes: f64,
    /// Multiply–adds of the recurrent weight gradient's product
    /// (`Σ_t h_{t-1}ᵀ δ_t`, `L·G·H²`), or 0 without a recurrent matrix.
    pub grad_macs: f64,
    /// Median seconds of one call.
    pub seconds: f64,
}

/// The machine's limits, measured on one core.
#[derive(Debug, Clone, PartialEq)]
pub struct Peaks {
    /// GFLOP/s of a 512² f64 matrix product through ndarray (dgemm).
    pub f64_gflops: f64,
    /// GFLOP/s of the same product in f32 (sgemm).
    pub f32_gflops: f64,
    /// GMAC/s of [`Scalar::madd`](nncore::Scalar::madd) in f64 (a product
    /// and a sum, rounded twice, as the f64 kernels form them), in
    /// independent chains held in registers: the compute limit of the
    /// kernels' arithmetic.
    pub f64_madd_gmacs: f64,
    /// The same in f32 (a fused multiply–add).
    pub f32_madd_gmacs: f64,
    /// GB/s of repeated reads of a buffer the size of each recurrent
    /// matrix (`(bytes, GB/s)`, from 40 KB for an f32 Elman matrix, which
    /// fits L1, to 320 KB for an f64 LSTM's, which lives in L2): the
    /// bandwidth batch-1 matrix–vector work streams its weights at.
    pub cache_gbs: Vec<(usize, f64)>,
}

impl Peaks {
    /// The read bandwidth at a matrix of `bytes` (the measured size
    /// nearest to it).
    pub fn bandwidth(&self, bytes: f64) -> f64 {
        self.cache_gbs
            .iter()
            .min_by(|a, b| {
                (a.0 as f64 - bytes)
                    .abs()
                    .total_cmp(&(b.0 as f64 - bytes).abs())
            })
            .map_or(f64::NAN, |&(_, g)| g)
    }

    /// The compute peak of `precision`.
    pub fn gflops(&self, precision: Precision) -> f64 {
        match precision {
            Precision::F32 => self.f32_gflops,
            Precision::F64 => self.f64_gflops,
        }
    }

    /// The multiply–add peak of the kernels' arithmetic in `precision`.
    pub fn madd_gmacs(&self, precision: Precision) -> f64 {
        match precision {
            Precision::F32 => self.f32_madd_gmacs,
            Precision::F64 => self.f64_madd_gmacs,
        }
    }
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

/// The lengths the training iterations are timed at.
pub const LENGTHS: [usize; 2] = [32, 256];

/// Bytes of the recurrent matrix of `kind` at hidden `h` in `precision`
/// (`H × G·H` numbers, `G` from the registry's cost model), 0 for a kind
/// without one.
fn recurrent_bytes(kind: ModelKind, h: usize, precision: Precision) -> f64 {
    if !kind.info().recurrent {
        return 0.0;
    }
    // train_macs = 3·L·G·H² for a recurrent cell.
    let g = (kind.info().train_macs)(h, 1) / (3 * h * h);
    (g * h * h * precision.bytes()) as f64
}

/// Independent accumulators of [`madd_gmacs`]: enough to cover the
/// latency of a multiply–add on every vector pipe (in f64 a multiply then
/// an add, about 6 cycles, on two pipes of four lanes: 48), and few enough
/// to stay in registers (16 zmm registers in f64).
const CHAINS: usize = 128;

/// GMAC/s of [`Scalar::madd`](nncore::Scalar::madd) in `S`: each of
/// [`CHAINS`] accumulators is `acc ← madd(acc, acc, c)` (a multiply that
/// depends on the accumulator, so no product can be hoisted), over and
/// over.
fn madd_gmacs<S: nncore::Scalar>(samples: usize) -> f64 {
    const STEPS: usize = 20_000;
    let c = black_box(S::from_f64(-1e-9));
    let mut acc = [S::zero(); CHAINS];
    for (k, a) in acc.iter_mut().enumerate() {
        *a = S::from_f64(1.0 + k as f64 * 1e-3);
    }
    let s = median_time(samples, 1, || {
        let mut a = black_box(acc);
        for _ in 0..STEPS {
            for v in &mut a {
                *v = S::madd(*v, *v, c);
            }
        }
        acc = black_box(a);
    });
    (CHAINS * STEPS) as f64 / s / 1e9
}

/// GFLOP/s of an `n³` matrix product of `S` through ndarray.
fn gemm_gflops<S: nncore::Scalar>(samples: usize) -> f64 {
    let m = 512;
    let a = Array2::<S>::from_shape_fn((m, m), |(i, j)| {
        S::from_f64(((i * 7 + j) % 13) as f64 * 0.1)
    });
    let b = a.t().to_owned();
    let mut c = Array2::<S>::zeros((m, m));
    let s = median_time(samples, 3, || {
        general_mat_mul(S::one(), &a, &b, S::zero(), &mut c);
        black_box(c[[0, 0]]);
    });
    2.0 * (m * m * m) as f64 / s / 1e9
}

/// GB/s of re-reading a buffer of `bytes` over and over (the sum of its
/// numbers in 64 independent partial sums, so the loads, not the adds,
/// bound it): the bandwidth of the cache level that holds it.
fn read_bandwidth(bytes: usize, samples: usize) -> f64 {
    let v: Vec<f32> = (0..bytes / 4).map(|i| (i % 7) as f32).collect();
    let reps = (50_000_000 / bytes).max(1);
    let s = median_time(samples, reps, || {
        let mut acc = [0.0f32; 64];
        for c in black_box(&v).as_chunks::<64>().0 {
            for k in 0..64 {
                acc[k] += c[k];
            }
        }
        black_box(acc);
    });
    bytes as f64 / s / 1e9
}

/// A training iteration of every registered kind in both precisions at
/// [`LENGTHS`], held-out evaluation of 2,000 sequences at L = 32 for every
/// kind, the training pool, and the machine's limits.
pub fn measure(samples: usize) -> (Vec<Row>, Peaks) {
    let h = crate::HIDDEN;
    let mut rows = Vec::new();
    for kind in ModelKind::all() {
        for precision in Precision::ALL {
            for l in LENGTHS {
                let data = crate::data(l, 64);
                let mut model = crate::model(kind, l, precision);
                let mut trainer = crate::trainer(kind);
                let mut i = 0;
                let reps = (200_000 / (l * 100)).max(3);
                let seconds = median_time(samples, reps, || {
                    let (x, y) = data.sample(i % data.len());
                    i += 1;
                    black_box(trainer.step(model.as_mut(), x, y).expect("valid data"));
                });
                let matrix_bytes = recurrent_bytes(kind, h, precision);
                rows.push(Row {
                    name: format!("{kind} train iteration, L = {l}"),
                    precision,
                    flops: 2.0 * (kind.info().train_macs)(h, l) as f64,
                    weight_bytes: 2.0 * l as f64 * matrix_bytes,
                    matrix_bytes,
                    grad_macs: l as f64 * matrix_bytes / precision.bytes() as f64,
                    seconds,
                });
            }
        }
    }
    let (n, l) = (2000, 32);
    let data = crate::data(l, n);
    for kind in ModelKind::all() {
        for precision in Precision::ALL {
            let model = crate::model(kind, l, precision);
            rows.push(Row {
                name: format!("{kind} held-out eval, 2,000 × L = 32"),
                precision,
                // The forward pass is about a third of a training iteration.
                flops: 2.0 * n as f64 * (kind.info().train_macs)(h, l) as f64 / 3.0,
                weight_bytes: 0.0,
                matrix_bytes: 0.0,
                grad_macs: 0.0,
                seconds: median_time(samples.min(7), 1, || {
                    black_box(model.predict_batch(data.inputs()).expect("valid data"));
                }),
            });
        }
    }
    let task = seqdata::AlternatingSign::new(32).expect("valid length");
    rows.push(Row {
        name: "Training pool, 50,000 × L = 32 (no FLOPs: random draws)".into(),
        precision: Precision::F64,
        flops: 0.0,
        weight_bytes: 0.0,
        matrix_bytes: 0.0,
        grad_macs: 0.0,
        seconds: median_time(samples.min(7), 1, || {
            black_box(task.training_pool(1).expect("valid pool"));
        }),
    });
    let peaks = Peaks {
        f64_gflops: gemm_gflops::<f64>(samples),
        f32_gflops: gemm_gflops::<f32>(samples),
        f64_madd_gmacs: madd_gmacs::<f64>(samples),
        f32_madd_gmacs: madd_gmacs::<f32>(samples),
        cache_gbs: {
            let mut sizes: Vec<usize> = rows
                .iter()
                .filter(|r| r.matrix_bytes > 0.0)
                .map(|r| r.matrix_bytes as usize)
                .collect();
            sizes.sort_unstable();
            sizes.dedup();
            sizes
                .into_iter()
                .map(|b| (b, read_bandwidth(b, samples)))
                .collect()
        },
    };
    (rows, peaks)
}

fn fmt_time(s: f64) -> String {
    if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// The rows as a Markdown table: each kernel's GFLOP/s and its ratio to
/// the compute peak of its precision, and, for the recurrent training
/// iterations, the memory-bound floor (its weight bytes at the cache
/// bandwidth), the floor with the weight gradient's product added (its
/// multiply–adds at the kernels' multiply–add peak), and how far above
/// each the kernel runs.
///
/// ```
/// use bench::roofline::{Peaks, Row, table};
/// use nncore::Precision;
/// let rows = [Row { name: "k".into(), precision: Precision::F32, flops: 2e9, weight_bytes: 1e9, matrix_bytes: 1e5, grad_macs: 1e9, seconds: 0.1 }];
/// let peaks = Peaks { f64_gflops: 20.0, f32_gflops: 40.0, f64_madd_gmacs: 10.0, f32_madd_gmacs: 40.0, cache_gbs: vec![(100_000, 20.0)] };
/// let t = table(&rows, &peaks);
/// assert!(t.contains("| k | f32 | 2000.00 | 100.00 ms | 20.0 | 50% | 50.00 ms | 2.00× | 75.00 ms | 1.33× |"), "{t}");
/// ```
pub fn table(rows: &[Row], peaks: &Peaks) -> String {
    let mut s = String::from(
        "| kernel (H = 100) | precision | MFLOP | median time | GFLOP/s | of peak | \
         memory-bound floor | time / floor | floor with ∂W product | time / that |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let gflops = r.flops / r.seconds / 1e9;
        let (g, p) = if r.flops > 0.0 {
            (
                format!("{gflops:.1}"),
                format!("{:.0}%", 100.0 * gflops / peaks.gflops(r.precision)),
            )
        } else {
            ("-".into(), "-".into())
        };
        let [floor, ratio, with_grad, ratio_grad] = if r.weight_bytes > 0.0 {
            let floor = r.weight_bytes / (peaks.bandwidth(r.matrix_bytes) * 1e9);
            let with_grad = floor + r.grad_macs / (peaks.madd_gmacs(r.precision) * 1e9);
            [
                fmt_time(floor),
                format!("{:.2}×", r.seconds / floor),
                fmt_time(with_grad),
                format!("{:.2}×", r.seconds / with_grad),
            ]
        } else {
            ["-".into(), "-".into(), "-".into(), "-".into()]
        };
        s.push_str(&format!(
            "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.precision,
            r.flops / 1e6,
            fmt_time(r.seconds),
            g,
            p,
            floor,
            ratio,
            with_grad,
            ratio_grad
        ));
    }
    let bw: Vec<String> = peaks
        .cache_gbs
        .iter()
        .map(|(b, g)| format!("{:.0} GB/s at {} KB", g, b / 1000))
        .collect();
    s.push_str(&format!(
        "\nFLOPs are twice the registry's multiply-add count of one training iteration \
(`train_macs`: 3·L·G·H² for a recurrent cell of G gate blocks, 6·L·H for the MLP), and a third \
of it per sequence for evaluation. Peaks (a 512² matrix product through ndarray): \
{:.1} GFLOP/s in f64, {:.1} GFLOP/s in f32, on one core. The memory-bound floor of a recurrent \
iteration is the bytes of its recurrent matrix, read twice per step (forward, and backward for \
the carry), at the read bandwidth measured for a buffer of the matrix's size ({}). \
The floor with the ∂W product adds the recurrent weight gradient's L·G·H² multiply–adds at the \
multiply–add peak of the kernels' own arithmetic, measured in independent chains held in \
registers ({:.1} GMAC/s in f64, a product and a sum rounded twice; {:.1} GMAC/s in f32, fused): \
the passes and the product each at the hardware's limit, one after the other, and nothing else. \
Measured by `cargo xtask roofline` (median of repeated samples, one thread, \
`target-cpu=native`).\n",
        peaks.f64_gflops,
        peaks.f32_gflops,
        bw.join(", "),
        peaks.f64_madd_gmacs,
        peaks.f32_madd_gmacs
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
