//! Criterion benchmarks: one training iteration of every registered model
//! kind, held-out evaluation, pool generation, and a large matrix product as
//! the machine's reference peak.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::ModelKind;
use ndarray::{Array2, linalg::general_mat_mul};
use nncore::Precision;
use std::hint::black_box;

/// The lengths every kind is timed at: the article's longest, and the long
/// study's.
const LENGTHS: [usize; 2] = [32, 256];

fn training_iteration(c: &mut Criterion) {
    let mut g = c.benchmark_group("train_iter");
    for len in LENGTHS {
        let d = bench::data(len, 64);
        g.throughput(Throughput::Elements(len as u64));
        if len > 32 {
            g.sample_size(30);
        }
        for kind in ModelKind::all() {
            for precision in Precision::ALL {
                let mut m = bench::model(kind, len, precision);
                let mut t = bench::trainer(kind);
                let mut i = 0;
                g.bench_function(format!("{kind}_{precision}_L{len}"), |b| {
                    b.iter(|| {
                        let (x, y) = d.sample(i % d.len());
                        i += 1;
                        black_box(t.step(m.as_mut(), x, y).unwrap())
                    })
                });
            }
        }
    }
    g.finish();
}

fn evaluation(c: &mut Criterion) {
    let mut g = c.benchmark_group("eval_2000");
    g.sample_size(20);
    let d = bench::data(32, 2000);
    for kind in ModelKind::all() {
        for precision in Precision::ALL {
            let m = bench::model(kind, 32, precision);
            g.bench_function(format!("{kind}_{precision}_L32"), |b| {
                b.iter(|| black_box(m.predict_batch(d.inputs()).unwrap()))
            });
        }
    }
    g.finish();
}

fn pool(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool");
    g.sample_size(20);
    let task = seqdata::AlternatingSign::new(32).unwrap();
    g.throughput(Throughput::Elements(seqdata::POOL_SIZE as u64));
    g.bench_function("generate_50000_L32", |b| {
        b.iter(|| black_box(task.training_pool(1).unwrap()))
    });
    g.finish();
}

fn matmul_peak(c: &mut Criterion) {
    let mut g = c.benchmark_group("peak");
    let n = 512;
    let a = Array2::<f64>::from_shape_fn((n, n), |(i, j)| ((i * 7 + j) % 13) as f64 * 0.1);
    let bm = a.t().to_owned();
    let mut out = Array2::<f64>::zeros((n, n));
    g.throughput(Throughput::Elements((2 * n * n * n) as u64));
    g.bench_function("dgemm_512", |b| {
        b.iter(|| {
            general_mat_mul(1.0, &a, &bm, 0.0, &mut out);
            black_box(out[[0, 0]])
        })
    });
    g.finish();
}

criterion_group!(benches, training_iteration, evaluation, pool, matmul_peak);
criterion_main!(benches);
