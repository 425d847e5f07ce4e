//! The floating-point types the models compute in: [`Scalar`], implemented
//! for `f64` (the article's precision, and the default) and `f32`
//! (PyTorch's default, and twice the numbers per cache line and vector).
//!
//! Every kernel, cell and model is written once, generic over `S: Scalar`;
//! the `f64` instantiation is the code that ran before the `f32` path
//! existed, operation for operation, so its results are the same bits.
//! In `f64` nothing fuses a multiply and an add and no sum is reassociated;
//! in `f32` the kernels accumulate with fused multiply–adds
//! ([`Scalar::madd`]), which are exactly rounded, so results do not depend
//! on the machine's vector width or on whether it has FMA (only the speed
//! does: the build uses `target-cpu=native`).
//!
//! A [`ParamSet`](crate::ParamSet) holds its numbers in a [`Buffer`] of
//! either type, so that a trained model of either precision travels behind
//! one `dyn SequenceModel`; inputs, outputs and losses cross that boundary
//! as `f64`.
//!
//! ```
//! use nncore::{Precision, Scalar};
//! assert_eq!(<f32 as Scalar>::PRECISION, Precision::F32);
//! assert_eq!("f32".parse::<Precision>()?, Precision::F32);
//! assert!((0.5f32.tanh_fast() - 0.5f32.tanh()).abs() < 1e-6);
//! # Ok::<(), nncore::Error>(())
//! ```

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The precision a model computes in: `f64` (the default: the article's,
/// and what the gradient checks at 1e-9 need) or `f32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Precision {
    /// 32-bit IEEE floats.
    #[serde(rename = "f32")]
    F32,
    /// 64-bit IEEE floats (the default).
    #[default]
    #[serde(rename = "f64")]
    F64,
}

impl Precision {
    /// Every precision, in the order `--help` lists them.
    pub const ALL: [Precision; 2] = [Precision::F64, Precision::F32];

    /// `"f32"` or `"f64"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// Whether this is the default, `f64` (for `skip_serializing_if`: a
    /// variant in `f64` is written as it was before `f32` existed, so its
    /// fingerprint did not change).
    pub fn is_f64(&self) -> bool {
        *self == Self::F64
    }

    /// Bytes per number.
    pub fn bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

impl Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "f32" => Ok(Self::F32),
            "f64" => Ok(Self::F64),
            other => Err(Error::invalid("precision", other, "use f32 or f64")),
        }
    }
}

/// Numbers of one precision, as a [`ParamSet`](crate::ParamSet) (or an
/// optimiser's state) keeps them.
#[derive(Debug, Clone, PartialEq)]
pub enum Buffer {
    /// `f32` numbers.
    F32(Vec<f32>),
    /// `f64` numbers.
    F64(Vec<f64>),
}

impl Buffer {
    /// `n` zeros of `precision`.
    pub fn zeros(precision: Precision, n: usize) -> Self {
        match precision {
            Precision::F32 => Self::F32(vec![0.0; n]),
            Precision::F64 => Self::F64(vec![0.0; n]),
        }
    }

    /// The precision of the numbers.
    pub fn precision(&self) -> Precision {
        match self {
            Self::F32(_) => Precision::F32,
            Self::F64(_) => Precision::F64,
        }
    }

    /// How many numbers.
    pub fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numbers as `S`.
    ///
    /// # Panics
    /// If they are of the other precision (a programming error: a model
    /// reads its own parameters in its own precision).
    pub fn get<S: Scalar>(&self) -> &[S] {
        S::slice(self)
            .unwrap_or_else(|| panic!("a buffer of {} read as {}", self.precision(), S::PRECISION))
    }

    /// The numbers as `S`, mutable.
    ///
    /// # Panics
    /// As [`Buffer::get`].
    pub fn get_mut<S: Scalar>(&mut self) -> &mut [S] {
        let p = self.precision();
        S::slice_mut(self).unwrap_or_else(|| panic!("a buffer of {p} written as {}", S::PRECISION))
    }

    /// The numbers in `range` as `f64` (exact for `f32`).
    pub fn to_f64(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        match self {
            Self::F32(v) => v[range].iter().map(|&x| f64::from(x)).collect(),
            Self::F64(v) => v[range].to_vec(),
        }
    }

    /// Writes `values` into `range`, rounded to the buffer's precision.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn set_f64(&mut self, range: std::ops::Range<usize>, values: &[f64]) {
        match self {
            Self::F32(v) => v[range]
                .iter_mut()
                .zip(values)
                .for_each(|(d, &s)| *d = s as f32),
            Self::F64(v) => v[range].copy_from_slice(values),
        }
    }
}

