//! Small dense kernels for the per-time-step hot loops.
//!
//! At batch size 1 the work is many 100-long vector operations; these are
//! written so the compiler vectorises them (independent accumulators for
//! reductions, plain zipped loops for updates) and never allocate. Each is
//! generic over the [`Scalar`] type; the `f64` instantiation is the code
//! that ran before the `f32` path, so its sums are in the same order.

use crate::Scalar;

/// `Σ a_i b_i`, summed in eight interleaved partial sums (so the loop
/// vectorises); the order of summation is fixed, so results are reproducible.
///
/// # Panics
/// If the slices differ in length.
///
/// ```
/// assert_eq!(nncore::linalg::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline]
pub fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
    assert_eq!(a.len(), b.len(), "dot: lengths differ");
    let mut acc = [S::zero(); 8];
    let (ac, ar) = a.split_at(a.len() - a.len() % 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = S::zero();
    for (&x, &y) in ar.iter().zip(br) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y += alpha * x`.
///
/// # Panics
/// If the slices differ in length.
#[inline]
pub fn axpy<S: Scalar>(alpha: S, x: &[S], y: &mut [S]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `out = v · M` for a row-major `M` of `v.len()` rows and `out.len()`
/// columns: `out[j] = Σ_i v[i] M[i][j]`, formed as a sum of scaled rows so
/// `M` is read once, contiguously.
///
/// `out` is overwritten (set to `init` first if given, else zero).
///
/// # Panics
/// If `m.len() != v.len() * out.len()`.
#[inline]
pub fn vec_mat<S: Scalar>(v: &[S], m: &[S], init: Option<&[S]>, out: &mut [S]) {
    let cols = out.len();
    assert_eq!(m.len(), v.len() * cols, "vec_mat: shape mismatch");
    match init {
        Some(b) => out.copy_from_slice(b),
        None => out.fill(S::zero()),
    }
    for (&vi, row) in v.iter().zip(m.chunks_exact(cols)) {
        axpy(vi, row, out);
    }
}

/// `out += v · M` for a row-major `M` of `v.len()` rows and `out.len()`
/// columns, four rows at a time (so `out` is loaded and stored once per four
/// rows of `M`); `M` is read once, contiguously.
///
/// # Panics
/// If `m.len() != v.len() * out.len()`.
#[inline]
pub fn vec_mat_acc<S: Scalar>(v: &[S], m: &[S], out: &mut [S]) {
    let cols = out.len();
    assert_eq!(m.len(), v.len() * cols, "vec_mat_acc: shape mismatch");
    if cols == 0 {
        return;
    }
    let blocks = v.len() / 4;
    for (vs, rows) in v.chunks_exact(4).zip(m.chunks_exact(4 * cols)) {
        let (r0, rest) = rows.split_at(cols);
        let (r1, rest) = rest.split_at(cols);
        let (r2, r3) = rest.split_at(cols);
        let (a0, a1, a2, a3) = (vs[0], vs[1], vs[2], vs[3]);
        for ((((o, &x0), &x1), &x2), &x3) in out.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *o += (a0 * x0 + a1 * x1) + (a2 * x2 + a3 * x3);
        }
    }
    for (&vi, row) in v[blocks * 4..]
        .iter()
        .zip(m[blocks * 4 * cols..].chunks_exact(cols))
    {
        axpy(vi, row, out);
    }
}

/// `out = M · v` for a row-major `M` of `out.len()` rows and `v.len()`
/// columns: `out[i] = Σ_j M[i][j] v[j]`, one contiguous dot per row.
///
/// # Panics
/// If `m.len() != out.len() * v.len()`.
#[inline]
pub fn mat_vec<S: Scalar>(m: &[S], v: &[S], out: &mut [S]) {
    let cols = v.len();
    assert_eq!(m.len(), out.len() * cols, "mat_vec: shape mismatch");
    if cols == 0 {
        out.fill(S::zero());
        return;
    }
    // Four rows at a time share each load of `v`; four partial sums per row
    // (fixed-size chunks, so the compiler drops bounds checks and vectorises;
    // 16 accumulators fit the 16 SSE registers without spilling).
    let blocks = out.len() / 4;
    let body = cols - cols % 4;
    for (o4, rows) in out.chunks_exact_mut(4).zip(m.chunks_exact(4 * cols)) {
        let (r0, rest) = rows.split_at(cols);
        let (r1, rest) = rest.split_at(cols);
        let (r2, r3) = rest.split_at(cols);
        let mut acc = [[S::zero(); 4]; 4];
        for ((((vv, x0), x1), x2), x3) in v[..body]
            .chunks_exact(4)
            .zip(r0[..body].chunks_exact(4))
            .zip(r1[..body].chunks_exact(4))
            .zip(r2[..body].chunks_exact(4))
            .zip(r3[..body].chunks_exact(4))
        {
            for k in 0..4 {
                acc[0][k] += x0[k] * vv[k];
                acc[1][k] += x1[k] * vv[k];
                acc[2][k] += x2[k] * vv[k];
                acc[3][k] += x3[k] * vv[k];
            }
        }
        for ((o, a), row) in o4.iter_mut().zip(&acc).zip([r0, r1, r2, r3]) {
            let tail: S = row[body..].iter().zip(&v[body..]).map(|(&x, &y)| x * y).sum();
            *o = ((a[0] + a[2]) + (a[1] + a[3])) + tail;
        }
    }
    for (o, row) in out[blocks * 4..]
        .iter_mut()
        .zip(m[blocks * 4 * cols..].chunks_exact(cols))
    {
        *o = dot(row, v);
    }
}

/// `out = Aᵀ B` for row-major `A` (`n × a_cols`) and `B` (`n × b_cols`), i.e.
/// `Σ_t a_tᵀ b_t` over the `n` rows: the sum of outer products that a
/// recurrent-weight gradient is. Row `i` of the result is formed as
/// `(column i of A) · B` with [`vec_mat_acc`], gathering the column into
/// `col` (length `n`), so nothing is allocated.
///
/// # Panics
/// If the shapes do not agree.
pub fn outer_sum<S: Scalar>(a: &[S], b: &[S], a_cols: usize, col: &mut [S], out: &mut [S]) {
    let n = col.len();
    assert_eq!(a.len(), n * a_cols, "outer_sum: A has the wrong size");
    assert!(
        n == 0 || b.len().is_multiple_of(n),
        "outer_sum: B has the wrong size"
    );
    let b_cols = b.len().checked_div(n).unwrap_or(0);
    assert_eq!(
        out.len(),
        a_cols * b_cols,
        "outer_sum: out has the wrong size"
    );
    if b_cols == 0 {
        return;
    }
    for (i, row) in out.chunks_exact_mut(b_cols).enumerate() {
        for (c, a_row) in col.iter_mut().zip(a.chunks_exact(a_cols)) {
            *c = a_row[i];
        }
        row.fill(S::zero());
        vec_mat_acc(col, b, row);
    }
}

/// The largest singular value of a row-major `rows × cols` matrix, by
/// `iters` steps of power iteration on `MᵀM` from a fixed start (so the
/// result is reproducible). Allocates two vectors.
///
/// ```
/// // diag(3, 1): largest singular value 3.
/// let s = nncore::linalg::spectral_norm(&[3.0, 0.0, 0.0, 1.0], 2, 2, 50);
/// assert!((s - 3.0).abs() < 1e-9);
/// ```
pub fn spectral_norm(m: &[f64], rows: usize, cols: usize, iters: usize) -> f64 {
    assert_eq!(m.len(), rows * cols, "spectral_norm: shape mismatch");
    if rows == 0 || cols == 0 {
        return 0.0;
    }
    // A start vector with no special alignment to any singular vector.
    let mut v: Vec<f64> = (0..cols)
        .map(|j| 1.0 + (j as f64 * 0.618_034).fract())
        .collect();
    let mut u = vec![0.0; rows];
    let mut sigma = 0.0;
    for _ in 0..iters.max(1) {
        let nv = norm(&v);
        if nv == 0.0 || !nv.is_finite() {
            return if nv.is_finite() { 0.0 } else { f64::NAN };
        }
        v.iter_mut().for_each(|x| *x /= nv);
        mat_vec(m, &v, &mut u); // u = M v
        sigma = norm(&u);
        v.fill(0.0);
        vec_mat_acc(&u, m, &mut v); // v = Mᵀ u
    }
    sigma
}

/// The Euclidean norm `√Σ x²`.
pub fn norm<S: Scalar>(x: &[S]) -> S {
    dot(x, x).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dot_matches_naive(v in prop::collection::vec((-1.0f64..1.0, -1.0f64..1.0), 0..40)) {
            let (a, b): (Vec<f64>, Vec<f64>) = v.into_iter().unzip();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            prop_assert!((dot(&a, &b) - naive).abs() < 1e-12);
        }
    }

    proptest! {
        #[test]
        fn blocked_kernels_match_naive(rows in 0usize..11, cols in 0usize..11, seed in 0u64..1000) {
            let f = |i: usize| ((i as u64 * 2654435761 + seed) % 1000) as f64 / 500.0 - 1.0;
            let m: Vec<f64> = (0..rows * cols).map(f).collect();
            let v: Vec<f64> = (0..rows).map(|i| f(i + 7)).collect();
            let w: Vec<f64> = (0..cols).map(|i| f(i + 13)).collect();
            let mut out = vec![0.5; cols];
            vec_mat_acc(&v, &m, &mut out);
            for j in 0..cols {
                let naive: f64 = 0.5 + (0..rows).map(|i| v[i] * m[i * cols + j]).sum::<f64>();
                prop_assert!((out[j] - naive).abs() < 1e-12);
            }
            let mut out = vec![9.0; rows];
            mat_vec(&m, &w, &mut out);
            for i in 0..rows {
                let naive: f64 = (0..cols).map(|j| m[i * cols + j] * w[j]).sum();
                prop_assert!((out[i] - naive).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn outer_sum_is_a_transposed_product() {
        // A = [[1, 2], [3, 4], [5, 6]] (3x2), B = [[1, 0, 1], [0, 1, 1], [2, 0, 0]] (3x3)
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 2.0, 0.0, 0.0];
        let mut out = [f64::NAN; 6];
        outer_sum(&a, &b, 2, &mut [0.0; 3], &mut out);
        // AᵀB = [[1+10, 3, 1+3], [2+12, 4, 2+4]]
        assert_eq!(out, [11.0, 3.0, 4.0, 14.0, 4.0, 6.0]);
    }

    #[test]
    fn vec_mat_and_mat_vec_are_transposes() {
        // M = [[1, 2, 3], [4, 5, 6]] (2x3)
        let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out3 = [0.0; 3];
        vec_mat(&[1.0, 10.0], &m, None, &mut out3);
        assert_eq!(out3, [41.0, 52.0, 63.0]);
        vec_mat(&[1.0, 10.0], &m, Some(&[1.0, 1.0, 1.0]), &mut out3);
        assert_eq!(out3, [42.0, 53.0, 64.0]);
        let mut out2 = [0.0; 2];
        mat_vec(&m, &[1.0, 0.0, 2.0], &mut out2);
        assert_eq!(out2, [7.0, 16.0]);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
    }
}
