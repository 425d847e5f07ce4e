//! The article's initialiser: standard normal draws scaled by `1 / √fan_in`.

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
    fn same_seed_same_draws() {
        let mut a = [0.0; 5];
        let mut b = [0.0; 5];
        fill_scaled_normal(&mut a, 1, &mut ChaCha8Rng::seed_from_u64(4));
        fill_scaled_normal(&mut b, 1, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(a, b);
    }
}
