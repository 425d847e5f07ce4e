//! Small dense kernels for the per-time-step hot loops.
//!
//! At batch size 1 the work is many 100-long vector operations; these are
//! written so the compiler vectorises them (independent accumulators for
//! reductions, plain zipped loops for updates) and never allocate. Each is
//! generic over the [`Scalar`] type; the `f64` instantiation is the code
//! that ran before the `f32` path, so its sums are in the same order.

use crate::{Precision, Scalar};

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
    // Partial sum k takes the products k, k + 8, k + 16, …; sums 0..4 and
    // 4..8 are kept as two arrays of four, each one vector.
    let (mut lo, mut hi) = ([S::zero(); 4], [S::zero(); 4]);
    let (ac, ar) = a.as_chunks::<8>();
    let (bc, br) = b.as_chunks::<8>();
    for (x, y) in ac.iter().zip(bc) {
        let (x4, y4) = (x.as_chunks::<4>().0, y.as_chunks::<4>().0);
        add_products(&mut lo, &x4[0], &y4[0]);
        add_products(&mut hi, &x4[1], &y4[1]);
    }
    let mut tail = S::zero();
    for (&x, &y) in ar.iter().zip(br) {
        tail += x * y;
    }
    fold_dot(lo, hi) + tail
}

/// `((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))` for [`dot`]'s
/// partial sums `lo = s0..4`, `hi = s4..8`. Not inlined: where the compiler
/// saw this fold, it laid the sums out for it (lanes 0 and 2 in one
/// register, 1 and 3 in another) and shuffled every product of the loop
/// into place.
#[inline(never)]
fn fold_dot<S: Scalar>(lo: [S; 4], hi: [S; 4]) -> S {
    let s = [lo[0] + hi[0], lo[1] + hi[1], lo[2] + hi[2], lo[3] + hi[3]];
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `acc[k] += x[k] · y[k]` (a product, then a sum: not fused).
#[inline(always)]
fn add_products<S: Scalar>(acc: &mut [S; 4], x: &[S; 4], y: &[S; 4]) {
    for k in 0..4 {
        acc[k] += x[k] * y[k];
    }
}

/// One pass of stochastic gradient descent that also forms the gradient's
/// squared norm: `v_k -= rate · g_k` for every `k` of each `(rate, range)`
/// segment, and returns `Σ g_k²` summed exactly as [`dot`]`(g, g)` sums it
/// (product `k` into partial sum `k % 8`, the last `len % 8` into a tail).
/// The norm's chain of additions is latency-bound on its own; in the same
/// loop as the update it runs in the update's shadow.
///
/// # Panics
/// If the slices differ in length, or the segments do not tile `0..len`
/// in order.
///
/// ```
/// let (mut v, g) = ([1.0, 1.0, 1.0], [3.0, 4.0, 0.0]);
/// let sq = nncore::linalg::sgd_sq_norm(&mut v, &g, [(0.5, 0..2), (1.0, 2..3)]);
/// assert_eq!((sq, v), (25.0, [-0.5, -1.0, 1.0]));
/// ```
pub fn sgd_sq_norm<S: Scalar>(
    values: &mut [S],
    grads: &[S],
    segments: impl IntoIterator<Item = (S, std::ops::Range<usize>)>,
) -> S {
    assert_eq!(values.len(), grads.len(), "sgd_sq_norm: lengths differ");
    let n = grads.len();
    let body = n - n % 8;
    let mut acc = [S::zero(); 8];
    let mut tail = S::zero();
    let one = |k: usize, rate: S, v: &mut S, acc: &mut [S; 8], tail: &mut S| {
        let g = grads[k];
        if k < body {
            acc[k % 8] += g * g;
        } else {
            *tail += g * g;
        }
        *v -= rate * g;
    };
    let mut next = 0;
    for (rate, range) in segments {
        assert_eq!(range.start, next, "sgd_sq_norm: segments out of order");
        let (mut k, end) = (range.start, range.end);
        next = end;
        // Up to a multiple of 8, then whole chunks of 8 (the partial sums
        // in order, as one or two vectors), then the rest.
        while k < end && !k.is_multiple_of(8) {
            one(k, rate, &mut values[k], &mut acc, &mut tail);
            k += 1;
        }
        let stop = k.max(end.min(body) / 8 * 8);
        let (vc, _) = values[k..stop].as_chunks_mut::<8>();
        let (gc, _) = grads[k..stop].as_chunks::<8>();
        for (v8, g8) in vc.iter_mut().zip(gc) {
            for l in 0..8 {
                acc[l] += g8[l] * g8[l];
                v8[l] -= rate * g8[l];
            }
        }
        for (k, v) in values.iter_mut().enumerate().take(end).skip(stop) {
            one(k, rate, v, &mut acc, &mut tail);
        }
    }
    assert_eq!(next, n, "sgd_sq_norm: segments do not cover the buffer");
    fold_dot(
        [acc[0], acc[1], acc[2], acc[3]],
        [acc[4], acc[5], acc[6], acc[7]],
    ) + tail
}

/// `y += alpha * x`.
///
/// # Panics
/// If the slices differ in length.
#[inline]
pub fn axpy<S: Scalar>(alpha: S, x: &[S], y: &mut [S]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = S::madd(*yi, alpha, xi);
    }
}

/// `out = v · M` for a row-major `M` of `v.len()` rows and `out.len()`
/// columns: `out[j] = Σ_i v[i] M[i][j]`, formed as a sum of scaled rows
/// added in order (`((out[j] + v[0] M[0][j]) + v[1] M[1][j]) + …`, each
/// term by [`Scalar::madd`]), so `M` is read once. Chunks of columns stay
/// in registers while the rows pass.
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
    if cols == 0 {
        return;
    }
    // The rows added one at a time, in order (the sums of `axpy` row after
    // row), each chunk of columns kept in registers while the rows pass.
    by_passes::<S, false>(v, m, out);
}

