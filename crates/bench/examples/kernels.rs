//! Times nncore's dense kernels at the shapes of one recurrent step (H =
//! 100, G = 1, 3, 4 gate blocks) in both precisions, in ns per call:
//! `cargo run --release -p bench --example kernels`.

use std::hint::black_box;
use std::time::Instant;

use nncore::Scalar;
use nncore::linalg::{StepMatrix, mat_vec, outer_sum, vec_mat_acc};

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    best * 1e9
}

fn shapes<S: Scalar>() {
    let h = 100;
    for g in [1, 3, 4] {
        let gh = g * h;
        let w: Vec<S> = (0..h * gh)
            .map(|i| S::from_f64(((i % 17) as f64 - 8.0) * 0.01))
            .collect();
        let hv: Vec<S> = (0..h).map(|i| S::from_f64(i as f64 * 0.01)).collect();
        let d: Vec<S> = (0..gh).map(|i| S::from_f64(i as f64 * 0.001)).collect();
        let mut out = vec![S::zero(); gh];
        let mut carry = vec![S::zero(); h];
        let fwd = time(2000, || {
            vec_mat_acc(black_box(&hv), black_box(&w), black_box(&mut out))
        });
        let bwd = time(2000, || {
            mat_vec(black_box(&w), black_box(&d), black_box(&mut carry))
        });
        // The plans the recurrent cells use (in f32 a packed copy of W).
        let mut plan = StepMatrix::forward(h, gh);
        plan.prepare(&w);
        let fwd_plan = time(2000, || {
            plan.vec_mat_acc(black_box(&w), black_box(&hv), black_box(&mut out))
        });
        let mut plan = StepMatrix::carry(h, gh);
        plan.prepare(&w);
        let bwd_plan = time(2000, || {
            plan.mat_vec(black_box(&w), black_box(&d), black_box(&mut carry))
        });
        let l = 256;
        let hp: Vec<S> = (0..l * h)
            .map(|i| S::from_f64((i % 13) as f64 * 0.01))
            .collect();
        let dl: Vec<S> = (0..l * gh)
            .map(|i| S::from_f64((i % 7) as f64 * 0.01))
            .collect();
        let mut col = vec![S::zero(); l];
        let mut gw = vec![S::zero(); h * gh];
        let grad = time(20, || {
            outer_sum(black_box(&hp), black_box(&dl), h, &mut col, &mut gw)
        }) / l as f64;
        let macs = (h * gh) as f64;
        println!(
            "{} G={g}: vec_mat_acc {fwd:.0} ns ({:.1} GMAC/s), mat_vec {bwd:.0} ns ({:.1}), \
             StepMatrix forward {fwd_plan:.0} ns ({:.1}), carry {bwd_plan:.0} ns ({:.1}), \
             outer_sum per step {grad:.0} ns ({:.1})",
            S::PRECISION,
            macs / fwd,
            macs / bwd,
            macs / fwd_plan,
            macs / bwd_plan,
            macs / grad
        );
    }
}

fn main() {
    shapes::<f64>();
    shapes::<f32>();
}