/// A floating-point type the models compute in: `f64` or `f32`.
///
/// Generic code writes constants as `S::from_f64(0.5)` (exact for every
/// constant the kernels use) and uses [`Scalar::tanh_fast`] where the hot
/// loops need a vectorisable `tanh`.
pub trait Scalar:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// Which precision this is.
    const PRECISION: Precision;

    /// `v` rounded to this precision.
    fn from_f64(v: f64) -> Self;

    /// The value as `f64` (exact).
    fn as_f64(self) -> f64;

    /// `tanh`, by a rational approximation whose loop vectorises (libm's is
    /// a call per element): within 4 ulp of libm in `f64`
    /// ([`crate::fastmath::tanh`]), within 1 ulp of the exact value in
    /// `f32` ([`crate::fastmath::tanh_f32`]).
    fn tanh_fast(self) -> Self;

    /// `acc + a·b`, as the kernels accumulate: rounded twice in `f64` (the
    /// arithmetic the article's results were computed in), once in `f32` (a
    /// fused multiply–add: one instruction where the CPU has FMA, and the
    /// same bits from libm's `fmaf` where it has not).
    fn madd(acc: Self, a: Self, b: Self) -> Self;

    /// `acc + (a0 b0 + a1 b1 + a2 b2 + a3 b3)`, as the kernels add four rows
    /// of a matrix at once: in `f64` `acc + ((a0 b0 + a1 b1) + (a2 b2 + a3
    /// b3))`, in `f32` four fused multiply–adds into `acc`, in order.
    fn madd4(acc: Self, a: [Self; 4], b: [Self; 4]) -> Self;

    /// The numbers of `b`, if it is of this precision.
    fn slice(b: &Buffer) -> Option<&[Self]>;

    /// The numbers of `b`, mutable, if it is of this precision.
    fn slice_mut(b: &mut Buffer) -> Option<&mut [Self]>;
}

impl Scalar for f64 {
    const PRECISION: Precision = Precision::F64;

    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }

    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }

    #[inline(always)]
    fn tanh_fast(self) -> Self {
        crate::fastmath::tanh(self)
    }

    #[inline(always)]
    fn madd(acc: Self, a: Self, b: Self) -> Self {
        acc + a * b
    }

    #[inline(always)]
    fn madd4(acc: Self, a: [Self; 4], b: [Self; 4]) -> Self {
        acc + ((a[0] * b[0] + a[1] * b[1]) + (a[2] * b[2] + a[3] * b[3]))
    }

    fn slice(b: &Buffer) -> Option<&[Self]> {
        match b {
            Buffer::F64(v) => Some(v),
            Buffer::F32(_) => None,
        }
    }

    fn slice_mut(b: &mut Buffer) -> Option<&mut [Self]> {
        match b {
            Buffer::F64(v) => Some(v),
            Buffer::F32(_) => None,
        }
    }
}

impl Scalar for f32 {
    const PRECISION: Precision = Precision::F32;

    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }

    #[inline(always)]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }

    #[inline(always)]
    fn tanh_fast(self) -> Self {
        crate::fastmath::tanh_f32(self)
    }

    #[inline(always)]
    fn madd(acc: Self, a: Self, b: Self) -> Self {
        a.mul_add(b, acc)
    }

    #[inline(always)]
    fn madd4(acc: Self, a: [Self; 4], b: [Self; 4]) -> Self {
        a[3].mul_add(
            b[3],
            a[2].mul_add(b[2], a[1].mul_add(b[1], a[0].mul_add(b[0], acc))),
        )
    }

    fn slice(b: &Buffer) -> Option<&[Self]> {
        match b {
            Buffer::F32(v) => Some(v),
            Buffer::F64(_) => None,
        }
    }

    fn slice_mut(b: &mut Buffer) -> Option<&mut [Self]> {
        match b {
            Buffer::F32(v) => Some(v),
            Buffer::F64(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_parse_and_print() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        let e = "f16".parse::<Precision>().unwrap_err().to_string();
        assert!(
            e.contains("precision = f16") && e.contains("f32 or f64"),
            "{e}"
        );
    }

    #[test]
    fn buffers_keep_their_type() {
        let mut b = Buffer::zeros(Precision::F32, 3);
        b.set_f64(0..2, &[0.1, 2.0]);
        assert_eq!(b.get::<f32>(), &[0.1f32, 2.0, 0.0]);
        assert_eq!(b.to_f64(0..1), vec![f64::from(0.1f32)]);
        assert!(f64::slice(&b).is_none());
    }

    #[test]
    #[should_panic(expected = "a buffer of f32 read as f64")]
    fn reading_the_other_precision_is_a_bug() {
        Buffer::zeros(Precision::F32, 1).get::<f64>();
    }
}