/// Numbers per vector register of the widest vectors the kernels count on
/// (256-bit): the unit a column chunk is made of.
const fn vector<S: Scalar>() -> usize {
    match S::PRECISION {
        Precision::F64 => 4,
        Precision::F32 => 8,
    }
}

/// `acc[c] = madd4(acc[c], a, [r0[c], r1[c], r2[c], r3[c]])` for a chunk:
/// four rows of a matrix times their four coefficients, added in the fixed
/// order of [`Scalar::madd4`] (the order every kernel here uses, so results
/// do not depend on how columns are chunked).
#[inline(always)]
fn add_rows4<S: Scalar, const C: usize>(acc: &mut [S; C], a: [S; 4], r: [&[S]; 4]) {
    let (r0, r1, r2, r3) = (&r[0][..C], &r[1][..C], &r[2][..C], &r[3][..C]);
    for c in 0..C {
        acc[c] = S::madd4(acc[c], a, [r0[c], r1[c], r2[c], r3[c]]);
    }
}

/// `out += v · M` for a row-major `M` of `v.len()` rows and `out.len()`
/// columns: `out[j] += Σ_i v[i] M[i][j]`, the rows taken four at a time
/// (each block's four products summed pairwise, then added to `out[j]`),
/// the last `v.len() % 4` rows one at a time. Each chunk of columns stays in
/// registers while every row passes, so `out` is loaded and stored once and
/// `M` is read once.
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
    by_passes::<S, true>(v, m, out);
}

/// `out += v · M` by passes over every row, each keeping a chunk of whole
/// vectors of columns in registers: as few passes as 16 vectors a pass
/// allow, of equal widths (so each pass has many independent chains of
/// multiply–adds), then single columns. Each column's sum is the same
/// whatever its chunk: rows four at a time by [`Scalar::madd4`] if
/// `BLOCKED` (then the rest one at a time), else one at a time in order.
#[inline(always)]
fn by_passes<S: Scalar, const BLOCKED: bool>(v: &[S], m: &[S], out: &mut [S]) {
    let whole = out.len() / vector::<S>();
    let passes = whole.div_ceil(16).max(1);
    let mut j = 0;
    for p in 0..passes {
        // Vectors in this pass: the whole ones spread evenly.
        let n = whole * (p + 1) / passes - whole * p / passes;
        j = vec_mat_acc_pass::<S, BLOCKED>(v, m, out, j, n);
    }
    vec_mat_acc_from::<S, 1, BLOCKED>(v, m, out, j);
}

