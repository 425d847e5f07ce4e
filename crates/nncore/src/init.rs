//! Initialisers: the article's standard normal draws scaled by `1 /
//! √fan_in`, plain Gaussians and uniforms of a given range, and random
//! orthogonal matrices (Saxe et al. 2014). Every draw is made in `f64` and
//! rounded to the model's precision.

use ndarray::Array2;
use ndarray_rand::RandomExt;
use rand::Rng;
use rand_distr::StandardNormal;

use crate::Scalar;

/// A `(rows, cols)` matrix of `N(0, 1) / √fan_in` draws, row by row.
///
/// The article uses `np.random.randn(n_in, n_out) / np.sqrt(n_in)`; pass
/// `fan_in = 1` for plain `N(0, 1)` draws (the MLP's random biases).
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let w = nncore::init::scaled_normal(3, 4, 100, &mut rng);
/// assert_eq!(w.dim(), (3, 4));
/// assert!(w.iter().all(|v| v.abs() < 1.0)); // N(0,1)/10: |v| < 1 with near certainty
/// ```
pub fn scaled_normal<R: Rng + ?Sized>(
    rows: usize,
    cols: usize,
    fan_in: usize,
    rng: &mut R,
) -> Array2<f64> {
    let scale = 1.0 / (fan_in.max(1) as f64).sqrt();
    Array2::<f64>::random_using((rows, cols), StandardNormal, rng) * scale
}

/// Fills `out` with `N(0, 1) / √fan_in` draws in order, drawn in `f64` and
/// rounded to `S` (so an `f32` model starts from its `f64` twin's weights,
/// rounded).
pub fn fill_scaled_normal<S: Scalar, R: Rng + ?Sized>(out: &mut [S], fan_in: usize, rng: &mut R) {
    let draws = scaled_normal(1, out.len(), fan_in, rng);
    for (o, &d) in out.iter_mut().zip(draws.iter()) {
        *o = S::from_f64(d);
    }
}

/// Fills `out` with `N(0, std²)` draws in order (Le et al.'s IRNN draws its
/// non-recurrent weights with `std = 0.001`).
pub fn fill_normal<S: Scalar, R: Rng + ?Sized>(out: &mut [S], std: f64, rng: &mut R) {
    for o in out.iter_mut() {
        let z: f64 = rng.sample(StandardNormal);
        *o = S::from_f64(std * z);
    }
}

/// Fills `out` with draws uniform in `[lo, hi)`, in order.
pub fn fill_uniform<S: Scalar, R: Rng + ?Sized>(out: &mut [S], lo: f64, hi: f64, rng: &mut R) {
    for o in out.iter_mut() {
        let u: f64 = rng.random();
        *o = S::from_f64(lo + (hi - lo) * u);
    }
}

/// Fills `out` (`n × n`, row-major) with a random orthogonal matrix, drawn
/// uniformly (Haar) as in Saxe et al. 2014 and PyTorch's
/// `nn.init.orthogonal_`: a matrix of `N(0, 1)` draws, row by row, then the
/// `Q` of its QR decomposition with `R`'s diagonal positive (which makes
/// `Q` Haar-distributed). `Q` is formed by modified Gram–Schmidt over the
/// columns, each column orthogonalised twice ("twice is enough"), so it is
/// orthogonal to rounding.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let mut q = vec![0.0f64; 9];
/// nncore::init::fill_orthogonal(&mut q, 3, &mut rng);
/// let qtq = |i: usize, j: usize| (0..3).map(|k| q[k * 3 + i] * q[k * 3 + j]).sum::<f64>();
/// assert!((qtq(0, 0) - 1.0).abs() < 1e-12 && qtq(0, 1).abs() < 1e-12);
/// ```
///
/// # Panics
/// If `out` is not `n × n`.
pub fn fill_orthogonal<S: Scalar, R: Rng + ?Sized>(out: &mut [S], n: usize, rng: &mut R) {
    assert_eq!(out.len(), n * n, "fill_orthogonal: out is not n × n");
    let a = scaled_normal(n, n, 1, rng);
    // Columns of A, as rows of `cols`.
    let mut cols: Vec<Vec<f64>> = (0..n).map(|j| a.column(j).to_vec()).collect();
    for j in 0..n {
        let (done, rest) = cols.split_at_mut(j);
        let v = &mut rest[0];
        for _pass in 0..2 {
            for q in done.iter() {
                let r: f64 = q.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(x, qi)| *x -= r * qi);
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
        }
    }
    for (i, row) in out.chunks_exact_mut(n).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            *o = S::from_f64(cols[j][i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn scale_and_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let w = scaled_normal(200, 200, 100, &mut rng);
        let n = w.len() as f64;
        let mean = w.sum() / n;
        let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((var - 0.01).abs() < 0.0005, "variance {var}");
    }

    #[test]
    fn orthogonal_is_orthogonal_and_seeded() {
        for n in [1, 2, 7, 100] {
            let mut q = vec![0.0f64; n * n];
            fill_orthogonal(&mut q, n, &mut ChaCha8Rng::seed_from_u64(n as u64));
            let q = Array2::from_shape_vec((n, n), q).unwrap();
            let err = (q.t().dot(&q) - Array2::<f64>::eye(n))
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-13, "n = {n}: |QᵀQ − I| = {err:e}");
            let mut again = vec![0.0f64; n * n];
            fill_orthogonal(&mut again, n, &mut ChaCha8Rng::seed_from_u64(n as u64));
            assert_eq!(again, q.into_raw_vec_and_offset().0);
        }
    }

    #[test]
    fn gaussian_and_uniform_fills_have_their_ranges() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut v = vec![0.0f64; 10_000];
        fill_normal(&mut v, 0.001, &mut rng);
        let sd = (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
        assert!((sd - 0.001).abs() < 5e-5, "sd {sd}");
        fill_uniform(&mut v, 0.5, 2.0, &mut rng);
        assert!(v.iter().all(|&x| (0.5..2.0).contains(&x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 1.25).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn same_seed_same_draws() {
        let mut a = [0.0; 5];
        let mut b = [0.0; 5];
        fill_scaled_normal(&mut a, 1, &mut ChaCha8Rng::seed_from_u64(4));
        fill_scaled_normal(&mut b, 1, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(a, b);
    }
}
