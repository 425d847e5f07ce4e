//! Optimisers: plain SGD and Adam with one learning rate per [`ParamGroup`],
//! and [`OptimizerSpec`], the one description of an optimiser that travels
//! from a flag or a study file to the update and into a model file.

use serde::{Deserialize, Serialize};

use crate::{Buffer, Error, ParamGroup, ParamSet, Precision, Result, Scalar, linalg};

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain SGD (the article's).
    #[default]
    Sgd,
    /// Adam (β1 0.9, β2 0.999, ε 1e-8), with the same learning-rate groups.
    Adam,
}

impl OptimizerKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [OptimizerKind; 2] = [Self::Sgd, Self::Adam];

    /// The name used in reports, files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
        }
    }
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::invalid("optimizer", s, "use sgd or adam"))
    }
}

/// An optimiser and its two learning rates: what a study variant, the
/// `train` command and a model file say about the update.
///
/// Serialised flat (`optimizer`, `lr_io`, `lr_rec`), so that a study file
/// writes `optimizer = "adam"` beside `lr_io = 0.01`.
///
/// ```
/// use nncore::{OptimizerKind, OptimizerSpec};
/// let spec = OptimizerSpec { optimizer: OptimizerKind::Adam, lr_io: 0.01, lr_rec: 0.003 };
/// spec.check()?;
/// let _adam = spec.build()?; // a Box<dyn Optimizer>
/// assert!(OptimizerSpec { lr_rec: -1.0, ..spec }.check().unwrap_err().to_string().contains("lr_rec = -1"));
/// # Ok::<(), nncore::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSpec {
    /// The optimiser (default `sgd`).
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Learning rate of [`ParamGroup::InputOutput`]: input and output
    /// weights, the output bias, every MLP parameter.
    pub lr_io: f64,
    /// Learning rate of [`ParamGroup::Recurrent`]: recurrent weights and
    /// hidden biases.
    pub lr_rec: f64,
}

impl OptimizerSpec {
    /// Plain SGD at the given rates.
    pub const fn sgd(lr_io: f64, lr_rec: f64) -> Self {
        Self {
            optimizer: OptimizerKind::Sgd,
            lr_io,
            lr_rec,
        }
    }

    /// Checks both rates: finite and `>= 0`; the error names the rate.
    pub fn check(&self) -> Result<()> {
        Sgd {
            lr_io: self.lr_io,
            lr_rec: self.lr_rec,
        }
        .check()
    }

    /// The optimiser, ready to train with (checked first).
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        Ok(match self.optimizer {
            OptimizerKind::Sgd => Box::new(Sgd::new(self.lr_io, self.lr_rec)?),
            OptimizerKind::Adam => Box::new(Adam::new(self.lr_io, self.lr_rec)?),
        })
    }
}

/// Anything that updates parameters from their gradients.
pub trait Optimizer: Send {
    /// Updates `params.values` from `params.grads` (the gradients are left as they are).
    fn step(&mut self, params: &mut ParamSet);

    /// The gradient's global norm ([`ParamSet::grad_norm`]), then
    /// [`Optimizer::step`]: what a training step without clipping does. An
    /// optimiser may do both in one pass over the gradient (SGD does), with
    /// the same numbers.
    fn norm_and_step(&mut self, params: &mut ParamSet) -> f64 {
        let norm = params.grad_norm();
        self.step(params);
        norm
    }
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

impl Sgd {
    /// The update in the parameters' precision `S` (the rates rounded to it).
    fn step_as<S: Scalar>(&self, params: &mut ParamSet) {
        let (specs, values, grads) = params.specs_values_grads_as::<S>();
        for spec in specs {
            let (lr, range) = (S::from_f64(self.rate(spec.group)), spec.range());
            for (v, &g) in values[range.clone()].iter_mut().zip(&grads[range]) {
                *v -= lr * g;
            }
        }
    }