/// One pass of [`by_passes`] over `n` vectors' worth of columns from
/// column `j0` (`n ≤ 16`); returns the first column left.
#[inline(always)]
fn vec_mat_acc_pass<S: Scalar, const BLOCKED: bool>(
    v: &[S],
    m: &[S],
    out: &mut [S],
    j0: usize,
    n: usize,
) -> usize {
    macro_rules! widths {
        ($($k:literal)*) => {
            match (S::PRECISION, n) {
                (_, 0) => j0,
                $((Precision::F64, $k) => vec_mat_acc_from::<S, { 4 * $k }, BLOCKED>(v, m, out, j0),)*
                $((Precision::F32, $k) => vec_mat_acc_from::<S, { 8 * $k }, BLOCKED>(v, m, out, j0),)*
                _ => unreachable!("at most 16 vectors a pass"),
            }
        };
    }
    widths!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// [`by_passes`] on the chunks of `C` columns from column `j0` on, as many
/// as fit; returns the first column left.
#[inline(always)]
fn vec_mat_acc_from<S: Scalar, const C: usize, const BLOCKED: bool>(
    v: &[S],
    m: &[S],
    out: &mut [S],
    j0: usize,
) -> usize {
    let cols = out.len();
    let blocks = if BLOCKED { v.len() / 4 } else { 0 };
    let mut j0 = j0;
    while j0 + C <= cols {
        let mut acc: [S; C] = out[j0..j0 + C].try_into().expect("a chunk");
        for (b, vs) in v.chunks_exact(4).take(blocks).enumerate() {
            let row = |k: usize| &m[(4 * b + k) * cols + j0..][..C];
            add_rows4(
                &mut acc,
                [vs[0], vs[1], vs[2], vs[3]],
                [row(0), row(1), row(2), row(3)],
            );
        }
        for (i, &vi) in v.iter().enumerate().skip(blocks * 4) {
            let row = &m[i * cols + j0..][..C];
            for c in 0..C {
                acc[c] = S::madd(acc[c], vi, row[c]);
            }
        }
        out[j0..j0 + C].copy_from_slice(&acc);
        j0 += C;
    }
    j0
}

/// Partial sums per row in [`mat_vec`]: 4 in `f64` (the order its results
/// have always had), 16 in `f32` (two vectors of fused multiply–adds per
/// row, eight for four rows: enough to hide their latency).
const fn lanes<S: Scalar>() -> usize {
    match S::PRECISION {
        Precision::F64 => 4,
        Precision::F32 => 16,
    }
}

/// `acc[l] = madd(acc[l], m[l], v[l])` for every lane.
#[inline(always)]
fn madd_lanes<S: Scalar, const N: usize>(acc: &mut [S; N], m: &[S; N], v: &[S; N]) {
    for l in 0..N {
        acc[l] = S::madd(acc[l], m[l], v[l]);
    }
}

/// [`fold`] of four rows' partial sums. Not inlined: where the compiler
/// saw the fold, it laid each row's sums out for it (lanes 0 and 2 in one
/// register, 1 and 3 in another) and shuffled every product of the loop into
/// place (for [`dot`], see [`fold_dot`]).
#[inline(never)]
fn fold_rows<S: Scalar, const N: usize>(acc: [[S; N]; 4]) -> [S; 4] {
    acc.map(fold)
}

/// The sum of `a` folded in halves: `a[k] + a[k + N/2]`, again and again
/// (for `N = 4`: `(a0 + a2) + (a1 + a3)`).
#[inline(always)]
fn fold<S: Scalar, const N: usize>(mut a: [S; N]) -> S {
    let mut n = N;
    while n > 1 {
        n /= 2;
        for k in 0..n {
            a[k] += a[k + n];
        }
    }
    a[0]
}

/// `out = M · v` for a row-major `M` of `out.len()` rows and `v.len()`
/// columns: `out[i] = Σ_j M[i][j] v[j]`, one contiguous pass per row. Four
/// rows at a time share each load of `v`; each row keeps
/// [`lanes`]`::<S>()` partial sums (`j` modulo that), folded in halves,
/// plus the last columns in order; the last `out.len() % 4` rows are
/// [`dot`]s.
///
/// # Panics
/// If `m.len() != out.len() * v.len()`.
#[inline]
pub fn mat_vec<S: Scalar>(m: &[S], v: &[S], out: &mut [S]) {
    match S::PRECISION {
        Precision::F64 => mat_vec_n::<S, { lanes::<f64>() }>(m, v, out),
        Precision::F32 => mat_vec_n::<S, { lanes::<f32>() }>(m, v, out),
    }
}

#[inline(always)]
fn mat_vec_n<S: Scalar, const N: usize>(m: &[S], v: &[S], out: &mut [S]) {
    let cols = v.len();
    assert_eq!(m.len(), out.len() * cols, "mat_vec: shape mismatch");
    if cols == 0 {
        out.fill(S::zero());
        return;
    }
    let blocks = out.len() / 4;
    let body = cols - cols % N;
    let (vb, _) = v[..body].as_chunks::<N>();
    for (o4, rows) in out.chunks_exact_mut(4).zip(m.chunks_exact(4 * cols)) {
        let row = |k: usize| &rows[k * cols..(k + 1) * cols];
        let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
        let (c0, c1, c2, c3) = (
            r0[..body].as_chunks::<N>().0,
            r1[..body].as_chunks::<N>().0,
            r2[..body].as_chunks::<N>().0,
            r3[..body].as_chunks::<N>().0,
        );
        let mut acc = [[S::zero(); N]; 4];
        // Row by row within each step of `k`, so each row's lanes are one
        // (or two) vectors (interleaving the rows lane by lane made the
        // compiler pack across rows and shuffle); the same sums either way.
        for (k, vv) in vb.iter().enumerate() {
            madd_lanes(&mut acc[0], &c0[k], vv);
            madd_lanes(&mut acc[1], &c1[k], vv);
            madd_lanes(&mut acc[2], &c2[k], vv);
            madd_lanes(&mut acc[3], &c3[k], vv);
        }
        // (In f64; in f32, with 16 lanes, the compiler folds well inline.)
        let folded = match S::PRECISION {
            Precision::F64 => fold_rows(acc),
            Precision::F32 => acc.map(fold),
        };
        for ((o, a), row) in o4.iter_mut().zip(folded).zip([r0, r1, r2, r3]) {
            let tail: S = row[body..]
                .iter()
                .zip(&v[body..])
                .map(|(&x, &y)| x * y)
                .sum();
            *o = a + tail;
        }
    }
    for (o, row) in out[blocks * 4..]
        .iter_mut()
        .zip(m[blocks * 4 * cols..].chunks_exact(cols))
    {
        *o = dot(row, v);
    }
}

/// A recurrent matrix `M` (`rows × cols`, row-major) laid out for the
/// products of every time step of a sequence, by the plan that is fastest
/// in `S`:
///
/// - in `f64` nothing is copied: [`StepMatrix::vec_mat_acc`] is
///   [`vec_mat_acc`] and [`StepMatrix::mat_vec`] is [`mat_vec`] on `M` in
///   place (the summation orders the article's results have always had);
/// - in `f32` [`StepMatrix::prepare`] copies `M` once per sequence (it does
///   not change during a forward or backward pass): for the forward product
///   `v · M` with its rows padded to a multiple of 8 columns and cut into
///   column panels, one contiguous block per pass of [`vec_mat_acc`], and
///   for the backward carry `M · v` as `Mᵀ`, padded the same way, so that
///   both are [`vec_mat_acc`]s whose every column chunk is a full vector of
///   fused multiply–adds, reading memory in order.
///
/// ```
/// use nncore::linalg::StepMatrix;
/// // M = [[1, 2, 3], [4, 5, 6]] (2 × 3).
/// let m = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut carry = StepMatrix::carry(2, 3);
/// carry.prepare(&m);
/// let mut out = [0.0f32; 2];
/// carry.mat_vec(&m, &[1.0, 0.0, 2.0], &mut out); // M v
/// assert_eq!(out, [7.0, 16.0]);
/// let mut fwd = StepMatrix::forward(2, 3);
/// fwd.prepare(&m);
/// let mut acc = [1.0f32; 3];
/// fwd.vec_mat_acc(&m, &[1.0, 10.0], &mut acc); // acc + v M
/// assert_eq!(acc, [42.0, 53.0, 64.0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StepMatrix<S> {
    /// `f32`: the copy (`M` in column panels, or `Mᵀ` padded for a carry plan).
    copy: Vec<S>,
    /// `f32`: the padded product being formed.
    scratch: Vec<S>,
    /// `f32` forward plan: the first column and the width of each panel.
    panels: Vec<(usize, usize)>,
    rows: usize,
    cols: usize,
    /// Whether the copy is `Mᵀ` (the backward carry's plan).
    transposed: bool,
}

