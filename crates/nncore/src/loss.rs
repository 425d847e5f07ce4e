//! The article's loss: squared error summed over the time steps of one sequence.

/// `E = Σ_t ½ (y_t − label_t)²`.
///
/// # Panics
/// If the slices differ in length.
///
/// ```
/// assert_eq!(nncore::loss::squared_error(&[1.0, 0.5], &[0.0, 0.5]), 0.5);
/// ```
pub fn squared_error(y: &[f64], labels: &[f64]) -> f64 {
    assert_eq!(y.len(), labels.len(), "squared_error: lengths differ");
    y.iter()
        .zip(labels)
        .map(|(&a, &b)| 0.5 * (a - b) * (a - b))
        .sum()
}

/// `∂E/∂u_t` for a sigmoid output `y_t = σ(u_t)`: `(y_t − label_t) y_t (1 − y_t)`,
/// written into `out`.
///
/// # Panics
/// If the slices differ in length.
pub fn squared_error_sigmoid_delta(y: &[f64], labels: &[f64], out: &mut [f64]) {
    assert!(
        y.len() == labels.len() && y.len() == out.len(),
        "lengths differ"
    );
    for ((o, &a), &b) in out.iter_mut().zip(y).zip(labels) {
        *o = (a - b) * a * (1.0 - a);
    }
}

/// How many outputs are right: output `>= 0.5` counts as 1.
pub fn count_correct(y: &[f64], labels: &[f64]) -> usize {
    y.iter()
        .zip(labels)
        .filter(|&(&a, &b)| (a >= 0.5) == (b >= 0.5))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_is_the_derivative_through_the_sigmoid() {
        use crate::activation::sigmoid;
        let (u, label) = (0.3, 1.0);
        let e = |u: f64| squared_error(&[sigmoid(u)], &[label]);
        let h = 1e-6;
        let numeric = (e(u + h) - e(u - h)) / (2.0 * h);
        let mut d = [0.0];
        squared_error_sigmoid_delta(&[sigmoid(u)], &[label], &mut d);
        assert!((d[0] - numeric).abs() < 1e-9);
    }

    #[test]
    fn correct_counts_use_the_half_threshold() {
        assert_eq!(
            count_correct(&[0.5, 0.49, 0.9, 0.1], &[1.0, 1.0, 0.0, 0.0]),
            2
        );
    }
}
