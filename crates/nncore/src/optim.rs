//! Optimisers: plain SGD with one learning rate per [`ParamGroup`].

use crate::{Error, ParamGroup, ParamSet, Result};

/// Anything that updates parameters from their gradients.
pub trait Optimizer: Send {
    /// Updates `params.values` from `params.grads` (the gradients are left as they are).
    fn step(&mut self, params: &mut ParamSet);
}

/// Plain stochastic gradient descent: `θ ← θ − lr(group) · ∇θ`.
///
/// The article uses `lr_io = 0.1` (input/output weights, output bias, and
/// every MLP parameter) and `lr_rec = 0.001` (recurrent weights and the hidden
/// bias): [`Sgd::article`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    /// Learning rate of [`ParamGroup::InputOutput`] (default 0.1).
    pub lr_io: f64,
    /// Learning rate of [`ParamGroup::Recurrent`] (default 0.001).
    pub lr_rec: f64,
}

impl Default for Sgd {
    fn default() -> Self {
        Self::article()
    }
}

impl Sgd {
    /// The article's learning rates: 0.1 and 0.001.
    pub const fn article() -> Self {
        Self {
            lr_io: 0.1,
            lr_rec: 0.001,
        }
    }

    /// SGD with the given rates, checked.
    pub fn new(lr_io: f64, lr_rec: f64) -> Result<Self> {
        let s = Self { lr_io, lr_rec };
        s.check()?;
        Ok(s)
    }

    /// Checks that both rates are finite and non-negative.
    pub fn check(&self) -> Result<()> {
        for (field, v) in [("lr_io", self.lr_io), ("lr_rec", self.lr_rec)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    field,
                    v,
                    "a learning rate must be a finite number >= 0",
                ));
            }
        }
        Ok(())
    }

    /// The rate of a group.
    pub fn rate(&self, group: ParamGroup) -> f64 {
        match group {
            ParamGroup::InputOutput => self.lr_io,
            ParamGroup::Recurrent => self.lr_rec,
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut ParamSet) {
        for i in 0..params.specs().len() {
            let spec = &params.specs()[i];
            let (lr, range) = (self.rate(spec.group), spec.range());
            let (values, grads) = params.values_and_grads_mut();
            for (v, g) in values[range.clone()].iter_mut().zip(&grads[range]) {
                *v -= lr * g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_take_their_own_rate() {
        let mut p = ParamSet::new([
            ("a", vec![2], ParamGroup::InputOutput),
            ("b", vec![1], ParamGroup::Recurrent),
        ]);
        p.grads_mut().copy_from_slice(&[1.0, -2.0, 10.0]);
        Sgd::article().step(&mut p);
        assert_eq!(p.values(), &[-0.1, 0.2, -0.01]);
    }

    #[test]
    fn bad_rates_are_named() {
        let e = Sgd::new(f64::NAN, 0.1).unwrap_err().to_string();
        assert!(e.contains("lr_io = NaN"), "{e}");
        assert!(
            Sgd::new(0.1, -1.0)
                .unwrap_err()
                .to_string()
                .contains("lr_rec")
        );
    }
}