/// The column panels of a forward plan's copy of a matrix `width` columns
/// wide: the passes [`vec_mat_acc`] would make over it (whole vectors, at
/// most 16 a pass, of equal widths), so that each is one pass over a
/// contiguous block.
fn panels<S: Scalar>(width: usize) -> Vec<(usize, usize)> {
    let v = vector::<S>();
    let whole = width / v;
    let passes = whole.div_ceil(16);
    let mut out = Vec::with_capacity(passes + 1);
    let mut j = 0;
    for p in 0..passes {
        let w = v * (whole * (p + 1) / passes - whole * p / passes);
        out.push((j, w));
        j += w;
    }
    if j < width {
        out.push((j, width - j));
    }
    out
}

impl<S: Scalar> StepMatrix<S> {
    /// A plan for the forward products `out += v · M` of a `rows × cols`
    /// matrix.
    pub fn forward(rows: usize, cols: usize) -> Self {
        Self::new(rows, cols, false)
    }

    /// A plan for the backward carries `out = M · v` of a `rows × cols`
    /// matrix.
    pub fn carry(rows: usize, cols: usize) -> Self {
        Self::new(rows, cols, true)
    }

    fn new(rows: usize, cols: usize, transposed: bool) -> Self {
        // The copy's rows and their padded length.
        let (n, width) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        let padded = width.next_multiple_of(8);
        let (copy, scratch, panels) = match S::PRECISION {
            Precision::F64 => (Vec::new(), Vec::new(), Vec::new()),
            Precision::F32 => (
                vec![S::zero(); n * padded],
                vec![S::zero(); padded],
                if transposed {
                    Vec::new()
                } else {
                    panels::<S>(padded)
                },
            ),
        };
        Self {
            copy,
            scratch,
            panels,
            rows,
            cols,
            transposed,
        }
    }

    /// The padded row length of the copy.
    fn padded(&self) -> usize {
        self.scratch.len()
    }

    /// Takes `m` for the products that follow (in `f32`, copies it: for a
    /// forward plan into column panels, each stored row by row in one
    /// contiguous block, so every pass of a product streams through memory
    /// in order; for a carry plan transposed, its rows padded; in `f64`,
    /// nothing).
    ///
    /// # Panics
    /// If `m` is not `rows × cols`.
    pub fn prepare(&mut self, m: &[S]) {
        let (r, c) = (self.rows, self.cols);
        assert_eq!(m.len(), r * c, "StepMatrix: shape mismatch");
        if S::PRECISION == Precision::F64 {
            return;
        }
        let p = self.padded();
        if self.transposed {
            // Tiles of 8 × 8, so both sides stay in a few cache lines; a
            // whole tile's columns are gathered eight at a time and written
            // as whole rows of the copy.
            for i0 in (0..r).step_by(8) {
                for j0 in (0..c).step_by(8) {
                    let j1 = (j0 + 8).min(c);
                    if i0 + 8 <= r {
                        let seg: [&[S]; 8] =
                            std::array::from_fn(|i| &m[(i0 + i) * c + j0..(i0 + i) * c + j1]);
                        for (k, dst) in self.copy[j0 * p..j1 * p].chunks_exact_mut(p).enumerate() {
                            let col: [S; 8] = std::array::from_fn(|i| seg[i][k]);
                            dst[i0..i0 + 8].copy_from_slice(&col);
                        }
                        continue;
                    }
                    for i in i0..r {
                        for j in j0..j1 {
                            self.copy[j * p + i] = m[i * c + j];
                        }
                    }
                }
            }
        } else {
            // Panel (j0, w) holds rows 0..r of columns j0..j0 + w at offset
            // r · j0; the padding columns stay zero.
            for &(j0, w) in &self.panels {
                let panel = &mut self.copy[r * j0..r * (j0 + w)];
                let real = w.min(c.saturating_sub(j0));
                for (dst, src) in panel.chunks_exact_mut(w).zip(m.chunks_exact(c)) {
                    dst[..real].copy_from_slice(&src[j0..j0 + real]);
                }
            }
        }
    }

    /// `out += v · M` (a forward plan; `m` the matrix given to
    /// [`StepMatrix::prepare`]).
    ///
    /// # Panics
    /// If the shapes do not agree, or this is a carry plan.
    pub fn vec_mat_acc(&mut self, m: &[S], v: &[S], out: &mut [S]) {
        assert!(
            !self.transposed,
            "StepMatrix: a carry plan's forward product"
        );
        match S::PRECISION {
            Precision::F64 => vec_mat_acc(v, m, out),
            Precision::F32 => {
                let (r, c) = (self.rows, self.cols);
                assert_eq!(out.len(), c, "StepMatrix: out has the wrong size");
                assert_eq!(v.len(), r, "StepMatrix: v has the wrong size");
                self.scratch[..c].copy_from_slice(out);
                // Each column's sum does not depend on its panel: the same
                // bits as one vec_mat_acc over the padded matrix.
                for &(j0, w) in &self.panels {
                    vec_mat_acc(
                        v,
                        &self.copy[r * j0..r * (j0 + w)],
                        &mut self.scratch[j0..j0 + w],
                    );
                }
                out.copy_from_slice(&self.scratch[..c]);
            }
        }
    }

