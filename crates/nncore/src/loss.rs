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
    fn correct_counts_use_the_half_threshold() {
        assert_eq!(
            count_correct(&[0.5, 0.49, 0.9, 0.1], &[1.0, 1.0, 0.0, 0.0]),
            2
        );
    }
}
