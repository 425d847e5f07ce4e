//! The label rule: the sign of the alternating running sum.

/// The running sums `S_t = x[0] - x[1] + x[2] - …` after each element.
///
/// The sum is accumulated left to right in `f64`, exactly as the article's
/// reference code does (`ans += x[i]` at even `i`, `ans -= x[i]` at odd `i`).
///
/// ```
/// assert_eq!(seqdata::running_sums(&[0.5, 0.25, 0.125]), vec![0.5, 0.25, 0.375]);
/// ```
pub fn running_sums(x: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            if i % 2 == 0 {
                sum += v;
            } else {
                sum -= v;
            }
            sum
        })
        .collect()
}

/// Writes the labels of `x` into `out` as `1.0` / `0.0` (`1.0` where the
/// running sum is `>= 0`).
///
/// # Panics
/// If `out` is not as long as `x`.
///
/// ```
/// let mut y = [0.0; 3];
/// seqdata::label_into(&[0.5, 0.5, 0.1], &mut y);
/// assert_eq!(y, [1.0, 1.0, 1.0]); // S = 0.5, 0 (a tie goes to 1), 0.1
/// ```
pub fn label_into(x: &[f64], out: &mut [f64]) {
    assert_eq!(x.len(), out.len(), "label_into: x and out differ in length");
    let mut sum = 0.0;
    for (i, (&v, o)) in x.iter().zip(out.iter_mut()).enumerate() {
        if i % 2 == 0 {
            sum += v;
        } else {
            sum -= v;
        }
        *o = if sum >= 0.0 { 1.0 } else { 0.0 };
    }
}

/// The labels of `x` as `0` / `1` bytes.
///
/// ```
/// assert_eq!(seqdata::labels(&[0.2, 0.7, 0.1]), vec![1, 0, 0]);
/// ```
pub fn labels(x: &[f64]) -> Vec<u8> {
    running_sums(x)
        .into_iter()
        .map(|s| u8::from(s >= 0.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_cases() {
        // S = 0.2, -0.5, -0.4, -1.3
        assert_eq!(labels(&[0.2, 0.7, 0.1, 0.9]), vec![1, 0, 0, 0]);
        // S = 0.2, -0.5, 0.4, 0.3
        assert_eq!(labels(&[0.2, 0.7, 0.9, 0.1]), vec![1, 0, 1, 1]);
        // S = 0.9, 0.8, 1.5, 0.5, 0.75, -0.25
        assert_eq!(
            labels(&[0.9, 0.1, 0.7, 1.0, 0.25, 1.0]),
            vec![1, 1, 1, 1, 1, 0]
        );
        // A single element is always labelled 1, even 0.0.
        assert_eq!(labels(&[0.0]), vec![1]);
        assert_eq!(labels(&[0.3]), vec![1]);
        assert_eq!(labels(&[]), Vec::<u8>::new());
    }

    #[test]
    fn a_tie_at_exactly_zero_is_labelled_one() {
        // S = 0.5, 0.0 (tie), 0.25, -0.5
        assert_eq!(
            running_sums(&[0.5, 0.5, 0.25, 0.75]),
            vec![0.5, 0.0, 0.25, -0.5]
        );
        assert_eq!(labels(&[0.5, 0.5, 0.25, 0.75]), vec![1, 1, 1, 0]);
        // All zeros: every running sum is a tie.
        assert_eq!(labels(&[0.0; 5]), vec![1; 5]);
    }

    #[test]
    fn label_into_agrees_with_labels() {
        let x = [0.2, 0.7, 0.1, 0.9, 0.05];
        let mut y = [9.0; 5];
        label_into(&x, &mut y);
        let expect: Vec<f64> = labels(&x).into_iter().map(f64::from).collect();
        assert_eq!(y.to_vec(), expect);
    }

    /// Sequences of dyadic numbers k/1024, k in 0..1024: every running sum is
    /// exact in f64, so the rule can be checked against integer arithmetic.
    fn dyadic_seq() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec(0i64..1024, 0..64)
    }

    fn to_f64(k: &[i64]) -> Vec<f64> {
        k.iter().map(|&v| v as f64 / 1024.0).collect()
    }

    proptest! {
        #[test]
        fn first_label_is_always_one(x in prop::collection::vec(0.0f64..1.0, 1..64)) {
            prop_assert_eq!(labels(&x)[0], 1);
        }

        #[test]
        fn labels_match_integer_arithmetic(k in dyadic_seq()) {
            let y = labels(&to_f64(&k));
            let mut s = 0i64;
            for (t, &v) in k.iter().enumerate() {
                s += if t % 2 == 0 { v } else { -v };
                prop_assert_eq!(y[t], u8::from(s >= 0), "position {}", t);
            }
        }

        #[test]
        fn labels_of_a_prefix_are_a_prefix(x in prop::collection::vec(0.0f64..1.0, 0..64), cut in 0usize..64) {
            let cut = cut.min(x.len());
            prop_assert_eq!(labels(&x[..cut]), labels(&x)[..cut].to_vec());
        }

        /// Swapping each pair (x[2k], x[2k+1]) negates the running sum after
        /// every odd position, so a non-tied label there flips.
        #[test]
        fn swapping_pairs_flips_odd_labels(k in dyadic_seq()) {
            let mut swapped = k.clone();
            for pair in swapped.chunks_exact_mut(2) {
                pair.swap(0, 1);
            }
            let (a, b) = (to_f64(&k), to_f64(&swapped));
            let (sa, ya, yb) = (running_sums(&a), labels(&a), labels(&b));
            for t in (1..k.len()).step_by(2) {
                if sa[t] != 0.0 {
                    prop_assert_eq!(ya[t], 1 - yb[t], "position {}", t);
                } else {
                    prop_assert_eq!((ya[t], yb[t]), (1, 1), "tie at {}", t);
                }
            }
        }

        #[test]
        fn label_into_never_differs_from_labels(x in prop::collection::vec(0.0f64..1.0, 0..64)) {
            let mut y = vec![0.0; x.len()];
            label_into(&x, &mut y);
            let expect: Vec<f64> = labels(&x).into_iter().map(f64::from).collect();
            prop_assert_eq!(y, expect);
        }
    }
}