    /// `out = M · v` (a carry plan; `m` the matrix given to
    /// [`StepMatrix::prepare`]).
    ///
    /// # Panics
    /// If the shapes do not agree, or this is a forward plan.
    pub fn mat_vec(&mut self, m: &[S], v: &[S], out: &mut [S]) {
        assert!(self.transposed, "StepMatrix: a forward plan's carry");
        match S::PRECISION {
            Precision::F64 => mat_vec(m, v, out),
            Precision::F32 => {
                let r = self.rows;
                assert_eq!(out.len(), r, "StepMatrix: out has the wrong size");
                self.scratch.fill(S::zero());
                vec_mat_acc(v, &self.copy, &mut self.scratch);
                out.copy_from_slice(&self.scratch[..r]);
            }
        }
    }
}

/// `out = Aᵀ B` for row-major `A` (`n × a_cols`) and `B` (`n × b_cols`), i.e.
/// `Σ_t a_tᵀ b_t` over the `n` rows: the sum of outer products that a
/// recurrent-weight gradient is. Entry `(i, j)` is summed over `t` in the
/// order of [`vec_mat_acc`] (blocks of four rows of `B`, then the rest),
/// from zero. The rows of `B` are taken [`OUTER_BLOCK`] at a time: a block's
/// chunk of columns is copied into one contiguous panel that stays in L1
/// while every four rows of the result pass over it, their partial sums in
/// registers (carried from block to block in `out`, so the order is the
/// same). `A` is read in place. `col` (length `n`) is scratch for the last
/// `a_cols % 4` rows of the result.
///
/// # Panics
/// If the shapes do not agree.
pub fn outer_sum<S: Scalar>(a: &[S], b: &[S], a_cols: usize, col: &mut [S], out: &mut [S]) {
    outer_sum_in::<S, OUTER_BLOCK>(a, b, a_cols, col, out);
}

/// Rows of `B` per block of [`outer_sum`] (a multiple of 4): a panel of a
/// block's chunk of columns (16 KB in either precision) and the rows of
/// `A` it meets stay in a 48 KB L1 cache.
pub const OUTER_BLOCK: usize = 128;

/// [`outer_sum`] in blocks of `TB` rows of `B` (so tests can take small
/// blocks).
#[inline]
fn outer_sum_in<S: Scalar, const TB: usize>(
    a: &[S],
    b: &[S],
    a_cols: usize,
    col: &mut [S],
    out: &mut [S],
) {
    const { assert!(TB > 0 && TB.is_multiple_of(4)) };
    match S::PRECISION {
        // Four rows by four vectors: 16 accumulators.
        Precision::F64 => outer_sum_c::<S, 16, 4, TB>(a, b, a_cols, col, out),
        Precision::F32 => outer_sum_c::<S, 32, 8, TB>(a, b, a_cols, col, out),
    }
}

#[inline(always)]
fn outer_sum_c<S: Scalar, const C: usize, const V: usize, const TB: usize>(
    a: &[S],
    b: &[S],
    a_cols: usize,
    col: &mut [S],
    out: &mut [S],
) {
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
    let tiles = Tiles {
        a,
        b,
        a_cols,
        b_cols,
        i_rows: a_cols / 4 * 4,
    };
    if tiles.i_rows > 0 {
        for t0 in (0..n).step_by(TB) {
            let t1 = (t0 + TB).min(n);
            // Chunks of C columns, then of one vector, then the last
            // columns as one vector padded with zeros: the same sums.
            let j = tiles.block::<C, TB>(t0, t1, out, 0);
            let j = tiles.block::<V, TB>(t0, t1, out, j);
            if j < tiles.b_cols {
                let mut panel = [[S::zero(); V]; TB];
                tiles.chunk(&mut panel, t0, t1, out, j, tiles.b_cols - j);
            }
        }
    }
    // The last rows of the result: (column i of A) · B.
    for i in tiles.i_rows..a_cols {
        for (c, a_row) in col.iter_mut().zip(a.chunks_exact(a_cols)) {
            *c = a_row[i];
        }
        let row = &mut out[i * b_cols..(i + 1) * b_cols];
        row.fill(S::zero());
        vec_mat_acc(col, b, row);
    }
}

/// The operands of [`outer_sum`] and the rows of the result formed four at
/// a time (`0 .. i_rows`).
struct Tiles<'a, S> {
    a: &'a [S],
    b: &'a [S],
    a_cols: usize,
    b_cols: usize,
    i_rows: usize,
}

