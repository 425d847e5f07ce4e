//! Central finite-difference gradient checking.

use crate::{Precision, Result, Scalar, SequenceModel};

/// The result of checking one parameter block.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCheck {
    /// The block's name.
    pub name: &'static str,
    /// `max_i |analytic_i − numeric_i| / max(max_i |numeric_i|, max_i |analytic_i|)`:
    /// the largest error relative to the block's largest gradient entry
    /// (`0` if both are exactly zero).
    pub rel_err: f64,
    /// The largest absolute error.
    pub abs_err: f64,
    /// The flat index (within the block) of the largest absolute error.
    pub worst_index: usize,
    /// The largest `|numeric_i|` (the scale `rel_err` is relative to).
    pub scale: f64,
}

/// The result of checking every parameter block of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheck {
    /// One entry per block, in layout order.
    pub params: Vec<ParamCheck>,
}

impl GradCheck {
    /// The worst relative error over every block.
    pub fn max_rel_err(&self) -> f64 {
        self.params.iter().map(|p| p.rel_err).fold(0.0, f64::max)
    }
}

impl std::fmt::Display for GradCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.params {
            writeln!(
                f,
                "{:>8}: rel {:.2e}  abs {:.2e} (at {}, scale {:.2e})",
                p.name, p.rel_err, p.abs_err, p.worst_index, p.scale
            )?;
        }
        Ok(())
    }
}

/// Compares the model's analytic gradient on `(x, labels)` with central
/// differences `(E(θ+h) − E(θ−h)) / 2h` for **every** parameter entry, in
/// the model's precision (an `f32` model is perturbed by `h` rounded to
/// `f32`, and the difference is divided by the step actually taken; `f32`
/// losses carry ~1e-7 relative noise, so `h` must be far larger than in
/// `f64`, e.g. 1e-2, and the tolerance looser).
///
/// The model's parameters are restored exactly afterwards; its gradients hold
/// the analytic gradient.
pub fn check_gradients<M: SequenceModel + ?Sized>(
    model: &mut M,
    x: &[f64],
    labels: &[f64],
    h: f64,
) -> Result<GradCheck> {
    match model.precision() {
        Precision::F32 => check_as::<f32, M>(model, x, labels, h),
        Precision::F64 => check_as::<f64, M>(model, x, labels, h),
    }
}

fn check_as<S: Scalar, M: SequenceModel + ?Sized>(
    model: &mut M,
    x: &[f64],
    labels: &[f64],
    h: f64,
) -> Result<GradCheck> {
    model.loss_and_grad(x, labels)?;
    let analytic = model.params().grads_f64();
    let specs = model.params().specs().to_vec();
    let mut params = Vec::with_capacity(specs.len());
    for spec in specs {
        let (mut abs_err, mut worst_index, mut scale, mut ascale) = (0.0f64, 0, 0.0f64, 0.0f64);
        for (k, idx) in spec.range().enumerate() {
            let orig = model.params().values_as::<S>()[idx];
            let up = S::from_f64(orig.as_f64() + h);
            let down = S::from_f64(orig.as_f64() - h);
            model.params_mut().values_mut_as::<S>()[idx] = up;
            let plus = model.loss(x, labels)?;
            model.params_mut().values_mut_as::<S>()[idx] = down;
            let minus = model.loss(x, labels)?;
            model.params_mut().values_mut_as::<S>()[idx] = orig;
            let numeric = (plus - minus) / (up.as_f64() - down.as_f64());
            let err = (analytic[idx] - numeric).abs();
            if err > abs_err {
                abs_err = err;
                worst_index = k;
            }
            scale = scale.max(numeric.abs());
            ascale = ascale.max(analytic[idx].abs());
        }
        let denom = scale.max(ascale);
        params.push(ParamCheck {
            name: spec.name,
            rel_err: if denom > 0.0 { abs_err / denom } else { 0.0 },
            abs_err,
            worst_index,
            scale,
        });
    }
    Ok(GradCheck { params })
}
