//! Reading back numbers that may not be finite. JSON has no NaN or
//! infinity, so serde_json writes such an `f64` as `null`; a diverged run's
//! held-out loss or gradient flow is one. Fields that can hold one read
//! `null` back as NaN (with `#[serde(deserialize_with = "...")]`), so that
//! every report written can be read again.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Point {
//!     #[serde(deserialize_with = "nncore::nullable::f64")]
//!     loss: f64,
//! }
//! let p: Point = serde_json::from_str(r#"{"loss": null}"#)?;
//! assert!(p.loss.is_nan());
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Deserializer};

/// An `f64`, `null` read as NaN.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A list of `f64`, each `null` read as NaN.
pub fn vec_f64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}