impl<S: Scalar> Tiles<'_, S> {
    /// [`Tiles::chunk`] on the chunks of `C` columns from column `j0` on,
    /// as many as fit whole; returns the first column left.
    #[inline(always)]
    fn block<const C: usize, const TB: usize>(
        &self,
        t0: usize,
        t1: usize,
        out: &mut [S],
        j0: usize,
    ) -> usize {
        let mut panel = [[S::zero(); C]; TB];
        let mut j0 = j0;
        while j0 + C <= self.b_cols {
            self.chunk(&mut panel, t0, t1, out, j0, C);
            j0 += C;
        }
        j0
    }

    /// Rows `t0 .. t1` of `B` (`t1 − t0 ≤ TB`, a multiple of 4 unless `t1`
    /// is the last row), columns `j0 .. j0 + w` (`w ≤ C`), added into rows
    /// `0 .. i_rows` of the result. The block is copied into `panel`, one
    /// contiguous row of `C` per row of `B` (its columns from `w` on left
    /// as they are: zero, in products that are not stored). The block
    /// starting at row 0 starts each sum from zero, a later one from the
    /// partial sum in `out`.
    #[inline(always)]
    fn chunk<const C: usize, const TB: usize>(
        &self,
        panel: &mut [[S; C]; TB],
        t0: usize,
        t1: usize,
        out: &mut [S],
        j0: usize,
        w: usize,
    ) {
        let (a, b, a_cols, b_cols) = (self.a, self.b, self.a_cols, self.b_cols);
        let rows = t1 - t0;
        let quads = rows / 4;
        for (p, t) in panel.iter_mut().zip(t0..t1) {
            p[..w].copy_from_slice(&b[t * b_cols + j0..][..w]);
        }
        for i0 in (0..self.i_rows).step_by(4) {
            // a[t][i0 + r] for the four result rows.
            let at = |t: usize, r: usize| a[t * a_cols + i0 + r];
            let mut acc = [[S::zero(); C]; 4];
            if t0 > 0 {
                for (r, acc) in acc.iter_mut().enumerate() {
                    acc[..w].copy_from_slice(&out[(i0 + r) * b_cols + j0..][..w]);
                }
            }
            match S::PRECISION {
                // Four fused multiply–adds in order are `madd4`: one row of
                // the panel at a time, loaded once for the four result rows.
                Precision::F32 => {
                    for (k, row) in panel[..quads * 4].iter().enumerate() {
                        let a4 = &a[(t0 + k) * a_cols + i0..][..4];
                        for (acc, &ar) in acc.iter_mut().zip(a4) {
                            for c in 0..C {
                                acc[c] = S::madd(acc[c], ar, row[c]);
                            }
                        }
                    }
                }
                Precision::F64 => {
                    for q in 0..quads {
                        let (t, p) = (t0 + 4 * q, &panel[4 * q..4 * q + 4]);
                        let rows = [&p[0][..], &p[1][..], &p[2][..], &p[3][..]];
                        for (r, acc) in acc.iter_mut().enumerate() {
                            add_rows4(
                                acc,
                                [at(t, r), at(t + 1, r), at(t + 2, r), at(t + 3, r)],
                                rows,
                            );
                        }
                    }
                }
            }
            for (k, row) in panel.iter().enumerate().take(rows).skip(quads * 4) {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let ar = at(t0 + k, r);
                    for c in 0..C {
                        acc[c] = S::madd(acc[c], ar, row[c]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                out[(i0 + r) * b_cols + j0..][..w].copy_from_slice(&acc[..w]);
            }
        }
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

    /// The f64 kernels as they were written before the f32 path: the
    /// summation orders the article's results were computed in.
    mod before {
        pub fn vec_mat_acc(v: &[f64], m: &[f64], out: &mut [f64]) {
            let cols = out.len();
            let blocks = v.len() / 4;
            for (vs, rows) in v.chunks_exact(4).zip(m.chunks_exact(4 * cols.max(1))) {
                let (r0, rest) = rows.split_at(cols);
                let (r1, rest) = rest.split_at(cols);
                let (r2, r3) = rest.split_at(cols);
                for (j, o) in out.iter_mut().enumerate() {
                    *o += (vs[0] * r0[j] + vs[1] * r1[j]) + (vs[2] * r2[j] + vs[3] * r3[j]);
                }
            }
            for (i, &vi) in v.iter().enumerate().skip(blocks * 4) {
                for (j, o) in out.iter_mut().enumerate() {
                    *o += vi * m[i * cols + j];
                }
            }
        }

        pub fn mat_vec(m: &[f64], v: &[f64], out: &mut [f64]) {
            let cols = v.len();
            let blocks = out.len() / 4;
            let body = cols - cols % 4;
            for (r, o) in out.iter_mut().enumerate() {
                let row = &m[r * cols..(r + 1) * cols];
                if r >= blocks * 4 {
                    *o = super::dot(row, v);
                    continue;
                }
                let mut acc = [0.0f64; 4];
                for k in (0..body).step_by(4) {
                    for l in 0..4 {
                        acc[l] += row[k + l] * v[k + l];
                    }
                }
                let tail: f64 = row[body..].iter().zip(&v[body..]).map(|(x, y)| x * y).sum();
                *o = ((acc[0] + acc[2]) + (acc[1] + acc[3])) + tail;
            }
        }

        pub fn outer_sum(a: &[f64], b: &[f64], a_cols: usize, n: usize, out: &mut [f64]) {
            let b_cols = b.len() / n.max(1);
            for (i, row) in out.chunks_exact_mut(b_cols.max(1)).enumerate().take(a_cols) {
                let col: Vec<f64> = (0..n).map(|t| a[t * a_cols + i]).collect();
                row.fill(0.0);
                vec_mat_acc(&col, b, row);
            }
        }
    }

    /// The kernels' plain definitions in any precision: one entry at a
    /// time, in the summation order each kernel promises.
    mod plain {
        use super::super::{Scalar, fold};

        pub fn vec_mat_acc<S: Scalar>(v: &[S], m: &[S], out: &mut [S]) {
            let cols = out.len();
            let blocks = v.len() / 4;
            for (j, o) in out.iter_mut().enumerate() {
                let mut acc = *o;
                for b in 0..blocks {
                    let i = 4 * b;
                    let a = [v[i], v[i + 1], v[i + 2], v[i + 3]];
                    let r = [0, 1, 2, 3].map(|k| m[(i + k) * cols + j]);
                    acc = S::madd4(acc, a, r);
                }
                for i in blocks * 4..v.len() {
                    acc = S::madd(acc, v[i], m[i * cols + j]);
                }
                *o = acc;
            }
        }

        pub fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
            let mut acc = [S::zero(); 8];
            let body = a.len() - a.len() % 8;
            for k in 0..body {
                acc[k % 8] += a[k] * b[k];
            }
            let mut tail = S::zero();
            for k in body..a.len() {
                tail += a[k] * b[k];
            }
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
        }

        pub fn vec_mat<S: Scalar>(v: &[S], m: &[S], init: &[S], out: &mut [S]) {
            out.copy_from_slice(init);
            for (&vi, row) in v.iter().zip(m.chunks_exact(out.len().max(1))) {
                for (o, &x) in out.iter_mut().zip(row) {
                    *o = S::madd(*o, vi, x);
                }
            }
        }

        pub fn mat_vec<S: Scalar, const N: usize>(m: &[S], v: &[S], out: &mut [S]) {
            let cols = v.len();
            let blocks = out.len() / 4;
            let body = cols - cols % N;
            for (r, o) in out.iter_mut().enumerate() {
                let row = &m[r * cols..(r + 1) * cols];
                if r >= blocks * 4 {
                    *o = super::super::dot(row, v);
                    continue;
                }
                let mut acc = [S::zero(); N];
                for k in (0..body).step_by(N) {
                    for l in 0..N {
                        acc[l] = S::madd(acc[l], row[k + l], v[k + l]);
                    }
                }
                let tail: S = row[body..]
                    .iter()
                    .zip(&v[body..])
                    .map(|(&x, &y)| x * y)
                    .sum();
                *o = fold(acc) + tail;
            }
        }

        pub fn outer_sum<S: Scalar>(a: &[S], b: &[S], a_cols: usize, n: usize, out: &mut [S]) {
            let b_cols = b.len() / n.max(1);
            for (i, row) in out.chunks_exact_mut(b_cols.max(1)).enumerate().take(a_cols) {
                let col: Vec<S> = (0..n).map(|t| a[t * a_cols + i]).collect();
                row.fill(S::zero());
                vec_mat_acc(&col, b, row);
            }
        }
    }

    /// `outer_sum` of `x` (`n × rows`) and `y` in blocks of `TB` rows, into
    /// a result that starts as NaN (so every entry must be written).
    fn in_blocks<S: Scalar, const TB: usize>(x: &[S], y: &[S], rows: usize, n: usize) -> Vec<S> {
        let mut out = vec![S::from_f64(f64::NAN); y.len() / n * rows];
        outer_sum_in::<S, TB>(x, y, rows, &mut vec![S::zero(); n], &mut out);
        out
    }

    fn numbers<S: Scalar>(n: usize, seed: u64) -> Vec<S> {
        (0..n)
            .map(|i| S::from_f64(((i as u64 * 2654435761 + seed) % 1000) as f64 / 500.0 - 1.0))
            .collect()
    }

    proptest! {
        /// In f64 the blocked kernels give the same bits as before, whatever
        /// the shape (columns chunked into passes, rows and columns left over).
        #[test]
        fn f64_kernels_keep_their_summation_order(
            rows in 0usize..23, cols in 1usize..150, n in 1usize..11, seed in 0u64..1000,
        ) {
            let (m, v, w) = (numbers::<f64>(rows * cols, seed), numbers::<f64>(rows, seed + 1), numbers::<f64>(cols, seed + 2));
            let (mut a, mut b) = (numbers::<f64>(cols, seed + 3), numbers::<f64>(cols, seed + 3));
            vec_mat_acc(&v, &m, &mut a);
            before::vec_mat_acc(&v, &m, &mut b);
            prop_assert_eq!(&a, &b);
            // vec_mat: the rows added by axpy, one after another.
            b.copy_from_slice(&w);
            for (&vi, row) in v.iter().zip(m.chunks_exact(cols)) {
                axpy(vi, row, &mut b);
            }
            vec_mat(&v, &m, Some(&w), &mut a);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(dot(&m, &m).to_bits(), plain::dot(&m, &m).to_bits());
            let (mut a, mut b) = (vec![0.0; rows], vec![0.0; rows]);
            mat_vec(&m, &w, &mut a);
            before::mat_vec(&m, &w, &mut b);
            prop_assert_eq!(&a, &b);
            let mut plan = StepMatrix::carry(rows, cols);
            plan.prepare(&m);
            plan.mat_vec(&m, &w, &mut b);
            prop_assert_eq!(&a, &b);
            let (x, y) = (numbers::<f64>(n * rows, seed + 4), numbers::<f64>(n * cols, seed + 5));
            let (mut a, mut b) = (vec![f64::NAN; rows * cols], vec![f64::NAN; rows * cols]);
            outer_sum(&x, &y, rows, &mut vec![0.0; n], &mut a);
            before::outer_sum(&x, &y, rows, n, &mut b);
            prop_assert_eq!(a, b);
        }

        /// In f32 too the blocked kernels and both step-matrix plans give
        /// the bits of their plain definitions (each entry summed in one
        /// fixed order, [`Scalar::madd4`] over blocks of four), whatever the
        /// shape: how columns are chunked, packed or padded changes nothing.
        #[test]
        fn f32_kernels_keep_their_summation_order(
            rows in 0usize..23, cols in 1usize..150, n in 1usize..11, seed in 0u64..1000,
        ) {
            let (m, v, w) = (numbers::<f32>(rows * cols, seed), numbers::<f32>(rows, seed + 1), numbers::<f32>(cols, seed + 2));
            let (mut a, mut b) = (numbers::<f32>(cols, seed + 3), numbers::<f32>(cols, seed + 3));
            let mut c_plain = vec![0.0; cols];
            vec_mat_acc(&v, &m, &mut a);
            plain::vec_mat_acc(&v, &m, &mut b);
            prop_assert_eq!(&a, &b);
            vec_mat(&v, &m, Some(&w), &mut a);
            plain::vec_mat(&v, &m, &w, &mut c_plain);
            prop_assert_eq!(&a, &c_plain);
            prop_assert_eq!(dot(&m, &m).to_bits(), plain::dot(&m, &m).to_bits());
            let mut fwd = StepMatrix::forward(rows, cols);
            fwd.prepare(&m);
            let mut c = numbers::<f32>(cols, seed + 3);
            fwd.vec_mat_acc(&m, &v, &mut c);
            prop_assert_eq!(&c, &b);
            let (mut a, mut b) = (vec![0.0; rows], vec![0.0; rows]);
            mat_vec(&m, &w, &mut a);
            plain::mat_vec::<f32, 16>(&m, &w, &mut b);
            prop_assert_eq!(&a, &b);
            // The carry plan is a vec_mat_acc over Mᵀ.
            let mt: Vec<f32> = (0..cols * rows).map(|k| m[(k % rows) * cols + k / rows]).collect();
            let mut want = vec![0.0; rows];
            plain::vec_mat_acc(&w, &mt, &mut want);
            let mut carry = StepMatrix::carry(rows, cols);
            carry.prepare(&m);
            carry.mat_vec(&m, &w, &mut b);
            prop_assert_eq!(&b, &want);
            let (x, y) = (numbers::<f32>(n * rows, seed + 4), numbers::<f32>(n * cols, seed + 5));
            let (mut a, mut b) = (vec![f32::NAN; rows * cols], vec![f32::NAN; rows * cols]);
            outer_sum(&x, &y, rows, &mut vec![0.0; n], &mut a);
            plain::outer_sum(&x, &y, rows, n, &mut b);
            prop_assert_eq!(a, b);
        }

        /// `outer_sum` over several blocks of rows of `B` (blocks of 4 and 8
        /// rows here, [`OUTER_BLOCK`] in use) carries each partial sum from
        /// block to block: the bits of the plain definition in both
        /// precisions (and of the code before the f32 path in f64).
        #[test]
        fn outer_sum_blocks_keep_the_summation_order(
            rows in 0usize..11, cols in 1usize..70, n in 1usize..40, seed in 0u64..1000,
        ) {
            let (x, y) = (numbers::<f32>(n * rows, seed), numbers::<f32>(n * cols, seed + 1));
            let mut want = vec![f32::NAN; rows * cols];
            plain::outer_sum(&x, &y, rows, n, &mut want);
            prop_assert_eq!(&in_blocks::<f32, 4>(&x, &y, rows, n), &want);
            prop_assert_eq!(&in_blocks::<f32, 8>(&x, &y, rows, n), &want);
            let (x, y) = (numbers::<f64>(n * rows, seed), numbers::<f64>(n * cols, seed + 1));
            let mut want = vec![f64::NAN; rows * cols];
            before::outer_sum(&x, &y, rows, n, &mut want);
            prop_assert_eq!(&in_blocks::<f64, 4>(&x, &y, rows, n), &want);
            prop_assert_eq!(&in_blocks::<f64, 8>(&x, &y, rows, n), &want);
        }

        /// In f32 (fused multiply–adds, their own order) the kernels and
        /// both step-matrix plans agree with f64 to f32's precision.
        #[test]
        fn f32_kernels_match_f64(
            rows in 1usize..23, cols in 1usize..150, n in 1usize..11, seed in 0u64..1000,
        ) {
            let close = |a: &[f32], b: &[f64]| {
                a.iter().zip(b).all(|(&x, &y)| (f64::from(x) - y).abs() <= 1e-5 * (1.0 + y.abs()) * rows.max(cols).max(n) as f64)
            };
            let (m, v, w) = (numbers::<f32>(rows * cols, seed), numbers::<f32>(rows, seed + 1), numbers::<f32>(cols, seed + 2));
            let wide = |x: &[f32]| x.iter().map(|&y| f64::from(y)).collect::<Vec<f64>>();
            let (m64, v64, w64) = (wide(&m), wide(&v), wide(&w));
            let mut want = vec![0.5; cols];
            vec_mat_acc(&v64, &m64, &mut want);
            let mut got = vec![0.5f32; cols];
            vec_mat_acc(&v, &m, &mut got);
            prop_assert!(close(&got, &want));
            let mut fwd = StepMatrix::forward(rows, cols);
            fwd.prepare(&m);
            let mut got = vec![0.5f32; cols];
            fwd.vec_mat_acc(&m, &v, &mut got);
            prop_assert!(close(&got, &want));
            let mut want = vec![0.0; rows];
            mat_vec(&m64, &w64, &mut want);
            let mut got = vec![0.0f32; rows];
            mat_vec(&m, &w, &mut got);
            prop_assert!(close(&got, &want));
            let mut carry = StepMatrix::carry(rows, cols);
            carry.prepare(&m);
            let mut got = vec![0.0f32; rows];
            carry.mat_vec(&m, &w, &mut got);
            prop_assert!(close(&got, &want));
            let (x, y) = (numbers::<f32>(n * rows, seed + 4), numbers::<f32>(n * cols, seed + 5));
            let mut want = vec![0.0; rows * cols];
            outer_sum(&wide(&x), &wide(&y), rows, &mut vec![0.0; n], &mut want);
            let mut got = vec![0.0f32; rows * cols];
            outer_sum(&x, &y, rows, &mut vec![0.0; n], &mut got);
            prop_assert!(close(&got, &want));
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
