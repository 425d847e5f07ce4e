//! Accuracy metrics over a data set of sequences.

use ndarray::ArrayView2;

/// How well predictions match labels over a set of sequences.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Fraction of all outputs that are right (output `>= 0.5` counts as 1).
    pub per_element: f64,
    /// Fraction of sequences with every output right.
    pub exact: f64,
    /// Fraction right at each position `t`.
    pub per_position: Vec<f64>,
}

/// Scores predicted probabilities `(n, L)` against `0/1` labels `(n, L)`.
/// A prediction that is not a finite number (a diverged model) counts as wrong.
///
/// # Panics
/// If the shapes differ or are empty.
///
/// ```
/// use ndarray::array;
/// let s = nncore::score(array![[0.9, 0.2], [0.6, 0.7]].view(), array![[1.0, 0.0], [1.0, 0.0]].view());
/// assert_eq!((s.per_element, s.exact), (0.75, 0.5));
/// assert_eq!(s.per_position, vec![1.0, 0.5]);
/// ```
pub fn score(pred: ArrayView2<'_, f64>, labels: ArrayView2<'_, f64>) -> Scores {
    assert_eq!(pred.dim(), labels.dim(), "score: shapes differ");
    let (n, l) = pred.dim();
    assert!(n > 0 && l > 0, "score: empty set");
    let mut per_position = vec![0usize; l];
    let mut exact = 0usize;
    for (p, y) in pred.rows().into_iter().zip(labels.rows()) {
        let mut all = true;
        for (t, (&a, &b)) in p.iter().zip(y.iter()).enumerate() {
            let ok = a.is_finite() && (a >= 0.5) == (b >= 0.5);
            per_position[t] += usize::from(ok);
            all &= ok;
        }
        exact += usize::from(all);
    }
    let total: usize = per_position.iter().sum();
    Scores {
        per_element: total as f64 / (n * l) as f64,
        exact: exact as f64 / n as f64,
        per_position: per_position
            .into_iter()
            .map(|c| c as f64 / n as f64)
            .collect(),
    }
}

/// The accuracy of always answering, at each position, the label most
/// frequent there in `labels` (`(n, L)`), averaged over positions.
///
/// A model that only learned "position t is usually 1" reaches this; a model
/// worth the name beats it.
///
/// ```
/// use ndarray::array;
/// let b = nncore::majority_baseline(array![[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]].view());
/// assert!((b - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
/// ```
pub fn majority_baseline(labels: ArrayView2<'_, f64>) -> f64 {
    let per_position = majority_per_position(labels);
    per_position.iter().sum::<f64>() / per_position.len() as f64
}

/// The accuracy of answering, at each position, that position's most
/// frequent label in `labels` (one entry per position; on this task it
/// zigzags: position 0 is always 1, odd positions are near a coin flip).
/// Their mean is [`majority_baseline`].
pub fn majority_per_position(labels: ArrayView2<'_, f64>) -> Vec<f64> {
    let (n, l) = labels.dim();
    assert!(n > 0 && l > 0, "majority baseline of an empty set");
    labels
        .columns()
        .into_iter()
        .map(|c| {
            let ones = c.iter().filter(|&&v| v >= 0.5).count();
            ones.max(n - ones) as f64 / n as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_majority_is_per_position_and_its_mean_the_baseline() {
        let y = array![
            [1.0, 0.0, 1.0],
            [1.0, 1.0, 0.0],
            [1.0, 1.0, 1.0],
            [1.0, 0.0, 1.0]
        ];
        assert_eq!(majority_per_position(y.view()), [1.0, 0.5, 0.75]);
        assert_eq!(majority_baseline(y.view()), (1.0 + 0.5 + 0.75) / 3.0);
    }

    #[test]
    fn perfect_and_all_wrong() {
        let y = array![[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]];
        let s = score(y.view(), y.view());
        assert_eq!((s.per_element, s.exact), (1.0, 1.0));
        let flipped = y.mapv(|v| 1.0 - v);
        let s = score(flipped.view(), y.view());
        assert_eq!((s.per_element, s.exact), (0.0, 0.0));
        assert_eq!(s.per_position, vec![0.0; 3]);
    }

    #[test]
    fn non_finite_predictions_are_wrong() {
        let s = score(
            array![[f64::NAN, f64::INFINITY]].view(),
            array![[0.0, 1.0]].view(),
        );
        assert_eq!(s.per_element, 0.0);
    }

    #[test]
    fn threshold_is_inclusive() {
        let s = score(array![[0.5, 0.4999]].view(), array![[1.0, 1.0]].view());
        assert_eq!(s.per_position, vec![1.0, 0.0]);
    }
}
