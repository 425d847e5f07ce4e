//! Activation functions and their derivatives, on scalars and in place on
//! slices, generic over the [`Scalar`] type (`f64` or `f32`).
//!
//! Derivatives are written in terms of the activation's *output* where that
//! is how backpropagation uses them (`tanh' = 1 − h²`, `σ' = y (1 − y)`).

use crate::Scalar;

/// The logistic sigmoid `1 / (1 + e^{-x})`, computed without overflow for
/// large `|x|`.
///
/// ```
/// assert_eq!(nncore::activation::sigmoid(0.0), 0.5);
/// assert!(nncore::activation::sigmoid(-1000.0f32) >= 0.0);
/// ```
#[inline]
pub fn sigmoid<S: Scalar>(x: S) -> S {
    if x >= S::zero() {
        S::one() / (S::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (S::one() + e)
    }
}

/// `tanh`'s derivative from its output `h = tanh(x)`: `1 − h²`.
#[inline]
pub fn tanh_grad_from_output<S: Scalar>(h: S) -> S {
    S::one() - h * h
}

/// `max(x, 0)`.
#[inline]
pub fn relu<S: Scalar>(x: S) -> S {
    if x > S::zero() { x } else { S::zero() }
}

/// ReLU's derivative from its output (or input): `1` where positive, else `0`
/// (the article's convention at exactly 0).
#[inline]
pub fn relu_grad_from_output<S: Scalar>(z: S) -> S {
    if z > S::zero() { S::one() } else { S::zero() }
}

/// Applies `tanh` to every element in place, with the vectorised
/// [`Scalar::tanh_fast`] (within a few ulp of libm's).
pub fn tanh_in_place<S: Scalar>(v: &mut [S]) {
    crate::fastmath::tanh_in_place(v);
}

/// Applies the sigmoid to every element in place.
pub fn sigmoid_in_place<S: Scalar>(v: &mut [S]) {
    for x in v {
        *x = sigmoid(*x);
    }
}

/// Applies the sigmoid to every element in place as `σ(x) = ½ + ½
/// tanh(x / 2)` with the vectorised [`Scalar::tanh_fast`]: the loop
/// vectorises, where [`sigmoid_in_place`] calls libm's `exp` per element
/// (the gated cells take 200–300 sigmoids a time step at H = 100). Within
/// a few ulp of 1 of the exact value (an absolute error of ~1e-16 in `f64`:
/// values far in the tails lose relative, not absolute, precision).
#[inline]
pub fn sigmoid_fast_in_place<S: Scalar>(v: &mut [S]) {
    let half = S::from_f64(0.5);
    for x in v {
        *x = half + half * (half * *x).tanh_fast();
    }
}

/// Applies ReLU to every element in place.
pub fn relu_in_place<S: Scalar>(v: &mut [S]) {
    for x in v {
        *x = relu(*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn numeric(f: impl Fn(f64) -> f64, x: f64) -> f64 {
        let h = 1e-6;
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for &x in &[-3.0, -0.7, 0.1, 0.4, 2.5] {
            let y = sigmoid(x);
            assert_relative_eq!(y * (1.0 - y), numeric(sigmoid, x), max_relative = 1e-8);
            assert_relative_eq!(
                tanh_grad_from_output(x.tanh()),
                numeric(f64::tanh, x),
                max_relative = 1e-8
            );
            assert_relative_eq!(
                relu_grad_from_output(relu(x)),
                numeric(relu, x),
                max_relative = 1e-8
            );
        }
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(800.0), 1.0);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert_relative_eq!(sigmoid(2.0) + sigmoid(-2.0), 1.0, max_relative = 1e-15);
    }

    #[test]
    fn slice_versions_agree_with_scalars() {
        let xs: [f64; 5] = [-2.0, -0.5, 0.0, 0.3, 4.0];
        let (mut a, mut b, mut c) = (xs, xs, xs);
        tanh_in_place(&mut a);
        sigmoid_in_place(&mut b);
        relu_in_place(&mut c);
        for i in 0..xs.len() {
            assert!((a[i] - xs[i].tanh()).abs() <= 4.0 * f64::EPSILON);
            assert_eq!(b[i], sigmoid(xs[i]));
            assert_eq!(c[i], relu(xs[i]));
        }
    }
}
