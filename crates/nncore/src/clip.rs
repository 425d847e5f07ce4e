//! Gradient clipping by global norm.

use crate::{Error, ParamSet, Precision, Result, Scalar, linalg};

/// The global (Euclidean) norm of a flat gradient.
pub fn global_norm(grads: &[f64]) -> f64 {
    linalg::norm(grads)
}

/// Rescales the whole gradient so that its global norm is at most `max_norm`
/// (Pascanu, Mikolov & Bengio 2013); directions are kept.
///
/// Serialised as the bare threshold (`1.0`); reading one checks it, so a
/// `ClipNorm` is valid wherever it came from.
///
/// ```
/// let c: nncore::ClipNorm = serde_json::from_str("1.5")?;
/// assert_eq!(c.max_norm(), 1.5);
/// assert!(serde_json::from_str::<nncore::ClipNorm>("-1").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct ClipNorm {
    max_norm: f64,
}

impl TryFrom<f64> for ClipNorm {
    type Error = Error;
    fn try_from(v: f64) -> Result<Self> {
        Self::new(v)
    }
}

impl From<ClipNorm> for f64 {
    fn from(c: ClipNorm) -> f64 {
        c.max_norm
    }
}

impl std::str::FromStr for ClipNorm {
    type Err = Error;
    /// Parses a threshold such as `1` or `0.5` (for command-line flags).
    fn from_str(s: &str) -> Result<Self> {
        let v: f64 = s.trim().parse().map_err(|_| {
            Error::invalid("clip", s, "the clipping norm must be a finite number > 0")
        })?;
        Self::new(v)
    }
}

/// What one clipping did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipOutcome {
    /// The global norm before clipping.
    pub norm: f64,
    /// Whether the gradient was rescaled.
    pub clipped: bool,
}

impl ClipNorm {
    /// Clipping at `max_norm`, which must be finite and `> 0`.
    pub fn new(max_norm: f64) -> Result<Self> {
        if !(max_norm.is_finite() && max_norm > 0.0) {
            return Err(Error::invalid(
                "clip",
                max_norm,
                "the clipping norm must be a finite number > 0",
            ));
        }
        Ok(Self { max_norm })
    }

    /// The threshold.
    pub fn max_norm(&self) -> f64 {
        self.max_norm
    }

    /// Clips `grads` in place: the norm is summed in `S`, and the scale,
    /// formed in `f64`, is rounded to `S`.
    pub fn apply<S: Scalar>(&self, grads: &mut [S]) -> ClipOutcome {
        let norm = linalg::norm(grads).as_f64();
        let clipped = norm > self.max_norm;
        if clipped {
            let scale = S::from_f64(self.max_norm / norm);
            grads.iter_mut().for_each(|g| *g *= scale);
        }
        ClipOutcome { norm, clipped }
    }

    /// [`ClipNorm::apply`] to a parameter set's gradients, in their
    /// precision.
    pub fn apply_params(&self, params: &mut ParamSet) -> ClipOutcome {
        match params.precision() {
            Precision::F32 => {
                let _flushed = crate::subnormal::flush_subnormals(Precision::F32);
                self.apply(params.grads_mut_as::<f32>())
            }
            Precision::F64 => self.apply(params.grads_mut_as::<f64>()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_only_above_the_threshold() {
        let c = ClipNorm::new(1.0).unwrap();
        let mut g = [0.3, 0.4];
        assert_eq!(
            c.apply(&mut g),
            ClipOutcome {
                norm: 0.5,
                clipped: false
            }
        );
        assert_eq!(g, [0.3, 0.4]);
        let mut g = [3.0, 4.0];
        let out = c.apply(&mut g);
        assert!(out.clipped && out.norm == 5.0);
        assert!((global_norm(&g) - 1.0).abs() < 1e-15);
        assert!((g[0] / g[1] - 0.75).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_thresholds() {
        for v in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert!(ClipNorm::new(v).is_err(), "{v}");
        }
    }
}