    /// [`Optimizer::norm_and_step`] in one pass ([`linalg::sgd_sq_norm`]).
    fn norm_and_step_as<S: Scalar>(&self, params: &mut ParamSet) -> f64 {
        let (specs, values, grads) = params.specs_values_grads_as::<S>();
        let segments = specs
            .iter()
            .map(|spec| (S::from_f64(self.rate(spec.group)), spec.range()));
        linalg::sgd_sq_norm(values, grads, segments).sqrt().as_f64()
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut ParamSet) {
        match params.precision() {
            Precision::F32 => {
                let _flushed = crate::subnormal::flush_subnormals(Precision::F32);
                self.step_as::<f32>(params)
            }
            Precision::F64 => self.step_as::<f64>(params),
        }
    }

    /// In one pass over the gradient: the same norm (the squares summed in
    /// [`linalg::dot`]'s order) and the same update.
    fn norm_and_step(&mut self, params: &mut ParamSet) -> f64 {
        match params.precision() {
            Precision::F32 => {
                let _flushed = crate::subnormal::flush_subnormals(Precision::F32);
                self.norm_and_step_as::<f32>(params)
            }
            Precision::F64 => self.norm_and_step_as::<f64>(params),
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

impl<O: Optimizer + ?Sized> Optimizer for Box<O> {
    fn step(&mut self, params: &mut ParamSet) {
        (**self).step(params);
    }

    fn norm_and_step(&mut self, params: &mut ParamSet) -> f64 {
        (**self).norm_and_step(params)
    }
}

/// Adam (Kingma & Ba 2015) with one learning rate per [`ParamGroup`]:
/// `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`,
/// `θ ← θ − lr(group) · m̂ / (√v̂ + ε)` with bias-corrected `m̂`, `v̂`.
///
/// The moment buffers are allocated on the first step (sized to the
/// parameters), never after.
///
/// ```
/// use nncore::{Adam, Optimizer, ParamGroup, ParamSet};
/// let mut p = ParamSet::new([("w", vec![1], ParamGroup::InputOutput)]);
/// p.grads_mut()[0] = 5.0;
/// let mut adam = Adam::new(0.1, 0.1)?;
/// adam.step(&mut p);
/// // The first Adam step moves each parameter by about lr, whatever |g| is.
/// assert!((p.values()[0] + 0.1).abs() < 1e-6);
/// # Ok::<(), nncore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rates per group.
    pub rates: Sgd,
    /// First-moment decay (default 0.9).
    pub beta1: f64,
    /// Second-moment decay (default 0.999).
    pub beta2: f64,
    /// Denominator offset (default 1e-8).
    pub eps: f64,
    /// The moments `m`, `v`, in the parameters' precision.
    m: Buffer,
    v: Buffer,
    t: i32,
}

impl Adam {
    /// Adam with the usual defaults (β1 0.9, β2 0.999, ε 1e-8) and the given
    /// rates per group.
    pub fn new(lr_io: f64, lr_rec: f64) -> Result<Self> {
        Ok(Self {
            rates: Sgd::new(lr_io, lr_rec)?,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Buffer::F64(Vec::new()),
            v: Buffer::F64(Vec::new()),
            t: 0,
        })
    }
}

impl Adam {
    /// The update in the parameters' precision `S` (the moments kept in
    /// `S`, the constants rounded to it).
    fn step_as<S: Scalar>(&mut self, params: &mut ParamSet) {
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = S::from_f64(1.0 - b1.powi(self.t));
        let c2 = S::from_f64(1.0 - b2.powi(self.t));
        let (b1, b2, eps) = (S::from_f64(b1), S::from_f64(b2), S::from_f64(self.eps));
        let (one_b1, one_b2) = (S::from_f64(1.0 - self.beta1), S::from_f64(1.0 - self.beta2));
        let (ms, vs) = (self.m.get_mut::<S>(), self.v.get_mut::<S>());
        let (specs, values, grads) = params.specs_values_grads_as::<S>();
        for spec in specs {
            let (lr, range) = (S::from_f64(self.rates.rate(spec.group)), spec.range());
            for (((w, &g), m), v) in values[range.clone()]
                .iter_mut()
                .zip(&grads[range.clone()])
                .zip(&mut ms[range.clone()])
                .zip(&mut vs[range])
            {
                *m = b1 * *m + one_b1 * g;
                *v = b2 * *v + one_b2 * g * g;
                *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            }
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut ParamSet) {
        if self.m.len() != params.len() || self.m.precision() != params.precision() {
            self.m = Buffer::zeros(params.precision(), params.len());
            self.v = Buffer::zeros(params.precision(), params.len());
            self.t = 0;
        }
        self.t = self.t.saturating_add(1);
        match params.precision() {
            Precision::F32 => {
                let _flushed = crate::subnormal::flush_subnormals(Precision::F32);
                self.step_as::<f32>(params)
            }
            Precision::F64 => self.step_as::<f64>(params),
        }
    }
}

#[cfg(test)]
mod fused_tests {
    use super::*;
    use proptest::prelude::*;

    const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

    /// A set of 1-D blocks of the given sizes in `precision`, groups
    /// alternating, values and gradients spread over several decades.
    fn set(sizes: &[usize], precision: Precision, seed: u64) -> ParamSet {
        let blocks = sizes.iter().enumerate().map(|(i, &n)| {
            let group = if i % 2 == 0 {
                ParamGroup::InputOutput
            } else {
                ParamGroup::Recurrent
            };
            (NAMES[i], vec![n], group)
        });
        let mut p = ParamSet::with_precision(blocks, precision);
        let f = |i: usize, k: u64| {
            let u = ((i as u64 * 2654435761 + seed + k) % 1000) as f64 / 500.0 - 1.0;
            u * 10f64.powi((i % 7) as i32 - 3)
        };
        let values: Vec<f64> = (0..p.len()).map(|i| f(i, 0)).collect();
        p.set_values_f64(&values);
        match precision {
            Precision::F64 => {
                for (i, g) in p.grads_mut_as::<f64>().iter_mut().enumerate() {
                    *g = f(i, 7);
                }
            }
            Precision::F32 => {
                for (i, g) in p.grads_mut_as::<f32>().iter_mut().enumerate() {
                    *g = f(i, 7) as f32;
                }
            }
        }
        p
    }

    proptest! {
        /// SGD's one-pass norm and update are `grad_norm` and then `step`,
        /// bit for bit, in both precisions, whatever the block sizes (blocks
        /// that straddle the norm's chunks of eight, a tail of any length).
        #[test]
        fn sgd_norm_and_step_is_grad_norm_then_step(
            sizes in prop::collection::vec(1usize..40, 1..6), seed in 0u64..1000,
        ) {
            for precision in [Precision::F64, Precision::F32] {
                let p = set(&sizes, precision, seed);
                let mut sgd = Sgd::new(0.1, 0.003).unwrap();
                let mut a = p.clone();
                let want = a.grad_norm();
                sgd.step(&mut a);
                let mut b = p.clone();
                let got = sgd.norm_and_step(&mut b);
                prop_assert_eq!(got.to_bits(), want.to_bits());
                let bits = |p: &ParamSet| p.values_f64().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                prop_assert_eq!(bits(&a), bits(&b));
                prop_assert_eq!(a.grads_f64(), b.grads_f64());
                // Boxed (as a study builds it), the same.
                let mut boxed: Box<dyn Optimizer> = Box::new(sgd);
                let mut c = p.clone();
                prop_assert_eq!(boxed.norm_and_step(&mut c).to_bits(), want.to_bits());
                prop_assert_eq!(bits(&a), bits(&c));
            }
        }
    }
}

#[cfg(test)]
mod adam_tests {
    use super::*;

    #[test]
    fn adam_minimises_a_quadratic_per_group() {
        // E = ½ Σ (θ − 3)²; gradient θ − 3.
        let mut p = ParamSet::new([
            ("a", vec![2], ParamGroup::InputOutput),
            ("b", vec![1], ParamGroup::Recurrent),
        ]);
        let mut adam = Adam::new(0.05, 0.0).unwrap();
        for _ in 0..2000 {
            let vals = p.values().to_vec();
            for (g, v) in p.grads_mut().iter_mut().zip(vals) {
                *g = v - 3.0;
            }
            adam.step(&mut p);
        }
        assert!((p.values()[0] - 3.0).abs() < 1e-3, "{:?}", p.values());
        assert!((p.values()[1] - 3.0).abs() < 1e-3);
        // The recurrent group's rate is 0: it never moved.
        assert_eq!(p.values()[2], 0.0);
    }
}
