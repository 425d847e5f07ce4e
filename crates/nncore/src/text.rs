//! Numbers as text for people: labels, summaries and messages.

/// A number as a person writes it: `0.001`, `1`, `0.5`, but `1e300` rather
/// than three hundred digits, and `1e-7` rather than `0.0000001`.
///
/// ```
/// use nncore::text::number;
/// assert_eq!(number(0.001), "0.001");
/// assert_eq!(number(1.0), "1");
/// assert_eq!(number(1e308), "1e308");
/// assert_eq!(number(1e-7), "1e-7");
/// ```
pub fn number(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
